//! `POST /api/classify` (hearth extension): a trusted user request and a tool list in, the
//! CapGuard-shaped [`CapabilityToken`](hearth_classifier::CapabilityToken) out.
//!
//! The body is validated by [`ClassifyRequest::from_json`] (400 with its message); the model
//! resolves like every other endpoint's (404 when unknown) and is leased from the scheduler, so
//! classification shares the loaded model, its keep_alive and the queue limit with generation.
//! The classifier reaches the model only through [`LoadedModel::generator`], the engine's
//! generation seam. `method: "rules"` never loads a model.
//!
//! [`LoadedModel::generator`]: crate::backend::LoadedModel::generator

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::classify_request::ClassifyRequest;
use crate::error::{ApiError, ApiResult};
use crate::http::{json, OJson};
use crate::state::SharedState;

/// The handler.
pub async fn handler(State(st): State<SharedState>, OJson(body): OJson<Value>) -> Response {
    match classify(&st, &body).await {
        Ok(token) => json(&token),
        Err(e) => e.into_response(),
    }
}

/// Validate, resolve the model, classify.
pub async fn classify(
    st: &SharedState,
    body: &Value,
) -> ApiResult<hearth_classifier::CapabilityToken> {
    if !body.is_object() {
        return Err(ApiError::bad("request body must be a JSON object"));
    }
    let request = ClassifyRequest::from_json(body)?;
    crate::classify_request::run(st, &request).await
}
