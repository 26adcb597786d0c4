//! A model whose inference thread panicked answers its requests with a 500 that says so, is
//! unloaded, and the next request loads it again and is served. Over the router, with a
//! backend whose first load "panics" the way the engine reports it (the engine's own tests make
//! the real inference thread panic).

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use futures::future::BoxFuture;
use futures::StreamExt;
use hearth_engine::{
    ChatMessage, Completion, DoneReason, Embeddings, EngineError, Event, GenerateRequest,
    Generation, Generator, LoadConfig,
};
use hearth_ollama_compat::backend::{EventStream, LoadedFacts, LoadedModel, Loader};
use hearth_ollama_compat::state::AppState;
use hearth_ollama_compat::ServerConfig;
use hearth_store::catalog::BuiltinEntry;
use hearth_store::names::ModelName;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

/// Counts loads; while `panic_next` is set, the next request's model "panics".
struct Loads {
    count: AtomicUsize,
    panic_next: AtomicBool,
}

struct Doomable(Arc<Loads>);

impl Loader for Doomable {
    fn load(
        &self,
        _path: &Path,
        _config: LoadConfig,
    ) -> BoxFuture<'static, Result<Arc<dyn LoadedModel>, EngineError>> {
        self.0.count.fetch_add(1, Ordering::SeqCst);
        let loads = Arc::clone(&self.0);
        Box::pin(async move {
            Ok(Arc::new(Runner {
                loads,
                alive: AtomicBool::new(true),
            }) as Arc<dyn LoadedModel>)
        })
    }
}

struct Runner {
    loads: Arc<Loads>,
    alive: AtomicBool,
}

impl Runner {
    /// `Some(error)` when this request makes the thread "panic", and for every request after
    /// that, as the engine answers them.
    fn panics(&self) -> Option<EngineError> {
        if self.loads.panic_next.swap(false, Ordering::SeqCst) {
            self.alive.store(false, Ordering::SeqCst);
        }
        let dead = !self.alive.load(Ordering::SeqCst);
        dead.then(|| EngineError::Panicked("n_ctx_train fits into an u32".into()))
    }
}

impl LoadedModel for Runner {
    fn facts(&self) -> LoadedFacts {
        LoadedFacts {
            context_length: 2048,
            parallel: 1,
            size_bytes: 1,
            has_chat_template: false,
        }
    }

    fn generate(&self, _request: GenerateRequest) -> Result<EventStream, EngineError> {
        let events = match self.panics() {
            // A request in flight when the thread panics gets the error as its last event.
            Some(e) => vec![Event::Error(e)],
            None => vec![
                Event::Token {
                    text: "fine".into(),
                    logprobs: Vec::new(),
                },
                Event::Done(Completion {
                    done_reason: DoneReason::Stop,
                    prompt_eval_count: 1,
                    cached_prompt_tokens: 0,
                    prompt_eval_duration_ns: 1,
                    eval_count: 1,
                    eval_duration_ns: 1,
                    total_duration_ns: 1,
                    context: Vec::new(),
                    truncated_tokens: 0,
                }),
            ],
        };
        Ok(futures::stream::iter(events).boxed())
    }

    fn embed(
        &self,
        inputs: Vec<String>,
        _truncate: bool,
    ) -> BoxFuture<'static, Result<Embeddings, EngineError>> {
        let result = match self.panics() {
            Some(e) => Err(e),
            None => Ok(Embeddings {
                vectors: inputs.iter().map(|_| vec![0.6, 0.8]).collect(),
                norms: vec![1.0; inputs.len()],
                prompt_eval_count: inputs.len() as u32,
            }),
        };
        Box::pin(async move { result })
    }

    fn render_chat(
        &self,
        messages: &[ChatMessage],
        _tools: Option<&[Value]>,
        _add_generation_prompt: bool,
    ) -> Result<String, EngineError> {
        Ok(messages.iter().map(|m| m.content.as_str()).collect())
    }

    fn tokenize(&self, text: &str) -> Vec<i32> {
        text.bytes().map(i32::from).collect()
    }

    fn detokenize(&self, tokens: &[i32]) -> String {
        tokens.iter().map(|&t| t as u8 as char).collect()
    }

    fn generator(&self) -> Arc<dyn Generator> {
        Arc::new(NoGenerator)
    }

    fn alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }
}

struct NoGenerator;

impl Generator for NoGenerator {
    fn render_chat(
        &self,
        _messages: &[ChatMessage],
        _tools: Option<&[Value]>,
        _add_generation_prompt: bool,
    ) -> Result<String, EngineError> {
        Err(EngineError::WorkerGone)
    }
    fn generate(&self, _request: GenerateRequest) -> Result<Generation, EngineError> {
        Err(EngineError::WorkerGone)
    }
    fn model_name(&self) -> String {
        "none".into()
    }
    fn label(&self) -> String {
        "none".into()
    }
}

