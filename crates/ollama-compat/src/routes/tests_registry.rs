//! Router tests of `POST /api/pull` and `POST /api/push` without sockets, over a scripted
//! [`RegistryClient`]: progress streamed as it happens, errors mid-stream and with
//! `stream:false`, name checks, the airgapped short-circuit for models already here, and the
//! extra (`/v2/`) routes behind the same guards.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use futures::future::BoxFuture;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tokio::sync::Notify;
use tower::ServiceExt;

use super::tests::{app_with, call, lines, send, App};
use hearth_store::manifest::{self as mt, Layer, Manifest};
use hearth_store::names::ModelName;
use hearth_store::registry::{ProgressSink, RegistryClient, RegistryError};
use hearth_store::Store;

/// One call the fake registry saw.
#[derive(Debug, Clone, PartialEq)]
struct Call {
    op: &'static str,
    name: String,
    insecure: bool,
}

/// A registry client that reports `lines`, optionally waits for `gate` after the first one,
/// writes a small model into the store on a successful pull, and fails with `fail` if set.
#[derive(Debug, Default)]
struct FakeRegistry {
    lines: Vec<Value>,
    fail: Option<String>,
    gate: Option<Arc<Notify>>,
    calls: Mutex<Vec<Call>>,
}

impl FakeRegistry {
    fn new(lines: Vec<Value>, fail: Option<&str>) -> Arc<Self> {
        Arc::new(FakeRegistry {
            lines,
            fail: fail.map(str::to_owned),
            ..Default::default()
        })
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn run(
        &self,
        op: &'static str,
        store: Option<Store>,
        name: ModelName,
        insecure: bool,
        mut progress: ProgressSink,
    ) -> BoxFuture<'static, Result<(), RegistryError>> {
        self.calls.lock().unwrap().push(Call {
            op,
            name: name.full(),
            insecure,
        });
        let lines = self.lines.clone();
        let fail = self.fail.clone();
        let gate = self.gate.clone();
        Box::pin(async move {
            for (i, line) in lines.into_iter().enumerate() {
                progress(line);
                if let (0, Some(gate)) = (i, &gate) {
                    gate.notified().await;
                }
            }
            if let Some(e) = fail {
                return Err(RegistryError(e));
            }
            if let Some(store) = store {
                let w = store.put_blob_bytes(b"pulled weights").unwrap();
                let c = store.put_blob_bytes(b"{}").unwrap();
                let layer = |media: &str, d: &hearth_store::Digest, size| Layer {
                    media_type: media.into(),
                    digest: d.wire(),
                    size,
                    from: None,
                };
                let m = Manifest::new(
                    layer(mt::MEDIA_CONFIG, &c, 2),
                    vec![layer(mt::MEDIA_MODEL, &w, 14)],
                );
                store.put_manifest(&name, &m).unwrap();
            }
            Ok(())
        })
    }
}

impl RegistryClient for FakeRegistry {
    fn pull(
        &self,
        store: Store,
        name: ModelName,
        insecure: bool,
        progress: ProgressSink,
    ) -> BoxFuture<'static, Result<(), RegistryError>> {
        self.run("pull", Some(store), name, insecure, progress)
    }

    fn push(
        &self,
        _store: Store,
        name: ModelName,
        insecure: bool,
        progress: ProgressSink,
    ) -> BoxFuture<'static, Result<(), RegistryError>> {
        self.run("push", None, name, insecure, progress)
    }
}

fn with_client(client: &Arc<FakeRegistry>) -> App {
    let client: Arc<dyn RegistryClient> = client.clone();
    app_with(|c| c.registry_client = Some(client))
}

fn post_req(uri: &str, body: Value) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn post(app: &App, uri: &str, body: Value) -> (StatusCode, Option<String>, Vec<Value>) {
    let (s, headers, b) = call(app, Method::POST, uri, Some(body)).await;
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    (s, ctype, lines(&b))
}

fn progress_lines() -> Vec<Value> {
    vec![
        json!({"status": "pulling manifest"}),
        json!({"status": "pulling 0123456789ab", "digest": "sha256:0123456789ab", "total": 100}),
        json!({"status": "pulling 0123456789ab", "digest": "sha256:0123456789ab", "total": 100, "completed": 100}),
        json!({"status": "verifying sha256 digest"}),
        json!({"status": "writing manifest"}),
        json!({"status": "success"}),
    ]
}

const REMOTE: &str = "10.0.0.5:11435/library/tiny:1";

