//! Pushing a local model to a registry (Ollama's `push`): the local name carries the target
//! (`host:port/ns/model:tag`, made with `cp` first, as with Ollama); each blob the registry lacks
//! is uploaded, then the manifest. Progress objects follow Ollama's `push` statuses.

use futures::StreamExt;
use hearth_store::manifest::MEDIA_MANIFEST;
use hearth_store::names::ModelName;
use hearth_store::{Digest, Store};
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;

use super::pull::{repo_url, PullOptions};
use crate::error::{AirgapError, Result};

/// Push `name` from `store` to the registry its host names.
pub async fn push(
    store: &Store,
    name: &ModelName,
    opts: &PullOptions,
    mut progress: impl FnMut(Value),
) -> Result<()> {
    let http = reqwest::Client::builder()
        .danger_accept_invalid_certs(opts.insecure)
        .build()
        .map_err(|e| AirgapError::Http(e.to_string()))?;
    let base = repo_url(name, opts.insecure);
    let origin = base[..base.find("/v2/").unwrap_or(base.len())].to_owned();
    progress(json!({"status": "retrieving manifest"}));
    let stored = store
        .get(name)?
        .ok_or_else(|| AirgapError::NotFound(format!("model '{name}' not found")))?;
    let http_err = |e: reqwest::Error| AirgapError::Http(format!("push: {e}"));
    for d in stored.manifest.digests() {
        let digest = Digest::parse(d)
            .ok_or_else(|| AirgapError::Invalid(format!("local manifest: bad digest {d:?}")))?;
        let path = store.blob_path(&digest);
        let total = std::fs::metadata(&path)
            .map_err(|e| AirgapError::NotFound(format!("blob {d} of {name}: {e}")))?
            .len();
        let exists = http
            .head(format!("{base}/blobs/{}", digest.wire()))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        let status = format!("pushing {}", &digest.hex()[..12]);
        if exists {
            progress(json!({"status": status, "digest": d, "total": total, "completed": total}));
            continue;
        }
        progress(json!({"status": "starting upload", "digest": d, "total": total}));
        let resp = http
            .post(format!("{base}/blobs/uploads/"))
            .send()
            .await
            .map_err(http_err)?;
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .filter(|_| resp.status().is_success())
            .ok_or_else(|| {
                AirgapError::Http(format!(
                    "push: registry refused the upload ({})",
                    resp.status()
                ))
            })?;
        let mut url = if location.starts_with('/') {
            format!("{origin}{location}")
        } else {
            location.to_owned()
        };
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&format!("digest={}", digest.wire()));
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| AirgapError::Io {
                context: format!("reading {}", path.display()),
                err: e,
            })?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
        let body = futures::stream::unfold(file, |mut f| async move {
            let mut buf = vec![0u8; 1 << 20];
            match f.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok::<_, std::io::Error>(bytes::Bytes::from(buf)), f))
                }
                Err(e) => Some((Err(e), f)),
            }
        })
        .inspect(move |c| {
            if let Ok(b) = c {
                let _ = tx.send(b.len() as u64);
            }
        });
        let send = http
            .put(url)
            .header(reqwest::header::CONTENT_LENGTH, total)
            .body(reqwest::Body::wrap_stream(body))
            .send();
        tokio::pin!(send);
        let mut done = 0u64;
        let resp = loop {
            tokio::select! {
                r = &mut send => break r.map_err(http_err)?,
                Some(n) = rx.recv() => {
                    done += n;
                    progress(json!({"status": status, "digest": d, "total": total, "completed": done}));
                }
            }
        };
        if !resp.status().is_success() {
            let text = resp.text().await.unwrap_or_default();
            return Err(AirgapError::Http(format!(
                "push: upload of {d} refused: {text}"
            )));
        }
    }
    progress(json!({"status": "pushing manifest"}));
    let resp = http
        .put(format!("{base}/manifests/{}", name.tag))
        .header(reqwest::header::CONTENT_TYPE, MEDIA_MANIFEST)
        .body(serde_json::to_vec(&stored.manifest).unwrap_or_default())
        .send()
        .await
        .map_err(http_err)?;
    if !resp.status().is_success() {
        let text = resp.text().await.unwrap_or_default();
        return Err(AirgapError::Http(format!("push: manifest refused: {text}")));
    }
    progress(json!({"status": "success"}));
    Ok(())
}