struct App {
    router: axum::Router,
    loads: Arc<Loads>,
    _dir: tempfile::TempDir,
}

fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("m.gguf");
    std::fs::write(&weights, b"weights").unwrap();
    let bundled = vec![BuiltinEntry {
        name: ModelName::parse("doomed:1m").unwrap(),
        aliases: vec![ModelName::parse("doomed").unwrap()],
        path: weights,
        sha256: hearth_store::Digest::of(b"weights").hex().to_owned(),
        size: 7,
        family: "llama".into(),
        quantization: "Q4_0".into(),
        license: "MIT".into(),
    }];
    let loads = Arc::new(Loads {
        count: AtomicUsize::new(0),
        panic_next: AtomicBool::new(false),
    });
    let config = ServerConfig::new(dir.path().join("models"));
    let state = AppState::new(config, Arc::new(Doomable(Arc::clone(&loads))), bundled);
    App {
        router: hearth_ollama_compat::router(state),
        loads,
        _dir: dir,
    }
}

async fn post(app: &App, uri: &str, body: Value) -> (StatusCode, Vec<u8>) {
    let req = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, body.to_vec())
}

async fn loaded(app: &App) -> usize {
    let req = Request::get("/api/ps").body(Body::empty()).unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let v: Value = serde_json::from_slice(&body).unwrap();
    v["models"].as_array().map_or(0, Vec::len)
}

fn error_text(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let e = &v["error"];
    e["message"]
        .as_str()
        .or(e.as_str())
        .unwrap_or_default()
        .to_owned()
}

fn assert_panic_reply(status: StatusCode, body: &[u8]) {
    assert_eq!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        String::from_utf8_lossy(body)
    );
    let text = error_text(body);
    assert_eq!(
        text,
        "the model's inference thread panicked: n_ctx_train fits into an u32; \
         the model has been unloaded, retry to reload it"
    );
}

/// Each endpoint: the first request (on a model that panics) gets the 500, the model is gone
/// from `/api/ps`, and the next request loads it again and succeeds.
#[tokio::test]
async fn a_panicked_model_answers_500_and_the_next_request_reloads_it() {
    let cases = [
        (
            "/api/generate",
            json!({"model": "doomed", "prompt": "hi", "stream": false}),
        ),
        (
            "/api/chat",
            json!({"model": "doomed", "messages": [{"role": "user", "content": "hi"}], "stream": false}),
        ),
        (
            "/api/embed",
            json!({"model": "doomed", "input": ["a", "b"]}),
        ),
        ("/api/embeddings", json!({"model": "doomed", "prompt": "a"})),
        ("/v1/embeddings", json!({"model": "doomed", "input": "a"})),
        (
            "/v1/chat/completions",
            json!({"model": "doomed", "messages": [{"role": "user", "content": "hi"}]}),
        ),
    ];
    let a = app();
    for (uri, body) in cases {
        let before = a.loads.count.load(Ordering::SeqCst);
        a.loads.panic_next.store(true, Ordering::SeqCst);
        let (status, reply) = post(&a, uri, body.clone()).await;
        assert_panic_reply(status, &reply);
        assert_eq!(loaded(&a).await, 0, "{uri}: the dead model is unloaded");
        let (status, reply) = post(&a, uri, body).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{uri}: {}",
            String::from_utf8_lossy(&reply)
        );
        assert_eq!(
            a.loads.count.load(Ordering::SeqCst),
            before.max(1) + 1,
            "{uri}: loaded again"
        );
        assert_eq!(loaded(&a).await, 1);
    }
}

/// A streaming request has already sent its 200: the panic arrives as its last line.
#[tokio::test]
async fn a_streaming_request_ends_with_the_panic() {
    let a = app();
    a.loads.panic_next.store(true, Ordering::SeqCst);
    let (status, body) = post(
        &a,
        "/api/generate",
        json!({"model": "doomed", "prompt": "hi"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let last = body
        .split(|&b| b == b'\n')
        .rfind(|l| !l.is_empty())
        .unwrap();
    assert!(
        error_text(last).starts_with("the model's inference thread panicked"),
        "{}",
        String::from_utf8_lossy(last)
    );
    let (status, body) = post(
        &a,
        "/api/generate",
        json!({"model": "doomed", "prompt": "hi"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&body).contains("fine"));
    assert_eq!(a.loads.count.load(Ordering::SeqCst), 2);
}
