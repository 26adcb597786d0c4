//! Ollama's native request and response bodies (`api/types.go`), field for field.

use hearth_engine::{Completion, Logprobs};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::keep_alive::{self, KeepAlive};
use crate::tools::ToolCall;

/// `POST /api/generate`.
#[derive(Debug, Default, Deserialize)]
pub struct GenerateBody {
    /// Model name.
    #[serde(default)]
    pub model: String,
    /// The prompt; empty loads the model only.
    #[serde(default)]
    pub prompt: Option<String>,
    /// Fill-in-the-middle suffix.
    #[serde(default)]
    pub suffix: Option<String>,
    /// Overrides the Modelfile system prompt.
    #[serde(default)]
    pub system: Option<String>,
    /// Go template override.
    #[serde(default)]
    pub template: Option<String>,
    /// Tokens of an earlier exchange (deprecated).
    #[serde(default)]
    pub context: Option<Vec<i32>>,
    /// Stream NDJSON (default true).
    #[serde(default)]
    pub stream: Option<bool>,
    /// Send the prompt without templating.
    #[serde(default)]
    pub raw: bool,
    /// `"json"` or a JSON schema.
    #[serde(default)]
    pub format: Option<Value>,
    /// How long to keep the model loaded.
    #[serde(default, deserialize_with = "keep_alive::deserialize_opt")]
    pub keep_alive: Option<KeepAlive>,
    /// Base64 images (refused: the models are text-only).
    #[serde(default)]
    pub images: Option<Vec<String>>,
    /// Sampling options.
    #[serde(default)]
    pub options: Option<Map<String, Value>>,
    /// Thinking (bool or level).
    #[serde(default)]
    pub think: Option<Value>,
    /// Cut over-long prompts (default true).
    #[serde(default)]
    pub truncate: Option<bool>,
    /// Report log-probabilities.
    #[serde(default)]
    pub logprobs: bool,
    /// Alternatives per token (0–20).
    #[serde(default)]
    pub top_logprobs: i64,
}

/// One chat message.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user`, `assistant`, `tool` (lower-cased on decode).
    #[serde(default, deserialize_with = "lowercase")]
    pub role: String,
    /// Text (always serialised).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub content: String,
    /// Reasoning text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<String>,
    /// Base64 images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<String>>,
    /// Tool calls of an assistant turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// Name of the executed tool (role `tool`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    /// Id of the call this result answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

fn lowercase<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?
        .unwrap_or_default()
        .to_lowercase())
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// `POST /api/chat`.
#[derive(Debug, Default, Deserialize)]
pub struct ChatBody {
    /// Model name.
    #[serde(default)]
    pub model: String,
    /// The conversation; empty loads the model only.
    #[serde(default)]
    pub messages: Option<Vec<Message>>,
    /// Stream NDJSON (default true).
    #[serde(default)]
    pub stream: Option<bool>,
    /// `"json"` or a JSON schema.
    #[serde(default)]
    pub format: Option<Value>,
    /// How long to keep the model loaded.
    #[serde(default, deserialize_with = "keep_alive::deserialize_opt")]
    pub keep_alive: Option<KeepAlive>,
    /// Tool definitions.
    #[serde(default)]
    pub tools: Option<Vec<Value>>,
    /// Sampling options.
    #[serde(default)]
    pub options: Option<Map<String, Value>>,
    /// Thinking (bool or level).
    #[serde(default)]
    pub think: Option<Value>,
    /// Cut over-long prompts (default true).
    #[serde(default)]
    pub truncate: Option<bool>,
    /// Report log-probabilities.
    #[serde(default)]
    pub logprobs: bool,
    /// Alternatives per token (0–20).
    #[serde(default)]
    pub top_logprobs: i64,
    /// hearth extension: which tools the model may or must call, enforced by grammar. The
    /// `/v1/chat/completions`, `/v1/responses` and `/v1/messages` layers map theirs onto it.
    #[serde(default)]
    pub tool_choice: Option<ToolChoice>,
    /// hearth extension: `false` allows at most one call.
    #[serde(default)]
    pub parallel_tool_calls: Option<bool>,
}

/// Which tools a chat turn may or must call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolChoice {
    /// The model decides (the default).
    #[default]
    Auto,
    /// No call: the answer is text.
    None,
    /// At least one call, to any of the tools.
    Required,
    /// A call to this one tool.
    Function(String),
}

/// The metrics of a final chunk; zero values are omitted, as Ollama's `omitempty`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Metrics {
    /// Request start to end.
    #[serde(skip_serializing_if = "is_zero")]
    pub total_duration: u64,
    /// Time spent loading the model.
    #[serde(skip_serializing_if = "is_zero")]
    pub load_duration: u64,
    /// Prompt tokens.
    #[serde(skip_serializing_if = "is_zero")]
    pub prompt_eval_count: u64,
    /// Prompt evaluation time.
    #[serde(skip_serializing_if = "is_zero")]
    pub prompt_eval_duration: u64,
    /// Generated tokens.
    #[serde(skip_serializing_if = "is_zero")]
    pub eval_count: u64,
    /// Generation time.
    #[serde(skip_serializing_if = "is_zero")]
    pub eval_duration: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Metrics {
    /// From an engine completion plus the load time and the request's own clock.
    pub fn from_completion(c: &Completion, load_ns: u64, total_ns: u64) -> Metrics {
        Metrics {
            total_duration: total_ns.max(1),
            load_duration: load_ns,
            prompt_eval_count: c.prompt_eval_count as u64,
            prompt_eval_duration: c.prompt_eval_duration_ns,
            eval_count: c.eval_count as u64,
            eval_duration: c.eval_duration_ns,
        }
    }
}

/// A `/api/generate` response chunk.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GenerateChunk {
    /// Model name as requested.
    pub model: String,
    /// RFC3339 UTC.
    pub created_at: String,
    /// Text of this chunk.
    pub response: String,
    /// Reasoning text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking: Option<String>,
    /// Whether this is the last chunk.
    pub done: bool,
    /// `stop`, `length`, `load`, `unload`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done_reason: Option<String>,
    /// Prompt + response tokens (non-raw final chunk).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<Vec<i32>>,
    /// Final metrics.
    #[serde(flatten)]
    pub metrics: Metrics,
    /// Log-probabilities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Vec<Logprobs>>,
}

/// A `/api/chat` response chunk.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChatChunk {
    /// Model name as requested.
    pub model: String,
    /// RFC3339 UTC.
    pub created_at: String,
    /// The assistant message (piece).
    pub message: Message,
    /// Whether this is the last chunk.
    pub done: bool,
    /// `stop`, `length`, `load`, `unload`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done_reason: Option<String>,
    /// Final metrics.
    #[serde(flatten)]
    pub metrics: Metrics,
    /// Log-probabilities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Vec<Logprobs>>,
}

/// `created_at`: RFC3339 in UTC with trimmed fractional seconds.
pub fn now_utc() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// `modified_at`/`expires_at`: local time with offset.
pub fn local_time(t: chrono::DateTime<chrono::Local>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
}
