//! Semantic validation: what llama.cpp would abort on (or refuse deep inside a load), checked
//! in pure Rust on a header [`crate::validate`] has already parsed.
//!
//! The header reader proves a file is well-formed GGUF; this module proves it describes a model
//! llama.cpp can run without tripping a `GGML_ASSERT` (which aborts the whole process):
//!
//! * [`hparams`]: hyperparameter ranges (layers, heads, sizes, epsilons, context, RoPE, experts);
//! * [`tokenizer`]: a known tokenizer model, consistent with the vocabulary's arrays;
//! * [`tensors`]: tensor types allowed for each tensor's role, and for the architectures in
//!   [`arch`], every required tensor present with the shape the hyperparameters imply.
//!
//! Each rule names the field it checks, so a refused file says e.g.
//! `llama.block_count: 0 is out of range (1..=512)`.

mod arch;
mod hparams;
mod keys;
mod tensors;
#[cfg(test)]
mod tests;
mod tokenizer;

use std::path::Path;

use crate::{GgufError, GgufInfo};

/// Why a well-formed GGUF file is not a model llama.cpp can run: the field and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct SemanticError {
    /// The metadata key or tensor name at fault, e.g. `llama.block_count`.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl SemanticError {
    pub(crate) fn new(field: impl Into<String>, reason: impl Into<String>) -> SemanticError {
        SemanticError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Results of the semantic checks.
pub(crate) type Check = Result<(), SemanticError>;

/// Architectures that carry no language model of their own (vision projectors): their files
/// are loaded by other code paths, so only the header rules apply.
const NOT_A_MODEL: &[&str] = &["clip"];

/// Check a parsed header as a whole model: hyperparameters, tokenizer and tensors.
///
/// # Errors
/// The first rule the file breaks, naming the field.
pub fn check_model(info: &GgufInfo) -> Result<(), SemanticError> {
    let Some(arch_name) = info.architecture() else {
        return Err(SemanticError::new(
            "general.architecture",
            "is missing (llama.cpp needs it to know what the tensors are)",
        ));
    };
    if arch_name.is_empty() {
        return Err(SemanticError::new("general.architecture", "is empty"));
    }
    if NOT_A_MODEL.contains(&arch_name) {
        return Ok(());
    }
    let arch = arch::lookup(arch_name);
    tokenizer::check(info)?;
    let hp = hparams::check(info, arch_name, arch)?;
    tensors::check(info, arch, &hp)
}

/// Check only what a vocabulary-only load reads: the tokenizer (for files that hold a
/// vocabulary and no weights, such as llama.cpp's `ggml-vocab-*.gguf`).
///
/// # Errors
/// The first tokenizer rule the file breaks, naming the field.
pub fn check_vocab(info: &GgufInfo) -> Result<(), SemanticError> {
    tokenizer::check(info)
}

/// [`crate::validate`] and then [`check_model`]: everything hearth checks before llama.cpp
/// opens a model file.
///
/// # Errors
/// [`GgufError::Io`] when the file cannot be read; [`GgufError::Invalid`] when the header is
/// malformed or the model breaks a semantic rule (the reason then starts with the field).
pub fn validate_model(path: &Path) -> Result<GgufInfo, GgufError> {
    let info = crate::validate(path)?;
    check_model(&info).map_err(|e| GgufError::Invalid {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(info)
}

/// [`crate::validate`] and then [`check_vocab`], for vocabulary-only loads.
///
/// # Errors
/// As [`validate_model`], with only the tokenizer rules.
pub fn validate_vocab(path: &Path) -> Result<GgufInfo, GgufError> {
    let info = crate::validate(path)?;
    check_vocab(&info).map_err(|e| GgufError::Invalid {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(info)
}
