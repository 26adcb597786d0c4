//! Scoring K continuations of one prefix on the real bundled SmolLM2-135M: the batched scores,
//! over the prefix's shared KV cells, equal what the generation path computes for
//! prefix + continuation alone and what one continuation at a time gives; a repeated prefix is
//! not evaluated again, even after another registry took its place; 50 and 100 continuations
//! work (the latter in two rounds); bad requests are refused clearly; generation slots keep their caches. They fail (never skip) when the
//! model is missing.

use std::path::PathBuf;

use hearth_engine::{
    ContinuationScore, EngineError, Event, FlashAttention, GenerateRequest, LoadConfig, Model,
    Prompt, SamplingOptions, ScoreRequest, Scores,
};
use hearth_store::builtin;

/// Log-probabilities from two evaluations of the same tokens agree this closely (they are in
/// fact bit-for-bit equal: every evaluation here decodes the continuation in a ubatch under 64
/// tokens after the same prefix cells; llama.cpp's CPU attention kernels differ between smaller
/// and larger ubatches by up to ~0.4 nats on this model, which is why scoring keeps its rounds
/// small and why the generation reference below decodes the continuation after a cached prefix).
const TOLERANCE: f32 = 1e-3;

fn model(num_ctx: u32) -> Model {
    load("smollm2:135m", num_ctx)
}

fn load(name: &str, num_ctx: u32) -> Model {
    let m = builtin::find(name).expect("the model is in the fetch list");
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models"));
    let path = builtin::locate(m, &[dir])
        .unwrap_or_else(|e| panic!("the bundled model is required for these tests: {e}"));
    Model::load(
        &path,
        LoadConfig {
            num_ctx,
            parallel: 2,
            // Scoring always runs flash attention; the generation reference below must use the
            // same attention kernel to compute the same numbers (with OLLAMA_FLASH_ATTENTION=0
            // the generation context runs the unfused path, whose products round differently).
            flash_attention: FlashAttention::Enabled,
            ..LoadConfig::default()
        },
    )
    .expect("load smollm2")
}

/// A registry-like prefix of distinct lines (about 12 tokens each).
fn prefix_text(n: usize) -> String {
    let mut s = String::from("You decide which tools a request needs.\n");
    for i in 0..n {
        s.push_str(&format!(
            "- tool_{i}: looks up record {} in table {}\n",
            i * 7 + 3,
            i % 5
        ));
    }
    s.push_str("Request: \"find the invoice and pay it\"\n");
    s
}

fn continuation_texts(k: usize) -> Vec<String> {
    (0..k)
        .map(|i| match i % 3 {
            0 => format!("tool_{i}:"),
            1 => format!("Tool tool_{i} needed:"),
            _ => format!("Is tool_{i} needed? Answer:"),
        })
        .collect()
}

fn tokens(model: &Model, texts: &[String]) -> Vec<Vec<i32>> {
    texts.iter().map(|t| model.tokenize_ids(t, false)).collect()
}

fn request(prefix: &[i32], continuations: &[Vec<i32>]) -> ScoreRequest {
    let mut r = ScoreRequest::new(Prompt::Tokens(prefix.to_vec()))
        .with_continuations(
            continuations
                .iter()
                .map(|c| Prompt::Tokens(c.clone()))
                .collect(),
        )
        .with_candidates(&[" yes", " no", " maybe"]);
    r.token_logprobs = true;
    r.top_logprobs = 5;
    r
}

fn score(model: &Model, request: ScoreRequest) -> Scores {
    model
        .score_continuations(request)
        .expect("request accepted")
        .blocking_wait()
        .expect("scored")
}

fn assert_close(a: &ContinuationScore, b: &ContinuationScore, what: &str) {
    let pairs = a
        .candidates
        .iter()
        .zip(&b.candidates)
        .chain(a.normalised.iter().zip(&b.normalised))
        .chain(a.tokens.iter().zip(&b.tokens));
    for (x, y) in pairs {
        assert!(
            (x - y).abs() < TOLERANCE,
            "{what}: {x} vs {y}\n{a:?}\n{b:?}"
        );
    }
    assert_eq!(a.tokens.len(), b.tokens.len(), "{what}");
    assert_eq!(a.top[0].0, b.top[0].0, "{what}: the most likely token");
}

