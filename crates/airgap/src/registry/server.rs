//! A read-only registry over the local store: `GET /v2/`, `GET|HEAD
//! /v2/<ns>/<model>/manifests/<tag>` and `GET|HEAD /v2/<ns>/<model>/blobs/<digest>` (with
//! `Range`), so another hearth or `ollama pull --insecure host:port/ns/model:tag` can pull
//! from it. Nothing can be written through it.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hearth_store::names::ModelName;
use hearth_store::{manifest::MEDIA_MANIFEST, Digest, Store, StoredModel};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// The registry routes, with their own state: merge into a server, or serve alone.
pub fn router(store: Store) -> Router {
    Router::new()
        .route("/v2/", get(version))
        .route(
            "/v2/{ns}/{model}/manifests/{tag}",
            get(manifest).head(manifest),
        )
        .route("/v2/{ns}/{model}/blobs/{digest}", get(blob).head(blob))
        .with_state(store)
}

/// Serve the registry alone on `listener` until `shutdown` resolves.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    store: Store,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(listener, router(store), shutdown).await
}

/// Serve any registry router (e.g. with [`super::upload::router`] merged) until `shutdown`.
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// `/v2/{ns}/{model}/manifests/{tag}`, by name: a router this one is mounted in may add its own
/// path parameters, which positional tuples would trip over.
#[derive(serde::Deserialize)]
struct ManifestPath {
    ns: String,
    model: String,
    tag: String,
}

/// `/v2/{ns}/{model}/blobs/{digest}`, by name.
#[derive(serde::Deserialize)]
struct BlobPath {
    digest: String,
}

async fn version() -> Response {
    (
        [("Docker-Distribution-API-Version", "registry/2.0")],
        axum::Json(serde_json::json!({})),
    )
        .into_response()
}

fn error(status: StatusCode, code: &str, message: String) -> Response {
    let body = serde_json::json!({"errors": [{"code": code, "message": message}]});
    (status, axum::Json(body)).into_response()
}

/// The stored model `ns/model:tag`, under the default host or, failing that, any host.
fn find(store: &Store, ns: &str, model: &str, tag: &str) -> Option<StoredModel> {
    let name = ModelName::parse(&format!("{ns}/{model}:{tag}"))?;
    if let Ok(Some(m)) = store.get(&name) {
        return Some(m);
    }
    store.list().into_iter().find(|m| {
        m.name.namespace.eq_ignore_ascii_case(ns)
            && m.name.model.eq_ignore_ascii_case(model)
            && m.name.tag.eq_ignore_ascii_case(tag)
    })
}

async fn manifest(
    State(store): State<Store>,
    method: Method,
    Path(ManifestPath { ns, model, tag }): Path<ManifestPath>,
) -> Response {
    let found = tokio::task::spawn_blocking(move || find(&store, &ns, &model, &tag)).await;
    let Ok(Some(stored)) = found else {
        return error(
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
            "manifest unknown".into(),
        );
    };
    let bytes = serde_json::to_vec(&stored.manifest).unwrap_or_default();
    let digest = Digest::of(&bytes).wire();
    let headers = [
        (header::CONTENT_TYPE, MEDIA_MANIFEST.to_owned()),
        (header::CONTENT_LENGTH, bytes.len().to_string()),
        (
            header::HeaderName::from_static("docker-content-digest"),
            digest,
        ),
    ];
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(bytes)
    };
    (headers, body).into_response()
}

/// `bytes=N-` or `bytes=N-M` → (start, inclusive end).
fn parse_range(h: &HeaderMap, len: u64) -> Option<(u64, u64)> {
    let v = h
        .get(header::RANGE)?
        .to_str()
        .ok()?
        .strip_prefix("bytes=")?;
    let (a, b) = v.split_once('-')?;
    let start: u64 = a.trim().parse().ok()?;
    let end = match b.trim() {
        "" => len.checked_sub(1)?,
        b => b.parse::<u64>().ok()?.min(len.checked_sub(1)?),
    };
    (start <= end).then_some((start, end))
}

async fn blob(
    State(store): State<Store>,
    method: Method,
    headers: HeaderMap,
    Path(BlobPath { digest }): Path<BlobPath>,
) -> Response {
    let Some(d) = Digest::parse(&digest) else {
        return error(
            StatusCode::BAD_REQUEST,
            "DIGEST_INVALID",
            format!("invalid digest {digest:?}"),
        );
    };
    let path = store.blob_path(&d);
    let Ok(mut file) = tokio::fs::File::open(&path).await else {
        return error(
            StatusCode::NOT_FOUND,
            "BLOB_UNKNOWN",
            format!("blob {} unknown", d.wire()),
        );
    };
    let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    let (status, start, end) = match (
        headers.contains_key(header::RANGE),
        parse_range(&headers, len),
    ) {
        (false, _) => (StatusCode::OK, 0, len),
        (true, Some((s, e))) => (StatusCode::PARTIAL_CONTENT, s, e + 1),
        (true, None) => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            )
                .into_response()
        }
    };
    let mut out = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, end - start)
        .header(header::ACCEPT_RANGES, "bytes")
        .header("docker-content-digest", d.wire());
    if status == StatusCode::PARTIAL_CONTENT {
        out = out.header(
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{len}", end - 1),
        );
    }
    if method == Method::HEAD {
        return out.body(Body::empty()).unwrap_or_default();
    }
    if file.seek(std::io::SeekFrom::Start(start)).await.is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let stream = futures::stream::unfold((file, end - start), |(mut f, left)| async move {
        if left == 0 {
            return None;
        }
        let mut buf = vec![0u8; (1 << 20).min(left as usize)];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((
                    Ok::<_, std::io::Error>(bytes::Bytes::from(buf)),
                    (f, left - n as u64),
                ))
            }
            Err(e) => Some((Err(e), (f, 0))),
        }
    });
    out.body(Body::from_stream(stream)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let mut h = HeaderMap::new();
        h.insert(header::RANGE, "bytes=10-".parse().unwrap());
        assert_eq!(parse_range(&h, 100), Some((10, 99)));
        h.insert(header::RANGE, "bytes=10-19".parse().unwrap());
        assert_eq!(parse_range(&h, 100), Some((10, 19)));
        h.insert(header::RANGE, "bytes=100-".parse().unwrap());
        assert_eq!(parse_range(&h, 100), None);
        h.insert(header::RANGE, "bytes=-5".parse().unwrap());
        assert_eq!(parse_range(&h, 100), None);
    }
}
