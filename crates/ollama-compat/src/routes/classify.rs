//! `POST /api/classify` (hearth extension): a trusted user request and a tool list in, the
//! CapGuard-shaped [`CapabilityToken`](hearth_classifier::CapabilityToken) out.
//!
//! Validation is `hearth-classifier`'s (400 with its message); the model resolves like every
//! other endpoint's (404 when unknown) and is leased from the scheduler, so classification shares
//! the loaded model, its keep_alive and the queue limit with generation. `method: "rules"` never
//! loads a model.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use hearth_classifier::{ClassifyRequest, Method, RulesClassifier};
use serde_json::Value;

use super::common;
use crate::error::{ApiError, ApiResult};
use crate::http::{json, OJson};
use crate::state::SharedState;
use hearth_store::names::ModelName;

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
    let request = ClassifyRequest::from_json(body).map_err(|e| ApiError::bad(e.to_string()))?;
    run(st, &request).await
}

/// Classify a validated request: resolve its model (404 when unknown), lease it, classify.
pub async fn run(
    st: &SharedState,
    request: &ClassifyRequest,
) -> ApiResult<hearth_classifier::CapabilityToken> {
    let record = match request.model.as_deref() {
        None | Some("") if request.method == Method::Rules => None,
        None | Some("") => return Err(ApiError::bad("model is required")),
        Some(model) => {
            let not_found =
                || ApiError::NotFound(format!("model \"{model}\" not found, try pulling it first"));
            let name = ModelName::parse(model).ok_or_else(not_found)?;
            Some(st.catalog.resolve(&name)?.ok_or_else(not_found)?)
        }
    };
    let Some(record) = record.filter(|_| request.method != Method::Rules) else {
        let mut token =
            RulesClassifier::default().classify_now(&request.registry, &request.request);
        token.constraints = request.constraints.clone();
        return Ok(token);
    };
    let _ticket = st.scheduler.admit()?;
    let lease = common::lease(st, &record, None).await?;
    let model = lease.model().engine().ok_or_else(|| {
        ApiError::bad(format!(
            "model \"{}\" cannot classify: it is not served by the engine",
            record.name.display()
        ))
    })?;
    let token = hearth_classifier::classify(request, &model).await;
    if token.classification_method.contains("-error: ") {
        tracing::warn!(method = %token.classification_method, "classifier failed closed");
    }
    Ok(token)
}