/// The next-token log-probabilities the generation path reports after `tokens`: the greedy
/// token and the top 20, as (text, log-probability).
fn generation_logprobs(model: &Model, tokens: Vec<i32>) -> Vec<(String, f32)> {
    let request = GenerateRequest {
        prompt: Prompt::Tokens(tokens),
        logprobs: Some(20),
        ..GenerateRequest::new("")
    }
    .with_options(SamplingOptions {
        num_predict: 1,
        ..SamplingOptions::greedy()
    });
    let mut generation = model.generate(request).expect("generation accepted");
    while let Some(event) = generation.blocking_next() {
        match event {
            Event::Token { logprobs, .. } if !logprobs.is_empty() => {
                return logprobs[0]
                    .top_logprobs
                    .iter()
                    .map(|t| (t.token.clone(), t.logprob))
                    .collect();
            }
            Event::Token { .. } => continue,
            Event::Done(_) => break,
            Event::Error(e) => panic!("generation failed: {e}"),
        }
    }
    panic!("the generation reported no log-probabilities")
}

#[test]
fn batched_scores_equal_each_continuation_evaluated_alone() {
    batched_equals_alone(&model(2048), 20);
}

/// Gemma 3's sliding-window layers keep only the last 512 positions: a prefix longer than
/// that is shared and reused as correctly.
#[test]
fn batched_scores_equal_each_continuation_evaluated_alone_on_gemma() {
    batched_equals_alone(&load("gemma3:270m", 2048), 50);
}

fn batched_equals_alone(model: &Model, lines: usize) {
    let prefix = model.tokenize_ids(&prefix_text(lines), true);
    let conts = tokens(model, &continuation_texts(12));
    let batched = score(model, request(&prefix, &conts));
    assert_eq!(batched.continuations.len(), conts.len());
    let tokens: usize = conts.iter().map(Vec::len).sum();
    assert!(
        batched.rounds as usize >= tokens.div_ceil(63),
        "{tokens} tokens"
    );
    assert_eq!(batched.prefix_evaluated as usize, prefix.len());
    assert_eq!(batched.candidate_tokens.len(), 3);
    assert!(batched.candidate_tokens.iter().all(|t| t.len() == 1));

    // The generation path holds the prefix in a slot first, as after any earlier request.
    generation_logprobs(model, prefix.clone());
    for (i, (cont, got)) in conts.iter().zip(&batched.continuations).enumerate() {
        // The generation path: prefix + continuation as one plain prompt in a slot of the
        // generation context, no cells shared with any other sequence.
        let mut alone = prefix.clone();
        alone.extend(cont);
        let reference = generation_logprobs(model, alone);
        for &(id, lp) in &got.top {
            let text = model.detokenize(&[id]);
            let (_, want) = reference
                .iter()
                .find(|(t, _)| *t == text)
                .unwrap_or_else(|| panic!("continuation {i}: {text:?} not in {reference:?}"));
            assert!(
                (lp - want).abs() < TOLERANCE,
                "continuation {i}, token {text:?}: scored {lp}, generation {want}"
            );
        }
        // The scoring path with this continuation alone in its batch.
        let one = score(model, request(&prefix, std::slice::from_ref(cont)));
        assert_eq!(one.prefix_evaluated, 0, "the prefix is cached by now");
        assert_close(got, &one.continuations[0], &format!("continuation {i}"));
        let total: f32 = got.normalised.iter().map(|l| l.exp()).sum();
        assert!((total - 1.0).abs() < 1e-4, "{total}");
        assert!(got.candidates.iter().all(|&l| l < 0.0));
        assert_eq!(got.tokens.len(), cont.len());
    }
}

