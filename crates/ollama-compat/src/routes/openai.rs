//! The OpenAI-compatible layer: `/v1/chat/completions`, `/v1/completions`, `/v1/models`,
//! `/v1/models/{model}`, `/v1/embeddings`, translated onto the native handlers, with OpenAI
//! error objects.

use axum::extract::{Path, State};
use axum::response::Response;
use base64::Engine as _;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{json as j, Map, Value};

use super::chat;
use super::generate::{self, Step};
use crate::error::{ApiError, ApiResult};
use crate::http::{openai_json, OJson};
use crate::state::SharedState;
use crate::tools::ToolCall;
use crate::wire::{ChatBody, GenerateBody, Message};
use hearth_store::names::ModelName;

/// Sampling fields shared by both completion endpoints.
#[derive(Debug, Default, Deserialize)]
pub struct Sampling {
    /// → num_predict.
    #[serde(default)]
    pub max_tokens: Option<i64>,
    /// → num_predict (honoured, unlike Ollama).
    #[serde(default)]
    pub max_completion_tokens: Option<i64>,
    /// Default 1.0.
    #[serde(default)]
    pub temperature: Option<f64>,
    /// Default 1.0.
    #[serde(default)]
    pub top_p: Option<f64>,
    /// Seed.
    #[serde(default)]
    pub seed: Option<i64>,
    /// A string or a list.
    #[serde(default)]
    pub stop: Option<Value>,
    /// Frequency penalty.
    #[serde(default)]
    pub frequency_penalty: Option<f64>,
    /// Presence penalty.
    #[serde(default)]
    pub presence_penalty: Option<f64>,
    /// Streaming.
    #[serde(default)]
    pub stream: Option<bool>,
    /// `{"include_usage": true}`.
    #[serde(default)]
    pub stream_options: Option<Value>,
}

impl Sampling {
    fn options(&self) -> Map<String, Value> {
        let mut o = Map::new();
        o.insert("temperature".into(), j!(self.temperature.unwrap_or(1.0)));
        o.insert(
            "top_p".into(),
            j!(self.top_p.filter(|p| *p > 0.0).unwrap_or(1.0)),
        );
        if let Some(n) = self.max_completion_tokens.or(self.max_tokens) {
            o.insert("num_predict".into(), j!(n));
        }
        if let Some(s) = self.seed {
            o.insert("seed".into(), j!(s));
        }
        if let Some(s) = &self.stop {
            o.insert("stop".into(), s.clone());
        }
        if let Some(f) = self.frequency_penalty {
            o.insert("frequency_penalty".into(), j!(f));
        }
        if let Some(p) = self.presence_penalty {
            o.insert("presence_penalty".into(), j!(p));
        }
        o
    }

    fn include_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .and_then(|o| o.get("include_usage"))
            .and_then(Value::as_bool)
            == Some(true)
    }
}

/// `POST /v1/chat/completions` body.
#[derive(Debug, Default, Deserialize)]
pub struct ChatCompletionBody {
    /// Model.
    #[serde(default)]
    pub model: String,
    /// Messages (content as a string or parts).
    #[serde(default)]
    pub messages: Vec<Value>,
    /// Sampling.
    #[serde(flatten)]
    pub sampling: Sampling,
    /// `{type: json_object | json_schema | text}`.
    #[serde(default)]
    pub response_format: Option<Value>,
    /// Tool definitions.
    #[serde(default)]
    pub tools: Option<Vec<Value>>,
    /// Log-probabilities.
    #[serde(default)]
    pub logprobs: Option<bool>,
    /// Alternatives per token.
    #[serde(default)]
    pub top_logprobs: Option<i64>,
    /// `none` disables thinking; other levels ask for it.
    #[serde(default)]
    pub reasoning_effort: Option<String>,
}

fn created() -> i64 {
    chrono::Utc::now().timestamp()
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

fn openai_calls(calls: &[ToolCall]) -> Vec<Value> {
    calls
        .iter()
        .map(|c| {
            j!({"id": c.id, "index": c.function.index, "type": "function",
                "function": {"name": c.function.name, "arguments": c.function.arguments.to_string()}})
        })
        .collect()
}

fn usage(prompt: u64, completion: u64) -> Value {
    j!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion})
}

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
    Ok(super::stream::sse(events))
}

