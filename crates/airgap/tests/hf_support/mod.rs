//! Shared by the `hf_*` tests: the bundled SmolLM2 GGUF (required, never skipped), a
//! `tokenizer.json` rebuilt from that GGUF's own vocabulary and merges with the `tokenizers`
//! crate (as its Hugging Face original is: byte-level BPE after single-digit splitting),
//! Hugging Face cache layouts, and a fake Hub on loopback serving what `hf-hub` asks for (repo
//! info; `resolve/` with etag, x-repo-commit and Range).

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::{json, Value};
use sha2::Digest as _;

use hearth_store::gguf::GgufValue;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, Tokenizer};

/// The bundled SmolLM2 GGUF and its sha256; panics (never skips) when it was not fetched.
pub fn smol_gguf() -> (PathBuf, String, u64) {
    let m = hearth_store::builtin::find("smollm2:135m").unwrap();
    (super::common::smollm2_gguf(), m.sha256.clone(), m.size)
}

/// How to spoil a rebuilt tokenizer.
#[derive(Debug, Clone, Copy)]
pub enum Spoil {
    /// Exactly as the GGUF.
    None,
    /// The vocabulary entries of two ids exchanged.
    SwapIds(u32, u32),
    /// Only the first `n` merges kept.
    TruncateMerges(usize),
}

/// A `tokenizer.json` for the GGUF at `gguf`, built from its vocabulary and merges.
pub fn tokenizer_from_gguf(gguf: &Path, spoil: Spoil) -> Tokenizer {
    let info = hearth_store::gguf::validate(gguf).unwrap();
    let array = |key: &str| match info.get(key) {
        Some(GgufValue::Array(items)) => items.clone(),
        other => panic!("{key}: {other:?}"),
    };
    let tokens: Vec<String> = array("tokenizer.ggml.tokens")
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    let types: Vec<u64> = array("tokenizer.ggml.token_type")
        .iter()
        .map(|t| t.as_u64().unwrap())
        .collect();
    let mut merges: Vec<(String, String)> = array("tokenizer.ggml.merges")
        .iter()
        .map(|m| {
            let (a, b) = m.as_str().unwrap().split_once(' ').unwrap();
            (a.to_owned(), b.to_owned())
        })
        .collect();
    let mut ids: Vec<u32> = (0..tokens.len() as u32).collect();
    match spoil {
        Spoil::None => {}
        Spoil::SwapIds(a, b) => ids.swap(a as usize, b as usize),
        Spoil::TruncateMerges(n) => merges.truncate(n),
    }
    let vocab: tokenizers::models::bpe::Vocab =
        tokens.iter().cloned().zip(ids.iter().copied()).collect();
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .unwrap();
    let mut tok = Tokenizer::new(bpe);
    tok.with_pre_tokenizer(Some(Sequence::new(vec![
        Digits::new(true).into(),
        ByteLevel::new(false, true, true).into(),
    ])));
    tok.with_decoder(Some(ByteLevel::default()));
    let specials: Vec<AddedToken> = tokens
        .iter()
        .zip(&types)
        .filter(|(_, &t)| t == 3)
        .map(|(s, _)| AddedToken::from(s.clone(), true))
        .collect();
    tok.add_special_tokens(&specials);
    tok
}

/// Write a rebuilt `tokenizer.json` to `path`.
pub fn write_tokenizer(gguf: &Path, spoil: Spoil, path: &Path) {
    tokenizer_from_gguf(gguf, spoil).save(path, false).unwrap();
}

/// Lay out a hub cache at `cache` holding `files` (name → content path) for `user/repo` at
/// `commit`, as huggingface_hub writes it: refs/main, snapshots/<commit>/<name> linking to
/// ../../blobs/<sha256>.
pub fn lay_out_cache(cache: &Path, repo_id: &str, commit: &str, files: &[(&str, &Path)]) {
    let repo = cache.join(format!("models--{}", repo_id.replace('/', "--")));
    let snapshot = repo.join("snapshots").join(commit);
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::create_dir_all(repo.join("blobs")).unwrap();
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::write(repo.join("refs/main"), commit).unwrap();
    for (name, content) in files {
        let bytes = std::fs::read(content).unwrap();
        let etag = format!("{:x}", sha2::Sha256::digest(&bytes));
        let blob = repo.join("blobs").join(&etag);
        if !blob.exists() {
            std::os::unix::fs::symlink(content, &blob).unwrap();
        }
        std::os::unix::fs::symlink(format!("../../blobs/{etag}"), snapshot.join(name)).unwrap();
    }
}

pub const REPO: &str = "someone/smol-GGUF";
pub const COMMIT: &str = "fedcba9876543210fedcba9876543210fedcba98";
pub const TOKEN: &str = "hf_test_token";

/// A fake Hugging Face Hub holding one repo, [`REPO`] at [`COMMIT`], readable with [`TOKEN`].
pub struct Hub {
    /// Served files.
    pub files: HashMap<String, Bytes>,
    /// What the repo listing names (may include files that are not served).
    pub listed: Vec<String>,
    /// Requests per path.
    pub hits: Mutex<HashMap<String, usize>>,
    /// All requests.
    pub total: AtomicUsize,
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
pub async fn serve(
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
pub async fn dead_endpoint() -> String {
    format!("http://127.0.0.1:{}", super::common::free_port())
}

/// The standard fake hub: the real SmolLM2 GGUF as `smol-Q4_1.gguf`, a matching
/// `tokenizer.json` (written under `dir`), a README, and `smol-Q8_0.gguf` / `config.json`
/// listed but never served.
pub fn smol_hub(dir: &Path) -> Arc<Hub> {
    let (gguf, _, _) = smol_gguf();
    let tok = dir.join("hub-tokenizer.json");
    write_tokenizer(&gguf, Spoil::None, &tok);
    let files: HashMap<String, Bytes> = [
        ("smol-Q4_1.gguf", std::fs::read(&gguf).unwrap()),
        ("tokenizer.json", std::fs::read(&tok).unwrap()),
        ("README.md", b"# smol\n".to_vec()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), Bytes::from(v)))
    .collect();
    Arc::new(Hub {
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
    })
}
