//! `GET /v1/models` and `GET /v1/models/{model}`.

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{json as j, Value};

use crate::error::ApiError;
use crate::http::openai_json;
use crate::state::SharedState;
use hearth_store::names::ModelName;

fn model_object(st: &SharedState, id: String, name: &ModelName) -> Value {
    let created = st
        .catalog
        .resolve(name)
        .ok()
        .flatten()
        .map(|r| chrono::DateTime::<chrono::Utc>::from(r.modified).timestamp())
        .unwrap_or(0);
    j!({"id": id, "object": "model", "created": created, "owned_by": name.namespace})
}

/// `GET /v1/models`.
pub async fn list_models(State(st): State<SharedState>) -> Response {
    let data: Vec<Value> = st
        .catalog
        .list()
        .iter()
        .map(|r| {
            j!({"id": r.name.display(), "object": "model",
                "created": chrono::DateTime::<chrono::Utc>::from(r.modified).timestamp(),
                "owned_by": r.name.namespace})
        })
        .collect();
    openai_json(&j!({"object": "list", "data": data}))
}

/// `GET /v1/models/{model}`.
pub async fn get_model(State(st): State<SharedState>, Path(model): Path<String>) -> Response {
    let found = ModelName::parse(&model).filter(|n| st.catalog.resolve(n).ok().flatten().is_some());
    match found {
        Some(name) => openai_json(&model_object(&st, model, &name)),
        None => ApiError::NotFound(format!("model \"{model}\" not found")).into_openai(),
    }
}
