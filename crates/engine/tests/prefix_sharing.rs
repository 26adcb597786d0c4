//! Prefix sharing on the real bundled SmolLM2-135M: a prefix held by another slot is copied, not
//! prefilled again; concurrent requests with one prefix prefill it once; a conversation whose
//! slot went to another one comes back from host memory and answers exactly as if it had stayed; the
//! host cache stays inside its budget; cancelling the request that prefills a shared prefix lets
//! the requests waiting for it finish; an idle conversation is saved before its slot is needed,
//! unless another slot holds its prefix. They fail (never skip) when the model is missing.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use hearth_engine::{
    Completion, Event, GenerateRequest, Generation, LoadConfig, Model, Prompt, SamplingOptions,
};
use hearth_store::builtin;

fn model(parallel: u32, batch_size: u32, cache_ram_bytes: u64) -> Model {
    let m = builtin::find("smollm2:135m").expect("smollm2:135m is in the fetch list");
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models"));
    let path = builtin::locate(m, &[dir])
        .unwrap_or_else(|e| panic!("the bundled model is required for these tests: {e}"));
    Model::load(
        &path,
        LoadConfig {
            num_ctx: 2048,
            parallel,
            batch_size,
            cache_ram_bytes,
            ..LoadConfig::default()
        },
    )
    .expect("load smollm2")
}

/// An agent-style system prompt of distinct sentences (`n` of them, about 14 tokens each).
fn system(tag: &str, n: usize) -> String {
    (0..n)
        .map(|i| format!("Tool {tag}{i} fetches record {} for the user. ", i * 13 + 5))
        .collect()
}

fn request(model: &Model, text: &str, num_predict: i32) -> GenerateRequest {
    GenerateRequest {
        prompt: Prompt::Tokens(model.tokenize_ids(text, true)),
        ..GenerateRequest::new("")
    }
    .with_options(SamplingOptions {
        temperature: 0.0,
        num_predict,
        ..SamplingOptions::default()
    })
}

fn finish(mut g: Generation) -> (String, Completion) {
    let mut text = String::new();
    while let Some(event) = g.blocking_next() {
        match event {
            Event::Token { text: t, .. } => text.push_str(&t),
            Event::Done(done) => return (text, done),
            Event::Error(e) => panic!("generation failed: {e}"),
        }
    }
    panic!("stream ended without Done")
}

/// Finish on another thread, so that several generations run at once.
fn spawn(g: Generation) -> mpsc::Receiver<(String, Completion)> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(finish(g));
    });
    rx
}

fn wait(rx: &mpsc::Receiver<(String, Completion)>, what: &str) -> (String, Completion) {
    rx.recv_timeout(Duration::from_secs(300))
        .unwrap_or_else(|_| panic!("{what} did not finish within 5 minutes"))
}

/// Every prompt token but the last came from the cache.
fn assert_restored(done: &Completion) {
    assert!(
        done.cached_prompt_tokens + 1 >= done.prompt_eval_count,
        "not restored: {} of {} cached",
        done.cached_prompt_tokens,
        done.prompt_eval_count
    );
}

#[test]
fn a_prefix_held_by_another_slot_is_copied_not_prefilled() {
    let m = model(2, 512, 0);
    let prefix = system("a", 30);
    let n_prefix = m.tokenize_ids(&prefix, true).len();
    // Slot 0 learns the prefix, then stays busy with a long generation on it.
    let _ = finish(
        m.generate(request(&m, &format!("{prefix}Q: one?"), 2))
            .unwrap(),
    );
    let busy = m
        .generate(request(
            &m,
            &format!("{prefix}Q: count to a thousand."),
            400,
        ))
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // The only idle slot is empty: the prefix must come from the busy slot's cells.
    let (text, done) = finish(
        m.generate(request(&m, &format!("{prefix}Q: two?"), 8))
            .unwrap(),
    );
    drop(busy);
    assert!(
        done.cached_prompt_tokens as usize >= n_prefix - 1,
        "the prefix was prefilled again: {} of {} prompt tokens cached (prefix {n_prefix})",
        done.cached_prompt_tokens,
        done.prompt_eval_count
    );
    assert!(
        m.prompt_cache().shared_copies >= 1,
        "{:?}",
        m.prompt_cache()
    );
    // The copied cells are right: a model that never shared anything answers the same.
    let fresh = model(1, 512, 0);
    let (expected, _) = finish(
        fresh
            .generate(request(&fresh, &format!("{prefix}Q: two?"), 8))
            .unwrap(),
    );
    let (a, b): (Vec<char>, Vec<char>) = (text.chars().collect(), expected.chars().collect());
    let n = a.len().min(b.len()).min(16);
    assert!(n >= 4, "too short: {text:?}");
    assert_eq!(a[..n], b[..n], "copied {text:?} vs fresh {expected:?}");
}

#[test]
fn concurrent_requests_with_one_prefix_prefill_it_once() {
    let m = model(4, 128, 0);
    let prefix = system("b", 40);
    let n_prefix = m.tokenize_ids(&prefix, true).len();
    let runs: Vec<_> = (0..4)
        .map(|i| {
            spawn(
                m.generate(request(&m, &format!("{prefix}Q: item {i}?"), 4))
                    .unwrap(),
            )
        })
        .collect();
    let done: Vec<Completion> = runs
        .iter()
        .map(|rx| wait(rx, "a burst request").1)
        .collect();
    let prefilled: usize = done
        .iter()
        .map(|d| (d.prompt_eval_count - d.cached_prompt_tokens) as usize)
        .sum();
    let sharing = done
        .iter()
        .filter(|d| d.cached_prompt_tokens as usize >= n_prefix - 1)
        .count();
    assert!(
        sharing >= 3,
        "only {sharing} of 4 requests reused the shared prefix: {done:?}"
    );
    assert!(
        prefilled < 2 * n_prefix,
        "{prefilled} prompt tokens evaluated for four requests sharing a {n_prefix}-token prefix"
    );
}

