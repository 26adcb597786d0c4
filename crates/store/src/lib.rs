//! hearth's model store, free of llama.cpp and of any server: everything that names, finds,
//! stores and describes a model before it is loaded.
//!
//! * [`names`]: Ollama model names (`host/namespace/model:tag`);
//! * [`Digest`], [`manifest`]: sha256 digests and Ollama's manifests;
//! * [`Store`]: the blob store in Ollama's on-disk layout, every write atomic (temp file, fsync,
//!   rename) and verified;
//! * [`catalog`]: resolving a name over the writable store, read-only stores and the built-in
//!   models;
//! * [`builtin`]: the models hearth ships with (`models/manifest.json`);
//! * [`import`]: the one manifest built from a GGUF file;
//! * [`modelfile`] and [`gotmpl`]: Modelfile parsing and the Go-template subset of its TEMPLATE;
//! * [`gguf`]: the pure-Rust GGUF header reader and validator (re-exported `hearth-gguf`);
//! * [`registry`]: the seam through which a server reaches a model registry.
//!
//! Configuration arrives as values (paths, flags); nothing here reads the environment.

pub mod builtin;
pub mod catalog;
mod digest;
pub mod gotmpl;
pub mod import;
mod labels;
pub mod manifest;
pub mod modelfile;
pub mod names;
pub mod registry;
mod store;

pub use digest::{copy_hashing, hex, sha256_file, Digest};
pub use hearth_gguf as gguf;
pub use labels::human_number;
pub use manifest::{ConfigV2, Layer, Manifest};
pub use registry::{ProgressSink, RegistryClient, RegistryError};
pub use store::{
    atomic_write, Store, StoreError, StoredModel, IMPORT_PREFIX, LINK_PREFIX, TEMP_PREFIXES,
};
