//! Request-side types: Ollama-style sampling options, grammar constraints, prompts and load settings.

use serde::{Deserialize, Serialize};

/// Sampling and stopping options, named and defaulted as Ollama's `options` object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SamplingOptions {
    /// Randomness; 0 selects greedy decoding.
    pub temperature: f32,
    /// Keep the k most likely tokens (0 or less disables).
    pub top_k: i32,
    /// Nucleus sampling threshold (1.0 disables).
    pub top_p: f32,
    /// Minimum probability relative to the most likely token (0 disables).
    pub min_p: f32,
    /// Locally typical sampling (1.0 disables).
    pub typical_p: f32,
    /// Penalty for repeated tokens (1.0 disables).
    pub repeat_penalty: f32,
    /// How many recent tokens the penalties look at (0 disables, -1 = whole context).
    pub repeat_last_n: i32,
    /// OpenAI-style presence penalty.
    pub presence_penalty: f32,
    /// OpenAI-style frequency penalty.
    pub frequency_penalty: f32,
    /// RNG seed; negative picks a random seed. Same seed + same prompt = same output.
    pub seed: i64,
    /// Maximum tokens to generate; negative means until a stop condition or the context is full.
    pub num_predict: i32,
    /// Strings that end generation; they are never part of the output.
    pub stop: Vec<String>,
    /// Requested context length for this request (clamped to the slot's context).
    pub num_ctx: Option<u32>,
}

impl Default for SamplingOptions {
    fn default() -> Self {
        Self {
            temperature: 0.8,
            top_k: 40,
            top_p: 0.9,
            min_p: 0.0,
            typical_p: 1.0,
            repeat_penalty: 1.0,
            repeat_last_n: 64,
            presence_penalty: 0.0,
            frequency_penalty: 0.0,
            seed: -1,
            num_predict: -1,
            stop: Vec::new(),
            num_ctx: None,
        }
    }
}

impl SamplingOptions {
    /// Greedy decoding with no penalties: the deterministic setting tests and classifiers use.
    pub fn greedy() -> Self {
        Self {
            temperature: 0.0,
            ..Self::default()
        }
    }
}

/// A constraint on the shape of the output, enforced token by token by a grammar sampler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Grammar {
    /// A GBNF grammar whose start rule is `root`.
    Gbnf(String),
    /// Any syntactically valid JSON value (Ollama's `format: "json"` produces an object).
    Json,
    /// A JSON schema, converted with llama.cpp's json-schema-to-grammar.
    JsonSchema(serde_json::Value),
}

/// What to feed the model.
#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    /// Text, tokenized with special tokens parsed (chat-template markers become control tokens).
    /// A BOS token is added when the model asks for one and the text does not start with it.
    Text(String),
    /// Already tokenized input, used as is (Ollama's `context` continuation).
    Tokens(Vec<i32>),
}

/// One generation request.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateRequest {
    /// Text or tokens to continue.
    pub prompt: Prompt,
    /// Sampling and stopping.
    pub options: SamplingOptions,
    /// Constrain the output to a grammar.
    pub grammar: Option<Grammar>,
    /// Report log-probabilities: `None` = off, `Some(n)` = the sampled token plus the top `n` alternatives (n ≤ 20).
    pub logprobs: Option<u32>,
    /// Prompts longer than the context are cut from the front (keeping BOS) when true, refused when false.
    pub truncate: bool,
}

impl GenerateRequest {
    /// A text request with default options.
    pub fn new(prompt: impl Into<String>) -> Self {
        Self {
            prompt: Prompt::Text(prompt.into()),
            options: SamplingOptions::default(),
            grammar: None,
            logprobs: None,
            truncate: true,
        }
    }

    /// Replace the sampling options.
    pub fn with_options(mut self, options: SamplingOptions) -> Self {
        self.options = options;
        self
    }

    /// Constrain the output with a grammar.
    pub fn with_grammar(mut self, grammar: Grammar) -> Self {
        self.grammar = Some(grammar);
        self
    }
}

