//! Router unit tests without sockets: every endpoint's shape and every error, over the fake backend.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::config::ServerConfig;
use crate::fake::{FakeLoader, FakeStats};
use crate::state::AppState;
use hearth_store::catalog::BuiltinEntry;
use hearth_store::names::ModelName;

pub(super) struct App {
    pub(super) router: Router,
    pub(super) stats: Arc<FakeStats>,
    dir: tempfile::TempDir,
}

pub(super) fn app_with(f: impl FnOnce(&mut ServerConfig)) -> App {
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("fake.gguf");
    std::fs::write(&weights, b"not really a gguf").unwrap();
    let bundled = vec![BuiltinEntry {
        name: ModelName::parse("fake:1m").unwrap(),
        aliases: vec![ModelName::parse("fake").unwrap()],
        path: weights,
        sha256: hearth_store::Digest::of(b"not really a gguf")
            .hex()
            .to_owned(),
        size: 17,
        family: "llama".into(),
        quantization: "Q4_0".into(),
        license: "MIT".into(),
    }];
    let mut config = ServerConfig::new(dir.path().join("models"));
    f(&mut config);
    let stats = Arc::new(FakeStats::default());
    let state = AppState::new(config, Arc::new(FakeLoader(Arc::clone(&stats))), bundled);
    App {
        router: super::router(state),
        stats,
        dir,
    }
}

pub(super) fn app() -> App {
    app_with(|_| {})
}

pub(super) async fn send(app: &App, req: Request<Body>) -> (StatusCode, HeaderMap, Bytes) {
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body)
}

pub(super) async fn call(
    app: &App,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, HeaderMap, Bytes) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    send(app, req.body(body).unwrap()).await
}

