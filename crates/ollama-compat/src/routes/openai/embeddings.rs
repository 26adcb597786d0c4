//! `POST /v1/embeddings`, onto `/api/embed`.

use axum::extract::State;
use axum::response::Response;
use base64::Engine as _;
use serde_json::{json as j, Value};

use super::wire::EmbeddingsBody;
use crate::error::{ApiError, ApiResult};
use crate::http::{openai_json, OJson};
use crate::state::SharedState;

/// `POST /v1/embeddings`.
pub async fn embeddings(
    State(st): State<SharedState>,
    OJson(body): OJson<EmbeddingsBody>,
) -> Response {
    embeddings_inner(st, body)
        .await
        .unwrap_or_else(ApiError::into_openai)
}

async fn embeddings_inner(st: SharedState, body: EmbeddingsBody) -> ApiResult<Response> {
    let input = match body.input {
        Some(Value::String(s)) => j!([s]),
        Some(Value::Array(items)) if !items.is_empty() => Value::Array(items),
        _ => return Err(ApiError::bad("invalid input")),
    };
    let base64 = match body.encoding_format.as_deref() {
        None | Some("") | Some("float") => false,
        Some("base64") => true,
        Some(other) => {
            return Err(ApiError::bad(format!(
            "Invalid value for 'encoding_format' = {other}. Supported values: ['float', 'base64']."
        )))
        }
    };
    let req = crate::routes::embed::EmbedBody {
        model: body.model.clone(),
        input: Some(input),
        dimensions: body.dimensions,
        ..Default::default()
    };
    let r = crate::routes::embed::embed(&st, req).await?;
    let data: Vec<Value> = r
        .embeddings
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let embedding = if base64 {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                j!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                j!(v)
            };
            j!({"object": "embedding", "embedding": embedding, "index": i})
        })
        .collect();
    Ok(openai_json(&j!({
        "object": "list", "data": data, "model": body.model,
        "usage": {"prompt_tokens": r.prompt_eval_count, "total_tokens": r.prompt_eval_count},
    })))
}
