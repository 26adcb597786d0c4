//! Pulling a model from a registry into the local store, as Ollama does: manifest by tag, then
//! each missing blob into `blobs/sha256-<hex>-partial` (resumed with `Range` after an
//! interruption), verified by sha256 before it is renamed into place; the manifest is written
//! last, so an interrupted pull leaves no model behind, only partial files the next pull resumes.

use std::io::{Seek, Write};
use std::path::PathBuf;

use futures::StreamExt;
use hearth_store::manifest::{MEDIA_MANIFEST, MEDIA_MODEL};
use hearth_store::names::ModelName;
use hearth_store::{Digest, Manifest, Store};
use serde_json::{json, Value};

use crate::error::{io, AirgapError, Result};
use crate::gguf_import::check_model_blob;
use crate::hashing::sha256_file;

const MAX_MANIFEST: usize = 1 << 20;

/// How to reach the registry.
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// Plain HTTP (and unverified TLS certificates), as Ollama's `insecure`.
    pub insecure: bool,
}

/// `http(s)://host/v2/ns/model` for a name.
pub fn repo_url(name: &ModelName, insecure: bool) -> String {
    let scheme = if insecure { "http" } else { "https" };
    format!(
        "{scheme}://{}/v2/{}/{}",
        name.host, name.namespace, name.model
    )
}

/// Pull `name` into `store`, reporting Ollama's progress objects to `progress`.
pub async fn pull(
    store: &Store,
    name: &ModelName,
    opts: &PullOptions,
    mut progress: impl FnMut(Value),
) -> Result<Manifest> {
    let http = reqwest::Client::builder()
        .danger_accept_invalid_certs(opts.insecure)
        .user_agent(concat!("hearth/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| AirgapError::Http(e.to_string()))?;
    let base = repo_url(name, opts.insecure);
    progress(json!({"status": "pulling manifest"}));
    let manifest = fetch_manifest(&http, &base, &name.tag).await?;
    // Every digest is checked before anything is downloaded.
    let layers = std::iter::once(&manifest.config)
        .chain(&manifest.layers)
        .map(|layer| {
            Digest::parse(&layer.digest)
                .map(|d| (d, layer.size, layer.media_type == MEDIA_MODEL))
                .ok_or_else(|| {
                    AirgapError::Invalid(format!("registry sent a bad digest {:?}", layer.digest))
                })
        })
        .collect::<Result<Vec<_>>>()?;
    for (digest, size, is_model) in layers {
        fetch_blob(&http, &base, store, &digest, size, &mut progress).await?;
        if is_model {
            // Weights llama.cpp would abort on are refused before any manifest names them;
            // a blob this pull brought in goes again.
            let what = format!("pulled blob {}", digest.wire());
            if let Err(e) = check_model_blob(&store.blob_path(&digest), &what) {
                store.prune(vec![digest.wire()]);
                return Err(e);
            }
        }
    }
    progress(json!({"status": "verifying sha256 digest"}));
    crate::archive::check_complete(store, name, &manifest)?;
    progress(json!({"status": "writing manifest"}));
    store.put_manifest(name, &manifest)?;
    progress(json!({"status": "success"}));
    Ok(manifest)
}

async fn fetch_manifest(http: &reqwest::Client, base: &str, tag: &str) -> Result<Manifest> {
    let url = format!("{base}/manifests/{tag}");
    let resp = http
        .get(&url)
        .header(reqwest::header::ACCEPT, MEDIA_MANIFEST)
        .send()
        .await
        .map_err(|e| AirgapError::Http(format!("pull model manifest: {e}")))?;
    if resp.status() == reqwest::StatusCode::NOT_FOUND {
        return Err(AirgapError::NotFound(
            "pull model manifest: file does not exist".into(),
        ));
    }
    if !resp.status().is_success() {
        return Err(AirgapError::Http(format!(
            "pull model manifest: {url}: {}",
            resp.status()
        )));
    }
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_MANIFEST as u64)
    {
        return Err(AirgapError::Invalid(
            "pull model manifest: too large".into(),
        ));
    }
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| AirgapError::Http(format!("pull model manifest: {e}")))?;
    if bytes.len() > MAX_MANIFEST {
        return Err(AirgapError::Invalid(
            "pull model manifest: too large".into(),
        ));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| AirgapError::Invalid(format!("pull model manifest: {e}")))
}

