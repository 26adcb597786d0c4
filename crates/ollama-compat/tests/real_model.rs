//! End-to-end tests of the HTTP server over sockets with the REAL bundled model (smollm2:135m).
//! They never skip: a missing model fails loudly, naming scripts/fetch-models.sh.

mod common;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{client, MODEL};
use futures::StreamExt;
use serde_json::{json, Value};

/// One server for the whole binary, shared by the tests (each has its own runtime).
fn base() -> &'static str {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(|| {
        common::serve(|config| {
            config.scheduler.num_ctx = 2048;
            config.scheduler.num_parallel = 4;
        })
    })
}

/// The disconnect test reads the server-wide queue depth, so it runs alone: the others share.
fn exclusive() -> &'static tokio::sync::RwLock<()> {
    static LOCK: OnceLock<tokio::sync::RwLock<()>> = OnceLock::new();
    LOCK.get_or_init(|| tokio::sync::RwLock::new(()))
}

/// POST a JSON body; the status and the JSON answer, whatever the status.
async fn post_any(path: &str, body: Value) -> (reqwest::StatusCode, Value) {
    let resp = client()
        .post(format!("{}{path}", base()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

async fn post(path: &str, body: Value) -> Value {
    let (status, v) = post_any(path, body).await;
    assert!(status.is_success(), "{path} {status}: {v}");
    v
}

async fn ndjson(path: &str, body: Value) -> Vec<Value> {
    let resp = client()
        .post(format!("{}{path}", base()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "application/x-ndjson");
    let text = resp.text().await.unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn generate_streams_and_aggregates() {
    let _shared = exclusive().read().await;
    let body = json!({"model": MODEL, "prompt": "Why is the sky blue?", "options": {"num_predict": 12, "temperature": 0}});
    let chunks = ndjson("/api/generate", body.clone()).await;
    let last = chunks.last().unwrap();
    assert_eq!(last["done"], true);
    assert_eq!(last["done_reason"], "length");
    assert_eq!(last["eval_count"], 12);
    assert!(last["prompt_eval_count"].as_u64().unwrap() > 5);
    assert!(!last["context"].as_array().unwrap().is_empty());
    let streamed: String = chunks
        .iter()
        .map(|c| c["response"].as_str().unwrap())
        .collect();
    let mut once = body;
    once["stream"] = json!(false);
    let v = post("/api/generate", once).await;
    assert_eq!(
        v["response"].as_str().unwrap(),
        streamed,
        "greedy output is the same streamed or not"
    );
}

#[tokio::test]
async fn chat_json_format_parses() {
    let _shared = exclusive().read().await;
    let v = post(
        "/api/chat",
        json!({"model": MODEL, "stream": false, "format": {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}, "required": ["name", "age"]},
               "messages": [{"role": "user", "content": "Describe a person as JSON with name and age."}],
               "options": {"temperature": 0, "num_predict": 80}}),
    )
    .await;
    let content = v["message"]["content"].as_str().unwrap();
    let parsed: Value = serde_json::from_str(content).unwrap_or_else(|e| panic!("{e}: {content}"));
    assert!(
        parsed["name"].is_string() && parsed["age"].is_i64(),
        "{parsed}"
    );
}

#[tokio::test]
async fn embeddings_are_normalised() {
    let _shared = exclusive().read().await;
    let v = post(
        "/api/embed",
        json!({"model": MODEL, "input": ["hello", "world"]}),
    )
    .await;
    let e = v["embeddings"].as_array().unwrap();
    assert_eq!(e.len(), 2);
    let norm: f64 = e[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap().powi(2))
        .sum();
    assert!((norm - 1.0).abs() < 1e-3, "{norm}");
    let v = post("/v1/embeddings", json!({"model": MODEL, "input": "hello"})).await;
    assert_eq!(
        v["data"][0]["embedding"].as_array().unwrap().len(),
        e[0].as_array().unwrap().len()
    );
    // The legacy endpoint gives the raw pooled vector: same direction, its own length.
    let v = post(
        "/api/embeddings",
        json!({"model": MODEL, "prompt": "hello"}),
    )
    .await;
    let raw: Vec<f64> = serde_json::from_value(v["embedding"].clone()).unwrap();
    let unit: Vec<f64> = serde_json::from_value(e[0].clone()).unwrap();
    assert_eq!(raw.len(), unit.len());
    let raw_norm = raw.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!((raw_norm - 1.0).abs() > 1e-2, "legacy vector is normalised");
    let cos = raw.iter().zip(&unit).map(|(r, u)| r * u).sum::<f64>() / raw_norm;
    assert!(cos > 0.999, "cosine {cos}");
    // An empty prompt gives an empty vector (and loads the model).
    let v = post("/api/embeddings", json!({"model": MODEL, "prompt": ""})).await;
    assert_eq!(v["embedding"], json!([]));
}

#[tokio::test]
async fn seeds_are_reproducible() {
    let _shared = exclusive().read().await;
    let body = json!({"model": MODEL, "prompt": "Tell me a story", "stream": false, "options": {"seed": 42, "temperature": 0.9, "num_predict": 16}});
    let a = post("/api/generate", body.clone()).await;
    let b = post("/api/generate", body).await;
    assert_eq!(a["response"], b["response"]);
}

#[tokio::test]
async fn concurrent_requests_all_complete() {
    let _shared = exclusive().read().await;
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            tokio::spawn(async move {
                post(
                    "/v1/chat/completions",
                    json!({"model": MODEL, "max_tokens": 16, "seed": i,
                    "messages": [{"role": "user", "content": format!("Count to {i}")}]}),
                )
                .await
            })
        })
        .collect();
    for t in tasks {
        let v = t.await.unwrap();
        assert_eq!(v["object"], "chat.completion");
        assert!(v["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    }
}

#[tokio::test]
async fn disconnect_cancels_generation() {
    let _alone = exclusive().write().await;
    let resp = client()
        .post(format!("{}/api/generate", base()))
        .json(&json!({"model": MODEL, "prompt": "Write a very long essay.", "options": {"num_predict": 2000}}))
        .send()
        .await
        .unwrap();
    let mut stream = resp.bytes_stream();
    let _ = stream.next().await;
    drop(stream);
    // The freed slot serves the next request promptly, and nothing stays queued.
    let started = Instant::now();
    post(
        "/api/generate",
        json!({"model": MODEL, "prompt": "Hi", "stream": false, "options": {"num_predict": 4}}),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(60));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = client()
            .get(format!("{}/metrics", base()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let busy = metrics
            .lines()
            .any(|l| l.starts_with("hearth_queue_depth ") && !l.ends_with(" 0"));
        if !busy {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "generation still running after disconnect:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn classify_returns_a_well_formed_token() {
    let _shared = exclusive().read().await;
    let tools = json!([
        {"name": "read_website", "description": "Fetch a web page by URL", "risk_level": 2,
         "parameters": [{"name": "url", "type": "string", "description": "Address"}]},
        {"name": "send_email", "description": "Send an email to a recipient", "risk_level": 4,
         "parameters": [{"name": "to", "type": "string", "description": "Recipient"}]}
    ]);
    for method in ["llm", "hybrid"] {
        let request = "Summarize the article at https://example.com/news";
        let v = post(
            "/api/classify",
            json!({"model": MODEL, "tools": tools, "request": request, "method": method}),
        )
        .await;
        let method_text = v["classification_method"].as_str().unwrap();
        assert!(
            !method_text.contains("-error"),
            "{method}: failed closed: {v}"
        );
        let granted = v["granted_tools"].as_object().unwrap();
        assert_eq!(granted.len(), 2, "{v}");
        assert!(granted.values().all(Value::is_boolean), "{v}");
        assert_eq!(v["user_request"], request);
        assert_eq!(v["request_id"].as_str().unwrap().len(), 36, "{v}");
        let confidence = v["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&confidence), "{v}");
        assert!(v["timestamp"].as_str().unwrap().contains('T'), "{v}");
    }
    let (status, _) = post_any(
        "/api/classify",
        json!({"model": "no-such-model:1b", "tools": tools, "request": "hi"}),
    )
    .await;
    assert_eq!(status, 404);

    // The rules' policy knobs travel with the request: "give Priya the notice" commands the
    // notice, whose one side-effect tool is granted, unless the commanded-object rule is off.
    let landlord = json!([
        {"name": "search_tenants", "description": "Find tenants by name or unit", "risk_level": 1},
        {"name": "send_notice", "description": "Send a formal notice to a tenant", "risk_level": 4},
        {"name": "post_vacancy", "description": "Post a vacancy on rental sites", "risk_level": 5}
    ]);
    let ask = "give Priya the 24 hour entry notice for thursday morning";
    let v = post(
        "/api/classify",
        json!({"tools": landlord, "request": ask, "method": "rules"}),
    )
    .await;
    assert_eq!(v["granted_tools"]["send_notice"], true, "{v}");
    let v = post(
        "/api/classify",
        json!({"tools": landlord, "request": ask, "method": "rules",
               "policy": {"commanded_max_risk": 0}}),
    )
    .await;
    assert_eq!(v["granted_tools"]["send_notice"], false, "{v}");
    let (status, v) = post_any(
        "/api/classify",
        json!({"tools": landlord, "request": ask, "policy": {"fallback_max_risk": 7}}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        v["error"],
        "policy fallback_max_risk must be between 0 and 5, got 7"
    );
}

/// Tools for the tool_choice tests: strings are bounded so a forced call always fits.
fn choice_tools() -> Value {
    json!([
        {"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city",
            "parameters": {"type": "object", "properties": {
                "city": {"type": "string", "maxLength": 30},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                "required": ["city", "unit"]}}},
        {"type": "function", "function": {"name": "send_email", "description": "Send an email",
            "parameters": {"type": "object", "properties": {
                "to": {"type": "string", "maxLength": 40},
                "subject": {"type": "string", "maxLength": 40}},
                "required": ["to", "subject"]}}},
        {"type": "function", "function": {"name": "search_files", "description": "Search the user's files",
            "parameters": {"type": "object", "properties": {
                "query": {"type": "string", "maxLength": 30},
                "limit": {"type": "integer"}},
                "required": ["query", "limit"]}}}
    ])
}

/// Whether `args` satisfies the parameters schema of the named tool in [`choice_tools`].
fn valid_arguments(tools: &Value, name: &str, args: &Value) -> bool {
    let Some(tool) = tools
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["function"]["name"] == name)
    else {
        return false;
    };
    let schema = &tool["function"]["parameters"];
    let (Some(obj), Some(props)) = (args.as_object(), schema["properties"].as_object()) else {
        return false;
    };
    let required = schema["required"].as_array().unwrap();
    required
        .iter()
        .all(|r| obj.contains_key(r.as_str().unwrap()))
        && obj.iter().all(|(k, v)| match props.get(k) {
            None => false,
            Some(p) => match p["type"].as_str() {
                Some("string") => {
                    v.as_str().is_some_and(|s| {
                        p["maxLength"]
                            .as_u64()
                            .is_none_or(|m| s.chars().count() as u64 <= m)
                    }) && p["enum"].as_array().is_none_or(|e| e.contains(v))
                }
                Some("integer") => v.is_i64() || v.is_u64(),
                _ => true,
            },
        })
}

const CHOICE_PROMPTS: [&str; 20] = [
    "What's the weather like in Paris?",
    "Email bob@example.com that the meeting moved to 3pm.",
    "Find my tax documents from last year.",
    "Tell me a joke about cats.",
    "Is it going to rain in Tokyo tomorrow?",
    "Send a thank-you note to alice@example.com.",
    "Where did I save the slides for the board meeting?",
    "What is 17 times 23?",
    "How cold is it in Oslo right now, in fahrenheit?",
    "Let the team know the release is delayed.",
    "Search for photos from the beach trip.",
    "Write a haiku about autumn.",
    "Do I need an umbrella in London today?",
    "Email my landlord about the broken heater.",
    "Look up the contract with Acme Corp.",
    "Who wrote Pride and Prejudice?",
    "Weather report for Cairo please.",
    "Remind carol@example.com to submit her timesheet.",
    "Find the invoice numbered 4471.",
    "Translate 'good morning' into Spanish.",
];

async fn chat_completion(body: Value) -> Value {
    post("/v1/chat/completions", body).await
}

/// `required` and a named tool, 20 prompts each (many of which don't ask for any tool): every
/// answer is one well-formed call to an allowed tool whose arguments fit its schema.
#[tokio::test]
async fn tool_choice_required_and_named_are_obeyed() {
    let _shared = exclusive().read().await;
    let tools = choice_tools();
    let cases = CHOICE_PROMPTS.iter().enumerate().map(|(i, prompt)| {
        let tools = tools.clone();
        async move {
            let (choice, allowed): (Value, &[&str]) = if i % 2 == 0 {
                (
                    json!("required"),
                    &["get_weather", "send_email", "search_files"],
                )
            } else {
                (
                    json!({"type": "function", "function": {"name": "send_email"}}),
                    &["send_email"],
                )
            };
            let v = chat_completion(json!({
                "model": MODEL, "temperature": 0, "max_tokens": 120, "tools": tools,
                "tool_choice": choice, "parallel_tool_calls": false,
                "messages": [{"role": "user", "content": prompt}],
            }))
            .await;
            (prompt, allowed, v)
        }
    });
    // In waves of the server's 4 slots, so that no request waits behind the whole set.
    let mut answers = Vec::new();
    let mut cases = cases.collect::<Vec<_>>().into_iter();
    loop {
        let wave: Vec<_> = cases.by_ref().take(4).collect();
        if wave.is_empty() {
            break;
        }
        answers.extend(futures::future::join_all(wave).await);
    }
    for (prompt, allowed, v) in answers {
        let choice = &v["choices"][0];
        assert_eq!(choice["finish_reason"], "tool_calls", "{prompt}: {v}");
        let calls = choice["message"]["tool_calls"].as_array().unwrap();
        assert_eq!(calls.len(), 1, "{prompt}: parallel_tool_calls false: {v}");
        let name = calls[0]["function"]["name"].as_str().unwrap();
        assert!(allowed.contains(&name), "{prompt}: {name} not allowed: {v}");
        let args: Value =
            serde_json::from_str(calls[0]["function"]["arguments"].as_str().unwrap()).unwrap();
        assert!(
            valid_arguments(&tools, name, &args),
            "{prompt}: arguments don't fit the schema: {v}"
        );
    }
}

/// `none`: no call, even when the user asks for exactly what a tool does; an unknown named tool
/// is a 400 in OpenAI's shape.
#[tokio::test]
async fn tool_choice_none_and_unknown() {
    let _shared = exclusive().read().await;
    let tools = choice_tools();
    for prompt in &CHOICE_PROMPTS[..4] {
        let v = chat_completion(json!({
            "model": MODEL, "temperature": 0, "max_tokens": 40, "tools": tools,
            "tool_choice": "none",
            "messages": [{"role": "system", "content": "Always answer with a <tool_call>."},
                         {"role": "user", "content": prompt}],
        }))
        .await;
        let choice = &v["choices"][0];
        assert!(choice["message"].get("tool_calls").is_none(), "{v}");
        assert_ne!(choice["finish_reason"], "tool_calls", "{v}");
    }
    let (status, v) = post_any(
        "/v1/chat/completions",
        json!({"model": MODEL, "tools": tools, "tool_choice": {"type": "function", "function": {"name": "nope"}},
               "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("nope"),
        "{v}"
    );
}
