//! `hf.co/{user}/{repo}[:{quant}]` names, as Ollama accepts them, imported into the store like
//! any GGUF.
//!
//! Offline first: the local Hugging Face cache (`$HF_HUB_CACHE`, else `$HF_HOME/hub`, else
//! `~/.cache/huggingface/hub`) is looked at first, and a model found there never touches the
//! network. Otherwise (or with `HEARTH_HF_REFRESH=1`) the repo is listed and the GGUF for the
//! quant downloaded from the Hub, or `$HF_ENDPOINT`, into that same cache through the `hf-hub`
//! crate ([`crate::hf_online`]); the import then reads it back exactly as an offline one.
//! `HF_HUB_OFFLINE=1` forbids the network.
//!
//! The cache is laid out as `hf-hub` and `huggingface_hub` write it: `models--{user}--{repo}/
//! refs/main` → `snapshots/<commit>/<file>` → `../../blobs/<etag>`. Choosing the GGUF for a
//! quant needs the snapshot's file list, which `hf-hub`'s `Cache` does not offer (it resolves one
//! known file name), so the snapshot is listed here; [`choose_gguf`] is the one selection rule
//! for cached snapshots and for the Hub's file list alike.
//!
//! When the snapshot also carries `tokenizer.json`, the GGUF's own tokenizer is checked against
//! it ([`crate::hf_tokcheck`]): a mismatch is warned about, never fatal.

use std::path::{Path, PathBuf};

use hearth_store::names::ModelName;
use hearth_store::{Digest, Manifest, Store};
use serde_json::{json, Value};

use crate::error::{AirgapError, Result};
pub use crate::hf_names::{
    choose_gguf, is_hf, is_plain_file_name, quant, repo_dir, repo_id, HfOptions, DEFAULT_ENDPOINT,
    DEFAULT_QUANT, HOSTS, TOKENIZER_JSON,
};
use crate::hf_tokcheck::{self, TokenizerCheck};

fn not_cached(cache: &Path, repo_id: &str, why: impl std::fmt::Display) -> AirgapError {
    AirgapError::NotFound(format!(
        "{repo_id} is not in the Hugging Face cache {} ({why}); download it where there is a network (`hf download {repo_id}`) and copy the cache over",
        cache.display()
    ))
}

/// The cached snapshot of `name` (`refs/main`, else the only snapshot): its folder.
pub fn snapshot_dir(cache: &Path, name: &ModelName) -> Result<PathBuf> {
    let id = repo_id(name)?;
    let repo = repo_dir(cache, name)?;
    let snapshots = repo.join("snapshots");
    let commit = match std::fs::read_to_string(repo.join("refs").join("main")) {
        Ok(c) => c.trim().to_owned(),
        Err(_) => {
            let all: Vec<String> = std::fs::read_dir(&snapshots)
                .map_err(|e| not_cached(cache, &id, e))?
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            match all.as_slice() {
                [one] => one.clone(),
                _ => {
                    return Err(not_cached(
                        cache,
                        &id,
                        "no refs/main and not exactly one snapshot",
                    ))
                }
            }
        }
    };
    if commit.is_empty() || !commit.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(AirgapError::Invalid(format!(
            "{id}: refs/main holds {commit:?}, not a commit"
        )));
    }
    let snapshot = snapshots.join(&commit);
    if !snapshot.is_dir() {
        return Err(not_cached(cache, &id, format!("no snapshot {commit}")));
    }
    Ok(snapshot)
}

/// The cached GGUF for `name` in the hub cache at `cache`.
pub fn resolve(cache: &Path, name: &ModelName) -> Result<PathBuf> {
    let id = repo_id(name)?;
    let snapshot = snapshot_dir(cache, name)?;
    let files: Vec<String> = std::fs::read_dir(&snapshot)
        .map_err(|e| not_cached(cache, &id, e))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let file = choose_gguf(&files, name, "the cached snapshot")?;
    Ok(snapshot.join(file))
}

/// The sha256 a cache file's blob is named by (`snapshots/<c>/<f>` → `../../blobs/<sha256>`),
/// when it is one: Git LFS files, GGUFs among them, carry their sha256 as etag.
pub fn blob_sha256(snapshot_file: &Path) -> Option<Digest> {
    let target = std::fs::read_link(snapshot_file).ok()?;
    let etag = target.file_name()?.to_str()?;
    Digest::parse(&format!("sha256:{etag}"))
}

