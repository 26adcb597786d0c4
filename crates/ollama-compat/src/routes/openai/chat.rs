//! `POST /v1/chat/completions`, onto `/api/chat`.

use axum::extract::State;
use axum::response::Response;
use futures::StreamExt;
use serde_json::{json as j, Value};

use super::wire::{created, openai_calls, usage, ChatCompletionBody};
use crate::error::{ApiError, ApiResult};
use crate::http::{openai_json, OJson};
use crate::routes::chat;
use crate::routes::generate::Step;
use crate::state::SharedState;
use crate::tools::ToolCall;
use crate::wire::{ChatBody, Message};

/// `POST /v1/chat/completions`.
pub async fn chat_completions(
    State(st): State<SharedState>,
    OJson(body): OJson<ChatCompletionBody>,
) -> Response {
    chat_inner(st, body)
        .await
        .unwrap_or_else(ApiError::into_openai)
}

async fn chat_inner(st: SharedState, body: ChatCompletionBody) -> ApiResult<Response> {
    if body.messages.is_empty() {
        return Err(ApiError::bad("[] is too short - 'messages'"));
    }
    if !body.sampling.stream.unwrap_or(false) {
        if let Some(prompt) = crate::capguard::recognise(&body.messages) {
            let content = crate::capguard::answer(&st, &body.model, prompt).await?;
            let message = j!({"role": "assistant", "content": content});
            return Ok(openai_json(&j!({
                "id": format!("chatcmpl-{}", fastrand::u32(0..999)), "object": "chat.completion",
                "created": created(), "model": body.model, "system_fingerprint": "fp_ollama",
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": usage(0, 0),
            })));
        }
    }
    let mut messages = Vec::with_capacity(body.messages.len());
    let mut calls_seen = Vec::new();
    for v in &body.messages {
        let m = to_message(v, &calls_seen)?;
        calls_seen.extend(m.tool_calls.clone().unwrap_or_default());
        messages.push(m);
    }
    let think = match body.reasoning_effort.as_deref() {
        None => None,
        Some("none") => Some(j!(false)),
        Some("minimal") => Some(j!("low")),
        Some(l @ ("low" | "medium" | "high" | "max")) => Some(j!(l)),
        Some("xhigh" | "ultra") => Some(j!("max")),
        Some(other) => {
            return Err(ApiError::bad(format!(
                "invalid reasoning_effort value: {other:?}"
            )))
        }
    };
    let native = ChatBody {
        model: body.model.clone(),
        messages: Some(messages),
        stream: Some(true),
        format: format_of(body.response_format.as_ref()),
        tools: body.tools.clone(),
        options: Some(body.sampling.options()),
        think,
        logprobs: body.logprobs.unwrap_or(false),
        top_logprobs: body.top_logprobs.unwrap_or(0),
        tool_choice: crate::tool_choice::from_openai(body.tool_choice.as_ref())?,
        parallel_tool_calls: body.parallel_tool_calls,
        ..ChatBody::default()
    };
    let Step::Run(prepared) = chat::prepare(&st, native).await? else {
        return Err(ApiError::bad("[] is too short - 'messages'"));
    };
    let id = format!("chatcmpl-{}", fastrand::u32(0..999));
    let ts = created();
    let model = body.model.clone();
    let chunks = chat::chunks(prepared, model.clone());
    if !body.sampling.stream.unwrap_or(false) {
        let c = chat::aggregate(chunks).await?;
        let calls = c.message.tool_calls.clone().unwrap_or_default();
        let finish = if calls.is_empty() {
            c.done_reason.clone().unwrap_or_else(|| "stop".into())
        } else {
            "tool_calls".into()
        };
        let mut message = j!({"role": "assistant", "content": c.message.content});
        if !calls.is_empty() {
            message["tool_calls"] = Value::Array(openai_calls(&calls));
        }
        let mut choice = j!({"index": 0, "message": message, "finish_reason": finish});
        if let Some(lp) = &c.logprobs {
            choice["logprobs"] = j!({ "content": lp });
        }
        return Ok(openai_json(&j!({
            "id": id, "object": "chat.completion", "created": ts, "model": model,
            "system_fingerprint": "fp_ollama", "choices": [choice],
            "usage": usage(c.metrics.prompt_eval_count, c.metrics.eval_count),
        })));
    }
    let include_usage = body.sampling.include_usage();
    let mut first = true;
    let mut saw_calls = false;
    let base = move |choices: Value| {
        j!({"id": id, "object": "chat.completion.chunk", "created": ts, "model": model,
            "system_fingerprint": "fp_ollama", "choices": choices})
    };
    let events = chunks.flat_map(move |chunk| {
        let mut out = Vec::new();
        match chunk {
            Err(e) => out.push(j!({"error": {"message": e, "type": "api_error", "param": null, "code": null}})),
            Ok(c) if c.done => {
                if first {
                    out.push(base(j!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}])));
                    first = false;
                }
                let finish = if saw_calls { "tool_calls".to_owned() } else { c.done_reason.clone().unwrap_or_else(|| "stop".into()) };
                out.push(base(j!([{"index": 0, "delta": {}, "finish_reason": finish}])));
                if include_usage {
                    let mut u = base(j!([]));
                    u["usage"] = usage(c.metrics.prompt_eval_count, c.metrics.eval_count);
                    out.push(u);
                }
            }
            Ok(c) => {
                let mut delta = j!({"content": c.message.content});
                if first {
                    delta["role"] = j!("assistant");
                    first = false;
                }
                if let Some(calls) = &c.message.tool_calls {
                    saw_calls = true;
                    delta["tool_calls"] = Value::Array(openai_calls(calls));
                }
                let mut choice = j!({"index": 0, "delta": delta, "finish_reason": null});
                if let Some(lp) = &c.logprobs {
                    choice["logprobs"] = j!({ "content": lp });
                }
                out.push(base(j!([choice])));
            }
        }
        futures::stream::iter(out)
    });
    Ok(crate::routes::stream::sse(events))
}

