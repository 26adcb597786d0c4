//! The scored LLM stage on the real bundled model (smollm2:135m): every tool scored in one
//! engine call, the same answers when a set is scored again from the cached prefix, the
//! hybrid's smoke cases, and fail-closed errors. These tests never skip: a missing model is a
//! failure that names scripts/fetch-models.sh.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hearth_classifier::{
    Classifier, HybridClassifier, LlmClassifier, LlmConfig, LlmMode, RulesClassifier,
    ToolDefinition, ToolRegistry,
};
use hearth_engine::{LoadConfig, Model};
use hearth_store::builtin;

fn load() -> Model {
    let m = builtin::find("smollm2:135m").expect("smollm2:135m is in the manifest");
    let dirs = vec![concat!(env!("CARGO_MANIFEST_DIR"), "/../../models").into()];
    let path = builtin::locate(m, &dirs)
        .unwrap_or_else(|e| panic!("bundled model missing: {e} (run scripts/fetch-models.sh)"));
    let config = LoadConfig {
        num_ctx: 2048,
        parallel: 4,
        ..LoadConfig::default()
    };
    Model::load(&path, config).expect("loading smollm2:135m")
}

/// One model shared by the tests that need no scoring cache of their own.
fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(load)
}

fn registry() -> ToolRegistry {
    ToolRegistry::from_tools(vec![
        ToolDefinition::new(
            "read_website",
            "Fetch a web page by URL and return its text",
            3,
        )
        .with_param("url", "URL"),
        ToolDefinition::new("search_emails", "Search the user's mailbox", 2)
            .with_param("query", "terms"),
        ToolDefinition::new("send_email", "Send an email to a recipient", 4)
            .with_param("to", "recipient"),
        ToolDefinition::new("delete_file", "Permanently delete a file", 5)
            .with_param("path", "file"),
    ])
    .unwrap()
}

fn llm() -> LlmClassifier {
    llm_on(model().clone())
}

fn llm_on(model: Model) -> LlmClassifier {
    LlmClassifier::new(Arc::new(model)).with_config(LlmConfig {
        mode: LlmMode::Scored,
        timeout: Duration::from_secs(600),
        calibration: Some(hearth_classifier::Calibration::IDENTITY),
        ..LlmConfig::default()
    })
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn a_set_of_tools_scores_the_same_from_a_cached_prefix_and_each_tool_alone_is_well_formed() {
    // A model of its own: what another test leaves in the scoring cache changes how the
    // prefix's tail is evaluated, and llama.cpp's kernels round differently by batch size.
    // (That a continuation scores the same alone or in a batch after one prefix is the
    // engine's property, tested in crates/engine/tests/score_continuations.rs; here the prefix
    // lists the tools asked about, so a tool asked alone sees a different prompt.)
    let registry = registry();
    let c = llm_on(load());
    let request = "Find emails from Alice and forward them to bob@example.com";
    let all: Vec<usize> = (0..registry.len()).collect();
    let together = block(c.score(&registry, request, &all)).expect("scored");
    assert_eq!(together.len(), registry.len());
    let again = block(c.score(&registry, request, &all)).expect("scored");
    for (i, (&p, &q)) in together.iter().zip(&again).enumerate() {
        assert!(p > 0.0 && p < 1.0, "{p}");
        assert!(
            (p - q).abs() < 1e-3,
            "tool {i}: {p} first, {q} from the cache"
        );
    }
    // The email tools matter more to this request than deleting files, asked together or
    // each on its own.
    assert!(together[2] > together[3], "{together:?}");
    let alone: Vec<f64> = all
        .iter()
        .map(|&i| block(c.score(&registry, request, &[i])).expect("scored")[0])
        .collect();
    assert!(alone.iter().all(|&p| p > 0.0 && p < 1.0), "{alone:?}");
    assert!(alone[2] > alone[3], "{alone:?}");
}

#[test]
fn the_llm_and_the_hybrid_use_the_scored_stage_and_pass_smoke_cases() {
    let registry = registry();
    let token = llm().classify_blocking(&registry, "Summarize https://news.example.com");
    assert!(!token.is_failure(), "{}", token.classification_method);
    assert_eq!(token.scores.len(), registry.len());

    let hybrid = HybridClassifier::new(RulesClassifier::default(), llm());
    let granted = |r: &str| {
        let t = hybrid.classify_blocking(&registry, r);
        assert!(!t.is_failure(), "{}", t.classification_method);
        t.granted()
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let read_only = granted("Summarize https://news.example.com/today");
    assert!(read_only.contains(&"read_website".to_owned()));
    assert!(!read_only
        .iter()
        .any(|t| t == "send_email" || t == "delete_file"));
    assert!(granted("Send an email to john@example.com about lunch").contains(&"send_email".into()));
    assert!(granted("What's the weather like today?").is_empty());
    assert!(!granted("List the files in Documents").contains(&"delete_file".to_owned()));
}

#[test]
fn a_request_too_long_for_the_context_denies_every_tool() {
    let huge = "please send this ".repeat(3000);
    let token = llm().classify_blocking(&registry(), &huge);
    assert!(token.granted().is_empty() && token.is_failure());
    assert!(
        token.classification_method.contains("-error: engine:"),
        "{}",
        token.classification_method
    );
}
