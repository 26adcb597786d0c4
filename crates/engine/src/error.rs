//! The engine's error type.

use std::path::PathBuf;

/// Everything that can go wrong in the engine, with a message a user can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    #[error("{path}: not a usable GGUF model: {reason}")]
    /// The file is not a GGUF model llama.cpp could load.
    InvalidGguf {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    #[error("{path}: cannot read model file: {reason}")]
    /// The file cannot be read.
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    #[error("llama.cpp could not load {path}: {reason}")]
    /// llama.cpp refused to load the file.
    Load {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    #[error("could not create a context: {0}")]
    /// A llama.cpp context (or the inference thread) could not be created.
    Context(String),
    #[error("invalid grammar: {0}")]
    /// A grammar or JSON schema could not be compiled.
    Grammar(String),
    #[error("invalid request: {0}")]
    /// A request field is out of range.
    InvalidRequest(String),
    #[error("the input length exceeds the context length ({tokens} tokens > {context})")]
    /// The prompt does not fit the context window.
    ContextOverflow {
        /// Tokens in the prompt.
        tokens: usize,
        /// Tokens that fit.
        context: u32,
    },
    #[error("decoding failed: {0}")]
    /// llama.cpp failed while decoding a batch.
    Decode(String),
    #[error("chat template: {0}")]
    /// The chat template could not be rendered.
    Template(String),
    #[error("model does not support embeddings: {0}")]
    /// The model cannot produce embeddings.
    Embedding(String),
    #[error("the model's inference thread has stopped")]
    /// The inference thread has stopped.
    WorkerGone,
    #[error("the model's inference thread panicked: {0}")]
    /// The inference thread panicked: every request it held failed with this, and the model
    /// serves nothing more (load it again).
    Panicked(String),
}

impl From<hearth_gguf::GgufError> for EngineError {
    fn from(e: hearth_gguf::GgufError) -> Self {
        match e {
            hearth_gguf::GgufError::Invalid { path, reason } => {
                EngineError::InvalidGguf { path, reason }
            }
            hearth_gguf::GgufError::Io { path, reason } => EngineError::Io { path, reason },
        }
    }
}

impl From<hearth_template::TemplateError> for EngineError {
    fn from(e: hearth_template::TemplateError) -> Self {
        EngineError::Template(e.0)
    }
}
