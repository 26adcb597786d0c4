//! The online half of `hf.co` names: list a repo on the Hub (or `$HF_ENDPOINT`) and download the
//! GGUF for the quant, plus `tokenizer.json` when the repo has one, into the standard Hugging Face
//! cache through the `hf-hub` crate (tokio, rustls), which writes `blobs/`, `snapshots/` and
//! `refs/main` as `huggingface_hub` does and resumes interrupted downloads. The import itself
//! then reads the cache (`crate::hf::import_from_cache`, which calls this module).

use std::path::{Component, Path};
use std::time::Duration;

use hearth_store::names::ModelName;
use hf_hub::api::tokio::{ApiBuilder, ApiError, ApiRepo, Progress};
use hf_hub::{Cache, Repo, RepoType};
use serde_json::{json, Value};

use crate::error::{AirgapError, Result};
use crate::hf_names::{choose_gguf, is_plain_file_name, repo_id, HfOptions, TOKENIZER_JSON};

/// How long listing a repo may take before the Hub counts as unreachable (downloads themselves
/// have no overall limit).
pub const LIST_TIMEOUT: Duration = Duration::from_secs(30);

/// Progress ticks from `hf-hub`'s download tasks to the pull that reports them.
#[derive(Debug)]
enum Tick {
    Start(u64),
    Add(u64),
}

#[derive(Clone)]
struct Reporter(tokio::sync::mpsc::UnboundedSender<Tick>);

impl Progress for Reporter {
    async fn init(&mut self, size: usize, _filename: &str) {
        let _ = self.0.send(Tick::Start(size as u64));
    }
    async fn update(&mut self, size: usize) {
        let _ = self.0.send(Tick::Add(size as u64));
    }
    async fn finish(&mut self) {}
}

/// What a failed Hub request means for the user.
fn hub_error(opts: &HfOptions, id: &str, not_cached: Option<&str>, e: &ApiError) -> AirgapError {
    let status = match e {
        ApiError::RequestError(r) if r.is_decode() => {
            return AirgapError::Http(format!(
                "{} answered for {id} with something that is not a Hub repo listing ({})",
                opts.endpoint,
                chain(e)
            ))
        }
        ApiError::RequestError(r) => r.status().map(|s| s.as_u16()),
        _ => None,
    };
    match status {
        Some(404) => AirgapError::NotFound(format!(
            "{id} was not found on {} (404); check the user and repo name",
            opts.endpoint
        )),
        Some(401 | 403) => AirgapError::Http(format!(
            "{} refused access to {id} ({}); gated and private repos need a token: set HF_TOKEN",
            opts.endpoint,
            status.unwrap_or_default()
        )),
        Some(_) => AirgapError::Http(format!("{}: {id}: {e}", opts.endpoint)),
        None => unreachable_error(opts, id, not_cached, &chain(e)),
    }
}

/// An error with its causes (`error sending request: … : Connection refused`).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        cause = c.source();
    }
    text
}

fn unreachable_error(
    opts: &HfOptions,
    id: &str,
    not_cached: Option<&str>,
    why: &str,
) -> AirgapError {
    let cached = match not_cached {
        Some(_) => format!(
            "{id} is not in the local Hugging Face cache {}",
            opts.cache.display()
        ),
        None => format!("{id} could not be refreshed"),
    };
    AirgapError::Http(format!(
        "{cached}, and the Hugging Face Hub at {} could not be reached ({why}); copy a cache that has it (HF_HUB_CACHE / HF_HOME), or set HF_ENDPOINT to a reachable mirror",
        opts.endpoint
    ))
}

/// Whether `path` (as `hf-hub` returned it) lies inside `cache`, with no `..` on the way.
fn inside(cache: &Path, path: &Path) -> bool {
    path.strip_prefix(cache)
        .is_ok_and(|rel| rel.components().all(|c| matches!(c, Component::Normal(_))))
}