#[test]
fn a_repeated_prefix_is_not_evaluated_again() {
    let model = model(1024);
    let prefix = model.tokenize_ids(&prefix_text(10), true);
    let conts = tokens(&model, &continuation_texts(4));
    let first = score(&model, request(&prefix, &conts));
    assert_eq!(
        (first.prefix_evaluated, first.prefix_reused),
        (prefix.len() as u32, 0)
    );
    let second = score(&model, request(&prefix, &conts));
    assert_eq!(
        (second.prefix_evaluated, second.prefix_reused),
        (0, prefix.len() as u32)
    );
    for (a, b) in first.continuations.iter().zip(&second.continuations) {
        assert_close(a, b, "repeated request");
    }
    // A longer prefix with the same start (the same registry, another request): only the rest.
    let mut longer = prefix.clone();
    longer.extend(model.tokenize_ids("Request: \"and then email Bob\"\n", false));
    let third = score(&model, request(&longer, &conts));
    assert_eq!(third.prefix_reused as usize, prefix.len());
    assert_eq!(third.prefix_evaluated as usize, longer.len() - prefix.len());
    // Back to the shorter one: nothing to evaluate, the longer one's tail is dropped...
    let mut plain = request(&prefix, &conts);
    plain.token_logprobs = false;
    let fourth = score(&model, plain);
    assert_eq!(fourth.prefix_evaluated, 0);
    for (a, b) in first.continuations.iter().zip(&fourth.continuations) {
        assert_eq!(a.candidates, b.candidates, "after a longer prefix");
    }
    // ...unless the first continuation token's log-probability needs the logits after it.
    score(&model, request(&longer, &conts));
    let fifth = score(&model, request(&prefix, &conts));
    assert_eq!(fifth.prefix_evaluated, 1);
    assert_eq!(fifth.continuations[0].tokens.len(), conts[0].len());
    // No continuations: the prefix is only warmed.
    let other = model.tokenize_ids(&prefix_text(3), true);
    let warm = score(&model, request(&other, &[]));
    assert!(warm.continuations.is_empty() && warm.rounds == 0);
    assert!(warm.prefix_evaluated > 0);
    let after = score(&model, request(&other, &conts));
    assert_eq!(after.prefix_evaluated, 0);
}

#[test]
fn a_registry_replaced_by_another_comes_back_from_host_memory() {
    // Registries A, B, A: the second A restores its prefix from the host-memory cache (where
    // B's request put it) instead of evaluating it again, and scores exactly as the first did.
    let model = model(1024);
    let a = model.tokenize_ids(&prefix_text(12), true);
    let b = model.tokenize_ids(&format!("Another registry.\n{}", prefix_text(12)), true);
    let conts = tokens(&model, &continuation_texts(4));
    let plain = |prefix: &[i32]| {
        let mut r = request(prefix, &conts);
        r.token_logprobs = false;
        r
    };
    let first = score(&model, plain(&a));
    assert_eq!(first.prefix_evaluated as usize, a.len());
    let other = score(&model, plain(&b));
    assert!(other.prefix_evaluated as usize + 2 >= b.len(), "{other:?}");
    let before = model.prompt_cache();
    let again = score(&model, plain(&a));
    assert_eq!(
        (again.prefix_evaluated, again.prefix_reused as usize),
        (0, a.len()),
        "registry A was evaluated again"
    );
    for (x, y) in first.continuations.iter().zip(&again.continuations) {
        assert_eq!(x.candidates, y.candidates, "restored registry");
    }
    let after = model.prompt_cache();
    assert_eq!(after.hits, before.hits + 1, "{after:?}");
    assert!(after.restored_tokens >= before.restored_tokens + a.len() as u64 - 1);
    // B went to host memory in turn, and comes back the same way.
    let b_again = score(&model, plain(&b));
    assert_eq!(b_again.prefix_evaluated, 0, "{b_again:?}");
}

