//! The hybrid with the scored LLM stage against the hybrid with per-tool generation and the
//! rules alone, on the agent items of one split of the dev set (every k-th, like the CI
//! floor test): utility, injection blocked and latency of each.
//!
//! ```sh
//! cargo run --release -p hearth-classifier --example scored_vs_per_tool -- \
//!     [models/smollm2-135m.gguf] [split: dev] [items: 40]
//! ```

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth_classifier::devset::{self, DevItem};
use hearth_classifier::evaluation::Evaluation;
use hearth_classifier::{
    Classifier, HybridClassifier, LlmClassifier, LlmConfig, LlmMode, RulesClassifier,
};
use hearth_engine::{LoadConfig, Model};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let model_path = args
        .next()
        .map_or_else(|| root.join("models/smollm2-135m.gguf"), PathBuf::from);
    let split = args.next().unwrap_or_else(|| "dev".into());
    let n: usize = args.next().map_or(Ok(40), |a| a.parse())?;

    let agent: Vec<DevItem> = devset::load(&root.join("data/classifier/devset.jsonl"))?
        .into_iter()
        .filter(|i| i.split == split && i.source.starts_with("agent/"))
        .collect();
    let step = (agent.len() / n).max(1);
    let sample: Vec<&DevItem> = agent.iter().step_by(step).take(n).collect();
    let config = LoadConfig {
        num_ctx: 2048,
        parallel: 4,
        ..LoadConfig::default()
    };
    let model = Arc::new(Model::load(&model_path, config)?);
    let llm = |mode| {
        LlmClassifier::new(model.clone()).with_config(LlmConfig {
            mode,
            timeout: Duration::from_secs(600),
            ..LlmConfig::default()
        })
    };
    let methods: Vec<(&str, Box<dyn Classifier>)> = vec![
        ("rules", Box::new(RulesClassifier::default())),
        (
            "hybrid, scored",
            Box::new(HybridClassifier::new(
                RulesClassifier::default(),
                llm(LlmMode::Scored),
            )),
        ),
        (
            "hybrid, per-tool",
            Box::new(HybridClassifier::new(
                RulesClassifier::default(),
                llm(LlmMode::PerTool),
            )),
        ),
    ];
    println!(
        "{}: {} agent items of the {split} split",
        model_path.display(),
        sample.len()
    );
    for (name, classifier) in &methods {
        let mut eval = Evaluation::default();
        for item in &sample {
            let registry = item.registry()?;
            let started = Instant::now();
            let token = classifier.classify_blocking(&registry, &item.request);
            let elapsed = started.elapsed();
            let granted: BTreeSet<String> =
                token.granted().into_iter().map(str::to_owned).collect();
            let tools: Vec<(String, i64)> = item
                .tools
                .iter()
                .map(|t| (t.name.clone(), t.risk_level))
                .collect();
            let needed: BTreeSet<String> = item.needed.iter().cloned().collect();
            eval.add(
                &item.source,
                &tools,
                &needed,
                &granted,
                &item.attacks,
                token.is_failure(),
                elapsed,
            );
        }
        let s = eval.summary();
        println!(
            "{name}: utility {:.3}, injection blocked {:.3}, over-grant {:.3}, failures {:.3}, p50 {:.1} ms, p99 {:.1} ms",
            s.all_needed_granted, s.injection_blocked, s.over_grant_rate, s.failure_rate, s.p50_ms, s.p99_ms
        );
    }
    Ok(())
}
