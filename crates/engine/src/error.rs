//! The engine's error type.

use std::path::PathBuf;

/// Everything that can go wrong in the engine, with a message a user can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    #[error("{path}: not a usable GGUF model: {reason}")]
    InvalidGguf { path: PathBuf, reason: String },
    #[error("{path}: cannot read model file: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("llama.cpp could not load {path}: {reason}")]
    Load { path: PathBuf, reason: String },
    #[error("could not create a context: {0}")]
    Context(String),
    #[error("invalid grammar: {0}")]
    Grammar(String),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("the input length exceeds the context length ({tokens} tokens > {context})")]
    ContextOverflow { tokens: usize, context: u32 },
    #[error("decoding failed: {0}")]
    Decode(String),
    #[error("chat template: {0}")]
    Template(String),
    #[error("model does not support embeddings: {0}")]
    Embedding(String),
    #[error("the model's inference thread has stopped")]
    WorkerGone,
}
