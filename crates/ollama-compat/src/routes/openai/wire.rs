//! The `/v1/*` request bodies and the pieces the endpoints share (sampling options, usage,
//! tool calls, timestamps).

use serde::Deserialize;
use serde_json::{json as j, Map, Value};

use crate::tools::ToolCall;

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
    pub(super) fn options(&self) -> Map<String, Value> {
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

    pub(super) fn include_usage(&self) -> bool {
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
    /// `none`, `auto`, `required` or a named function: obeyed by grammar.
    #[serde(default)]
    pub tool_choice: Option<Value>,
    /// `false`: at most one call.
    #[serde(default)]
    pub parallel_tool_calls: Option<bool>,
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

/// Seconds since the epoch, OpenAI's `created`.
pub(super) fn created() -> i64 {
    chrono::Utc::now().timestamp()
}

/// OpenAI tool calls (arguments as a JSON string).
pub(super) fn openai_calls(calls: &[ToolCall]) -> Vec<Value> {
    calls
        .iter()
        .map(|c| {
            j!({"id": c.id, "index": c.function.index, "type": "function",
                "function": {"name": c.function.name, "arguments": c.function.arguments.to_string()}})
        })
        .collect()
}

/// OpenAI's `usage` object.
pub(super) fn usage(prompt: u64, completion: u64) -> Value {
    j!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion})
}
