//! Engine benchmarks on the default bundled model, labelled by backend (`cpu/prefill`, …):
//! prefill of a 512-token prompt (pp512), decode of 128 tokens (tg128), time to first token, and
//! aggregate decode throughput with 1, 4 and 8 concurrent sequences (the span in which all of
//! them are decoding, as llama-batched-bench's S_TG), plus the 8/1 scaling measured in
//! alternating rounds.
//!
//! Prefill and single-stream decode throughput come from the engine's own timings
//! (`prompt_eval_duration_ns`, `eval_duration_ns`), normalised by the tokens actually evaluated,
//! so early EOS or reused cache cells do not skew them; aggregate decode counts the token events
//! every stream receives. A summary is written to `target/hearth-bench.json` (or
//! `$HEARTH_BENCH_JSON`) for `scripts/bench-vs-llamacpp.sh`.
//!
//! Run with `cargo bench --bench engine` (add `-- --quick` or a filter such as `-- prefill`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use hearth_engine::{
    ChatMessage, Completion, Event, GenerateRequest, Generation, LoadConfig, Model, Prompt,
    SamplingOptions,
};

const PROMPT_TOKENS: usize = 512;
const DECODE_TOKENS: u32 = 128;
const TTFT_PROMPT_TOKENS: usize = 64;
const CONCURRENCY: [usize; 3] = [1, 4, 8];
const PARALLEL: u32 = 8;

const FILLER: &str = "The lighthouse keeper climbed the spiral stairs every evening, counting the steps \
    as the wind pressed against the narrow windows. Below, the harbour settled into its nightly rhythm: \
    fishing boats knocked against the pier, gulls argued over scraps, and the baker's lamp burned late. \
    She trimmed the wick, polished the great lens and wrote the weather into a worn ledger, noting the \
    swell, the colour of the sky and the ships that passed beyond the reef. ";

/// The model under test, loaded once per bench binary.
struct Bench {
    model: Model,
    name: &'static str,
    /// Ordinary text tokens to build prompts of an exact length from.
    filler: Vec<i32>,
}

fn bench() -> &'static Bench {
    static BENCH: OnceLock<Bench> = OnceLock::new();
    BENCH.get_or_init(|| {
        let bundled = hearth_store::builtin::default_model();
        let models = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/models"));
        let path = hearth_store::builtin::locate(bundled, &[models]).unwrap_or_else(|e| {
            panic!(
                "the benchmarks need the bundled model {}: {e}",
                bundled.name
            )
        });
        let config = LoadConfig {
            parallel: PARALLEL,
            ..Default::default()
        };
        let model = Model::load(&path, config)
            .unwrap_or_else(|e| panic!("cannot load {}: {e}", path.display()));
        let mut filler = Vec::new();
        while filler.len() < PROMPT_TOKENS {
            filler.extend(model.tokenize_ids(FILLER, false));
        }
        let bench = Bench {
            model,
            name: &bundled.name,
            filler,
        };
        // One untimed generation: thread pools, page faults in the weights, allocator warm-up.
        run(&bench.model, bench.exact_prompt(PROMPT_TOKENS), 8);
        bench
    })
}

impl Bench {
    /// `len` tokens whose first token differs from every earlier prompt's, so the engine's
    /// prefix cache cannot skip any of the prefill.
    fn exact_prompt(&self, len: usize) -> Prompt {
        static NEXT: AtomicI32 = AtomicI32::new(0);
        let n_vocab = self.model.info().n_vocab as i32;
        // Ordinary tokens live well inside the vocabulary; control tokens sit at its ends.
        let span = (n_vocab / 2).max(1);
        let first = n_vocab / 4 + NEXT.fetch_add(7919, Ordering::Relaxed).rem_euclid(span);
        let mut tokens = Vec::with_capacity(len);
        tokens.push(first);
        tokens.extend_from_slice(&self.filler[..len - 1]);
        Prompt::Tokens(tokens)
    }

    /// A chat prompt asking for a long answer (so greedy decoding rarely stops before 128 tokens).
    fn story_prompt(&self) -> Prompt {
        static NEXT: AtomicI32 = AtomicI32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let request =
            format!("Write a long, detailed story about lighthouse number {n} and its keeper.");
        let message: Result<ChatMessage, _> =
            serde_json::from_value(serde_json::json!({ "role": "user", "content": request }));
        let text = message
            .ok()
            .and_then(|m| self.model.render_chat(&[m], None, true).ok())
            .unwrap_or_else(|| format!("{request}\n\nOnce upon a time,"));
        Prompt::Text(text)
    }
}

fn request(prompt: Prompt, num_predict: u32) -> GenerateRequest {
    let mut request = GenerateRequest::new("").with_options(SamplingOptions {
        num_predict: num_predict as i32,
        temperature: 0.0,
        ..Default::default()
    });
    request.prompt = prompt;
    request
}

fn start(model: &Model, prompt: Prompt, num_predict: u32) -> Generation {
    model
        .generate(request(prompt, num_predict))
        .unwrap_or_else(|e| panic!("generate failed: {e}"))
}