fn format_of(rf: Option<&Value>) -> Option<Value> {
    let rf = rf?;
    match rf.get("type").and_then(Value::as_str) {
        Some("json_object") => Some(j!("json")),
        Some("json_schema") => rf.get("json_schema").and_then(|s| s.get("schema")).cloned(),
        _ => None,
    }
}

fn to_message(v: &Value, earlier_calls: &[ToolCall]) -> ApiResult<Message> {
    let role = v
        .get("role")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_lowercase();
    let mut m = Message {
        role,
        ..Message::default()
    };
    match v.get("content") {
        Some(Value::String(s)) => m.content = s.clone(),
        Some(Value::Array(parts)) => {
            for p in parts {
                match p.get("type").and_then(Value::as_str) {
                    Some("text") => m
                        .content
                        .push_str(p.get("text").and_then(Value::as_str).unwrap_or_default()),
                    Some("image_url") => {
                        let url = p
                            .get("image_url")
                            .and_then(|u| {
                                u.as_str().or_else(|| u.get("url").and_then(Value::as_str))
                            })
                            .unwrap_or_default();
                        if !url.starts_with("data:") {
                            return Err(ApiError::bad(
                                "image URLs are not currently supported, please use base64 encoded data instead",
                            ));
                        }
                        let data = url.split_once(',').map_or("", |(_, d)| d);
                        m.images.get_or_insert_with(Vec::new).push(data.to_owned());
                    }
                    _ => return Err(ApiError::bad("invalid message content type")),
                }
            }
        }
        _ => {}
    }
    if let Some(calls) = v.get("tool_calls").and_then(Value::as_array) {
        let mut out = Vec::new();
        for (i, c) in calls.iter().enumerate() {
            let f = c
                .get("function")
                .ok_or_else(|| ApiError::bad("invalid tool call arguments"))?;
            let args = match f.get("arguments") {
                Some(Value::String(s)) => serde_json::from_str(s)
                    .map_err(|_| ApiError::bad("invalid tool call arguments"))?,
                Some(other) => other.clone(),
                None => j!({}),
            };
            out.push(ToolCall {
                id: c
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                function: crate::tools::ToolFunction {
                    index: i,
                    name: f
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    arguments: args,
                },
            });
        }
        m.tool_calls = Some(out);
    }
    if m.role == "tool" {
        let id = v
            .get("tool_call_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        m.tool_name = v
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| {
                let id = id.as_deref()?;
                earlier_calls
                    .iter()
                    .find(|c| c.id == id)
                    .map(|c| c.function.name.clone())
            });
        m.tool_call_id = id;
    }
    Ok(m)
}