/// Where an unfinished download of `digest` lives.
pub fn partial_path(store: &Store, digest: &Digest) -> PathBuf {
    let mut p = store.blob_path(digest).into_os_string();
    p.push("-partial");
    PathBuf::from(p)
}

async fn fetch_blob(
    http: &reqwest::Client,
    base: &str,
    store: &Store,
    digest: &Digest,
    size: u64,
    progress: &mut impl FnMut(Value),
) -> Result<()> {
    let status = format!("pulling {}", &digest.hex()[..12]);
    let report = |progress: &mut dyn FnMut(Value), done: u64| {
        let mut v = json!({"status": status, "digest": digest.wire()});
        if size > 0 {
            v["total"] = json!(size);
        }
        if done > 0 {
            v["completed"] = json!(done);
        }
        progress(v)
    };
    let target = store.blob_path(digest);
    if std::fs::metadata(&target).is_ok_and(|m| m.len() == size) {
        report(progress, size);
        return Ok(());
    }
    let partial = partial_path(store, digest);
    let ctx = format!("writing {}", partial.display());
    if let Some(dir) = partial.parent() {
        std::fs::create_dir_all(dir).map_err(io(ctx.clone()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&partial)
        .map_err(io(ctx.clone()))?;
    let mut have = file.metadata().map_err(io(ctx.clone()))?.len();
    if have > size {
        file.set_len(0).map_err(io(ctx.clone()))?;
        have = 0;
    }
    if have < size {
        let mut req = http.get(format!("{base}/blobs/{}", digest.wire()));
        if have > 0 {
            req = req.header(reqwest::header::RANGE, format!("bytes={have}-"));
        }
        let resp = req
            .send()
            .await
            .map_err(|e| AirgapError::Http(format!("pulling {}: {e}", digest.wire())))?;
        match resp.status() {
            reqwest::StatusCode::PARTIAL_CONTENT if have > 0 => {}
            s if s.is_success() => {
                file.set_len(0).map_err(io(ctx.clone()))?;
                file.seek(std::io::SeekFrom::Start(0))
                    .map_err(io(ctx.clone()))?;
                have = 0;
            }
            s => {
                return Err(AirgapError::Http(format!(
                    "pulling {}: registry answered {s}",
                    digest.wire()
                )))
            }
        }
        report(progress, have);
        let mut body = resp.bytes_stream();
        let mut last = have;
        while let Some(chunk) = body.next().await {
            let chunk =
                chunk.map_err(|e| AirgapError::Http(format!("pulling {}: {e}", digest.wire())))?;
            have += chunk.len() as u64;
            if have > size {
                drop(file);
                let _ = std::fs::remove_file(&partial);
                return Err(AirgapError::Invalid(format!(
                    "registry sent more than the {size} bytes its manifest states for {}",
                    digest.wire()
                )));
            }
            file.write_all(&chunk).map_err(io(ctx.clone()))?;
            if have - last >= 1 << 20 {
                report(progress, have);
                last = have;
            }
        }
        if have < size {
            return Err(AirgapError::Http(format!(
                "pulling {}: connection closed after {have} of {size} bytes (pull again to resume)",
                digest.wire()
            )));
        }
        report(progress, have);
    }
    file.sync_all().map_err(io(ctx.clone()))?;
    drop(file);
    let got = sha256_file(&partial, &indicatif::ProgressBar::hidden()).map_err(io(ctx.clone()))?;
    if &got != digest {
        let _ = std::fs::remove_file(&partial);
        return Err(AirgapError::DigestMismatch {
            what: format!("pulled blob {}", digest.wire()),
            expected: digest.wire(),
            got: got.wire(),
        });
    }
    std::fs::rename(&partial, &target).map_err(io(format!("renaming to {}", target.display())))
}