/// Download one file of `repo` into the cache, reporting `{"status","total","completed"}`.
async fn download(
    repo: &ApiRepo,
    opts: &HfOptions,
    id: &str,
    file: &str,
    progress: &mut (dyn FnMut(Value) + Send),
) -> Result<()> {
    let status = format!("pulling {file}");
    progress(json!({ "status": status }));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let fetch = repo.download_with_progress(file, Reporter(tx));
    tokio::pin!(fetch);
    let (mut total, mut completed, mut shown) = (0u64, 0u64, 0u64);
    let mut report = |tick: Tick, last: bool| {
        match tick {
            Tick::Start(n) => total = n,
            Tick::Add(n) => completed = completed.saturating_add(n).min(total.max(completed)),
        }
        let step = (total / 200).max(1 << 20);
        if last || completed == total || completed >= shown + step || shown == 0 {
            shown = completed.max(1);
            progress(json!({"status": status, "total": total, "completed": completed}));
        }
    };
    let result = loop {
        tokio::select! {
            res = &mut fetch => break res,
            Some(tick) = rx.recv() => report(tick, false),
        }
    };
    while let Ok(tick) = rx.try_recv() {
        report(tick, true);
    }
    let path = result.map_err(|e| match &e {
        ApiError::RequestError(r) if r.status().is_some() => hub_error(opts, id, Some(""), &e),
        _ => AirgapError::Http(format!(
            "downloading {file} of {id} from {} failed ({}); pulling again resumes it",
            opts.endpoint,
            chain(&e)
        )),
    })?;
    if !inside(&opts.cache, &path) {
        return Err(AirgapError::Invalid(format!(
            "{}: the Hub's answer for {file} put it at {}, outside the cache",
            opts.endpoint,
            path.display()
        )));
    }
    tracing::info!(repo = %id, file, path = %path.display(), "downloaded into the Hugging Face cache");
    Ok(())
}

/// List `name`'s repo on the Hub and download the GGUF for its quant, plus `tokenizer.json`
/// when the repo has one, into `opts.cache`. `not_cached` says why the cache did not do (for the
/// error when the Hub cannot be reached; `None` on a refresh).
pub async fn fetch(
    opts: &HfOptions,
    name: &ModelName,
    not_cached: Option<&str>,
    progress: &mut (dyn FnMut(Value) + Send),
) -> Result<()> {
    let id = repo_id(name)?;
    let endpoint = opts.endpoint.trim_end_matches('/').to_owned();
    if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
        return Err(AirgapError::Invalid(format!(
            "HF_ENDPOINT {endpoint:?} is not an http(s) URL"
        )));
    }
    let api = ApiBuilder::from_cache(Cache::new(opts.cache.clone()))
        .with_endpoint(endpoint.clone())
        .with_token(opts.token.clone())
        .with_progress(false)
        .with_user_agent("hearth", env!("CARGO_PKG_VERSION"))
        .build()
        .map_err(|e| AirgapError::Http(format!("Hugging Face client: {e}")))?;
    let repo = api.repo(Repo::with_revision(
        id.clone(),
        RepoType::Model,
        "main".into(),
    ));
    progress(json!({"status": format!("listing {id} on {endpoint}")}));
    let info = match tokio::time::timeout(LIST_TIMEOUT, repo.info()).await {
        Ok(Ok(info)) => info,
        Ok(Err(e)) => return Err(hub_error(opts, &id, not_cached, &e)),
        Err(_) => {
            return Err(unreachable_error(
                opts,
                &id,
                not_cached,
                &format!("no answer in {} s", LIST_TIMEOUT.as_secs()),
            ))
        }
    };
    if info.sha.len() < 7 || !info.sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AirgapError::Invalid(format!(
            "{endpoint}: {id} has commit {:?}, not a commit hash",
            info.sha
        )));
    }
    let files: Vec<String> = info.siblings.into_iter().map(|s| s.rfilename).collect();
    let gguf = choose_gguf(&files, name, &format!("{id} on {endpoint}"))?;
    debug_assert!(is_plain_file_name(&gguf));
    tracing::info!(repo = %id, commit = %info.sha, file = %gguf, "fetching from the Hugging Face Hub");
    download(&repo, opts, &id, &gguf, progress).await?;
    if files.iter().any(|f| f == TOKENIZER_JSON) {
        download(&repo, opts, &id, TOKENIZER_JSON, progress).await?;
    }
    Ok(())
}
