//! `hearth eval-classifier`: evaluate rules, LLM and hybrid classification on the labelled dev set:
//! utility, injection blocked, over-grant and latency per split and per domain.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use hearth_classifier::evaluation::{Evaluation, Summary};
use hearth_classifier::{devset, LlmConfig, RulesClassifier};

use crate::classify::{build, load_model, MethodArg};
use crate::policy_args::PolicyArgs;

#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    /// The labelled set (JSON lines from scripts/build-classifier-devset.py).
    #[arg(long, default_value = "data/classifier/devset.jsonl")]
    pub devset: PathBuf,
    /// Which split: dev, test or all.
    #[arg(long, default_value = "all")]
    pub split: String,
    /// Models (of the store, bundled, or paths), comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "smollm2:135m,gemma3:270m"
    )]
    pub models: Vec<String>,
    /// Methods, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "rules,llm,hybrid"
    )]
    pub methods: Vec<MethodArg>,
    /// Evaluate only the first N items (after the split filter).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Evaluate every K-th item only (after the other filters): a sample spread over every source.
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub every: usize,
    /// Only items whose source starts with this (e.g. bfcl/multiple, handwritten).
    #[arg(long)]
    pub source: Option<String>,
    /// Only items of these domains (comma-separated: shop, code, bfcl-multi-turn, ...).
    #[arg(long, value_delimiter = ',')]
    pub domain: Vec<String>,
    /// Threads for the model (default: physical cores).
    #[arg(long)]
    pub threads: Option<u32>,
    /// Probability needed to grant a tool with risk 1-3.
    #[arg(long, default_value_t = LlmConfig::default().threshold)]
    pub threshold: f64,
    /// Probability needed to grant a risky tool (risk 4-5).
    #[arg(long, default_value_t = LlmConfig::default().risky_threshold)]
    pub risky_threshold: f64,
    /// Per-request deadline for the model, seconds (past it the request is denied and counted as a failure).
    #[arg(long, default_value_t = 60)]
    pub timeout_s: u64,
    /// Also print results per item source.
    #[arg(long)]
    pub by_source: bool,
    /// Also print per-tool precision and recall for the N tools that appear most often.
    #[arg(long, value_name = "N")]
    pub per_tool: Option<usize>,
    /// Write every (item, tool) score as JSON lines here, for calibration.
    #[arg(long)]
    pub dump: Option<PathBuf>,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

pub fn run(args: EvalArgs) -> Result<()> {
    let policy = args.policy.policy()?;
    // The rules' evidence and prior for `--dump` (built once: it compiles its rule set).
    let dump_rules = RulesClassifier::default().with_policy(policy);
    let mut items = devset::load(&args.devset)?;
    items.retain(|i| args.split == "all" || i.split == args.split);
    if let Some(prefix) = &args.source {
        items.retain(|i| i.source.starts_with(prefix.as_str()));
    }
    if !args.domain.is_empty() {
        items.retain(|i| args.domain.contains(&i.domain));
    }
    anyhow::ensure!(args.every >= 1, "--every must be at least 1");
    items = items.into_iter().step_by(args.every).collect();
    if let Some(n) = args.limit {
        items.truncate(n);
    }
    anyhow::ensure!(
        !items.is_empty(),
        "no items selected from {}",
        args.devset.display()
    );
    let registries = items
        .iter()
        .map(|i| i.registry().map_err(anyhow::Error::msg))
        .collect::<Result<Vec<_>>>()?;
    let mut dump = match &args.dump {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => None,
    };
    let config = LlmConfig {
        threshold: args.threshold,
        risky_threshold: args.risky_threshold,
        timeout: std::time::Duration::from_secs(args.timeout_s),
        ..LlmConfig::default()
    };
    let mut rows: Vec<Row> = Vec::new();
    let model_free: Vec<MethodArg> = args
        .methods
        .iter()
        .copied()
        .filter(|m| *m == MethodArg::Rules)
        .collect();
    let with_model: Vec<MethodArg> = args
        .methods
        .iter()
        .copied()
        .filter(|m| *m != MethodArg::Rules)
        .collect();
    let mut plan: Vec<(Option<&str>, Vec<MethodArg>)> = vec![(None, model_free)];
    if !with_model.is_empty() {
        plan.extend(
            args.models
                .iter()
                .map(|m| (Some(m.as_str()), with_model.clone())),
        );
    }
    for (model_name, methods) in plan {
        if methods.is_empty() {
            continue;
        }
        let model = model_name
            .map(|n| load_model(n, args.threads))
            .transpose()?;
        for method in methods {
            let classifier = build(
                method,
                model.as_ref().zip(model_name),
                RulesClassifier::default().with_policy(policy),
                config.clone(),
            )?;
            // Warm the constant prompt prefix into the slots, as a running server would have.
            for (item, registry) in items.iter().zip(&registries).take(2) {
                classifier.classify_blocking(registry, &item.request);
            }
            let mut row = Row {
                method: format!("{method:?}").to_lowercase(),
                model: model_name.unwrap_or("-").to_owned(),
                ..Row::default()
            };
            for (item, registry) in items.iter().zip(&registries) {
                let started = Instant::now();
                let token = classifier.classify_blocking(registry, &item.request);
                let latency = started.elapsed();
                let needed: BTreeSet<String> = item.needed.iter().cloned().collect();
                let granted: BTreeSet<String> =
                    token.granted().into_iter().map(str::to_owned).collect();
                let tools: Vec<(String, i64)> = item
                    .tools
                    .iter()
                    .map(|t| (t.name.clone(), t.risk_level))
                    .collect();
                let groups = [
                    row.splits.entry(item.split.clone()).or_default(),
                    row.domains
                        .entry((item.split.clone(), item.domain.clone()))
                        .or_default(),
                ];
                for eval in groups {
                    eval.add(
                        &item.source,
                        &tools,
                        &needed,
                        &granted,
                        &item.attacks,
                        token.is_failure(),
                        latency,
                    );
                }
                if let Some(out) = dump.as_mut() {
                    let evidence = dump_rules.evidence(registry, &item.request);
                    // The rules' own score, the hybrid's prior (for refitting its weight offline).
                    let prior = dump_rules.score(registry, &item.request);
                    for ((t, ev), prior) in item.tools.iter().zip(evidence).zip(prior) {
                        let row = serde_json::json!({
                            "method": format!("{method:?}").to_lowercase(), "model": model_name.unwrap_or("-"),
                            "id": item.id, "split": item.split, "source": item.source, "tool": t.name,
                            "risk": t.risk_level, "needed": needed.contains(&t.name),
                            "granted": granted.contains(&t.name), "p": token.scores.get(&t.name),
                            "ms": latency.as_secs_f64() * 1000.0, "evidence": ev, "prior": prior.p,
                        });
                        writeln!(out, "{row}")?;
                    }
                }
            }
            for (split, eval) in &row.splits {
                let s = eval.summary();
                eprintln!(
                    "{} {} [{split}]: utility {:.3} injection-blocked {:.3} over-grant {:.3} p50 {:.1} ms",
                    row.method, row.model, s.all_needed_granted, s.injection_blocked, s.over_grant_rate, s.p50_ms
                );
            }
            rows.push(row);
        }
    }
    print_table(&args, items.len(), &rows);
    Ok(())
}

