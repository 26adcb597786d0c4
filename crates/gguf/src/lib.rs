//! Pure-Rust GGUF header validation and metadata reading, run before llama.cpp ever opens a file.
//!
//! [`validate`] reads only the header (magic, version, metadata, tensor infos) through a buffered
//! reader, never the tensor data, and checks everything llama.cpp's own `gguf_init_from_file`
//! would reject, so a damaged or hostile file fails with a specific reason instead of a crash or a
//! vague load error deep inside llama.cpp. The [`GgufInfo`] it returns is what the header says;
//! presenting it (Ollama's `/api/show`, `/api/tags`) is the caller's business.
//!
//! This crate has no dependencies beyond `thiserror`: the engine, the model store and the import
//! paths all use it without pulling in llama.cpp or a server.

#[cfg(feature = "edit")]
pub mod edit;
mod error;
mod info;
mod reader;
mod semantic;
mod types;

pub use error::GgufError;
pub use info::{GgufInfo, GgufValue, TensorInfo};
pub use reader::{validate, validate_bytes, DEFAULT_ALIGNMENT, MAX_DIMS};
pub use semantic::{check_model, check_vocab, validate_model, validate_vocab, SemanticError};
pub use types::{file_type_name, ggml_type, GgmlType};
