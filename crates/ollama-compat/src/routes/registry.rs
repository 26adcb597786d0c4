//! `/api/pull`, `/api/push` and `/api/status`. hearth is airgapped first: a pull of a
//! default-registry name that is already here (store or bundled) succeeds without touching the
//! network, as Ollama's integration suite provisions models. Anything else goes through the
//! configured [`RegistryClient`](hearth_store::registry::RegistryClient) (Ollama's progress
//! lines streamed as NDJSON, or one object with `stream:false`); without one, a pull of a
//! missing model fails and push is refused.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::http::{json, OJson};
use crate::state::SharedState;
use hearth_store::names::{ModelName, DEFAULT_HOST};
use hearth_store::registry::{ProgressSink, RegistryError};

/// The error Ollama gives for a model its registry does not have.
const NOT_FOUND: &str = "pull model manifest: file does not exist";

/// `GET /api/status`.
pub async fn status() -> Response {
    json(&json!({"cloud": {"disabled": true, "source": "none"}}))
}

/// `{"model"|"name", "insecure", "stream"}` of a pull or push.
struct Transfer {
    model: String,
    insecure: bool,
    stream: bool,
}

impl Transfer {
    fn of(body: &Value) -> Transfer {
        let model = body
            .get("model")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .or_else(|| body.get("name").and_then(Value::as_str))
            .unwrap_or_default()
            .to_owned();
        Transfer {
            model,
            insecure: body
                .get("insecure")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            stream: body.get("stream").and_then(Value::as_bool).unwrap_or(true),
        }
    }
}

/// `POST /api/pull`.
pub async fn pull(State(st): State<SharedState>, OJson(body): OJson<Value>) -> Response {
    let req = Transfer::of(&body);
    let Some(name) = ModelName::parse(&req.model) else {
        return ApiError::bad("invalid model name").into_response();
    };
    let default_host = name.host.eq_ignore_ascii_case(DEFAULT_HOST);
    let local = default_host && {
        let st = Arc::clone(&st);
        let name = name.clone();
        tokio::task::spawn_blocking(move || matches!(st.catalog.resolve(&name), Ok(Some(_))))
            .await
            .unwrap_or(false)
    };
    if local {
        tracing::debug!(model = %name, "pull: already here, not contacting a registry");
        return finish(
            req.stream,
            offline(vec![
                json!({"status": "pulling manifest"}),
                json!({"status": "success"}),
            ]),
        )
        .await;
    }
    let Some(client) = st.config.registry_client.clone() else {
        return finish(
            req.stream,
            offline(vec![
                json!({"status": "pulling manifest"}),
                json!({"error": NOT_FOUND}),
            ]),
        )
        .await;
    };
    tracing::info!(model = %name, insecure = req.insecure, "pull");
    let store = st.catalog.store().clone();
    finish(
        req.stream,
        Box::new(move |sink| client.pull(store, name, req.insecure, sink)),
    )
    .await
}

/// `POST /api/push`.
pub async fn push(State(st): State<SharedState>, OJson(body): OJson<Value>) -> Response {
    let req = Transfer::of(&body);
    if req.model.is_empty() {
        return ApiError::bad("model is required").into_response();
    }
    let Some(name) = ModelName::parse(&req.model) else {
        return ApiError::bad("invalid model name").into_response();
    };
    let Some(client) = st.config.registry_client.clone() else {
        return ApiError::Internal("push is not supported: hearth has no registry access".into())
            .into_response();
    };
    tracing::info!(model = %name, insecure = req.insecure, "push");
    let store = st.catalog.store().clone();
    finish(
        req.stream,
        Box::new(move |sink| client.push(store, name, req.insecure, sink)),
    )
    .await
}

/// Starts a transfer that reports to the sink it is given.
type Start = Box<dyn FnOnce(ProgressSink) -> BoxFuture<'static, Result<(), RegistryError>> + Send>;

/// A transfer that only replays fixed lines: the last one decides success (`{"error"}` fails).
fn offline(lines: Vec<Value>) -> Start {
    Box::new(move |mut sink| {
        Box::pin(async move {
            let mut failed = None;
            for line in lines {
                match line.get("error").and_then(Value::as_str) {
                    Some(e) => failed = Some(RegistryError::new(e)),
                    None => sink(line),
                }
            }
            failed.map_or(Ok(()), Err)
        })
    })
}

/// Answer a transfer as Ollama does: NDJSON progress ending in `success` or an `{"error"}` line
/// (status 200 either way, the stream has started), or with `stream:false` one `{"status":
/// "success"}` object or a 500 `{"error"}`. The transfer runs inside the response, so a client
/// that hangs up cancels it.
async fn finish(stream: bool, start: Start) -> Response {
    if !stream {
        return match start(Box::new(|_| {})).await {
            Ok(()) => json(&json!({"status": "success"})),
            Err(e) => ApiError::Internal(e.0).into_response(),
        };
    }
    let (tx, rx) = mpsc::unbounded_channel::<Value>();
    let transfer = start(Box::new(move |v| {
        let _ = tx.send(v);
    }));
    super::stream::ndjson(pump(transfer, rx))
}

/// The transfer's progress lines in order, then an `{"error"}` line if it failed.
fn pump(
    transfer: BoxFuture<'static, Result<(), RegistryError>>,
    rx: mpsc::UnboundedReceiver<Value>,
) -> impl futures::Stream<Item = Value> + Send + 'static {
    struct Pump {
        transfer: Option<BoxFuture<'static, Result<(), RegistryError>>>,
        rx: mpsc::UnboundedReceiver<Value>,
        tail: Option<Value>,
    }
    let state = Pump {
        transfer: Some(transfer),
        rx,
        tail: None,
    };
    futures::stream::unfold(state, |mut s| async move {
        if let Some(transfer) = s.transfer.as_mut() {
            let ended = tokio::select! {
                biased;
                Some(line) = s.rx.recv() => Err(line),
                result = transfer => Ok(result),
            };
            match ended {
                Err(line) => return Some((line, s)),
                Ok(result) => {
                    s.transfer = None;
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "registry transfer failed");
                        s.tail = Some(json!({"error": e.0}));
                    }
                }
            }
        }
        // The transfer is over: what it sent is all queued.
        match s.rx.try_recv() {
            Ok(line) => Some((line, s)),
            Err(_) => s.tail.take().map(|line| (line, s)),
        }
    })
}
