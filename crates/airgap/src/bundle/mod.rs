//! Self-contained executables: the running binary with GGUF payloads appended, page-aligned,
//! described by a small JSON manifest and found through a fixed 64-byte footer.
//!
//! ```text
//! [ELF executable][pad to 4 KiB][model 1][pad][model 2]…[manifest JSON][footer: sha256, offset, len, version, magic]
//! ```
//!
//! At startup [`activate`] reads only the last 64 bytes of `current_exe()`; a bundled binary
//! extracts each payload once into the cache (named by sha256, verified before it is renamed
//! into place) and points the engine's bundled-model lookup (`HEARTH_BUNDLED_DIR`) at it.

mod extract;
mod format;
mod write;

pub use extract::{activate, activate_from, Activated};
pub use format::{read_manifest, BundleManifest, Payload, ALIGN, FOOTER_LEN, MAGIC};
pub use write::{resolve, write_bundle, Source};