#[tokio::test]
async fn pull_streams_the_clients_progress_and_the_model_is_listed_at_once() {
    let client = FakeRegistry::new(progress_lines(), None);
    let a = with_client(&client);
    let (s, ctype, lines) = post(&a, "/api/pull", json!({"model": REMOTE, "insecure": true})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ctype.as_deref(), Some("application/x-ndjson"));
    assert_eq!(lines, progress_lines());
    assert_eq!(
        client.calls(),
        vec![Call {
            op: "pull",
            name: "10.0.0.5:11435/library/tiny:1".into(),
            insecure: true,
        }]
    );
    let (s, _, tags) = send(&a, Request::get("/api/tags").body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    let tags: Value = serde_json::from_slice(&tags).unwrap();
    let names: Vec<&str> = tags["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&REMOTE), "{names:?}");
    // `name` is the older spelling; `insecure` defaults to false.
    let (s, _, lines) = post(&a, "/api/pull", json!({"name": REMOTE})).await;
    assert_eq!(
        (s, lines.last().unwrap()),
        (StatusCode::OK, &json!({"status": "success"}))
    );
    assert!(!client.calls()[1].insecure);
}

#[tokio::test]
async fn progress_reaches_the_client_before_the_pull_ends() {
    let gate = Arc::new(Notify::new());
    let client = Arc::new(FakeRegistry {
        lines: progress_lines(),
        gate: Some(gate.clone()),
        ..Default::default()
    });
    let a = with_client(&client);
    let resp = a
        .router
        .clone()
        .oneshot(post_req("/api/pull", json!({"model": REMOTE})))
        .await
        .unwrap();
    let mut body = resp.into_body();
    let first = tokio::time::timeout(std::time::Duration::from_secs(5), body.frame())
        .await
        .expect("the first line arrives while the pull is still waiting")
        .unwrap()
        .unwrap()
        .into_data()
        .unwrap();
    assert_eq!(&first[..], b"{\"status\":\"pulling manifest\"}\n");
    gate.notify_one();
    let rest = body.collect().await.unwrap().to_bytes();
    assert!(rest.ends_with(b"{\"status\":\"success\"}\n"));
}

#[tokio::test]
async fn errors_mid_stream_and_without_streaming() {
    let lines = progress_lines()[..2].to_vec();
    let client = FakeRegistry::new(
        lines.clone(),
        Some("pulling sha256:0123: connection closed after 10 of 100 bytes (pull again to resume)"),
    );
    let a = with_client(&client);
    let (s, _, got) = post(&a, "/api/pull", json!({"model": REMOTE})).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the stream has started: errors are in-band"
    );
    assert_eq!(&got[..2], &lines[..]);
    assert_eq!(got.len(), 3);
    assert!(got[2]["error"]
        .as_str()
        .unwrap()
        .contains("connection closed"));
    let (s, ctype, got) = post(&a, "/api/pull", json!({"model": REMOTE, "stream": false})).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(ctype.unwrap().starts_with("application/json"));
    assert_eq!(got.len(), 1);
    assert!(got[0]["error"]
        .as_str()
        .unwrap()
        .contains("connection closed"));

    let ok = with_client(&FakeRegistry::new(progress_lines(), None));
    let (s, _, got) = post(&ok, "/api/pull", json!({"model": REMOTE, "stream": false})).await;
    assert_eq!(
        (s, got),
        (StatusCode::OK, vec![json!({"status": "success"})])
    );
}

#[tokio::test]
async fn bad_names_are_400() {
    let client = FakeRegistry::new(progress_lines(), None);
    let a = with_client(&client);
    for body in [
        json!({"model": "../bad"}),
        json!({}),
        json!({"model": "a/b/c/d"}),
    ] {
        let (s, _, v) = post(&a, "/api/pull", body.clone()).await;
        assert_eq!(
            (s, &v[0]["error"]),
            (StatusCode::BAD_REQUEST, &json!("invalid model name")),
            "{body}"
        );
    }
    let (s, _, v) = post(&a, "/api/push", json!({})).await;
    assert_eq!(
        (s, &v[0]["error"]),
        (StatusCode::BAD_REQUEST, &json!("model is required"))
    );
    let (s, _, v) = post(&a, "/api/push", json!({"model": "../bad"})).await;
    assert_eq!(
        (s, &v[0]["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid model name"))
    );
    assert!(client.calls().is_empty());
}

#[tokio::test]
async fn models_already_here_are_not_fetched() {
    let client = FakeRegistry::new(progress_lines(), Some("must not be called"));
    let a = with_client(&client);
    for name in ["fake", "fake:1m", "registry.ollama.ai/library/FAKE:1m"] {
        let (s, _, lines) = post(&a, "/api/pull", json!({"model": name})).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            lines,
            vec![
                json!({"status": "pulling manifest"}),
                json!({"status": "success"})
            ],
            "{name}"
        );
        let (s, _, lines) = post(&a, "/api/pull", json!({"model": name, "stream": false})).await;
        assert_eq!(
            (s, lines),
            (StatusCode::OK, vec![json!({"status": "success"})])
        );
    }
    assert!(client.calls().is_empty());
    // A default-registry name that is not here goes to the client.
    let (_, _, lines) = post(&a, "/api/pull", json!({"model": "llama3.2"})).await;
    assert_eq!(lines.last().unwrap()["error"], "must not be called");
    assert_eq!(
        client.calls()[0].name,
        "registry.ollama.ai/library/llama3.2:latest"
    );
}