/// One method and model's results, per split and per (split, domain).
#[derive(Default)]
struct Row {
    method: String,
    model: String,
    splits: BTreeMap<String, Evaluation>,
    domains: BTreeMap<(String, String), Evaluation>,
}

fn print_table(args: &EvalArgs, n: usize, rows: &[Row]) {
    println!(
        "dev set {} (split {}, {n} requests, {} threads)\n",
        args.devset.display(),
        args.split,
        args.threads
            .map_or_else(|| "default".to_owned(), |t| t.to_string())
    );
    println!("Utility = share of requests with every needed tool granted; injection blocked = share of attacker goals with at least one tool denied; over-grant per (request, tool) pair.\n");
    println!("| method | model | split | requests | utility | injection blocked | over-grant | risky over-grant | extra tool | exact set | no-tool → none | failures | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        for (split, eval) in &row.splits {
            let s: Summary = eval.summary();
            println!(
                "| {} | {} | {split} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.1} | {:.1} |",
                row.method,
                row.model,
                s.items,
                s.all_needed_granted,
                s.injection_blocked,
                s.over_grant_rate,
                s.risky_over_grant_rate,
                s.requests_with_extra_tool,
                s.exact_set_accuracy,
                s.none_needed_granted_nothing,
                s.failure_rate,
                s.p50_ms,
                s.p99_ms
            );
        }
    }
    for row in rows {
        println!("\n{} / {}: per domain", row.method, row.model);
        println!("| domain | split | requests | utility | injection blocked (goals) | over-grant | p50 ms | p99 ms |");
        println!("|---|---|---|---|---|---|---|---|");
        for ((split, domain), eval) in &row.domains {
            let s = eval.summary();
            println!(
                "| {domain} | {split} | {} | {:.3} | {:.3} ({}) | {:.3} | {:.1} | {:.1} |",
                s.items,
                s.all_needed_granted,
                s.injection_blocked,
                s.attacks,
                s.over_grant_rate,
                s.p50_ms,
                s.p99_ms
            );
        }
    }
    if let Some(top) = args.per_tool {
        for row in rows {
            for (split, eval) in &row.splits {
                println!(
                    "\n{} / {} [{split}]: per tool, the {top} most frequent (pairs, needed, precision, recall)",
                    row.method, row.model
                );
                let mut tools: Vec<_> = eval.per_tool.iter().collect();
                tools.sort_by_key(|(name, c)| {
                    (std::cmp::Reverse(c.tp + c.fp + c.fn_ + c.tn), *name)
                });
                for (name, c) in tools.into_iter().take(top) {
                    println!(
                        "  {name:<40} {:>4} {:>4}  {:.3}  {:.3}",
                        c.tp + c.fp + c.fn_ + c.tn,
                        c.tp + c.fn_,
                        c.precision(),
                        c.recall()
                    );
                }
            }
        }
    }
    if args.by_source {
        for row in rows {
            for (split, eval) in &row.splits {
                println!(
                    "\n{} / {} [{split}]: per source (items, exact set, utility)",
                    row.method, row.model
                );
                for (source, (items, exact, all)) in &eval.per_source {
                    println!(
                        "  {source:<32} {items:>4}  {:.3}  {:.3}",
                        *exact as f64 / *items as f64,
                        *all as f64 / *items as f64
                    );
                }
            }
        }
    }
}
