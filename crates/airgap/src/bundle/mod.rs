//! Self-contained executables: the running binary with payloads appended, page-aligned,
//! described by a small JSON manifest and found through a fixed 64-byte footer.
//!
//! ```text
//! [ELF executable][pad to 4 KiB][model 1][pad]…[blob 1][pad][blob 2]…[manifest JSON][footer: sha256, offset, len, version, magic]
//! ```
//!
//! Two kinds of model travel: hearth's bundled models (`models/manifest.json`; a GGUF each,
//! found by the engine by file name) and models of an Ollama-layout store (the manifest, byte
//! for byte, and every blob it names: weights, template, system, params, licence, config; each
//! digest carried once).
//!
//! At startup [`activate`] reads only the last 64 bytes of `current_exe()`; a bundled binary
//! extracts each payload once into the cache (named by sha256, verified before it is renamed
//! into place), points the engine's bundled-model lookup (`HEARTH_BUNDLED_DIR`) at it, and lays
//! the store models out as a read-only store that `serve` and `run` consult after the user's own
//! (`HEARTH_EXTRA_MODELS`).

mod extract;
mod format;
mod write;

pub use extract::{activate, activate_from, Activated};
pub use format::{
    read_manifest, BlobPayload, BundleManifest, Located, Payload, StoreModel, ALIGN, FOOTER_LEN,
    MAGIC, MIN_VERSION, VERSION,
};
pub use write::{resolve, write_bundle, BlobSource, BuiltinSource, Source, StoreSource};
