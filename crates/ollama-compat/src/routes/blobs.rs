//! `HEAD|POST /api/blobs/{digest}`: content-addressed uploads, verified before they appear.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::SharedState;
use hearth_store::{Digest, StoreError};

fn parse(digest: &str) -> Result<Digest, ApiError> {
    Digest::parse(digest).ok_or_else(|| ApiError::bad("invalid digest format"))
}

/// `HEAD /api/blobs/{digest}`: 200 when present, 404 otherwise.
pub async fn head(State(st): State<SharedState>, Path(digest): Path<String>) -> Response {
    match parse(&digest) {
        Ok(d) if st.catalog.store().has_blob(&d) => StatusCode::OK.into_response(),
        Ok(_) => ApiError::NotFound(format!("blob \"{digest}\" not found")).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /api/blobs/{digest}`: 201 when written, 200 when it already existed.
pub async fn upload(
    State(st): State<SharedState>,
    Path(digest): Path<String>,
    body: Body,
) -> Response {
    let d = match parse(&digest) {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    match st
        .catalog
        .store()
        .put_blob_stream(&d, body.into_data_stream())
        .await
    {
        Ok(true) => StatusCode::CREATED.into_response(),
        Ok(false) => StatusCode::OK.into_response(),
        Err(e @ StoreError::DigestMismatch { .. }) => ApiError::bad(e.to_string()).into_response(),
        Err(StoreError::Body(e)) => ApiError::bad(e).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}