#[test]
fn fifty_and_a_hundred_continuations_are_scored() {
    let model = model(2048);
    let prefix = model.tokenize_ids(&prefix_text(30), true);
    let conts = tokens(&model, &continuation_texts(100));
    let fifty = score(&model, request(&prefix, &conts[..50]));
    assert_eq!(fifty.continuations.len(), 50);
    let hundred = score(&model, request(&prefix, &conts));
    assert_eq!(hundred.continuations.len(), 100);
    assert!(
        hundred.rounds > fifty.rounds && fifty.rounds > 1,
        "{} and {} rounds",
        fifty.rounds,
        hundred.rounds
    );
    assert_eq!(hundred.prefix_evaluated, 0);
    let tokens: usize = conts.iter().map(Vec::len).sum();
    assert_eq!(hundred.continuation_tokens as usize, tokens);
    for i in 0..50 {
        assert_close(
            &fifty.continuations[i],
            &hundred.continuations[i],
            &format!("continuation {i}"),
        );
    }
    // Scores from later rounds equal the continuation scored alone.
    for i in [63, 80, 99] {
        let one = score(&model, request(&prefix, &conts[i..=i]));
        assert_close(
            &hundred.continuations[i],
            &one.continuations[0],
            &format!("continuation {i}"),
        );
    }
    // Different continuations get different scores (no sequence reads another's cells).
    let distinct: std::collections::HashSet<i32> = hundred
        .continuations
        .iter()
        .map(|c| (c.candidates[0] * 1000.0) as i32)
        .collect();
    assert!(distinct.len() > 10, "{distinct:?}");
}

#[test]
fn bad_requests_are_refused_clearly() {
    let model = model(512);
    let prefix = model.tokenize_ids("Hello there.", true);
    let empty = model.score_continuations(request(&prefix, &[Vec::new()]));
    assert!(
        matches!(&empty, Err(EngineError::InvalidRequest(m)) if m.contains("empty")),
        "{empty:?}"
    );
    let bad_id = model.score_continuations(request(&prefix, &[vec![-3]]));
    assert!(matches!(bad_id, Err(EngineError::InvalidRequest(_))));
    let mut too_many = request(&prefix, &[vec![1]]);
    too_many.top_logprobs = 21;
    assert!(model.score_continuations(too_many).is_err());
    let no_candidate = request(&prefix, &[vec![1]]).with_candidates(&[""]);
    assert!(model.score_continuations(no_candidate).is_err());

    // A continuation that cannot fit the context next to the prefix.
    let long_prefix = model.tokenize_ids(&"one two three four ".repeat(110), true);
    let n_ctx = model.info().context_length as usize;
    assert!(long_prefix.len() < n_ctx && long_prefix.len() + 100 > n_ctx);
    let long = vec![model.tokenize_ids(" five", false)[0]; 100];
    let result = model
        .score_continuations(request(&long_prefix, &[vec![1], long]))
        .unwrap()
        .blocking_wait();
    assert!(
        matches!(result, Err(EngineError::ContextOverflow { .. })),
        "{result:?}"
    );
    // The model still scores after a refusal.
    let ok = score(&model, request(&prefix, &[vec![1]]));
    assert_eq!(ok.continuations.len(), 1);
}

#[test]
fn scoring_leaves_generation_caches_alone() {
    let model = model(1024);
    let prompt = model.tokenize_ids(&prefix_text(15), true);
    let generate = || {
        let request = GenerateRequest {
            prompt: Prompt::Tokens(prompt.clone()),
            ..GenerateRequest::new("")
        }
        .with_options(SamplingOptions {
            num_predict: 8,
            ..SamplingOptions::greedy()
        });
        let mut g = model.generate(request).unwrap();
        let mut text = String::new();
        loop {
            match g.blocking_next() {
                Some(Event::Token { text: t, .. }) => text.push_str(&t),
                Some(Event::Done(done)) => return (text, done.cached_prompt_tokens),
                other => panic!("{other:?}"),
            }
        }
    };
    let (before, _) = generate();
    let conts = tokens(&model, &continuation_texts(40));
    score(&model, request(&prompt, &conts));
    let (after, cached) = generate();
    assert_eq!(before, after);
    assert_eq!(
        cached as usize,
        prompt.len() - 1,
        "the slot kept its prompt's cells"
    );
}
