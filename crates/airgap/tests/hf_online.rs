//! `hf.co/...` names online, against a fake Hugging Face Hub on loopback serving what `hf-hub`
//! asks for (repo info, `resolve/` with etag / x-repo-commit / Range): the real SmolLM2 GGUF
//! lands in a temporary HF cache and in the store with the right digest, its tokenizer is checked;
//! with the hub gone the same name still pulls from the cache, and an uncached one says the hub
//! could not be reached. Nothing is written to the store when a pull is refused.

mod common;
mod hf_support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use bytes::Bytes;
use hearth_airgap::hf::{self, HfOptions, Source};
use hearth_airgap::hf_tokcheck::TokenizerCheck;
use hearth_ollama_compat::names::ModelName;
use hearth_ollama_compat::store::{manifest as mt, Store};
use hf_support::{smol_gguf, write_tokenizer, Spoil};
use serde_json::{json, Value};
use sha2::Digest as _;

const REPO: &str = "someone/smol-GGUF";
const COMMIT: &str = "fedcba9876543210fedcba9876543210fedcba98";
const TOKEN: &str = "hf_test_token";

struct Hub {
    files: HashMap<String, Bytes>,
    listed: Vec<String>,
    /// Requests per path.
    hits: Mutex<HashMap<String, usize>>,
    total: AtomicUsize,
}

impl Hub {
    fn hit(&self, path: String) {
        self.total.fetch_add(1, Ordering::SeqCst);
        *self.hits.lock().unwrap().entry(path).or_default() += 1;
    }
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {TOKEN}"))
}

async fn info(
    State(hub): State<Arc<Hub>>,
    UrlPath((user, repo, rev)): UrlPath<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    hub.hit(format!("info {user}/{repo}@{rev}"));
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if format!("{user}/{repo}") != REPO || rev != "main" {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "Repository not found"})),
        )
            .into_response();
    }
    let siblings: Vec<Value> = hub
        .listed
        .iter()
        .map(|f| json!({ "rfilename": f }))
        .collect();
    Json(json!({"id": REPO, "sha": COMMIT, "siblings": siblings})).into_response()
}

/// `GET /{user}/{repo}/resolve/{rev}/{file}` with single-range support, as the Hub (and its CDN)
/// answer: etag = sha256 of the content, x-repo-commit, Content-Range on 206.
async fn resolve(
    State(hub): State<Arc<Hub>>,
    UrlPath((user, repo, rev, file)): UrlPath<(String, String, String, String)>,
    headers: HeaderMap,
) -> Response {
    hub.hit(format!("resolve {file}"));
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Some(body) = (format!("{user}/{repo}") == REPO && rev == "main")
        .then(|| hub.files.get(&file))
        .flatten()
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let len = body.len() as u64;
    let etag = format!("\"{:x}\"", sha2::Sha256::digest(body));
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.split_once('-'))
        .map(|(a, b)| {
            let start: u64 = a.parse().unwrap();
            let end: u64 = b.parse().map_or(len - 1, |e: u64| e.min(len - 1));
            (start, end)
        });
    let common = [
        ("etag", etag),
        ("x-repo-commit", COMMIT.to_owned()),
        ("accept-ranges", "bytes".to_owned()),
    ];
    let mut resp = match range {
        Some((start, _)) if start >= len => {
            return StatusCode::RANGE_NOT_SATISFIABLE.into_response()
        }
        Some((start, end)) => {
            let mut r = Response::new(Body::from(body.slice(start as usize..=end as usize)));
            *r.status_mut() = StatusCode::PARTIAL_CONTENT;
            r.headers_mut().insert(
                header::CONTENT_RANGE,
                format!("bytes {start}-{end}/{len}").parse().unwrap(),
            );
            r
        }
        None => Response::new(Body::from(body.clone())),
    };
    for (k, v) in common {
        resp.headers_mut().insert(k, v.parse().unwrap());
    }
    resp
}

/// Serve `hub` on loopback until the returned sender is dropped or fired.
async fn serve(
    hub: Arc<Hub>,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let app = Router::new()
        .route("/api/models/{user}/{repo}/revision/{rev}", get(info))
        .route("/{user}/{repo}/resolve/{rev}/{file}", get(resolve))
        .with_state(hub);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    (addr, stop, task)
}

/// A loopback address nothing listens on.
async fn dead_endpoint() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