/// `POST /v1/completions` body.
#[derive(Debug, Default, Deserialize)]
pub struct CompletionBody {
    /// Model.
    #[serde(default)]
    pub model: String,
    /// The prompt (a string).
    #[serde(default)]
    pub prompt: Value,
    /// Fill-in-the-middle suffix.
    #[serde(default)]
    pub suffix: Option<String>,
    /// Sampling.
    #[serde(flatten)]
    pub sampling: Sampling,
    /// Top alternatives per token.
    #[serde(default)]
    pub logprobs: Option<i64>,
}

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
    Ok(super::stream::sse(events))
}

fn model_object(st: &SharedState, id: String, name: &ModelName) -> Value {
    let created = st
        .catalog
        .resolve(name)
        .ok()
        .flatten()
        .map(|r| chrono::DateTime::<chrono::Utc>::from(r.modified).timestamp())
        .unwrap_or(0);
    j!({"id": id, "object": "model", "created": created, "owned_by": name.namespace})
}

/// `GET /v1/models`.
pub async fn list_models(State(st): State<SharedState>) -> Response {
    let data: Vec<Value> = st
        .catalog
        .list()
        .iter()
        .map(|r| {
            j!({"id": r.name.display(), "object": "model",
                "created": chrono::DateTime::<chrono::Utc>::from(r.modified).timestamp(),
                "owned_by": r.name.namespace})
        })
        .collect();
    openai_json(&j!({"object": "list", "data": data}))
}

/// `GET /v1/models/{model}`.
pub async fn get_model(State(st): State<SharedState>, Path(model): Path<String>) -> Response {
    let found = ModelName::parse(&model).filter(|n| st.catalog.resolve(n).ok().flatten().is_some());
    match found {
        Some(name) => openai_json(&model_object(&st, model, &name)),
        None => ApiError::NotFound(format!("model \"{model}\" not found")).into_openai(),
    }
}

/// `POST /v1/embeddings` body.
#[derive(Debug, Default, Deserialize)]
pub struct EmbeddingsBody {
    /// Model.
    #[serde(default)]
    pub model: String,
    /// A string or a list of strings.
    #[serde(default)]
    pub input: Option<Value>,
    /// `float` (default) or `base64`.
    #[serde(default)]
    pub encoding_format: Option<String>,
    /// Truncate vectors.
    #[serde(default)]
    pub dimensions: Option<usize>,
}

/// `POST /v1/embeddings`.
pub async fn embeddings(
    State(st): State<SharedState>,
    OJson(body): OJson<EmbeddingsBody>,
) -> Response {
    embeddings_inner(st, body)
        .await
        .unwrap_or_else(ApiError::into_openai)
}

async fn embeddings_inner(st: SharedState, body: EmbeddingsBody) -> ApiResult<Response> {
    let input = match body.input {
        Some(Value::String(s)) => j!([s]),
        Some(Value::Array(items)) if !items.is_empty() => Value::Array(items),
        _ => return Err(ApiError::bad("invalid input")),
    };
    let base64 = match body.encoding_format.as_deref() {
        None | Some("") | Some("float") => false,
        Some("base64") => true,
        Some(other) => {
            return Err(ApiError::bad(format!(
            "Invalid value for 'encoding_format' = {other}. Supported values: ['float', 'base64']."
        )))
        }
    };
    let req = super::embed::EmbedBody {
        model: body.model.clone(),
        input: Some(input),
        dimensions: body.dimensions,
        ..Default::default()
    };
    let r = super::embed::embed(&st, req).await?;
    let data: Vec<Value> = r
        .embeddings
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let embedding = if base64 {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                j!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                j!(v)
            };
            j!({"object": "embedding", "embedding": embedding, "index": i})
        })
        .collect();
    Ok(openai_json(&j!({
        "object": "list", "data": data, "model": body.model,
        "usage": {"prompt_tokens": r.prompt_eval_count, "total_tokens": r.prompt_eval_count},
    })))
}
