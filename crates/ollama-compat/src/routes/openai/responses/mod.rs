//! `POST /v1/responses`, OpenAI's Responses API, onto the native chat path: the body is checked
//! ([`request`]), its input items (after those of `previous_response_id`, from [`store`]) become
//! native messages ([`input`]), `chat::prepare` and `chat::chunks` generate, and [`events`]
//! turns the chunks into the Response object ([`object`]) or its SSE events. Errors are OpenAI
//! error objects.

pub mod events;
pub mod input;
pub mod object;
pub mod request;
pub mod store;

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use futures::stream::BoxStream;
use futures::StreamExt;
use serde_json::{json as j, Value};

use self::events::{Builder, Event, Outcome};
use self::object::Skeleton;
use self::request::ResponsesBody;
use self::store::ResponseStore;
use crate::error::{ApiError, ApiResult};
use crate::http::{openai_json, OJson};
use crate::routes::chat;
use crate::routes::generate::Step;
use crate::state::SharedState;
use crate::wire::{ChatBody, ChatChunk};

/// What the handler sees: the app and this router's response store.
#[derive(Clone)]
pub struct ResponsesState {
    app: SharedState,
    store: Arc<ResponseStore>,
}

/// The `/v1/responses` route with its own store, bounded by
/// [`ServerConfig::responses_max`](crate::config::ServerConfig::responses_max) and
/// [`responses_ttl`](crate::config::ServerConfig::responses_ttl). Merged into the app before
/// its guards and layers, so the Host, origin, key, body-limit and metrics layers cover it.
pub fn routes(app: &SharedState) -> Router {
    let store = Arc::new(ResponseStore::new(
        app.config.responses_max,
        app.config.responses_ttl,
    ));
    Router::new()
        .route("/v1/responses", post(create))
        .with_state(ResponsesState {
            app: Arc::clone(app),
            store,
        })
}

/// `POST /v1/responses`.
pub async fn create(
    State(st): State<ResponsesState>,
    body: Result<OJson<ResponsesBody>, ApiError>,
) -> Response {
    match body {
        Ok(OJson(body)) => match run(st, body).await {
            Ok(resp) | Err(Failure::Shaped(resp)) => resp,
            Err(Failure::Api(e)) => e.into_openai(),
        },
        Err(e) => e.into_openai(),
    }
}

/// An error answer: a plain [`ApiError`], or one already shaped (with `param` and `code`).
enum Failure {
    Api(ApiError),
    Shaped(Response),
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Api(e)
    }
}

/// OpenAI's answer for an unknown, expired or unstored `previous_response_id`.
fn previous_not_found(id: &str) -> Failure {
    let body = j!({"error": {
        "message": format!("Previous response with id '{id}' not found."),
        "type": "invalid_request_error", "param": "previous_response_id",
        "code": "previous_response_not_found"}});
    let mut resp = (StatusCode::BAD_REQUEST, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Failure::Shaped(resp)
}

async fn run(st: ResponsesState, body: ResponsesBody) -> Result<Response, Failure> {
    let plan = request::plan(&body)?;
    let new_items = input::items(body.input.as_ref())?;
    let mut conversation: Vec<Value> = match body.previous_response_id.as_deref() {
        Some(id) => match st.store.get(id) {
            Some(items) => items.as_ref().clone(),
            None => return Err(previous_not_found(id)),
        },
        None => Vec::new(),
    };
    if body.input.is_none() && conversation.is_empty() {
        return Err(ApiError::bad("Missing required parameter: 'input'.").into());
    }
    conversation.extend(new_items);
    let messages = input::messages(body.instructions.as_deref(), &conversation);
    if messages.is_empty() {
        return Err(ApiError::bad(
            "Invalid 'input': empty array. Expected an array with minimum length 1, but got an empty array instead.",
        )
        .into());
    }
    let skel = Skeleton::new(&body, &plan);
    let native = ChatBody {
        model: body.model.clone(),
        messages: Some(messages),
        stream: Some(true),
        format: plan.format,
        tools: (!plan.native_tools.is_empty()).then_some(plan.native_tools),
        options: Some(plan.options),
        logprobs: plan.logprobs,
        top_logprobs: plan.top_logprobs,
        truncate: Some(plan.truncation == "auto"),
        tool_choice: plan.tool_choice,
        parallel_tool_calls: body.parallel_tool_calls,
        ..ChatBody::default()
    };
    let Step::Run(prepared) = chat::prepare(&st.app, native).await? else {
        return Err(ApiError::bad("Missing required parameter: 'input'.").into());
    };
    let chunks = chat::chunks(prepared, body.model.clone());
    let keep = body.store.unwrap_or(true).then(|| Keep {
        store: Arc::clone(&st.store),
        conversation,
    });
    let builder = Builder::new(skel);
    if body.stream.unwrap_or(false) {
        return Ok(events::sse(stream(builder, chunks, keep)));
    }
    finish(builder, chunks, keep).await.map_err(Failure::from)
}

/// What is kept once a response is done: its conversation so far, in the store.
struct Keep {
    store: Arc<ResponseStore>,
    conversation: Vec<Value>,
}

impl Keep {
    fn put(self, b: &Builder) {
        if let Some(Outcome::Done { output, .. }) = b.outcome() {
            let mut items = self.conversation;
            items.extend(output.iter().cloned());
            self.store.put(b.id().to_owned(), items);
        }
    }
}

/// `stream: false`: drive the builder to the end and answer the final Response object.
async fn finish(
    mut b: Builder,
    mut chunks: BoxStream<'static, Result<ChatChunk, String>>,
    keep: Option<Keep>,
) -> ApiResult<Response> {
    while b.outcome().is_none() {
        match chunks.next().await {
            Some(c) => drop(b.chunk(c)),
            None => drop(b.end()),
        }
    }
    if let Some(k) = keep {
        k.put(&b);
    }
    match b.outcome() {
        Some(Outcome::Done { response, .. }) => Ok(openai_json(response)),
        Some(Outcome::Failed { message }) => Err(ApiError::Internal(message.clone())),
        None => Err(ApiError::internal("response without an outcome")),
    }
}

struct Run {
    b: Builder,
    chunks: BoxStream<'static, Result<ChatChunk, String>>,
    pending: std::collections::VecDeque<Event>,
    keep: Option<Keep>,
}

/// `stream: true`: the events as they come; the response is kept when it is done.
fn stream(
    mut b: Builder,
    chunks: BoxStream<'static, Result<ChatChunk, String>>,
    keep: Option<Keep>,
) -> impl futures::Stream<Item = Event> + Send + 'static {
    let pending = b.start().into();
    let run = Run {
        b,
        chunks,
        pending,
        keep,
    };
    futures::stream::unfold(run, |mut r| async move {
        loop {
            if let Some(e) = r.pending.pop_front() {
                return Some((e, r));
            }
            if r.b.outcome().is_some() {
                return None;
            }
            let events = match r.chunks.next().await {
                Some(c) => r.b.chunk(c),
                None => r.b.end(),
            };
            // Kept before the final event goes out, so a follow-up sent on it finds it.
            if r.b.outcome().is_some() {
                if let Some(k) = r.keep.take() {
                    k.put(&r.b);
                }
            }
            r.pending.extend(events);
        }
    })
}