/// Read a generation to the end: its completion and the wall-clock time to its first token.
fn finish(mut generation: Generation, started: Instant) -> (Completion, Duration) {
    let mut first_token = None;
    loop {
        match generation.blocking_next() {
            Some(Event::Token { .. }) => {
                first_token.get_or_insert_with(|| started.elapsed());
            }
            Some(Event::Done(done)) => {
                return (done, first_token.unwrap_or_else(|| started.elapsed()))
            }
            Some(Event::Error(e)) => panic!("generation failed: {e}"),
            None => panic!("the engine closed the stream without a Done event"),
        }
    }
}

fn run(model: &Model, prompt: Prompt, num_predict: u32) -> (Completion, Duration) {
    let started = Instant::now();
    finish(start(model, prompt, num_predict), started)
}

fn nanos(ns: u64) -> Duration {
    Duration::from_nanos(ns.max(1))
}

/// Scale `took` (for `done` units of work) to the time `want` units would take at the same rate.
fn normalise(took: Duration, done: u64, want: u64) -> Duration {
    took.mul_f64(want as f64 / done.max(1) as f64)
}

/// Totals per bench for the JSON summary: work units (tokens, or 1 per TTFT sample) and seconds.
static SUMMARY: Mutex<BTreeMap<&'static str, (f64, f64, u64)>> = Mutex::new(BTreeMap::new());

fn record(key: &'static str, units: f64, took: Duration) {
    let mut summary = SUMMARY.lock().unwrap_or_else(|e| e.into_inner());
    let entry = summary.entry(key).or_insert((0.0, 0.0, 0));
    entry.0 += units;
    entry.1 += took.as_secs_f64();
    entry.2 += 1;
}

fn prefill(c: &mut Criterion, b: &'static Bench, backend: &str) {
    let mut group = c.benchmark_group(format!("{backend}/prefill"));
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    group.throughput(Throughput::Elements(PROMPT_TOKENS as u64));
    group.bench_function("pp512", |bencher| {
        bencher.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (done, _) = run(&b.model, b.exact_prompt(PROMPT_TOKENS), 1);
                let evaluated = u64::from(done.prompt_eval_count.saturating_sub(done.cached_prompt_tokens));
                assert!(
                    evaluated + 8 >= PROMPT_TOKENS as u64,
                    "prefill evaluated only {evaluated} of {PROMPT_TOKENS} tokens (prefix cache hit?)"
                );
                let took = nanos(done.prompt_eval_duration_ns);
                record("pp512", evaluated as f64, took);
                total += normalise(took, evaluated, PROMPT_TOKENS as u64);
            }
            total
        })
    });
    group.finish();
}

fn decode(c: &mut Criterion, b: &'static Bench, backend: &str) {
    let mut group = c.benchmark_group(format!("{backend}/decode"));
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    group.throughput(Throughput::Elements(u64::from(DECODE_TOKENS)));
    group.bench_function("tg128", |bencher| {
        bencher.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (done, _) = run(&b.model, b.story_prompt(), DECODE_TOKENS);
                let took = nanos(done.eval_duration_ns);
                record("tg128", f64::from(done.eval_count), took);
                total += normalise(took, u64::from(done.eval_count), u64::from(DECODE_TOKENS));
            }
            total
        })
    });
    group.finish();
}

fn time_to_first_token(c: &mut Criterion, b: &'static Bench, backend: &str) {
    let mut group = c.benchmark_group(format!("{backend}/ttft"));
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    group.bench_function("prompt64", |bencher| {
        bencher.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (_, ttft) = run(&b.model, b.exact_prompt(TTFT_PROMPT_TOKENS), 1);
                record("ttft_prompt64", 1.0, ttft);
                total += ttft;
            }
            total
        })
    });
    group.finish();
}

/// Every token event of one generation, timestamped as it arrives.
fn token_times(mut generation: Generation) -> Vec<Instant> {
    let mut times = Vec::new();
    loop {
        match generation.blocking_next() {
            Some(Event::Token { .. }) => times.push(Instant::now()),
            Some(Event::Done(_)) => return times,
            Some(Event::Error(e)) => panic!("generation failed: {e}"),
            None => panic!("the engine closed the stream without a Done event"),
        }
    }
}

/// The decode phase of concurrent generations, as llama-batched-bench's S_TG measures it: from
/// the moment every sequence has its first token (all prompts prefilled) to the moment the first
/// one finishes, the tokens streamed by all of them over that span. Prompt evaluation of the
/// other sequences, which continuous batching interleaves with the first ones' decoding, stays
/// outside it. Returns (tokens, span).
fn decode_phase(streams: &[Vec<Instant>]) -> (u64, Duration) {
    let start = streams.iter().filter_map(|t| t.first()).max().copied();
    let end = streams.iter().filter_map(|t| t.last()).min().copied();
    let (Some(start), Some(end)) = (start, end) else {
        return (0, Duration::ZERO);
    };
    let tokens = streams
        .iter()
        .flatten()
        .filter(|&&t| t > start && t <= end)
        .count();
    (tokens as u64, end.saturating_duration_since(start))
}

