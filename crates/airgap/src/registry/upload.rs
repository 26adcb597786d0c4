//! The write half of the registry protocol, opt-in (`hearth registry --writable`): monolithic
//! blob uploads (`POST …/blobs/uploads/` then `PUT <location>?digest=`), verified by sha256 as
//! they stream into the store, and `PUT …/manifests/<tag>`, accepted only when every blob it
//! names is present with the stated size.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::Router;
use hearth_store::names::ModelName;
use hearth_store::{Digest, Manifest, Store};

/// Upload routes (merge with [`super::router`] for a read-write registry).
pub fn router(store: Store) -> Router {
    Router::new()
        .route("/v2/{ns}/{model}/blobs/uploads/", post(start))
        .route(
            "/v2/{ns}/{model}/blobs/uploads/{id}",
            put(finish).layer(DefaultBodyLimit::disable()),
        )
        .route("/v2/{ns}/{model}/manifests/{tag}", put(put_manifest))
        .with_state(store)
}

#[derive(serde::Deserialize)]
struct RepoPath {
    ns: String,
    model: String,
}

#[derive(serde::Deserialize)]
struct DigestQuery {
    digest: String,
}

#[derive(serde::Deserialize)]
struct ManifestPath {
    ns: String,
    model: String,
    tag: String,
}

fn error(status: StatusCode, code: &str, message: String) -> Response {
    let body = serde_json::json!({"errors": [{"code": code, "message": message}]});
    (status, axum::Json(body)).into_response()
}

async fn start(Path(RepoPath { ns, model }): Path<RepoPath>) -> Response {
    if ModelName::parse(&format!("{ns}/{model}")).is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "NAME_INVALID",
            "invalid name".into(),
        );
    }
    let id = format!("{:016x}", fastrand_id());
    let location = format!("/v2/{ns}/{model}/blobs/uploads/{id}");
    (
        StatusCode::ACCEPTED,
        [
            (header::LOCATION, location),
            (header::HeaderName::from_static("docker-upload-uuid"), id),
        ],
    )
        .into_response()
}

/// A per-upload id; uploads are monolithic, so it only has to be unique enough to log.
fn fastrand_id() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

async fn finish(
    State(store): State<Store>,
    Query(DigestQuery { digest }): Query<DigestQuery>,
    Path(RepoPath { ns, model }): Path<RepoPath>,
    body: Body,
) -> Response {
    let Some(d) = Digest::parse(&digest) else {
        return error(
            StatusCode::BAD_REQUEST,
            "DIGEST_INVALID",
            format!("invalid digest {digest:?}"),
        );
    };
    match store.put_blob_stream(&d, body.into_data_stream()).await {
        Ok(_) => (
            StatusCode::CREATED,
            [(
                header::LOCATION,
                format!("/v2/{ns}/{model}/blobs/{}", d.wire()),
            )],
        )
            .into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, "DIGEST_INVALID", e.to_string()),
    }
}

async fn put_manifest(
    State(store): State<Store>,
    Path(ManifestPath { ns, model, tag }): Path<ManifestPath>,
    body: axum::body::Bytes,
) -> Response {
    let Some(name) = ModelName::parse(&format!("{ns}/{model}:{tag}")) else {
        return error(
            StatusCode::BAD_REQUEST,
            "NAME_INVALID",
            "invalid name".into(),
        );
    };
    let manifest: Manifest = match serde_json::from_slice(&body) {
        Ok(m) => m,
        Err(e) => return error(StatusCode::BAD_REQUEST, "MANIFEST_INVALID", e.to_string()),
    };
    let result = tokio::task::spawn_blocking(move || {
        crate::archive::check_complete(&store, &name, &manifest)?;
        store.put_manifest(&name, &manifest)?;
        Ok::<_, crate::AirgapError>(())
    })
    .await;
    match result {
        Ok(Ok(())) => StatusCode::CREATED.into_response(),
        Ok(Err(e)) => error(StatusCode::BAD_REQUEST, "MANIFEST_INVALID", e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", e.to_string()),
    }
}
