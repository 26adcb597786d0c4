//! Latency of the classifier's scored LLM stage: one call scoring every tool of a 40-tool
//! registry (the first one prefills the tool list, later ones with the same registry reuse it),
//! the engine's own figures for those calls, and the hybrid on the same requests.
//!
//! ```sh
//! cargo run --release -p hearth-classifier --example scored_latency -- \
//!     [models/smollm2-135m.gguf] [tools: 40] [requests: 20]
//! ```
//!
//! Registry: the dev set's largest, filled up from others to the asked size. Requests: the dev
//! split's, in file order. Timings on a shared machine are indicative only.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth_classifier::{
    devset, prompt, Classifier, HybridClassifier, LlmClassifier, LlmConfig, LlmMode,
    RulesClassifier, ToolDefinition, ToolRegistry,
};
use hearth_engine::{Generator, LoadConfig, Model, Prompt, ScoreRequest};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let model_path = args
        .next()
        .map_or_else(|| root.join("models/smollm2-135m.gguf"), PathBuf::from);
    let n_tools: usize = args.next().map_or(Ok(40), |a| a.parse())?;
    let n_requests: usize = args.next().map_or(Ok(20), |a| a.parse())?;

    let items = devset::load(&root.join("data/classifier/devset.jsonl"))?;
    let registry = registry(&items, n_tools)?;
    let requests: Vec<&str> = items
        .iter()
        .filter(|i| i.split == "dev")
        .map(|i| i.request.as_str())
        .take(n_requests)
        .collect();

    let config = LoadConfig {
        num_ctx: 2048,
        parallel: 4,
        ..LoadConfig::default()
    };
    let model = Model::load(&model_path, config)?;
    println!(
        "{} ({} threads), {} tools, {} requests",
        model_path.display(),
        model.info().threads,
        registry.len(),
        requests.len()
    );
    let generator: Arc<dyn Generator> = Arc::new(model.clone());
    let llm = LlmClassifier::new(generator.clone()).with_config(LlmConfig {
        mode: LlmMode::Scored,
        timeout: Duration::from_secs(600),
        ..LlmConfig::default()
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let all: Vec<usize> = (0..registry.len()).collect();

    // The engine call the classifier makes, with its figures: first (cold) and repeated.
    for (k, request) in requests.iter().take(3).enumerate() {
        let prefix = generator.render_chat(
            &prompt::scored_messages(request, registry.tools()),
            None,
            true,
        )?;
        let continuations = registry
            .tools()
            .iter()
            .map(|t| Prompt::Text(prompt::scored_continuation(t)))
            .collect();
        let req = ScoreRequest::new(Prompt::Text(prefix))
            .with_continuations(continuations)
            .with_candidates(&hearth_classifier::logprob::YES_NO_CANDIDATES);
        let started = Instant::now();
        let s = model.score_continuations(req)?.blocking_wait()?;
        println!(
            "engine call {k}: {:.1} ms, prefix {} tokens ({} evaluated, {} reused), {} continuation tokens in {} round(s)",
            ms(started.elapsed()),
            s.prefix_tokens,
            s.prefix_evaluated,
            s.prefix_reused,
            s.continuation_tokens,
            s.rounds
        );
    }

    // A registry the engine has not seen: the classifier's first call pays the tool list.
    let fresh = registry_renamed(&registry)?;
    let started = Instant::now();
    runtime.block_on(llm.score(&fresh, requests[0], &all))?;
    println!(
        "llm, {} tools, first call on a new registry: {:.1} ms",
        fresh.len(),
        ms(started.elapsed())
    );
    let mut times = Vec::new();
    for request in &requests {
        let started = Instant::now();
        runtime.block_on(llm.score(&fresh, request, &all))?;
        times.push(started.elapsed());
    }
    report("llm, every tool, same registry", &mut times);

    let hybrid = HybridClassifier::new(RulesClassifier::default(), llm.clone());
    let mut times = Vec::new();
    let mut asked = 0usize;
    for request in &requests {
        let started = Instant::now();
        let token = runtime.block_on(hybrid.classify(&fresh, request));
        times.push(started.elapsed());
        asked += usize::from(!token.classification_method.ends_with("(rules only)"));
    }
    report(
        &format!("hybrid ({asked} of {} consulted the model)", requests.len()),
        &mut times,
    );
    Ok(())
}

/// The dev set's largest registry, filled up to `n` tools from the others.
fn registry(items: &[devset::DevItem], n: usize) -> Result<ToolRegistry, String> {
    let mut by_size: Vec<&devset::DevItem> = items.iter().collect();
    by_size.sort_by_key(|i| std::cmp::Reverse(i.tools.len()));
    let mut tools: Vec<ToolDefinition> = Vec::new();
    for item in by_size {
        for t in &item.tools {
            if tools.len() < n && tools.iter().all(|x| x.name != t.name) {
                tools.push(t.clone());
            }
        }
        if tools.len() == n {
            break;
        }
    }
    ToolRegistry::from_tools(tools).map_err(|e| e.to_string())
}

/// The same tools under new names: a registry no earlier call has cached.
fn registry_renamed(registry: &ToolRegistry) -> Result<ToolRegistry, String> {
    let tools = registry
        .tools()
        .iter()
        .map(|t| {
            let mut t = t.clone();
            t.name = format!("{}_v2", t.name);
            t
        })
        .collect();
    ToolRegistry::from_tools(tools).map_err(|e| e.to_string())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn report(what: &str, times: &mut [Duration]) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{what}: {} calls, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        times.len(),
        ms(at(0.5)),
        ms(at(0.99)),
        ms(times[times.len() - 1])
    );
}