/// How a model is loaded: context size, parallel slots, threads, cache budget.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadConfig {
    /// Context length of each parallel sequence (Ollama's num_ctx); capped at the model's trained length.
    pub num_ctx: u32,
    /// Parallel sequences decoded together (continuous batching), Ollama's OLLAMA_NUM_PARALLEL.
    pub parallel: u32,
    /// Threads for decoding; `None` = physical cores.
    pub threads: Option<u32>,
    /// Threads for prompt processing; `None` = same as `threads`.
    pub threads_batch: Option<u32>,
    /// Logical batch size: the most prompt tokens prefilled per step.
    pub batch_size: u32,
    /// Upper bound for the KV cache in bytes; `num_ctx` is reduced so that `parallel` slots fit,
    /// counting each cell's real K and V size (f16, every layer and KV head). Loading fails with
    /// [`EngineError::Context`](crate::EngineError::Context) when the budget cannot hold 64 cells
    /// per slot. `None` = no cap.
    pub kv_budget_bytes: Option<u64>,
    /// Host memory in bytes for KV states of conversations whose slot went to another one;
    /// a request whose prefix is there restores it instead of prefilling it. 0 = off.
    pub cache_ram_bytes: u64,
    /// Layers offloaded to a GPU backend (ignored on CPU builds).
    pub gpu_layers: u32,
    /// Whether attention runs llama.cpp's fused flash-attention kernel.
    pub flash_attention: FlashAttention,
}

/// Whether attention runs llama.cpp's fused flash-attention kernel (Ollama's
/// `OLLAMA_FLASH_ATTENTION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlashAttention {
    /// llama.cpp's own choice (on for the CPU). On the CPU the unfused path (`Disabled`) is
    /// faster for the short prompt chunks of agent turns after a long cached prefix, and
    /// slower near an empty context and for long prefills; `scripts/bench-agents.sh` and
    /// llama-bench measure the difference.
    #[default]
    Auto,
    /// Always on.
    Enabled,
    /// Always off.
    Disabled,
}

impl FlashAttention {
    /// Parse an `OLLAMA_FLASH_ATTENTION`-style value: `1`/`true`/`on`/`yes`, `0`/`false`/`off`/
    /// `no`, `auto` or empty.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Ok(FlashAttention::Auto),
            "1" | "true" | "on" | "yes" => Ok(FlashAttention::Enabled),
            "0" | "false" | "off" | "no" => Ok(FlashAttention::Disabled),
            other => Err(format!(
                "flash attention must be 1, 0 or auto (or true/false), not {other:?}"
            )),
        }
    }

    /// The value as `OLLAMA_FLASH_ATTENTION` spells it (what [`FlashAttention::parse`] reads).
    pub fn as_str(self) -> &'static str {
        match self {
            FlashAttention::Auto => "auto",
            FlashAttention::Enabled => "1",
            FlashAttention::Disabled => "0",
        }
    }
}

impl Default for LoadConfig {
    fn default() -> Self {
        Self {
            num_ctx: 4096,
            parallel: 4,
            threads: None,
            threads_batch: None,
            batch_size: 512,
            kv_budget_bytes: Some(1 << 30),
            cache_ram_bytes: 1 << 30,
            gpu_layers: u32::MAX,
            flash_attention: FlashAttention::Auto,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FlashAttention;

    #[test]
    fn flash_attention_reads_ollamas_values() {
        for (text, want) in [
            ("1", FlashAttention::Enabled),
            ("true", FlashAttention::Enabled),
            (" ON ", FlashAttention::Enabled),
            ("0", FlashAttention::Disabled),
            ("false", FlashAttention::Disabled),
            ("", FlashAttention::Auto),
            ("auto", FlashAttention::Auto),
        ] {
            assert_eq!(FlashAttention::parse(text), Ok(want), "{text:?}");
        }
        let err = FlashAttention::parse("sometimes").unwrap_err();
        assert!(err.contains("1, 0 or auto"), "{err}");
    }

    #[test]
    fn each_setting_reads_back_from_its_spelling() {
        for fa in [
            FlashAttention::Auto,
            FlashAttention::Enabled,
            FlashAttention::Disabled,
        ] {
            assert_eq!(FlashAttention::parse(fa.as_str()), Ok(fa));
        }
    }
}
