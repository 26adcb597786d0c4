//! `create NAME --from model.gguf` without a server: the GGUF is checked, copied into `blobs/`
//! verified, and given a config blob and manifest, as Ollama's create from a GGUF does.

use std::path::Path;

use hearth_store::import::{weights_layer, write_manifest, ModelFacts};
use hearth_store::names::ModelName;
use hearth_store::{Digest, Manifest, Store};

use crate::blobs::put_blob_reader;
use crate::error::{io, AirgapError, Result};
use crate::hashing::sha256_file;
use crate::progress::bytes_bar;

/// Create model `name` in `store` from the GGUF at `path`; returns the manifest.
pub fn create_from_gguf(store: &Store, name: &ModelName, path: &Path) -> Result<Manifest> {
    create_from_gguf_expecting(store, name, path, None)
}

/// [`create_from_gguf`], refusing the file (before anything becomes visible) unless it hashes
/// to `expected` when one is given (e.g. the sha256 a Hugging Face cache names its blob by).
pub fn create_from_gguf_expecting(
    store: &Store,
    name: &ModelName,
    path: &Path,
    expected: Option<&Digest>,
) -> Result<Manifest> {
    // Header and semantic rules: a file llama.cpp would abort on never enters the store.
    let info = hearth_store::gguf::validate_model(path)
        .map_err(|e| AirgapError::Invalid(format!("{}: {e}", path.display())))?;
    let size = std::fs::metadata(path)
        .map_err(io(format!("reading {}", path.display())))?
        .len();
    let mut f = std::fs::File::open(path).map_err(io(format!("reading {}", path.display())))?;
    // With an expected digest, the copy itself is the check: put_blob_reader hashes while it
    // writes and refuses a mismatch before the blob becomes visible (one pass over the file).
    let digest = match expected {
        Some(expected) => expected.clone(),
        None => sha256_file(path, &bytes_bar(size, "hashing"))
            .map_err(io(format!("reading {}", path.display())))?,
    };
    put_blob_reader(
        store,
        &digest,
        &mut f,
        Some(size),
        &bytes_bar(size, "copying"),
    )
    .map_err(|e| match e {
        AirgapError::DigestMismatch { expected, got, .. } => AirgapError::DigestMismatch {
            what: path.display().to_string(),
            expected,
            got,
        },
        e => e,
    })?;
    Ok(write_manifest(
        store,
        name,
        &ModelFacts::of_gguf(&info),
        vec![weights_layer(&digest, size, None)],
    )?)
}

/// Refuse a model-weights blob (registry pull, archive import) that is a GGUF file llama.cpp
/// could not run: header and semantic rules, before any manifest names it. `what` names it in
/// the error. A blob that is not GGUF at all is left to the load-time check, which refuses it
/// cleanly (nothing in it reaches llama.cpp).
pub fn check_model_blob(path: &Path, what: &str) -> Result<()> {
    match hearth_store::gguf::validate_model(path) {
        Ok(_) => Ok(()),
        Err(hearth_store::gguf::GgufError::Invalid { reason, .. })
            if reason.starts_with("bad magic") =>
        {
            Ok(())
        }
        Err(hearth_store::gguf::GgufError::Invalid { reason, .. }) => Err(AirgapError::Invalid(
            format!("{what} is not a usable GGUF model: {reason}"),
        )),
        Err(e) => Err(AirgapError::Invalid(format!("{what}: {e}"))),
    }
}
