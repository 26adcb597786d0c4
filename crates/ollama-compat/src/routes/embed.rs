//! `POST /api/embed` (batch, L2-normalised, `dimensions`) and the legacy `POST /api/embeddings`
//! (the model's raw pooled vector).

use std::time::Instant;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::common;
use crate::error::{ApiError, ApiResult};
use crate::http::{json, OJson};
use crate::keep_alive::{self, KeepAlive};
use crate::state::SharedState;
use hearth_store::names::ModelName;

/// `POST /api/embed` body.
#[derive(Debug, Default, Deserialize)]
pub struct EmbedBody {
    /// Model name.
    #[serde(default)]
    pub model: String,
    /// A string or a list of strings.
    #[serde(default)]
    pub input: Option<Value>,
    /// Cut over-long inputs (default true).
    #[serde(default)]
    pub truncate: Option<bool>,
    /// Keep only the first N dimensions (re-normalised).
    #[serde(default)]
    pub dimensions: Option<usize>,
    /// Options (accepted; embeddings do not sample).
    #[serde(default)]
    pub options: Option<Map<String, Value>>,
    /// How long to keep the model loaded.
    #[serde(default, deserialize_with = "keep_alive::deserialize_opt")]
    pub keep_alive: Option<KeepAlive>,
}

/// `POST /api/embed` response.
#[derive(Debug, Serialize)]
pub struct EmbedResponse {
    /// Model as requested.
    pub model: String,
    /// One vector per input.
    pub embeddings: Vec<Vec<f32>>,
    /// Request duration (ns).
    #[serde(skip_serializing_if = "is_zero")]
    pub total_duration: u64,
    /// Load duration (ns).
    #[serde(skip_serializing_if = "is_zero")]
    pub load_duration: u64,
    /// Tokens embedded.
    #[serde(skip_serializing_if = "is_zero")]
    pub prompt_eval_count: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Inputs from `input`: a string (empty = none) or an array of strings.
pub fn inputs(input: Option<&Value>) -> ApiResult<Vec<String>> {
    match input {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) if s.is_empty() => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ApiError::bad("invalid input type"))
            })
            .collect(),
        Some(_) => Err(ApiError::bad("invalid input type")),
    }
}

/// Embed for `/api/embed` and `/v1/embeddings` (L2-normalised vectors).
pub async fn embed(st: &SharedState, body: EmbedBody) -> ApiResult<EmbedResponse> {
    embed_as(st, body, false).await
}

/// Embed; `raw` gives the model's pooled vectors as they are (the legacy endpoint's contract)
/// instead of unit vectors.
async fn embed_as(st: &SharedState, body: EmbedBody, raw: bool) -> ApiResult<EmbedResponse> {
    let started = Instant::now();
    if body.model.is_empty() {
        return Err(ApiError::NotFound("model '' not found".into()));
    }
    let not_found = || {
        ApiError::NotFound(format!(
            "model \"{}\" not found, try pulling it first",
            body.model
        ))
    };
    let name = ModelName::parse(&body.model).ok_or_else(not_found)?;
    let record = st.catalog.resolve(&name)?.ok_or_else(not_found)?;
    let inputs = inputs(body.input.as_ref())?;
    let ticket = st.scheduler.admit()?;
    let lease = common::lease(st, &record, body.keep_alive).await?;
    let load_duration = lease.load_duration.as_nanos() as u64;
    if inputs.is_empty() {
        return Ok(EmbedResponse {
            model: body.model,
            embeddings: Vec::new(),
            total_duration: 0,
            load_duration: 0,
            prompt_eval_count: 0,
        });
    }
    let result = lease
        .model()
        .embed(inputs, body.truncate.unwrap_or(true))
        .await?;
    drop((lease, ticket));
    st.metrics.tokens_in.inc_by(result.prompt_eval_count as u64);
    let mut embeddings = result.vectors;
    for (i, v) in embeddings.iter_mut().enumerate() {
        if v.iter().any(|x| !x.is_finite()) {
            return Err(ApiError::Internal(
                "embedding contains NaN or Inf values".into(),
            ));
        }
        if raw {
            let norm = result.norms.get(i).copied().unwrap_or(1.0);
            v.iter_mut().for_each(|x| *x *= norm);
            continue;
        }
        if let Some(d) = body.dimensions.filter(|d| *d > 0 && *d < v.len()) {
            v.truncate(d);
            normalize(v);
        }
    }
    Ok(EmbedResponse {
        model: body.model,
        embeddings,
        total_duration: started.elapsed().as_nanos() as u64,
        load_duration,
        prompt_eval_count: result.prompt_eval_count as u64,
    })
}

fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// `POST /api/embed`.
pub async fn handler(State(st): State<SharedState>, OJson(body): OJson<EmbedBody>) -> Response {
    match embed(&st, body).await {
        Ok(r) => json(&r),
        Err(e) => e.into_response(),
    }
}

/// `POST /api/embeddings` body.
#[derive(Debug, Default, Deserialize)]
pub struct LegacyBody {
    /// Model name.
    #[serde(default)]
    pub model: String,
    /// Text to embed.
    #[serde(default)]
    pub prompt: String,
    /// Options.
    #[serde(default)]
    pub options: Option<Map<String, Value>>,
    /// How long to keep the model loaded.
    #[serde(default, deserialize_with = "keep_alive::deserialize_opt")]
    pub keep_alive: Option<KeepAlive>,
}

/// `POST /api/embeddings`: one vector, `{"embedding": [...]}`, not normalised (as Ollama).
pub async fn legacy(State(st): State<SharedState>, OJson(body): OJson<LegacyBody>) -> Response {
    if body.model.is_empty() {
        return ApiError::bad("model is required").into_response();
    }
    let req = EmbedBody {
        model: body.model,
        input: Some(Value::String(body.prompt)),
        keep_alive: body.keep_alive,
        ..EmbedBody::default()
    };
    match embed_as(&st, req, true).await {
        Ok(mut r) => {
            json(&serde_json::json!({ "embedding": r.embeddings.pop().unwrap_or_default() }))
        }
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_shapes() {
        assert!(inputs(Some(&Value::String(String::new())))
            .unwrap()
            .is_empty());
        assert_eq!(
            inputs(Some(&serde_json::json!(["a", "b"]))).unwrap().len(),
            2
        );
        assert_eq!(
            inputs(Some(&serde_json::json!([1])))
                .unwrap_err()
                .to_string(),
            "invalid input type"
        );
    }
}
