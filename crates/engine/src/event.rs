//! Response-side types: the stream of events a generation produces and its final metrics.

use serde::Serialize;

/// Why a generation ended, spelled as Ollama's `done_reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DoneReason {
    /// End-of-generation token or a stop sequence.
    Stop,
    /// `num_predict` reached or the context is full.
    Length,
}

impl DoneReason {
    /// The wire spelling (`"stop"` / `"length"`).
    pub fn as_str(self) -> &'static str {
        match self {
            DoneReason::Stop => "stop",
            DoneReason::Length => "length",
        }
    }
}

/// Log-probability of one token, as Ollama reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenLogprob {
    /// The token's text.
    pub token: String,
    /// Natural-log probability.
    pub logprob: f32,
    /// The token's raw bytes (may be part of a UTF-8 sequence).
    pub bytes: Vec<u8>,
}

/// Log-probabilities for one sampled token and its most likely alternatives (descending).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Logprobs {
    /// The token that was sampled.
    #[serde(flatten)]
    pub sampled: TokenLogprob,
    /// The most likely tokens at this position, most likely first.
    pub top_logprobs: Vec<TokenLogprob>,
}

/// Counts and durations of a finished generation (nanoseconds, as Ollama reports them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Completion {
    /// Why generation stopped.
    pub done_reason: DoneReason,
    /// Prompt tokens in the request (cached ones included).
    pub prompt_eval_count: u32,
    /// Prompt tokens served from the KV cache instead of being evaluated.
    pub cached_prompt_tokens: u32,
    /// Time spent evaluating the prompt.
    pub prompt_eval_duration_ns: u64,
    /// Tokens generated.
    pub eval_count: u32,
    /// Time spent generating.
    pub eval_duration_ns: u64,
    /// From the request reaching the engine to the end, queueing included.
    pub total_duration_ns: u64,
    /// Prompt plus generated tokens: pass back as `Prompt::Tokens` to continue (Ollama's `context`).
    pub context: Vec<i32>,
    /// Prompt tokens dropped from the front because the prompt did not fit the context.
    pub truncated_tokens: u32,
}

/// One item of a generation stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A piece of output text: always valid UTF-8 and never part of a stop sequence.
    Token {
        /// The text.
        text: String,
        /// Per-token log-probabilities when requested (one entry per model token in this piece).
        logprobs: Vec<Logprobs>,
    },
    /// The last event of a successful generation.
    Done(Completion),
    /// The generation failed; nothing follows.
    Error(crate::EngineError),
}
