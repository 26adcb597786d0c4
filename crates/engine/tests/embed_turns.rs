//! Embedding requests take turns with generation and with each other, one group of inputs per
//! decode, and one whose receiver is dropped stops between groups. On the real bundled
//! SmolLM2-135M model (a missing model fails, never skips).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use hearth_engine::{
    Embeddings, EngineError, Event, GenerateRequest, LoadConfig, Model, SamplingOptions,
};
use hearth_store::builtin;
use tokio::sync::oneshot;

fn model() -> Model {
    let models = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models"));
    let m = builtin::find("smollm2:135m").expect("smollm2:135m is in the fetch list");
    let path = builtin::locate(m, &[models])
        .unwrap_or_else(|e| panic!("the bundled model is required for these tests: {e}"));
    let config = LoadConfig {
        num_ctx: 512,
        parallel: 2,
        ..LoadConfig::default()
    };
    Model::load(&path, config).expect("load smollm2")
}

/// `n` short, distinct inputs.
fn inputs(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("This is input number {i} of a large embedding request."))
        .collect()
}

type Reply = oneshot::Receiver<Result<Embeddings, EngineError>>;

fn wait(reply: Reply) -> Embeddings {
    reply
        .blocking_recv()
        .expect("the inference thread answers")
        .expect("embedding succeeds")
}

/// Greedy options for `n` tokens.
fn greedy(n: i32) -> SamplingOptions {
    SamplingOptions {
        temperature: 0.0,
        num_predict: n,
        ..SamplingOptions::default()
    }
}

/// A prompt SmolLM2 continues for a long time without an end-of-generation token.
const COUNTING: &str = "1, 2, 3, 4, 5, 6, 7, 8,";

#[test]
fn generation_streams_during_a_large_embedding() {
    let model = model();
    let mut big = model.embed(&inputs(2000), true).unwrap();
    let started = Instant::now();
    let options = greedy(16);
    let mut generation = model
        .generate(GenerateRequest::new(COUNTING).with_options(options))
        .unwrap();
    let mut first_token = None;
    loop {
        match generation.blocking_next() {
            Some(Event::Token { .. }) => {
                first_token.get_or_insert_with(|| started.elapsed());
            }
            Some(Event::Done(_)) => break,
            other => panic!("generation failed: {other:?}"),
        }
    }
    let generated = started.elapsed();
    assert!(
        matches!(big.try_recv(), Err(oneshot::error::TryRecvError::Empty)),
        "the embedding finished before a 16-token generation started after it"
    );
    eprintln!(
        "2000 inputs sent first: first token after {first_token:?}, 16 tokens after {generated:?}"
    );
    // Dropping the receiver cancels the rest.
    drop(big);
}

/// The inference thread alternates one generation step and one embedding group (of 8 short
/// inputs), the embedding requests taking turns. So 240 inputs (30 groups) finish before a
/// 45-token generation sent with them, unless an abandoned request still takes every other
/// turn (then they need 60).
#[test]
fn a_dropped_embedding_stops_between_groups() {
    let model = model();
    let abandoned = model.embed(&inputs(4000), true).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    drop(abandoned);
    let started = Instant::now();
    let embedding = model.embed(&inputs(240), true).unwrap();
    let mut generation = model
        .generate(GenerateRequest::new(COUNTING).with_options(greedy(45)))
        .unwrap();
    let generated = std::thread::spawn(move || loop {
        match generation.blocking_next() {
            Some(Event::Token { .. }) => {}
            Some(Event::Done(done)) => break (done.eval_count, Instant::now()),
            other => panic!("generation failed: {other:?}"),
        }
    });
    assert_eq!(wait(embedding).vectors.len(), 240);
    let embedded = Instant::now();
    let (tokens, generated) = generated.join().unwrap();
    assert_eq!(tokens, 45, "the test needs a generation of 45 tokens");
    eprintln!(
        "240 inputs in {:?}, 45 tokens in {:?}",
        embedded - started,
        generated - started
    );
    assert!(
        embedded < generated,
        "the abandoned request kept taking turns: 240 inputs took {:?}, longer than 45 tokens ({:?})",
        embedded - started,
        generated - started
    );
}

#[test]
fn a_small_embedding_is_not_stuck_behind_a_large_one() {
    let model = model();
    let mut big = model.embed(&inputs(2000), true).unwrap();
    let small = wait(model.embed(&inputs(3), true).unwrap());
    assert_eq!(small.vectors.len(), 3);
    assert!(
        matches!(big.try_recv(), Err(oneshot::error::TryRecvError::Empty)),
        "3 inputs waited for 2000 sent before them"
    );
    drop(big);
}
