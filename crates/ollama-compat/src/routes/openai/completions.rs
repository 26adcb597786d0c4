//! `POST /v1/completions`, onto `/api/generate`.

use axum::extract::State;
use axum::response::Response;
use futures::StreamExt;
use serde_json::{json as j, Value};

use super::wire::{created, usage, CompletionBody};
use crate::error::{ApiError, ApiResult};
use crate::http::{openai_json, OJson};
use crate::routes::generate::{self, Step};
use crate::state::SharedState;
use crate::wire::GenerateBody;

/// `POST /v1/completions`.
pub async fn completions(
    State(st): State<SharedState>,
    OJson(body): OJson<CompletionBody>,
) -> Response {
    completions_inner(st, body)
        .await
        .unwrap_or_else(ApiError::into_openai)
}

async fn completions_inner(st: SharedState, body: CompletionBody) -> ApiResult<Response> {
    let prompt = match &body.prompt {
        Value::String(s) => s.clone(),
        Value::Array(items) if items.len() == 1 && items[0].is_string() => {
            items[0].as_str().unwrap_or_default().to_owned()
        }
        _ => return Err(ApiError::bad("invalid prompt: only a string is supported")),
    };
    if prompt.is_empty() {
        return Err(ApiError::bad("prompt is required"));
    }
    let native = GenerateBody {
        model: body.model.clone(),
        prompt: Some(prompt),
        suffix: body.suffix.clone(),
        options: Some(body.sampling.options()),
        logprobs: body.logprobs.is_some(),
        top_logprobs: body.logprobs.unwrap_or(0),
        ..GenerateBody::default()
    };
    let Step::Run(prepared) = generate::prepare(&st, native).await? else {
        return Err(ApiError::bad("prompt is required"));
    };
    let id = format!("cmpl-{}", fastrand::u32(0..999));
    let ts = created();
    let model = body.model.clone();
    let mut chunks = generate::chunks(prepared, model.clone(), false);
    let base = move |choices: Value| {
        j!({"id": id, "object": "text_completion", "created": ts, "model": model,
            "system_fingerprint": "fp_ollama", "choices": choices})
    };
    if !body.sampling.stream.unwrap_or(false) {
        let mut text = String::new();
        while let Some(c) = chunks.next().await {
            let c = c.map_err(ApiError::Internal)?;
            text.push_str(&c.response);
            if c.done {
                let mut out =
                    base(j!([{"text": text, "index": 0, "finish_reason": c.done_reason}]));
                out["usage"] = usage(c.metrics.prompt_eval_count, c.metrics.eval_count);
                return Ok(openai_json(&out));
            }
        }
        return Err(ApiError::Internal(
            "generation ended without a final chunk".into(),
        ));
    }
    let include_usage = body.sampling.include_usage();
    let events = chunks.flat_map(move |chunk| {
        let mut out = Vec::new();
        match chunk {
            Err(e) => out.push(
                j!({"error": {"message": e, "type": "api_error", "param": null, "code": null}}),
            ),
            Ok(c) => {
                let finish = if c.done {
                    j!(c.done_reason)
                } else {
                    Value::Null
                };
                out.push(base(
                    j!([{"text": c.response, "index": 0, "finish_reason": finish}]),
                ));
                if c.done && include_usage {
                    let mut u = base(j!([]));
                    u["usage"] = usage(c.metrics.prompt_eval_count, c.metrics.eval_count);
                    out.push(u);
                }
            }
        }
        futures::stream::iter(out)
    });
    Ok(crate::routes::stream::sse(events))
}
