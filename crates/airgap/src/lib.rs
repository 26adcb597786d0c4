//! Airgapped delivery for hearth: one executable that carries its models ([`bundle`]), model
//! archives for removable media ([`archive`]), a read-only registry and a pull client
//! ([`registry`]), and Hugging Face names resolved from the local cache, or downloaded into it
//! when online ([`hf`], [`hf_online`], sharing [`hf_names`]), with a tokenizer cross-check ([`hf_tokcheck`]).
//!
//! Everything that lands in the model store goes through `hearth_store::Store`: temp file,
//! fsync, rename, and a sha256 check before anything becomes visible.

pub mod archive;
pub mod blobs;
pub mod bundle;
pub mod cache;
pub mod error;
pub mod gguf_import;
pub mod hashing;
pub mod hf;
pub mod hf_names;
pub mod hf_online;
pub mod hf_tokcheck;
pub mod progress;
pub mod registry;

pub use error::{AirgapError, Result};
