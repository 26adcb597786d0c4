//! The router: every endpoint module's routes merged, guards and limits layered on top.

pub mod anthropic;
pub mod blobs;
pub mod chat;
pub mod classify;
pub mod common;
pub mod create;
pub mod embed;
pub mod generate;
pub mod models;
pub mod openai;
pub mod registry;
pub mod server_info;
pub mod stream;
pub mod ui;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, head, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;

use crate::error::ApiError;
use crate::state::SharedState;

/// Build the application. No sockets: tests drive it with `tower::ServiceExt::oneshot`.
///
/// [`ServerConfig::extra_routes`](crate::config::ServerConfig::extra_routes) are merged in
/// before the fallbacks and layers, so the Host, origin and key guards cover them too.
pub fn router(state: SharedState) -> Router {
    let limit = state.config.body_limit;
    let cors = crate::guard::cors(&state.config.origins);
    let app = Router::new()
        .route("/", get(models::root).head(models::root))
        .route("/api/version", get(models::version))
        .route("/api/status", get(registry::status))
        .route("/api/tags", get(models::tags))
        .route("/api/generate", post(generate::handler))
        .route("/api/chat", post(chat::handler))
        .route("/api/embed", post(embed::handler))
        .route("/api/classify", post(classify::handler))
        .route("/api/embeddings", post(embed::legacy))
        .route("/api/show", post(models::show))
        .route("/api/ps", get(models::ps))
        .route("/api/copy", post(models::copy))
        .route("/api/delete", delete(models::delete))
        .route("/api/blobs/{digest}", head(blobs::head).post(blobs::upload))
        .route("/api/create", post(create::handler))
        .route("/api/pull", post(registry::pull))
        .route("/api/push", post(registry::push))
        .route("/v1/chat/completions", post(openai::chat_completions))
        .route("/v1/completions", post(openai::completions))
        .route("/v1/models", get(openai::list_models))
        .route("/v1/models/{model}", get(openai::get_model))
        .route("/v1/embeddings", post(openai::embeddings))
        .route("/v1/messages", post(anthropic::messages))
        .route("/v1/messages/count_tokens", post(anthropic::count_tokens))
        .route("/metrics", get(metrics))
        .route("/api/hearth/server", get(server_info::handler))
        .with_state(state.clone());
    let app = app.merge(openai::responses::routes(&state));
    let app = match state.config.extra_routes.clone() {
        Some(extra) => app.merge(extra),
        None => app,
    };
    let app = app
        .fallback(|| async { (StatusCode::NOT_FOUND, "404 page not found") })
        .method_not_allowed_fallback(|| async {
            (StatusCode::METHOD_NOT_ALLOWED, "405 method not allowed")
        })
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(DefaultBodyLimit::max(limit))
        .layer(from_fn_with_state(state.clone(), crate::guard::track))
        .layer(cors)
        .layer(from_fn_with_state(state.clone(), crate::guard::guard));
    // The web UI under /ui/ (`GET /` stays Ollama's plain answer).
    if state.config.ui {
        ui::mount(app, state)
    } else {
        app
    }
}

/// A handler that panicked answers 500 with the error shape, and is logged; the connection and
/// the server carry on (inference panics are contained in the engine; this covers the rest).
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown cause");
    tracing::error!(panic = what, "a request handler panicked");
    ApiError::Internal(format!(
        "internal error: the request handler panicked ({what}); the server carries on, please report this"
    ))
    .into_response()
}

/// `GET /metrics`.
async fn metrics(State(st): State<SharedState>) -> Response {
    st.metrics
        .queue_depth
        .set(st.scheduler.queue_depth() as i64);
    let status = st.scheduler.status();
    st.metrics.loaded_models.set(status.len() as i64);
    st.metrics
        .prompt_cache
        .set(status.iter().map(|s| s.prompt_cache));
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        st.metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_anthropic;
#[cfg(test)]
mod tests_classify;
#[cfg(test)]
mod tests_panic;
#[cfg(test)]
mod tests_readonly;
#[cfg(test)]
mod tests_registry;
#[cfg(test)]
mod tests_responses;
