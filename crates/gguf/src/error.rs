//! Why a GGUF file was refused.

use std::path::PathBuf;

/// A file that is not a GGUF model llama.cpp could load, or that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GgufError {
    /// The contents break the format or llama.cpp's rules; `reason` says which one.
    #[error("{path}: not a usable GGUF model: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The specific check that failed.
        reason: String,
    },
    /// The file cannot be opened or read.
    #[error("{path}: cannot read model file: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's message.
        reason: String,
    },
}
