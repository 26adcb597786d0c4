//! A GGUF's own tokenizer without its weights: llama.cpp loads the vocabulary only (no tensors,
//! no context), so a model's tokenization can be checked against another tokenizer cheaply.

use std::path::Path;

use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;

use crate::{llama_backend, EngineError};

/// Tokenize `text` with the tokenizer stored in the GGUF at `path`, as llama.cpp does for the
/// loaded model, but loading only the vocabulary. No BOS/EOS is added and special-token text
/// (e.g. `<|im_start|>`) is tokenized as plain text.
///
/// # Errors
/// [`EngineError::InvalidGguf`] / [`EngineError::Io`] when the file is not a readable GGUF,
/// [`EngineError::Load`] when llama.cpp refuses its vocabulary.
pub fn tokenize_gguf(path: &Path, text: &str) -> Result<Vec<i32>, EngineError> {
    hearth_gguf::validate_vocab(path)?;
    let backend = llama_backend::backend()?;
    let params = LlamaModelParams::default().with_vocab_only(true);
    let llama =
        LlamaModel::load_from_file(backend, path, &params).map_err(|e| EngineError::Load {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    Ok(llama
        .vocab()
        .tokenize(text.as_bytes(), false, false)
        .into_iter()
        .map(|t| t.0)
        .collect())
}
