//! `/api/pull`, `/api/push` and `/api/status`: hearth is offline, so a pull succeeds only for a
//! model that is already here (as Ollama's integration suite provisions models) and push is refused.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::models::NameBody;
use crate::error::ApiError;
use crate::http::{json, OJson};
use crate::names::ModelName;
use crate::state::SharedState;

/// `GET /api/status`.
pub async fn status() -> Response {
    json(&json!({"cloud": {"disabled": true, "source": "none"}}))
}

/// `POST /api/pull`.
pub async fn pull(
    State(st): State<SharedState>,
    OJson(body): OJson<serde_json::Value>,
) -> Response {
    let model = body
        .get("model")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .or_else(|| body.get("name").and_then(|v| v.as_str()))
        .unwrap_or_default();
    let stream = body.get("stream").and_then(|v| v.as_bool()).unwrap_or(true);
    let Some(name) = ModelName::parse(model) else {
        return ApiError::bad("invalid model name").into_response();
    };
    let exists = matches!(st.catalog.resolve(&name), Ok(Some(_)));
    let err = "pull model manifest: file does not exist";
    match (exists, stream) {
        (true, true) => super::stream::ndjson(futures::stream::iter(vec![
            json!({"status": "pulling manifest"}),
            json!({"status": "success"}),
        ])),
        (true, false) => json(&json!({"status": "success"})),
        (false, true) => super::stream::ndjson(futures::stream::iter(vec![
            json!({"status": "pulling manifest"}),
            json!({"error": err}),
        ])),
        (false, false) => ApiError::Internal(err.into()).into_response(),
    }
}

/// `POST /api/push`.
pub async fn push(OJson(body): OJson<NameBody>) -> Response {
    if body.model.as_deref().unwrap_or_default().is_empty()
        && body.name.as_deref().unwrap_or_default().is_empty()
    {
        return ApiError::bad("model is required").into_response();
    }
    ApiError::Internal("push is not supported: hearth has no registry access".into())
        .into_response()
}