fn opts(cache: &Path, endpoint: &str) -> HfOptions {
    let mut o = HfOptions::with_cache(cache);
    o.endpoint = endpoint.to_owned();
    o.token = Some(TOKEN.to_owned());
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulls_from_a_hub_into_the_cache_then_offline() {
    let (gguf, sha, size) = smol_gguf();
    let dir = tempfile::tempdir().unwrap();
    let tok = dir.path().join("tokenizer.json");
    write_tokenizer(&gguf, Spoil::None, &tok);
    let files: HashMap<String, Bytes> = [
        ("smol-Q4_1.gguf", std::fs::read(&gguf).unwrap()),
        ("tokenizer.json", std::fs::read(&tok).unwrap()),
        ("README.md", b"# smol\n".to_vec()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), Bytes::from(v)))
    .collect();
    let hub = Arc::new(Hub {
        files,
        listed: [
            "README.md",
            "smol-Q4_1.gguf",
            "smol-Q8_0.gguf",
            "tokenizer.json",
            "config.json",
        ]
        .map(String::from)
        .to_vec(),
        hits: Mutex::default(),
        total: AtomicUsize::new(0),
    });
    let (addr, stop, server) = serve(hub.clone()).await;
    let endpoint = format!("http://{addr}");
    let hf_home = dir.path().join("hf-home");
    let cache = hf_home.join("hub");
    let store = Store::new(dir.path().join("store"));
    let name = ModelName::parse("hf.co/someone/smol-GGUF:Q4_1").unwrap();

    // Refusals first: none of them may write to the store.
    let mut anonymous = opts(&cache, &endpoint);
    anonymous.token = None;
    let err = hf::pull(&store, &name, &anonymous, |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("HF_TOKEN") && err.contains("401"), "{err}");
    let q2 = ModelName::parse("hf.co/someone/smol-GGUF:Q2_K").unwrap();
    let err = hf::pull(&store, &q2, &opts(&cache, &endpoint), |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no GGUF for quant Q2_K") && err.contains("smol-Q4_1.gguf, smol-Q8_0.gguf"),
        "{err}"
    );
    let nobody = ModelName::parse("hf.co/nobody/nothing").unwrap();
    let err = hf::pull(&store, &nobody, &opts(&cache, &endpoint), |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("nobody/nothing was not found"), "{err}");
    assert!(store.list().is_empty());
    assert_eq!(
        hub.total.load(Ordering::SeqCst),
        3,
        "one listing each, no download"
    );

    // Online: listed, the Q4_1 file and tokenizer.json downloaded into the cache, imported.
    let mut lines = Vec::new();
    let pulled = hf::pull(&store, &name, &opts(&cache, &endpoint), |v| lines.push(v))
        .await
        .unwrap();
    assert_eq!(pulled.source, Source::Hub);
    let weights = pulled.manifest.layer(mt::MEDIA_MODEL).unwrap();
    assert_eq!(weights.digest, format!("sha256:{sha}"));
    assert_eq!(weights.size, size);
    assert!(
        matches!(pulled.tokenizer, Some(TokenizerCheck::Match { .. })),
        "{:?}",
        pulled.tokenizer
    );
    assert_eq!(
        store.list()[0].name.display(),
        "hf.co/someone/smol-GGUF:Q4_1"
    );
    assert!(
        lines.iter().any(|v| v["status"] == "pulling smol-Q4_1.gguf"
            && v["total"] == size
            && v["completed"] == size),
        "{lines:?}"
    );
    assert_eq!(lines.last().unwrap()["status"], "success");
    let repo_dir = cache.join("models--someone--smol-GGUF");
    assert_eq!(
        std::fs::read_to_string(repo_dir.join("refs/main")).unwrap(),
        COMMIT
    );
    let snap = repo_dir.join("snapshots").join(COMMIT);
    assert_eq!(
        std::fs::read_link(snap.join("smol-Q4_1.gguf")).unwrap(),
        Path::new("../../blobs").join(&sha)
    );
    assert!(snap.join("tokenizer.json").is_file());
    assert!(pulled.gguf.starts_with(&snap));
    {
        let hits = hub.hits.lock().unwrap();
        assert!(!hits.contains_key("resolve smol-Q8_0.gguf"), "{hits:?}");
        assert!(!hits.contains_key("resolve README.md"), "{hits:?}");
    }

    // Cached: a second pull never touches the network, even with the hub still up.
    let before = hub.total.load(Ordering::SeqCst);
    let store2 = Store::new(dir.path().join("store2"));
    let again = hf::pull(&store2, &name, &opts(&cache, &endpoint), |_| {})
        .await
        .unwrap();
    assert_eq!(again.source, Source::Cache);
    assert_eq!(hub.total.load(Ordering::SeqCst), before);

    // The hub gone: the cached name still pulls, an uncached one explains itself.
    stop.send(()).unwrap();
    server.await.unwrap();
    let store3 = Store::new(dir.path().join("store3"));
    let offline = hf::pull(&store3, &name, &opts(&cache, &endpoint), |_| {})
        .await
        .unwrap();
    assert_eq!(offline.source, Source::Cache);
    assert_eq!(
        offline.manifest.layer(mt::MEDIA_MODEL).unwrap().digest,
        weights.digest
    );
    let other = ModelName::parse("hf.co/someone/other-GGUF:Q4_1").unwrap();
    let err = hf::pull(
        &store3,
        &other,
        &opts(&cache, &dead_endpoint().await),
        |_| {},
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("someone/other-GGUF is not in the local Hugging Face cache")
            && err.contains(&cache.display().to_string())
            && err.contains("could not be reached"),
        "{err}"
    );
    let mut no_net = opts(&cache, &endpoint);
    no_net.offline = true;
    let err = hf::pull(&store3, &other, &no_net, |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("HF_HUB_OFFLINE"), "{err}");
    assert_eq!(store3.list().len(), 1);

    // The CLI reads the same cache from HF_HOME, with the hub unreachable.
    let models = dir.path().join("cli-store");
    let out = std::process::Command::new(common::hearth_bin())
        .args(["pull", "hf.co/someone/smol-GGUF:Q4_1", "--models-dir"])
        .arg(&models)
        .env("HF_HOME", &hf_home)
        .env_remove("HF_HUB_CACHE")
        .env_remove("HUGGINGFACE_HUB_CACHE")
        .env("HF_ENDPOINT", dead_endpoint().await)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("imported hf.co/someone/smol-GGUF:Q4_1 from the Hugging Face cache"),
        "{stderr}"
    );
    assert_eq!(Store::new(&models).list().len(), 1);
}