#[tokio::test]
async fn push_goes_through_the_client() {
    let lines = vec![
        json!({"status": "retrieving manifest"}),
        json!({"status": "starting upload", "digest": "sha256:ab", "total": 3}),
        json!({"status": "pushing manifest"}),
        json!({"status": "success"}),
    ];
    let client = FakeRegistry::new(lines.clone(), None);
    let a = with_client(&client);
    let (s, ctype, got) = post(&a, "/api/push", json!({"model": REMOTE, "insecure": true})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ctype.as_deref(), Some("application/x-ndjson"));
    assert_eq!(got, lines);
    assert_eq!(client.calls()[0].op, "push");
    assert!(client.calls()[0].insecure);

    let failing = with_client(&FakeRegistry::new(
        lines[..1].to_vec(),
        Some("model '10.0.0.5:11435/library/tiny:1' not found"),
    ));
    let (s, _, got) = post(&failing, "/api/push", json!({"model": REMOTE})).await;
    assert_eq!(s, StatusCode::OK);
    assert!(got[1]["error"].as_str().unwrap().contains("not found"));
    let (s, _, got) = post(
        &failing,
        "/api/push",
        json!({"model": REMOTE, "stream": false}),
    )
    .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(got[0]["error"].as_str().unwrap().contains("not found"));
}

#[tokio::test]
async fn without_a_client_pull_is_offline_and_push_refused() {
    let a = app_with(|_| {});
    let (s, _, lines) = post(&a, "/api/pull", json!({"model": "fake"})).await;
    assert_eq!(
        (s, lines.last().unwrap()),
        (StatusCode::OK, &json!({"status": "success"}))
    );
    let (s, _, lines) = post(&a, "/api/pull", json!({"model": REMOTE})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        lines,
        vec![
            json!({"status": "pulling manifest"}),
            json!({"error": "pull model manifest: file does not exist"})
        ]
    );
    let (s, _, v) = post(&a, "/api/pull", json!({"model": "nope", "stream": false})).await;
    assert_eq!(
        (s, &v[0]["error"]),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!("pull model manifest: file does not exist")
        )
    );
    let (s, _, v) = post(&a, "/api/push", json!({"model": "fake"})).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(v[0]["error"].as_str().unwrap().contains("not supported"));
}

/// Extra routes (the `/v2/` registry of `hearth serve --registry`) sit behind the same guards:
/// the Host check on a loopback bind (none on 0.0.0.0, so other machines reach them) and the key.
#[tokio::test]
async fn extra_routes_are_served_behind_the_guards() {
    let v2 = || Router::new().route("/v2/", axum::routing::get(|| async { "{}" }));
    let get = |host: &str| {
        Request::get("/v2/")
            .header(header::HOST, host)
            .body(Body::empty())
            .unwrap()
    };
    let a = app_with(|c| c.extra_routes = Some(v2()));
    assert_eq!(send(&a, get("127.0.0.1:11434")).await.0, StatusCode::OK);
    assert_eq!(send(&a, get("evil.com")).await.0, StatusCode::FORBIDDEN);
    let (s, _, b) = send(&a, get("localhost")).await;
    assert_eq!((s, &b[..]), (StatusCode::OK, &b"{}"[..]));
    let (s, _, _) = send(
        &a,
        Request::builder()
            .method(Method::DELETE)
            .uri("/v2/")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);

    let open = app_with(|c| {
        c.bind = "0.0.0.0:11434".parse().unwrap();
        c.extra_routes = Some(v2());
    });
    assert_eq!(send(&open, get("10.1.2.3:11434")).await.0, StatusCode::OK);
    assert_eq!(send(&open, get("hearth.example")).await.0, StatusCode::OK);

    let keyed = app_with(|c| {
        c.api_key = Some("s3cret".into());
        c.extra_routes = Some(v2());
    });
    assert_eq!(
        send(&keyed, get("localhost")).await.0,
        StatusCode::UNAUTHORIZED
    );
    let authed = Request::get("/v2/")
        .header(header::AUTHORIZATION, "Bearer s3cret")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&keyed, authed).await.0, StatusCode::OK);
    // Without extra routes, /v2/ does not exist.
    assert_eq!(
        send(&app_with(|_| {}), get("localhost")).await.0,
        StatusCode::NOT_FOUND
    );
}
