//! The `/v1/messages` request body as Anthropic defines it, and the small pieces of its
//! responses (ids, `usage`). Each field is decoded on its own, so a wrong type is a 400 that
//! names the field; content, tools and `tool_choice` stay JSON here for [`super::convert`].

use axum::http::HeaderValue;
use axum::response::Response;
use serde::de::DeserializeOwned;
use serde_json::{json as j, Map, Value};

use crate::error::{anthropic_request_id, ApiError, ApiResult};
use crate::tools::ToolCall;

/// `POST /v1/messages` (and, without `max_tokens`, `/v1/messages/count_tokens`).
#[derive(Debug, Default)]
pub struct MessagesBody {
    /// Model name.
    pub model: Option<String>,
    /// The conversation: `{role: user | assistant, content: string | blocks}`.
    pub messages: Option<Vec<Value>>,
    /// Required by `/v1/messages`; becomes `num_predict`.
    pub max_tokens: Option<i64>,
    /// A string or a list of text blocks.
    pub system: Option<Value>,
    /// Stop strings; the one that ended the turn is reported as `stop_sequence`.
    pub stop_sequences: Option<Vec<String>>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    pub top_p: Option<f64>,
    /// Top-k sampling.
    pub top_k: Option<i64>,
    /// `{user_id}`: accepted, not used.
    pub metadata: Option<Value>,
    /// `{name, description, input_schema}` tool definitions.
    pub tools: Option<Vec<Value>>,
    /// `{type: auto | any | tool | none, name, disable_parallel_tool_use}`.
    pub tool_choice: Option<Value>,
    /// Extended thinking: accepted, answered as by a model without thinking.
    pub thinking: Option<Value>,
    /// Server-sent events (default false).
    pub stream: Option<bool>,
    /// `{format: {type: json_schema, schema}, effort}`: the format is enforced by grammar,
    /// the effort (a thinking level) is accepted and not used.
    pub output_config: Option<Value>,
}

impl MessagesBody {
    /// Decode a body; unknown fields are accepted and ignored, as newer clients send more.
    pub fn from_value(v: Value) -> ApiResult<Self> {
        let Value::Object(mut m) = v else {
            return Err(ApiError::bad("the request body must be a JSON object"));
        };
        Ok(MessagesBody {
            model: field(&mut m, "model")?,
            messages: field(&mut m, "messages")?,
            max_tokens: field(&mut m, "max_tokens")?,
            system: field(&mut m, "system")?,
            stop_sequences: field(&mut m, "stop_sequences")?,
            temperature: field(&mut m, "temperature")?,
            top_p: field(&mut m, "top_p")?,
            top_k: field(&mut m, "top_k")?,
            metadata: field(&mut m, "metadata")?,
            tools: field(&mut m, "tools")?,
            tool_choice: field(&mut m, "tool_choice")?,
            thinking: field(&mut m, "thinking")?,
            stream: field(&mut m, "stream")?,
            output_config: field(&mut m, "output_config")?,
        })
    }
}

/// One field (null as absent), a wrong type being `<field>: <what was wrong>`.
fn field<T: DeserializeOwned>(m: &mut Map<String, Value>, key: &str) -> ApiResult<Option<T>> {
    match m.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v)
            .map(Some)
            .map_err(|e| ApiError::bad(format!("{key}: {e}"))),
    }
}

/// A fresh id with Anthropic's look: `prefix` + `_01` + 22 alphanumerics.
pub fn id(prefix: &str) -> String {
    let tail: String = (0..22).map(|_| fastrand::alphanumeric()).collect();
    format!("{prefix}_01{tail}")
}

/// Anthropic's `usage` object. hearth has no explicit prompt caching, so the cache figures
/// are zero (its automatic prefix reuse is counted in `input_tokens`, as the tokens were sent).
pub fn usage(input: u64, output: u64) -> Value {
    j!({"input_tokens": input, "output_tokens": output,
        "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0})
}

/// A native tool call as a `tool_use` block (`input` is always an object).
pub fn tool_use_block(c: &ToolCall) -> Value {
    let input = match &c.function.arguments {
        Value::Object(_) => c.function.arguments.clone(),
        _ => j!({}),
    };
    j!({"type": "tool_use", "id": id("toolu"), "name": c.function.name, "input": input})
}

/// Add Anthropic's `request-id` header.
pub fn with_request_id(mut resp: Response) -> Response {
    if let Ok(v) = HeaderValue::from_str(&anthropic_request_id()) {
        resp.headers_mut().insert("request-id", v);
    }
    resp
}
