//! `POST /api/generate`: completion from a prompt (templated unless `raw`), NDJSON or aggregated.

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
use crate::wire::{now_utc, GenerateBody, GenerateChunk, Metrics};
use hearth_store::names::ModelName;

/// The handler.
pub async fn handler(State(st): State<SharedState>, OJson(body): OJson<GenerateBody>) -> Response {
    let stream = body.stream.unwrap_or(true);
    let model = body.model.clone();
    let raw = body.raw;
    match prepare(&st, body).await {
        Ok(Step::Early(resp)) => resp,
        Ok(Step::Run(p)) => {
            let chunks = chunks(p, model, raw);
            if stream {
                super::stream::ndjson(chunks.map(common::Line::from))
            } else {
                aggregate(chunks).await.into_response()
            }
        }
        Err(e) => e.into_response(),
    }
}

/// Either an immediate reply (load/unload) or a running generation.
pub enum Step {
    /// Reply now.
    Early(Response),
    /// Generation started.
    Run(Prepared),
}

/// Validate, resolve, load and start generating.
pub async fn prepare(st: &SharedState, body: GenerateBody) -> ApiResult<Step> {
    let started = Instant::now();
    if body.model.is_empty() {
        return Err(ApiError::NotFound("model '' not found".into()));
    }
    let name = ModelName::parse(&body.model).ok_or_else(|| ApiError::bad("invalid model name"))?;
    if body.raw && (body.template.is_some() || body.system.is_some() || body.context.is_some()) {
        return Err(ApiError::bad(
            "raw mode does not support template, system, or context",
        ));
    }
    common::check_top_logprobs(body.top_logprobs)?;
    let record = st
        .catalog
        .resolve(&name)?
        .ok_or_else(|| ApiError::NotFound(format!("model '{}' not found", body.model)))?;
    let caps = st.catalog.capabilities(&record);
    if !caps.contains(&"completion") {
        return Err(ApiError::bad(format!(
            "\"{}\" does not support generate",
            body.model
        )));
    }
    if convert::think_requested(body.think.as_ref())? && !caps.contains(&"thinking") {
        return Err(ApiError::bad(format!(
            "\"{}\" does not support thinking",
            body.model
        )));
    }
    if body.images.as_ref().is_some_and(|i| !i.is_empty()) && !caps.contains(&"vision") {
        return Err(ApiError::bad(format!(
            "{} does not support vision",
            name.full()
        )));
    }
    if body.suffix.as_ref().is_some_and(|s| !s.is_empty()) && !caps.contains(&"insert") {
        return Err(ApiError::bad(format!(
            "{} does not support insert",
            name.full()
        )));
    }
    let options = convert::sampling_options(&record.params, body.options.as_ref())?;
    let grammar = convert::grammar(body.format.as_ref())?;
    let prompt = body.prompt.clone().unwrap_or_default();
    if prompt.is_empty() {
        let reason = common::load_or_unload(st, &record, body.keep_alive).await?;
        return Ok(Step::Early(json(&GenerateChunk {
            model: body.model.clone(),
            created_at: now_utc(),
            done: true,
            done_reason: Some(reason.into()),
            ..GenerateChunk::default()
        })));
    }
    let ticket = st.scheduler.admit()?;
    let lease = common::lease(st, &record, body.keep_alive).await?;
    let model = lease.model().clone();
    let text = prompt::render(
        &Modelfile::of(&record),
        &*model,
        Request::Prompt {
            prompt: &prompt,
            system: body.system.as_deref(),
            template: body.template.as_deref(),
            raw: body.raw,
            continues: body.context.is_some(),
        },
    )?;
    let prompt = match body.context.filter(|c| !c.is_empty()) {
        Some(mut ctx) => {
            ctx.extend(model.tokenize(&text));
            Prompt::Tokens(ctx)
        }
        None => Prompt::Text(text),
    };
    let request = GenerateRequest {
        prompt,
        options,
        grammar,
        logprobs: body.logprobs.then_some(body.top_logprobs as u32),
        truncate: body.truncate.unwrap_or(true),
    };
    let load_ns = lease.load_duration.as_nanos() as u64;
    let pieces = infer::start(st.clone(), lease, ticket, request, None, started)?;
    Ok(Step::Run(Prepared {
        pieces,
        load_ns,
        started,
    }))
}

/// Native generate chunks from pieces.
pub fn chunks(
    p: Prepared,
    model: String,
    raw: bool,
) -> BoxStream<'static, Result<GenerateChunk, String>> {
    let Prepared {
        pieces,
        load_ns,
        started,
    } = p;
    pieces
        .filter_map(move |piece| {
            let out = match piece {
                Piece::Text { text, logprobs } => Some(Ok(GenerateChunk {
                    model: model.clone(),
                    created_at: now_utc(),
                    response: text,
                    logprobs: (!logprobs.is_empty()).then_some(logprobs),
                    ..GenerateChunk::default()
                })),
                Piece::Calls(_) => None,
                Piece::Done(c) => Some(Ok(GenerateChunk {
                    model: model.clone(),
                    created_at: now_utc(),
                    done: true,
                    done_reason: Some(c.done_reason.as_str().into()),
                    metrics: Metrics::from_completion(
                        &c,
                        load_ns,
                        started.elapsed().as_nanos() as u64,
                    ),
                    context: (!raw).then(|| c.context.clone()),
                    ..GenerateChunk::default()
                })),
                Piece::Error(e) => Some(Err(e)),
            };
            futures::future::ready(out)
        })
        .boxed()
}

async fn aggregate(mut chunks: BoxStream<'static, Result<GenerateChunk, String>>) -> Response {
    let mut text = String::new();
    let mut logprobs = Vec::new();
    while let Some(chunk) = chunks.next().await {
        match chunk {
            Err(e) => return ApiError::Internal(e).into_response(),
            Ok(mut c) if c.done => {
                text.push_str(&c.response);
                c.response = text;
                if let Some(l) = c.logprobs.take() {
                    logprobs.extend(l);
                }
                c.logprobs = (!logprobs.is_empty()).then_some(logprobs);
                return json(&c);
            }
            Ok(c) => {
                text.push_str(&c.response);
                logprobs.extend(c.logprobs.unwrap_or_default());
            }
        }
    }
    ApiError::Internal("generation ended without a final chunk".into()).into_response()
}