/// Where an imported `hf.co` model came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The local Hugging Face cache; no network was used.
    Cache,
    /// Downloaded from the Hub (or `HF_ENDPOINT`) into the cache first.
    Hub,
}

/// An `hf.co` model imported into the store.
#[derive(Debug, Clone)]
pub struct HfPulled {
    /// The manifest written to the store.
    pub manifest: Manifest,
    /// The GGUF in the hub cache it was imported from.
    pub gguf: PathBuf,
    /// Where it came from.
    pub source: Source,
    /// The tokenizer cross-check, when the snapshot has `tokenizer.json` and the check ran.
    pub tokenizer: Option<TokenizerCheck>,
}

/// Import the cached GGUF of `name` into `store` (under `name`), checking it against the sha256
/// its cache blob is named by, then cross-check its tokenizer when `tokenizer.json` is cached
/// beside it. Blocking.
pub fn import_from_cache(
    store: &Store,
    cache: &Path,
    name: &ModelName,
    progress: &mut dyn FnMut(Value),
) -> Result<(Manifest, PathBuf, Option<TokenizerCheck>)> {
    let path = resolve(cache, name)?;
    progress(json!({"status": format!("importing {}", path.display())}));
    let expected = blob_sha256(&path);
    let manifest =
        crate::gguf_import::create_from_gguf_expecting(store, name, &path, expected.as_ref())?;
    progress(json!({"status": "writing manifest"}));
    let tokenizer = path
        .parent()
        .map(|snapshot| snapshot.join(TOKENIZER_JSON))
        .filter(|t| t.is_file())
        .and_then(|t| match hf_tokcheck::check_tokenizer(&path, &t) {
            Ok(check) => {
                let line = check.status_line();
                if check.is_match() {
                    tracing::info!(model = %name.display(), "{line}");
                } else {
                    tracing::warn!(model = %name.display(), "{line}");
                }
                progress(json!({ "status": line }));
                Some(check)
            }
            Err(e) => {
                let line = format!("tokenizer check skipped: {e}");
                tracing::warn!(model = %name.display(), "{line}");
                progress(json!({ "status": line }));
                None
            }
        });
    Ok((manifest, path, tokenizer))
}

/// Import `name` from the hub cache at `cache` into `store` (under `name`); never uses the
/// network.
pub fn import_cached(store: &Store, cache: &Path, name: &ModelName) -> Result<Manifest> {
    import_from_cache(store, cache, name, &mut |_| {}).map(|(m, _, _)| m)
}

/// Pull `name` into `store`: from the cache when it is there (no network), else from the Hub
/// into the cache and then from the cache. Reports Ollama-style progress objects
/// (`{"status"}`, and `{"status","total","completed"}` while downloading), ending with
/// `{"status":"success"}`.
pub async fn pull(
    store: &Store,
    name: &ModelName,
    opts: &HfOptions,
    mut progress: impl FnMut(Value) + Send,
) -> Result<HfPulled> {
    if !is_hf(name) {
        return Err(AirgapError::Invalid(format!(
            "{} is not an hf.co name",
            name.display()
        )));
    }
    let id = repo_id(name)?;
    let source = match (opts.refresh, resolve(&opts.cache, name)) {
        (false, Ok(_)) => Source::Cache,
        (_, Err(e @ AirgapError::Invalid(_))) => return Err(e),
        // Not cached, or cached but a refresh was asked for (the only way to get here with Ok).
        (_, cached) => {
            let not_cached = cached.err().map(|e| e.to_string());
            if opts.offline {
                let why = not_cached.as_deref().unwrap_or("a refresh was asked for");
                return Err(AirgapError::NotFound(format!(
                    "{why}; HF_HUB_OFFLINE is set, so the Hub is not asked"
                )));
            }
            crate::hf_online::fetch(opts, name, not_cached.as_deref(), &mut progress).await?;
            Source::Hub
        }
    };
    tracing::info!(repo = %id, ?source, "importing hf.co model");
    let (store2, cache, name2) = (store.clone(), opts.cache.clone(), name.clone());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let job = tokio::task::spawn_blocking(move || {
        import_from_cache(&store2, &cache, &name2, &mut |v| {
            let _ = tx.send(v);
        })
    });
    while let Some(v) = rx.recv().await {
        progress(v);
    }
    let (manifest, gguf, tokenizer) = job
        .await
        .map_err(|e| AirgapError::Invalid(format!("import task failed: {e}")))??;
    progress(json!({"status": "success"}));
    Ok(HfPulled {
        manifest,
        gguf,
        source,
        tokenizer,
    })
}
