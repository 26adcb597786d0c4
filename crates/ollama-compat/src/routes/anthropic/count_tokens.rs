//! `POST /v1/messages/count_tokens`: the exact number of prompt tokens a `/v1/messages` body
//! would send, rendered with the model's chat template and tokenized by the loaded model, as
//! the native chat path does (BOS included when the model adds one).

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use serde_json::{json as j, Value};

use super::convert;
use super::error::AJson;
use super::wire::MessagesBody;
use crate::backend::LoadedModel;
use crate::error::{ApiError, ApiResult};
use crate::http::openai_json;
use crate::prompt::{self, Modelfile, Request};
use crate::state::SharedState;
use crate::tool_choice;
use crate::wire::{Message, ToolChoice};
use hearth_store::catalog::ModelRecord;
use hearth_store::gguf::GgufValue;

/// The handler.
pub async fn handler(State(st): State<SharedState>, AJson(body): AJson<Value>) -> Response {
    inner(st, body)
        .await
        .unwrap_or_else(ApiError::into_anthropic)
}

async fn inner(st: SharedState, body: Value) -> ApiResult<Response> {
    let body = MessagesBody::from_value(body)?;
    let mapped = convert::map(body, false)?;
    let chat = &mapped.chat;
    let record = super::turn::record_of(&st, &chat.model)?;
    if !st.catalog.capabilities(&record).contains(&"completion") {
        return Err(ApiError::bad(format!(
            "\"{}\" does not support chat",
            chat.model
        )));
    }
    let _ticket = st.scheduler.admit()?;
    let lease = super::turn::lease(&st, &record).await?;
    let n = prompt_tokens(
        &st,
        &record,
        lease.model(),
        chat.messages.as_deref().unwrap_or_default(),
        &shown_tools(chat.tools.as_deref(), chat.tool_choice.as_ref()),
    )?;
    Ok(openai_json(&j!({ "input_tokens": n })))
}

/// The tools the model is shown, by the native path's rule (`tool_choice::shown_tools`).
pub(super) fn shown_tools(tools: Option<&[Value]>, choice: Option<&ToolChoice>) -> Vec<Value> {
    tool_choice::shown_tools(tools.unwrap_or_default().to_vec(), choice)
}

/// The prompt's token count, rendered exactly as the native chat renders it.
pub(super) fn prompt_tokens(
    st: &SharedState,
    record: &ModelRecord,
    model: &Arc<dyn LoadedModel>,
    messages: &[Message],
    tools: &[Value],
) -> ApiResult<u64> {
    let native_tools = prompt::template_renders_tools(&st.catalog.template_text(record));
    let text = prompt::render(
        &Modelfile::of(record),
        &**model,
        Request::Chat {
            messages,
            tools,
            native_tools,
        },
    )?;
    let bos = u64::from(adds_bos(st, record));
    Ok(model.tokenize(&text).len() as u64 + bos)
}

/// Whether the engine puts a BOS token before a text prompt: the GGUF's
/// `tokenizer.ggml.add_bos_token`, else llama.cpp's default for the tokenizer type.
fn adds_bos(st: &SharedState, record: &ModelRecord) -> bool {
    let info = st.catalog.gguf(&record.model_path);
    match info.metadata.get("tokenizer.ggml.add_bos_token") {
        Some(GgufValue::Bool(b)) => *b,
        _ => matches!(
            info.metadata.get("tokenizer.ggml.model"),
            Some(GgufValue::String(m)) if m == "llama" || m == "bert"
        ),
    }
}
