//! `POST /api/pull` as Ollama answers it: NDJSON progress lines (or one object with
//! `stream:false`), pulling into the server's store through [`super::pull`].

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use hearth_ollama_compat::names::ModelName;
use hearth_ollama_compat::store::Store;
use serde_json::{json, Value};

use super::pull::{pull, PullOptions};

/// `/api/pull` with its own state (the store), to merge into a server in place of an offline stub.
pub fn router(store: Store) -> Router {
    Router::new()
        .route("/api/pull", post(pull_handler))
        .with_state(store)
}

/// `POST /api/pull` `{"model"|"name", "insecure", "stream"}`.
pub async fn pull_handler(State(store): State<Store>, Json(body): Json<Value>) -> Response {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .or_else(|| body.get("name").and_then(Value::as_str))
        .unwrap_or_default();
    let insecure = body
        .get("insecure")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(true);
    let Some(name) = ModelName::parse(model) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid model name"})),
        )
            .into_response();
    };
    let opts = PullOptions { insecure };
    if !stream {
        return match pull(&store, &name, &opts, |_| {}).await {
            Ok(_) => Json(json!({"status": "success"})).into_response(),
            Err(e) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"error": e.to_string()})),
            )
                .into_response(),
        };
    }
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
    tokio::spawn(async move {
        let lines = tx.clone();
        if let Err(e) = pull(&store, &name, &opts, move |v| {
            let _ = lines.send(v);
        })
        .await
        {
            let _ = tx.send(json!({"error": e.to_string()}));
        }
    });
    let body = futures::stream::unfold(rx, |mut rx| async move {
        let v = rx.recv().await?;
        let mut line = serde_json::to_vec(&v).unwrap_or_default();
        line.push(b'\n');
        Some((Ok::<_, std::io::Error>(bytes::Bytes::from(line)), rx))
    });
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(body),
    )
        .into_response()
}