/// Decode `n` story prompts side by side: (tokens, span) of their shared decode phase.
fn concurrent_decode(b: &'static Bench, n: usize) -> (u64, Duration) {
    let readers: Vec<_> = (0..n)
        .map(|_| start(&b.model, b.story_prompt(), DECODE_TOKENS))
        .map(|g| std::thread::spawn(move || token_times(g)))
        .collect();
    let streams: Vec<_> = readers
        .into_iter()
        .map(|r| r.join().expect("a reader thread panicked"))
        .collect();
    let (tokens, took) = decode_phase(&streams);
    let want = u64::from(DECODE_TOKENS) * n as u64;
    assert!(
        tokens >= want / 2,
        "only {tokens} of {want} tokens fell in the shared decode phase (early end of text?)"
    );
    (tokens, took)
}

/// Per-round ratios of 8-sequence to 1-sequence aggregate decode, for the summary.
static SCALING: Mutex<Vec<f64>> = Mutex::new(Vec::new());

/// The 8/1 scaling measured in alternating rounds (one sequence, then eight), so that the
/// shared machine's drift over minutes does not land on one side of the ratio.
fn scaling(c: &mut Criterion, b: &'static Bench, backend: &str) {
    let mut group = c.benchmark_group(format!("{backend}/aggregate_decode"));
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    group.bench_function("x8_over_x1_interleaved", |bencher| {
        bencher.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (one, one_took) = concurrent_decode(b, 1);
                let (eight, eight_took) = concurrent_decode(b, 8);
                let rate =
                    |tokens: u64, took: Duration| tokens as f64 / took.as_secs_f64().max(1e-9);
                SCALING
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(rate(eight, eight_took) / rate(one, one_took));
                total += one_took + eight_took;
            }
            total
        })
    });
    group.finish();
}

fn aggregate_decode(c: &mut Criterion, b: &'static Bench, backend: &str) {
    let mut group = c.benchmark_group(format!("{backend}/aggregate_decode"));
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    for n in CONCURRENCY {
        let key: &'static str = match n {
            1 => "decode_x1",
            4 => "decode_x4",
            _ => "decode_x8",
        };
        let want = u64::from(DECODE_TOKENS) * n as u64;
        group.throughput(Throughput::Elements(want));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |bencher, &n| {
            bencher.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (tokens, took) = concurrent_decode(b, n);
                    record(key, tokens as f64, took);
                    total += normalise(took, tokens, want);
                }
                total
            })
        });
    }
    group.finish();
}

/// Where the JSON summary goes: `$HEARTH_BENCH_JSON`, else `<target dir>/hearth-bench.json`.
fn summary_path() -> PathBuf {
    if let Some(path) = std::env::var_os("HEARTH_BENCH_JSON") {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target")));
    target.join("hearth-bench.json")
}

fn write_summary(b: &Bench, backend: &str) {
    let summary = SUMMARY.lock().unwrap_or_else(|e| e.into_inner());
    if summary.is_empty() && SCALING.lock().map_or(true, |s| s.is_empty()) {
        return;
    }
    let mut results = serde_json::Map::new();
    for (&key, &(units, secs, samples)) in summary.iter() {
        let value = if key.starts_with("ttft") {
            serde_json::json!({ "ms": 1000.0 * secs / units.max(1.0), "samples": samples })
        } else {
            serde_json::json!({ "tok_s": units / secs.max(1e-9), "tokens": units, "samples": samples })
        };
        results.insert(key.to_owned(), value);
    }
    let mut ratios = SCALING.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if !ratios.is_empty() {
        ratios.sort_by(f64::total_cmp);
        results.insert(
            "scaling_x8_over_x1".to_owned(),
            serde_json::json!({ "ratio": ratios[ratios.len() / 2], "rounds": ratios.len(),
                                "min": ratios[0], "max": ratios[ratios.len() - 1] }),
        );
    }
    let info = b.model.info();
    let json = serde_json::json!({
        "backend": backend,
        "model": b.name,
        "model_path": info.path,
        "threads": info.threads,
        "parallel": info.parallel,
        "results": results,
    });
    let path = summary_path();
    let text = serde_json::to_string_pretty(&json).expect("a JSON value serialises");
    match std::fs::write(&path, text + "\n") {
        Ok(()) => eprintln!("hearth bench summary: {}", path.display()),
        Err(e) => eprintln!("warning: cannot write {}: {e}", path.display()),
    }
}

fn main() {
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10))
        .configure_from_args();
    let backend = hearth_engine::backend_name();
    let b = bench();
    prefill(&mut criterion, b, backend);
    decode(&mut criterion, b, backend);
    time_to_first_token(&mut criterion, b, backend);
    aggregate_decode(&mut criterion, b, backend);
    scaling(&mut criterion, b, backend);
    criterion.final_summary();
    write_summary(b, backend);
}