pub(super) async fn post(app: &App, uri: &str, body: Value) -> (StatusCode, Value) {
    let (s, _, b) = call(app, Method::POST, uri, Some(body)).await;
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

pub(super) fn lines(body: &Bytes) -> Vec<Value> {
    body.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

pub(super) fn error_of(v: &Value) -> &str {
    v["error"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn liveness_version_and_unknown_routes() {
    let a = app();
    let (s, h, b) = call(&a, Method::GET, "/", None).await;
    assert_eq!((s, &b[..]), (StatusCode::OK, &b"Ollama is running"[..]));
    assert!(h[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let (s, _, b) = call(&a, Method::HEAD, "/", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(b.is_empty());
    let (s, h, b) = call(&a, Method::GET, "/api/version", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "application/json; charset=utf-8");
    assert_eq!(
        serde_json::from_slice::<Value>(&b).unwrap()["version"],
        "0.33.0"
    );
    let (s, _, b) = call(&a, Method::GET, "/nope", None).await;
    assert_eq!(
        (s, &b[..]),
        (StatusCode::NOT_FOUND, &b"404 page not found"[..])
    );
    let (s, _, b) = call(&a, Method::GET, "/api/show", None).await;
    assert_eq!(
        (s, &b[..]),
        (
            StatusCode::METHOD_NOT_ALLOWED,
            &b"405 method not allowed"[..]
        )
    );
}

#[tokio::test]
async fn tags_list_bundled_models_in_an_empty_store() {
    let a = app();
    let (s, _, b) = call(&a, Method::GET, "/api/tags", None).await;
    assert_eq!(s, StatusCode::OK);
    let v: Value = serde_json::from_slice(&b).unwrap();
    let m = &v["models"][0];
    assert_eq!(m["name"], "fake:1m");
    assert_eq!(m["model"], "fake:1m");
    assert_eq!(m["details"]["format"], "gguf");
    assert_eq!(m["details"]["family"], "llama");
    assert_eq!(m["details"]["quantization_level"], "Q4_0");
    assert_eq!(m["details"]["parameter_size"], "1M");
    assert_eq!(m["digest"].as_str().unwrap().len(), 64);
    chrono::DateTime::parse_from_rfc3339(m["modified_at"].as_str().unwrap()).unwrap();
}

#[tokio::test]
async fn body_errors() {
    let a = app();
    let (s, _, b) = call(&a, Method::POST, "/api/generate", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        error_of(&serde_json::from_slice(&b).unwrap()),
        "missing request body"
    );
    let req = Request::post("/api/chat")
        .body(Body::from("{not json"))
        .unwrap();
    let (s, _, b) = send(&a, req).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(!error_of(&serde_json::from_slice(&b).unwrap()).is_empty());
    let (s, v) = post(&a, "/api/generate", json!({"model": "fake", "prompt": 5})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
}

#[tokio::test]
async fn generate_errors_use_ollama_texts() {
    let a = app();
    let cases = [
        (json!({"model": ""}), 404, "model '' not found"),
        (json!({"model": "bad name!"}), 400, "invalid model name"),
        (
            json!({"model": "missing", "prompt": "x"}),
            404,
            "model 'missing' not found",
        ),
        (
            json!({"model": "fake", "prompt": "x", "raw": true, "system": "s"}),
            400,
            "raw mode does not support template, system, or context",
        ),
        (
            json!({"model": "fake", "prompt": "x", "top_logprobs": 21}),
            400,
            "top_logprobs must be between 0 and 20",
        ),
        (
            json!({"model": "fake", "prompt": "x", "think": true}),
            400,
            "\"fake\" does not support thinking",
        ),
        (
            json!({"model": "fake", "prompt": "x", "think": "extreme"}),
            400,
            "invalid think value: \"extreme\"",
        ),
        (
            json!({"model": "fake", "prompt": "x", "images": ["aGk="]}),
            400,
            "registry.ollama.ai/library/fake:latest does not support vision",
        ),
        (
            json!({"model": "fake", "prompt": "x", "suffix": "y"}),
            400,
            "registry.ollama.ai/library/fake:latest does not support insert",
        ),
        (
            json!({"model": "fake", "prompt": "x", "format": "yaml"}),
            400,
            "invalid format: \"yaml\"; expected \"json\" or a valid JSON Schema object",
        ),
        (
            json!({"model": "fake", "prompt": "x", "options": {"temperature": "hot"}}),
            500,
            "option \"temperature\" must be of type float32",
        ),
        (
            json!({"model": "fake", "prompt": "x", "keep_alive": "3600"}),
            400,
            "time: missing unit in duration \"3600\"",
        ),
    ];
    for (body, status, msg) in cases {
        let (s, v) = post(&a, "/api/generate", body.clone()).await;
        assert_eq!(s.as_u16(), status, "{body} → {v}");
        assert!(error_of(&v).contains(msg), "{body} → {v}");
    }
    let (s, v) = post(&a, "/api/generate", json!({"model": "fake", "prompt": "x", "think": false, "options": {"mirostat": 0, "unknown": 1}, "stream": false})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn generate_streams_ndjson_with_a_final_chunk() {
    let a = app();
    let (s, h, b) = call(
        &a,
        Method::POST,
        "/api/generate",
        Some(json!({"model": "fake", "prompt": "hi"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "application/x-ndjson");
    let chunks = lines(&b);
    assert_eq!(chunks.len(), 5);
    for c in &chunks[..4] {
        assert_eq!(c["model"], "fake");
        assert_eq!(c["done"], false);
        assert!(c["response"].is_string());
        assert!(c.get("eval_count").is_none());
        chrono::DateTime::parse_from_rfc3339(c["created_at"].as_str().unwrap()).unwrap();
    }
    let text: String = chunks
        .iter()
        .map(|c| c["response"].as_str().unwrap())
        .collect();
    assert_eq!(text, "Hello, world!");
    let last = &chunks[4];
    assert_eq!(last["done"], true);
    assert_eq!(last["done_reason"], "stop");
    assert_eq!(last["response"], "");
    assert_eq!(last["eval_count"], 4);
    assert_eq!(last["prompt_eval_count"], 7);
    assert!(last["total_duration"].as_u64().unwrap() > 0);
    assert!(last["load_duration"].as_u64().unwrap() > 0);
    assert_eq!(last["context"], json!([1, 2, 3]));
}

#[tokio::test]
async fn generate_non_streaming_aggregates() {
    let a = app();
    let (s, v) = post(&a, "/api/generate", json!({"model": "fake", "prompt": "hi", "stream": false, "logprobs": true, "options": {"num_predict": 2}})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["response"], "Hello,");
    assert_eq!(v["done"], true);
    assert_eq!(v["done_reason"], "length");
    assert_eq!(v["logprobs"].as_array().unwrap().len(), 2);
    let (_, v) = post(
        &a,
        "/api/generate",
        json!({"model": "fake", "prompt": "hi", "stream": false, "raw": true}),
    )
    .await;
    assert!(v.get("context").is_none());
    let (_, v) = post(
        &a,
        "/api/generate",
        json!({"model": "fake", "prompt": "hi", "stream": false, "format": {"type": "object"}}),
    )
    .await;
    let parsed: Value = serde_json::from_str(v["response"].as_str().unwrap()).unwrap();
    assert_eq!(parsed["answer"], 42);
}

#[tokio::test]
async fn load_unload_and_ps() {
    let a = app();
    let (s, v) = post(&a, "/api/generate", json!({"model": "fake"})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["done_reason"], "load");
    assert_eq!(v["response"], "");
    let (_, _, b) = call(&a, Method::GET, "/api/ps", None).await;
    let ps: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(ps["models"][0]["name"], "fake:1m");
    assert_eq!(ps["models"][0]["context_length"], 4096);
    assert_eq!(ps["models"][0]["details"]["parent_model"], "");
    assert_eq!(
        ps["models"][0]["prompt_cache"],
        json!({"bytes": 1234, "entries": 1, "budget": 4096})
    );
    chrono::DateTime::parse_from_rfc3339(ps["models"][0]["expires_at"].as_str().unwrap()).unwrap();
    let (_, v) = post(&a, "/api/chat", json!({"model": "fake", "keep_alive": 0})).await;
    assert_eq!(v["done_reason"], "unload");
    assert_eq!(v["message"], json!({"role": "assistant", "content": ""}));
    let (_, _, b) = call(&a, Method::GET, "/api/ps", None).await;
    assert_eq!(
        serde_json::from_slice::<Value>(&b).unwrap()["models"],
        json!([])
    );
    assert_eq!(a.stats.loads.load(Ordering::SeqCst), 1);
    // keep_alive 0 on a real request unloads after it.
    let (_, v) = post(
        &a,
        "/api/generate",
        json!({"model": "fake", "prompt": "x", "stream": false, "keep_alive": 0}),
    )
    .await;
    assert_eq!(v["done"], true);
    let (_, _, b) = call(&a, Method::GET, "/api/ps", None).await;
    assert_eq!(
        serde_json::from_slice::<Value>(&b).unwrap()["models"],
        json!([])
    );
    let (_, v) = post(
        &a,
        "/api/generate",
        json!({"model": "fake", "keep_alive": -1}),
    )
    .await;
    assert_eq!(v["done_reason"], "load");
    let (_, _, b) = call(&a, Method::GET, "/api/ps", None).await;
    let exp = serde_json::from_slice::<Value>(&b).unwrap()["models"][0]["expires_at"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        chrono::DateTime::parse_from_rfc3339(&exp)
            .unwrap()
            .timestamp()
            > chrono::Utc::now().timestamp() + 100 * 365 * 86400
    );
}

#[tokio::test]
async fn chat_shapes_errors_and_tools() {
    let a = app();
    let (s, v) = post(&a, "/api/chat", json!({"messages": []})).await;
    assert_eq!(
        (s, error_of(&v)),
        (StatusCode::BAD_REQUEST, "model is required")
    );
    let (s, v) = post(
        &a,
        "/api/chat",
        json!({"model": "nope", "messages": [{"role": "user", "content": "x"}]}),
    )
    .await;
    assert_eq!(
        (s, error_of(&v)),
        (StatusCode::NOT_FOUND, "model 'nope' not found")
    );
    let (_, _, b) = call(
        &a,
        Method::POST,
        "/api/chat",
        Some(json!({"model": "fake", "messages": [{"role": "USER", "content": "hi"}]})),
    )
    .await;
    let chunks = lines(&b);
    assert_eq!(
        chunks[0]["message"],
        json!({"role": "assistant", "content": "Hello"})
    );
    let last = chunks.last().unwrap();
    assert_eq!(last["done"], true);
    assert!(last.get("context").is_none());
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]);
    let body = json!({"model": "fake", "stream": false, "tools": tools, "messages": [{"role": "user", "content": "TOOL please"}]});
    let (s, v) = post(&a, "/api/chat", body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let tc = &v["message"]["tool_calls"][0];
    assert_eq!(tc["function"]["name"], "get_weather");
    assert_eq!(tc["function"]["arguments"], json!({"city": "Tokyo"}));
    assert_eq!(tc["function"]["index"], 0);
    assert!(tc["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(v["message"]["content"], "");
    // Streaming: the call arrives whole in one chunk.
    let body =
        json!({"model": "fake", "tools": tools, "messages": [{"role": "user", "content": "TOOL"}]});
    let (_, _, b) = call(&a, Method::POST, "/api/chat", Some(body)).await;
    let with_calls: Vec<_> = lines(&b)
        .into_iter()
        .filter(|c| c["message"].get("tool_calls").is_some())
        .collect();
    assert_eq!(with_calls.len(), 1);
}

#[tokio::test]
async fn embeddings() {
    let a = app();
    let (s, v) = post(
        &a,
        "/api/embed",
        json!({"model": "fake", "input": ["a", "b"], "dimensions": 2}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["embeddings"].as_array().unwrap().len(), 2);
    let e: Vec<f64> = serde_json::from_value(v["embeddings"][0].clone()).unwrap();
    assert_eq!(e.len(), 2);
    assert!((e.iter().map(|x| x * x).sum::<f64>() - 1.0).abs() < 1e-5);
    assert_eq!(v["prompt_eval_count"], 6);
    let (_, v) = post(&a, "/api/embed", json!({"model": "fake", "input": ""})).await;
    assert_eq!(v["embeddings"], json!([]));
    let (s, v) = post(&a, "/api/embed", json!({"model": "nope", "input": "x"})).await;
    assert_eq!(
        (s, error_of(&v)),
        (
            StatusCode::NOT_FOUND,
            "model \"nope\" not found, try pulling it first"
        )
    );
    let (s, v) = post(&a, "/api/embed", json!({"model": "fake", "input": [1]})).await;
    assert_eq!(
        (s, error_of(&v)),
        (StatusCode::BAD_REQUEST, "invalid input type")
    );
    let (s, v) = post(
        &a,
        "/api/embed",
        json!({"model": "fake", "input": "x".repeat(200), "truncate": false}),
    )
    .await;
    assert_eq!(
        (s, error_of(&v)),
        (
            StatusCode::BAD_REQUEST,
            "the input length exceeds the context length"
        )
    );
    let (s, v) = post(
        &a,
        "/api/embeddings",
        json!({"model": "fake", "prompt": "hi"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // Legacy vectors are the raw pooled output: the fake's unit vector times its norm (2).
    assert_eq!(v["embedding"], json!([1.0, 1.0, 1.0, 1.0]));
    let (s, v) = post(&a, "/api/embeddings", json!({"prompt": "hi"})).await;
    assert_eq!(
        (s, error_of(&v)),
        (StatusCode::BAD_REQUEST, "model is required")
    );
}

#[tokio::test]
async fn show_copy_delete_and_create() {
    let a = app();
    let (s, v) = post(&a, "/api/show", json!({"name": "fake"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    for k in [
        "license",
        "modelfile",
        "parameters",
        "template",
        "details",
        "model_info",
        "capabilities",
        "modified_at",
    ] {
        assert!(v.get(k).is_some(), "{k} missing: {v}");
    }
    // Tools are injected for templates without them (a documented difference from Ollama).
    assert_eq!(v["capabilities"], json!(["completion", "tools"]));
    let (s, v) = post(&a, "/api/show", json!({})).await;
    assert_eq!(
        (s, error_of(&v)),
        (StatusCode::BAD_REQUEST, "model is required")
    );
    let (s, v) = post(&a, "/api/show", json!({"model": "foo"})).await;
    assert_eq!(
        (s, error_of(&v)),
        (StatusCode::NOT_FOUND, "model 'foo:latest' not found")
    );

    let (s, _, b) = call(
        &a,
        Method::POST,
        "/api/copy",
        Some(json!({"source": "fake", "destination": "mine/copy:v1"})),
    )
    .await;
    assert_eq!((s, b.len()), (StatusCode::OK, 0));
    let (s, v) = post(
        &a,
        "/api/copy",
        json!({"source": "nope", "destination": "x"}),
    )
    .await;
    assert_eq!(
        (s, error_of(&v)),
        (StatusCode::NOT_FOUND, "model \"nope\" not found")
    );
    let (s, v) = post(
        &a,
        "/api/copy",
        json!({"source": "fake", "destination": "bad/"}),
    )
    .await;
    assert_eq!(
        (s, error_of(&v)),
        (StatusCode::BAD_REQUEST, "destination \"bad/\" is invalid")
    );
    assert!(a
        .dir
        .path()
        .join("models/manifests/registry.ollama.ai/mine/copy/v1")
        .is_file());

    let body = json!({"model": "tuned", "from": "mine/copy:v1", "system": "Be terse.", "parameters": {"temperature": 0.1, "stop": ["END"]},
                      "messages": [{"role": "user", "content": "hi"}], "template": "{{ .Prompt }}", "stream": false});
    let (s, v) = post(&a, "/api/create", body).await;
    assert_eq!((s, &v), (StatusCode::OK, &json!({"status": "success"})));
    let (_, v) = post(&a, "/api/show", json!({"model": "tuned"})).await;
    assert_eq!(v["system"], "Be terse.");
    assert!(
        v["parameters"]
            .as_str()
            .unwrap()
            .contains("stop                           \"END\""),
        "{v}"
    );
    assert!(
        v["parameters"]
            .as_str()
            .unwrap()
            .contains("temperature                    0.1"),
        "{v}"
    );
    assert_eq!(v["messages"][0]["content"], "hi");
    let (_, _, b) = call(
        &a,
        Method::POST,
        "/api/create",
        Some(json!({"model": "tuned2", "from": "tuned"})),
    )
    .await;
    let statuses = lines(&b);
    assert_eq!(statuses.last().unwrap()["status"], "success");
    let (s, v) = post(&a, "/api/create", json!({"model": "x"})).await;
    assert_eq!(
        (s, error_of(&v)),
        (
            StatusCode::BAD_REQUEST,
            "neither 'from' or 'files' was specified"
        )
    );
    let (s, v) = post(
        &a,
        "/api/create",
        json!({"model": "x", "files": {"../m.gguf": "sha256:00"}}),
    )
    .await;
    assert_eq!(
        (s, error_of(&v)),
        (StatusCode::BAD_REQUEST, "file path must be relative")
    );
    let (s, v) = post(
        &a,
        "/api/create",
        json!({"model": "x", "files": {"m.gguf": ""}}),
    )
    .await;
    assert_eq!(
        (s, error_of(&v)),
        (StatusCode::BAD_REQUEST, "invalid digest format")
    );

    let (_, _, b) = call(&a, Method::GET, "/api/tags", None).await;
    let names: Vec<String> = serde_json::from_slice::<Value>(&b).unwrap()["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect();
    for n in ["fake:1m", "mine/copy:v1", "tuned:latest", "tuned2:latest"] {
        assert!(names.contains(&n.to_owned()), "{n} not in {names:?}");
    }
    for n in ["mine/copy:v1", "tuned", "tuned2"] {
        let (s, _, _) = call(&a, Method::DELETE, "/api/delete", Some(json!({"model": n}))).await;
        assert_eq!(s, StatusCode::OK, "{n}");
    }
    let (s, v) = {
        let (s, _, b) = call(
            &a,
            Method::DELETE,
            "/api/delete",
            Some(json!({"model": "tuned"})),
        )
        .await;
        (s, serde_json::from_slice::<Value>(&b).unwrap())
    };
    assert_eq!(
        (s, error_of(&v)),
        (StatusCode::NOT_FOUND, "model 'tuned' not found")
    );
    let blobs = std::fs::read_dir(a.dir.path().join("models/blobs"))
        .unwrap()
        .count();
    assert_eq!(blobs, 0, "every blob pruned");
}

#[tokio::test]
async fn blobs_upload_and_verify() {
    let a = app();
    let data = b"some gguf bytes";
    let d = hearth_store::Digest::of(data).wire();
    let (s, _, _) = call(&a, Method::HEAD, &format!("/api/blobs/{d}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let up = |digest: String, body: &'static [u8]| {
        Request::post(format!("/api/blobs/{digest}"))
            .body(Body::from(body))
            .unwrap()
    };
    let (s, _, _) = send(&a, up(d.clone(), data)).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _, _) = send(&a, up(d.clone(), data)).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = call(&a, Method::HEAD, &format!("/api/blobs/{d}"), None).await;
    assert_eq!(s, StatusCode::OK);
    let wrong = hearth_store::Digest::of(b"other").wire();
    let (s, _, b) = send(&a, up(wrong, data)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(error_of(&serde_json::from_slice(&b).unwrap())
        .starts_with("digest mismatch, expected \"sha256:"));
    let (s, _, b) = send(&a, up("sha256:xyz".into(), data)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        error_of(&serde_json::from_slice(&b).unwrap()),
        "invalid digest format"
    );
    let (s, v) = post(
        &a,
        "/api/create",
        json!({"model": "x", "files": {"m.gguf": d}}),
    )
    .await;
    assert_eq!(
        (s, error_of(&v)),
        (
            StatusCode::BAD_REQUEST,
            "supplied file was not in GGUF format"
        )
    );
}

#[tokio::test]
async fn openai_chat_completions() {
    let a = app();
    let (s, h, b) = call(
        &a,
        Method::POST,
        "/v1/chat/completions",
        Some(json!({"model": "fake", "messages": [{"role": "user", "content": "hi"}]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "application/json");
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"][0]["message"]["content"], "Hello, world!");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        v["usage"],
        json!({"prompt_tokens": 7, "completion_tokens": 4, "total_tokens": 11})
    );
    let body = json!({"model": "fake", "stream": true, "stream_options": {"include_usage": true},
                      "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]});
    let (_, h, b) = call(&a, Method::POST, "/v1/chat/completions", Some(body)).await;
    assert_eq!(h[header::CONTENT_TYPE], "text/event-stream");
    let text = String::from_utf8(b.to_vec()).unwrap();
    let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(*events.last().unwrap(), "data: [DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(chunks[1]["choices"][0]["delta"].get("role").is_none());
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["delta"], json!({}));
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["completion_tokens"], 4);
    let created: Vec<_> = chunks.iter().map(|c| c["created"].clone()).collect();
    assert!(created.windows(2).all(|w| w[0] == w[1]));
    // Tools and response_format.
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]);
    let (_, _, b) = call(&a, Method::POST, "/v1/chat/completions", Some(json!({"model": "fake", "tools": tools, "messages": [{"role": "user", "content": "TOOL"}]}))).await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    let call0 = &v["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call0["type"], "function");
    assert_eq!(
        serde_json::from_str::<Value>(call0["function"]["arguments"].as_str().unwrap()).unwrap(),
        json!({"city": "Tokyo"})
    );
    let (_, _, b) = call(&a, Method::POST, "/v1/chat/completions", Some(json!({"model": "fake", "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}, "messages": [{"role": "user", "content": "x"}]}))).await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    serde_json::from_str::<Value>(v["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    // Errors are OpenAI objects.
    let (s, v) = post(
        &a,
        "/v1/chat/completions",
        json!({"model": "fake", "messages": []}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["message"], "[] is too short - 'messages'");
    assert_eq!(v["error"]["type"], "invalid_request_error");
    let (s, v) = post(
        &a,
        "/v1/chat/completions",
        json!({"model": "nope", "messages": [{"role": "user", "content": "x"}]}),
    )
    .await;
    assert_eq!(
        (s, &v["error"]["type"]),
        (StatusCode::NOT_FOUND, &json!("not_found_error"))
    );
    let (s, v) = post(&a, "/v1/chat/completions", json!({"model": "fake", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("image URLs are not currently supported"));
}

#[tokio::test]
async fn openai_completions_models_embeddings() {
    let a = app();
    let (s, v) = post(
        &a,
        "/v1/completions",
        json!({"model": "fake", "prompt": "hi", "max_tokens": 1}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["object"], "text_completion");
    assert_eq!(v["choices"][0]["text"], "Hello");
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    let (_, _, b) = call(
        &a,
        Method::POST,
        "/v1/completions",
        Some(json!({"model": "fake", "prompt": "hi", "stream": true})),
    )
    .await;
    let text = String::from_utf8(b.to_vec()).unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"));
    let (_, _, b) = call(&a, Method::GET, "/v1/models", None).await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(v["object"], "list");
    assert_eq!(
        v["data"][0],
        json!({"id": "fake:1m", "object": "model", "created": v["data"][0]["created"], "owned_by": "library"})
    );
    let (s, _, b) = call(&a, Method::GET, "/v1/models/fake:1m", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&b).unwrap()["id"],
        "fake:1m"
    );
    let (s, _, _) = call(&a, Method::GET, "/v1/models/nope", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = post(
        &a,
        "/v1/embeddings",
        json!({"model": "fake", "input": "hi"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["data"][0]["object"], "embedding");
    assert_eq!(v["usage"]["prompt_tokens"], 3);
    let (_, v) = post(
        &a,
        "/v1/embeddings",
        json!({"model": "fake", "input": ["a", "b"], "encoding_format": "base64"}),
    )
    .await;
    let b64 = v["data"][1]["embedding"].as_str().unwrap();
    use base64::Engine as _;
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
            .len(),
        16
    );
    let (s, v) = post(&a, "/v1/embeddings", json!({"model": "fake", "input": []})).await;
    assert_eq!(
        (s, &v["error"]["message"]),
        (StatusCode::BAD_REQUEST, &json!("invalid input"))
    );
    let (s, _) = post(
        &a,
        "/v1/embeddings",
        json!({"model": "fake", "input": "x", "encoding_format": "int8"}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn host_origin_and_api_key_guards() {
    let a = app();
    let req = |host: &str| {
        Request::get("/api/version")
            .header(header::HOST, host)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(send(&a, req("evil.com")).await.0, StatusCode::FORBIDDEN);
    assert_eq!(send(&a, req("localhost:11434")).await.0, StatusCode::OK);
    let with_origin = |o: &str| {
        Request::get("/api/tags")
            .header(header::ORIGIN, o)
            .body(Body::empty())
            .unwrap()
    };
    let (s, h, _) = send(&a, with_origin("http://localhost:3000")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        h[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "http://localhost:3000"
    );
    let (s, _, b) = send(&a, with_origin("https://evil.example")).await;
    assert_eq!((s, b.len()), (StatusCode::FORBIDDEN, 0));
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/v1/chat/completions")
        .header(header::ORIGIN, "http://127.0.0.1:8080")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "x-stainless-os,content-type",
        )
        .body(Body::empty())
        .unwrap();
    let (s, h, _) = send(&a, preflight).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(h[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap()
        .contains("x-stainless-os"));

    let k = app_with(|c| c.api_key = Some("s3cret".into()));
    let (s, v) = {
        let (s, _, b) = call(&k, Method::GET, "/api/tags", None).await;
        (s, serde_json::from_slice::<Value>(&b).unwrap())
    };
    assert_eq!(
        (s, error_of(&v)),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let authed = Request::get("/api/tags")
        .header(header::AUTHORIZATION, "Bearer s3cret")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&k, authed).await.0, StatusCode::OK);
    assert_eq!(call(&k, Method::GET, "/", None).await.0, StatusCode::OK);

    let open = app_with(|c| c.bind = "0.0.0.0:11434".parse().unwrap());
    assert_eq!(send(&open, req("evil.com")).await.0, StatusCode::OK);
}

#[tokio::test]
async fn queue_limit_gives_503_and_disconnect_cancels() {
    let a = app_with(|c| {
        c.scheduler.max_queue = 0;
        c.scheduler.num_parallel = 1;
        c.scheduler.max_loaded = 1;
    });
    let first = a.router.clone().oneshot(
        Request::post("/api/generate")
            .body(Body::from(
                json!({"model": "fake", "prompt": "SLOW"}).to_string(),
            ))
            .unwrap(),
    );
    let resp = first.await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let (s, v) = post(
        &a,
        "/api/generate",
        json!({"model": "fake", "prompt": "hi"}),
    )
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        error_of(&v),
        "server busy, please try again.  maximum pending requests exceeded"
    );
    // Reading a little, then dropping the body (a disconnect) cancels the generation.
    let mut body = resp.into_body();
    let _ = body.frame().await;
    drop(body);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(a.stats.cancelled.load(Ordering::SeqCst), 1);
    let (s, _) = post(
        &a,
        "/api/generate",
        json!({"model": "fake", "prompt": "hi", "stream": false}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "the queue place was freed");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let a = app_with(|c| c.body_limit = 1024);
    let big = json!({"model": "fake", "prompt": "x".repeat(4096)});
    // A declared Content-Length over the limit: refused before the body is read.
    let declared = |uri: &str| {
        let body = big.to_string();
        Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, body.len())
            .body(Body::from(body))
            .unwrap()
    };
    let (s, _, b) = send(&a, declared("/api/generate")).await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("limit is 1024 bytes"),
        "{v}"
    );
    let (s, _, b) = send(&a, declared("/v1/completions")).await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
    // No length declared (chunked): the limit hits while the body is read, and it is 413 too.
    let chunks = futures::stream::iter(
        (0..8).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; 512]))),
    );
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/generate")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(chunks))
        .unwrap();
    let (s, _, b) = send(&a, req).await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("HEARTH_BODY_LIMIT"),
        "{v}"
    );
}

#[tokio::test]
async fn metrics_are_exposed() {
    let a = app();
    post(
        &a,
        "/api/generate",
        json!({"model": "fake", "prompt": "hi", "stream": false}),
    )
    .await;
    let (s, _, b) = call(&a, Method::GET, "/metrics", None).await;
    assert_eq!(s, StatusCode::OK);
    let text = String::from_utf8(b.to_vec()).unwrap();
    assert!(
        text.contains("hearth_http_requests_total{endpoint=\"/api/generate\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(text.contains("hearth_generated_tokens_total 4"), "{text}");
    assert!(text.contains("hearth_loaded_models 1"), "{text}");
    for line in [
        "hearth_prompt_cache_hits 2",
        "hearth_prompt_cache_misses 1",
        "hearth_prompt_cache_bytes 1234",
        "hearth_prompt_cache_restored_tokens 300",
        "hearth_shared_prefix_copies 3",
        "hearth_shared_prefix_tokens 900",
    ] {
        assert!(text.contains(line), "{line} missing from {text}");
    }
}
