//! `POST /api/chat`: a conversation rendered with the model's chat template, tools included.

use std::time::Instant;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use futures::stream::BoxStream;
use futures::StreamExt;
use hearth_engine::{GenerateRequest, Prompt};

use super::common::{self, Prepared};
use crate::convert;
use crate::error::{ApiError, ApiResult};
use crate::http::{json, OJson};
use crate::infer::{self, Piece};
use crate::prompt::{self, Modelfile, Request};
use crate::state::SharedState;
use crate::wire::{now_utc, ChatBody, ChatChunk, Message, Metrics};
use hearth_store::names::ModelName;

/// The handler.
pub async fn handler(State(st): State<SharedState>, OJson(body): OJson<ChatBody>) -> Response {
    let stream = body.stream.unwrap_or(true);
    let model = body.model.clone();
    match prepare(&st, body).await {
        Ok(super::generate::Step::Early(resp)) => resp,
        Ok(super::generate::Step::Run(p)) => {
            let chunks = chunks(p, model);
            if stream {
                super::stream::ndjson(chunks.map(common::Line::from))
            } else {
                match aggregate(chunks).await {
                    Ok(c) => json(&c),
                    Err(e) => e.into_response(),
                }
            }
        }
        Err(e) => e.into_response(),
    }
}

/// Validate, resolve, render and start generating.
pub async fn prepare(st: &SharedState, body: ChatBody) -> ApiResult<super::generate::Step> {
    let started = Instant::now();
    if body.model.is_empty() {
        return Err(ApiError::bad("model is required"));
    }
    let name = ModelName::parse(&body.model).ok_or_else(|| ApiError::bad("invalid model name"))?;
    common::check_top_logprobs(body.top_logprobs)?;
    let record = st
        .catalog
        .resolve(&name)?
        .ok_or_else(|| ApiError::NotFound(format!("model '{}' not found", body.model)))?;
    let caps = st.catalog.capabilities(&record);
    if !caps.contains(&"completion") {
        return Err(ApiError::bad(format!(
            "\"{}\" does not support chat",
            body.model
        )));
    }
    if convert::think_requested(body.think.as_ref())? && !caps.contains(&"thinking") {
        return Err(ApiError::bad(format!(
            "\"{}\" does not support thinking",
            body.model
        )));
    }
    let messages = body.messages.unwrap_or_default();
    if messages
        .iter()
        .any(|m| m.images.as_ref().is_some_and(|i| !i.is_empty()))
        && !caps.contains(&"vision")
    {
        return Err(ApiError::bad(format!(
            "{} does not support vision",
            name.full()
        )));
    }
    let options = convert::sampling_options(&record.params, body.options.as_ref())?;
    let grammar = convert::grammar(body.format.as_ref())?;
    if messages.is_empty() {
        let reason = common::load_or_unload(st, &record, body.keep_alive).await?;
        return Ok(super::generate::Step::Early(json(&ChatChunk {
            model: body.model.clone(),
            created_at: now_utc(),
            message: Message {
                role: "assistant".into(),
                ..Message::default()
            },
            done: true,
            done_reason: Some(reason.into()),
            ..ChatChunk::default()
        })));
    }
    let tools = crate::tool_choice::plan(
        body.tools.unwrap_or_default(),
        body.tool_choice.as_ref(),
        body.parallel_tool_calls,
        |schema| hearth_engine::json_schema_gbnf(schema).map_err(|e| e.to_string()),
    )?;
    let grammar = match &tools.grammar {
        Some(gbnf) => Some(hearth_engine::Grammar::Gbnf(gbnf.clone())),
        None => grammar,
    };
    let tool_defs = tools.tools;
    let native_tools = prompt::template_renders_tools(&st.catalog.template_text(&record));
    let ticket = st.scheduler.admit()?;
    let lease = common::lease(st, &record, body.keep_alive).await?;
    let text = prompt::render(
        &Modelfile::of(&record),
        &**lease.model(),
        Request::Chat {
            messages: &messages,
            tools: &tool_defs,
            native_tools,
        },
    )?;
    let request = GenerateRequest {
        prompt: Prompt::Text(text),
        options,
        grammar,
        logprobs: body.logprobs.then_some(body.top_logprobs as u32),
        truncate: body.truncate.unwrap_or(true),
    };
    let load_ns = lease.load_duration.as_nanos() as u64;
    let pieces = infer::start(
        st.clone(),
        lease,
        ticket,
        request,
        tools
            .parse
            .then(|| crate::tools::ToolParser::with_limit(tools.max_calls)),
        started,
    )?;
    Ok(super::generate::Step::Run(Prepared {
        pieces,
        load_ns,
        started,
    }))
}

/// Native chat chunks from pieces.
pub fn chunks(p: Prepared, model: String) -> BoxStream<'static, Result<ChatChunk, String>> {
    let Prepared {
        pieces,
        load_ns,
        started,
    } = p;
    pieces
        .map(move |piece| match piece {
            Piece::Text { text, logprobs } => Ok(ChatChunk {
                model: model.clone(),
                created_at: now_utc(),
                message: Message {
                    role: "assistant".into(),
                    content: text,
                    ..Message::default()
                },
                logprobs: (!logprobs.is_empty()).then_some(logprobs),
                ..ChatChunk::default()
            }),
            Piece::Calls(calls) => Ok(ChatChunk {
                model: model.clone(),
                created_at: now_utc(),
                message: Message {
                    role: "assistant".into(),
                    tool_calls: Some(calls),
                    ..Message::default()
                },
                ..ChatChunk::default()
            }),
            Piece::Done(c) => Ok(ChatChunk {
                model: model.clone(),
                created_at: now_utc(),
                message: Message {
                    role: "assistant".into(),
                    ..Message::default()
                },
                done: true,
                done_reason: Some(c.done_reason.as_str().into()),
                metrics: Metrics::from_completion(&c, load_ns, started.elapsed().as_nanos() as u64),
                ..ChatChunk::default()
            }),
            Piece::Error(e) => Err(e),
        })
        .boxed()
}

/// Drain chunks into one response (`stream: false`).
pub async fn aggregate(
    mut chunks: BoxStream<'static, Result<ChatChunk, String>>,
) -> ApiResult<ChatChunk> {
    let mut content = String::new();
    let mut calls = Vec::new();
    let mut logprobs = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let mut c = chunk.map_err(ApiError::Internal)?;
        content.push_str(&c.message.content);
        calls.extend(c.message.tool_calls.take().unwrap_or_default());
        logprobs.extend(c.logprobs.take().unwrap_or_default());
        if c.done {
            c.message.content = content;
            c.message.tool_calls = (!calls.is_empty()).then_some(calls);
            c.logprobs = (!logprobs.is_empty()).then_some(logprobs);
            return Ok(c);
        }
    }
    Err(ApiError::Internal(
        "generation ended without a final chunk".into(),
    ))
}