#[test]
fn a_conversation_restored_from_host_memory_answers_as_one_never_evicted() {
    // The reference is the same conversation served again from its own slot's cells: both
    // then evaluate only the last prompt token on top of the cached prefix. (A fully fresh
    // prefill computes that token's logits inside a large batch, whose float sums may round
    // differently, so its greedy text is not a fair reference.)
    let m = model(1, 512, 256 << 20);
    let first = format!("{}Q: which tool fetches record 44?", system("c", 25));
    let (_, fresh) = finish(m.generate(request(&m, &first, 24)).unwrap());
    assert_eq!(fresh.cached_prompt_tokens, 0);
    let (kept_text, kept) = finish(m.generate(request(&m, &first, 24)).unwrap());
    assert!(kept.cached_prompt_tokens + 1 >= kept.prompt_eval_count);
    // Another conversation takes the only slot; the first one's cells go to host memory.
    let _ = finish(
        m.generate(request(&m, &format!("{}Q: hello", system("d", 25)), 4))
            .unwrap(),
    );
    let stats = m.prompt_cache();
    assert!(stats.entries >= 1 && stats.bytes > 0, "{stats:?}");
    // The first conversation again: restored, not prefilled, and the same greedy answer.
    let (again_text, again) = finish(m.generate(request(&m, &first, 24)).unwrap());
    assert_restored(&again);
    assert_eq!(
        again_text, kept_text,
        "restored and never-evicted answers differ"
    );
    let stats = m.prompt_cache();
    assert!(stats.hits >= 1 && stats.restored_tokens > 0, "{stats:?}");
}

#[test]
fn the_host_cache_never_exceeds_its_budget() {
    // About two saved conversations' worth (a cell of SmolLM2-135M is 23 KiB).
    let budget: u64 = 16 << 20;
    let m = model(1, 512, budget);
    for i in 0..6 {
        let text = format!("{}Q: {i}?", system(&format!("e{i}"), 25));
        let _ = finish(m.generate(request(&m, &text, 2)).unwrap());
        let stats = m.prompt_cache();
        assert!(
            stats.bytes <= budget,
            "{stats:?} over the budget of {budget}"
        );
        assert_eq!(stats.budget, budget);
    }
    let stats = m.prompt_cache();
    assert!(
        stats.entries >= 1 && stats.entries < 5,
        "expected evictions: {stats:?}"
    );
}

#[test]
fn cancelling_the_request_that_prefills_a_shared_prefix_frees_its_waiters() {
    // Small prefill chunks: the first request takes many steps over the prefix while the other
    // two wait for it. It is dropped halfway; both waiters must still finish, and the slots be
    // free for the next request.
    let m = model(3, 32, 0);
    let prefix = system("f", 40);
    let first = m
        .generate(request(&m, &format!("{prefix}Q: zero?"), 4))
        .unwrap();
    let waiters: Vec<_> = (1..3)
        .map(|i| {
            spawn(
                m.generate(request(&m, &format!("{prefix}Q: item {i}?"), 4))
                    .unwrap(),
            )
        })
        .collect();
    std::thread::sleep(Duration::from_millis(400));
    drop(first);
    for rx in &waiters {
        let (_, done) = wait(rx, "a request waiting for the cancelled prefill");
        assert!(done.eval_count >= 1, "{done:?}");
    }
    let (_, after) = finish(
        m.generate(request(&m, &format!("{prefix}Q: after?"), 2))
            .unwrap(),
    );
    assert!(after.eval_count >= 1);
}

#[test]
fn an_idle_conversation_is_saved_before_its_slot_is_needed() {
    // One slot: once its request is done and nothing waits, the worker saves the slot's cells to
    // host memory, so the next conversation that takes the slot does not wait for the save.
    let m = model(1, 512, 256 << 20);
    let first = format!("{}Q: which tool fetches record 44?", system("g", 25));
    let _ = finish(m.generate(request(&m, &first, 4)).unwrap());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while m.prompt_cache().entries == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the idle slot was not saved ahead: {:?}",
            m.prompt_cache()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Another conversation takes the slot; the first one comes back from host memory.
    let _ = finish(
        m.generate(request(&m, &format!("{}Q: hello", system("h", 25)), 4))
            .unwrap(),
    );
    let (_, again) = finish(m.generate(request(&m, &first, 4)).unwrap());
    assert_restored(&again);
    assert!(m.prompt_cache().hits >= 1, "{:?}", m.prompt_cache());
}

#[test]
fn a_slot_whose_prefix_another_slot_holds_is_not_saved_ahead() {
    // Two requests with one long prefix run at once (the second copies it from the first's
    // slot). When both are done, each slot holds little that the other does not: saving either
    // would spend host memory and worker time on a prefix that stays in the other slot.
    let m = model(2, 512, 256 << 20);
    let prefix = system("s", 40);
    let a = spawn(
        m.generate(request(&m, &format!("{prefix}Q: one?"), 4))
            .unwrap(),
    );
    let b = spawn(
        m.generate(request(&m, &format!("{prefix}Q: two?"), 4))
            .unwrap(),
    );
    let _ = wait(&a, "the first request");
    let (_, second) = wait(&b, "the second request");
    assert!(
        second.cached_prompt_tokens > 400,
        "the prefix was not shared: {second:?}"
    );
    std::thread::sleep(Duration::from_millis(500));
    let stats = m.prompt_cache();
    assert_eq!(
        stats.entries, 0,
        "a shared prefix was saved ahead: {stats:?}"
    );
}
