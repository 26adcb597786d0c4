//! `POST /v1/messages`: an Anthropic request mapped onto the native chat ([`chat::prepare`]),
//! answered as one `message` object, or as Anthropic's event stream ([`super::stream`]).
//!
//! The native pieces are read directly rather than through `chat::chunks`, because the turn's
//! end needs the engine's whole [`hearth_engine::Completion`] (its generated token ids tell a
//! stop sequence from an end-of-turn token; see [`super::turn`]).

use axum::extract::State;
use axum::response::Response;
use futures::StreamExt;
use serde_json::{json as j, Value};

use super::convert::{self, Mapped};
use super::count_tokens::{prompt_tokens, shown_tools};
use super::error::AJson;
use super::turn::{self, Context};
use super::wire::{self, tool_use_block, with_request_id, MessagesBody};
use crate::error::{ApiError, ApiResult};
use crate::http::openai_json;
use crate::infer::Piece;
use crate::routes::chat;
use crate::routes::generate::Step;
use crate::state::SharedState;
use crate::tools::ToolCall;

/// The handler.
pub async fn handler(State(st): State<SharedState>, AJson(body): AJson<Value>) -> Response {
    inner(st, body)
        .await
        .unwrap_or_else(ApiError::into_anthropic)
}

async fn inner(st: SharedState, body: Value) -> ApiResult<Response> {
    let body = MessagesBody::from_value(body)?;
    let stream = body.stream.unwrap_or(false);
    let Mapped {
        chat: native,
        stop_sequences,
        max_tokens,
    } = convert::map(body, true)?;
    let model = native.model.clone();
    // Tool calls are parsed exactly when the model is shown tools (`tool_choice::shown_tools`).
    let shown = shown_tools(native.tools.as_deref(), native.tool_choice.as_ref());
    let parse_tools = !shown.is_empty();
    // What the prompt is counted from, for `message_start`'s usage.
    let counted = stream.then(|| (native.messages.clone().unwrap_or_default(), shown));
    let Step::Run(prepared) = chat::prepare(&st, native).await? else {
        return Err(ApiError::bad("messages: at least one message is required"));
    };
    let record = turn::record_of(&st, &model)?;
    let lease = turn::lease(&st, &record).await?;
    let ctx = Context {
        stops: stop_sequences,
        max_tokens,
        model: lease.model().clone(),
        _lease: lease,
    };
    if let Some((messages, tools)) = counted {
        let input = prompt_tokens(&st, &record, &ctx.model, &messages, &tools)?;
        return Ok(super::stream::respond(
            prepared.pieces,
            ctx,
            model,
            input,
            parse_tools,
        ));
    }
    let mut text = String::new();
    let mut calls: Vec<ToolCall> = Vec::new();
    let mut pieces = prepared.pieces;
    while let Some(piece) = pieces.next().await {
        match piece {
            Piece::Text { text: t, .. } => text.push_str(&t),
            Piece::Calls(c) => calls.extend(c),
            Piece::Error(e) => return Err(ApiError::Internal(e)),
            Piece::Done(c) => {
                let ending = ctx.ending(&c, !calls.is_empty());
                let mut content = Vec::with_capacity(calls.len() + 1);
                if calls.is_empty() || !text.trim().is_empty() {
                    content.push(j!({"type": "text", "text": text}));
                }
                content.extend(calls.iter().map(tool_use_block));
                let message = j!({
                    "id": wire::id("msg"), "type": "message", "role": "assistant",
                    "model": model, "content": content,
                    "stop_reason": ending.stop_reason, "stop_sequence": ending.stop_sequence,
                    "usage": wire::usage(c.prompt_eval_count.into(), c.eval_count.into()),
                });
                return Ok(with_request_id(openai_json(&message)));
            }
        }
    }
    Err(ApiError::Internal(
        "generation ended without a final chunk".into(),
    ))
}
