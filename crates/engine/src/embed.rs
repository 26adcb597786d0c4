//! Embeddings on the inference thread: the pooled embedding context, the grouping of inputs
//! into decodes, and L2 normalisation. Requests are run a group at a time, taking turns with
//! generation and with each other, by the [`queue`].

mod queue;

use std::num::NonZeroU32;
#[cfg(test)]
use std::ops::Range;

use llama_cpp_2::context::params::{LlamaContextParams, LlamaPoolingType};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;

use crate::llama_backend::decode;
use crate::EngineError;

/// Embedding vectors, L2-normalised, one per input.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    /// One unit vector per input.
    pub vectors: Vec<Vec<f32>>,
    /// The L2 norm of each pooled vector before normalisation (`vectors[i] * norms[i]` is the
    /// model's raw output, which Ollama's legacy `/api/embeddings` returns).
    pub norms: Vec<f32>,
    /// Tokens evaluated over all inputs.
    pub prompt_eval_count: u32,
}

pub(crate) use queue::{EmbedJob, Embedder};

/// Sequences embedded together in one decode.
pub(crate) const EMBED_SEQS: u32 = 8;

/// An embedding context of `n_ctx` tokens with the model's own pooling.
pub(crate) fn context<'m>(
    backend: &LlamaBackend,
    model: &'m LlamaModel,
    n_ctx: u32,
    threads: u32,
) -> Result<LlamaContext<'m>, EngineError> {
    let params = LlamaContextParams::default()
        .with_embeddings(true)
        .with_pooling_type(pooling(model))
        .with_n_ctx(NonZeroU32::new(n_ctx))
        .with_n_batch(n_ctx)
        .with_n_ubatch(n_ctx)
        .with_n_seq_max(EMBED_SEQS)
        .with_kv_unified(true)
        .with_n_threads(threads as i32)
        .with_n_threads_batch(threads as i32);
    model
        .new_context(backend, params)
        .map_err(|e| EngineError::Embedding(e.to_string()))
}

/// Embed one group of token sequences (each at most the context's batch size) in one decode:
/// one unit vector and one norm per sequence.
pub(crate) fn embed_group(
    ctx: &mut LlamaContext<'_>,
    batch: &mut LlamaBatch<'_>,
    group: &[&[LlamaToken]],
) -> Result<Vec<(Vec<f32>, f32)>, EngineError> {
    batch.clear();
    for (seq, tokens) in group.iter().enumerate() {
        for (pos, &t) in tokens.iter().enumerate() {
            batch
                .add(t, pos as i32, &[seq as i32], true)
                .map_err(|e| EngineError::Embedding(e.to_string()))?;
        }
    }
    ctx.clear_kv_cache();
    let decoded = decode(ctx, batch).map_err(|e| EngineError::Embedding(e.to_string()));
    let out = decoded.and_then(|()| {
        (0..group.len())
            .map(|seq| {
                ctx.embeddings_seq_ith(seq as i32)
                    .map(normalise)
                    .map_err(|e| EngineError::Embedding(e.to_string()))
            })
            .collect()
    });
    ctx.clear_kv_cache();
    out
}

/// How many of the inputs with these lengths (each at most the batch size) to decode together
/// next: at most `max_seqs` inputs and `budget` tokens, but never none (one input longer than
/// the budget goes alone).
pub(crate) fn next_group(
    lens: impl IntoIterator<Item = usize>,
    budget: usize,
    max_seqs: usize,
) -> usize {
    let mut n = 0;
    let mut used = 0;
    for len in lens {
        if n > 0 && (n == max_seqs || used + len > budget) {
            break;
        }
        used += len;
        n += 1;
    }
    n
}

/// The model's own pooling (`<arch>.pooling_type`), mean when it names none.
fn pooling(model: &LlamaModel) -> LlamaPoolingType {
    let arch = model
        .meta_val_str("general.architecture")
        .unwrap_or_default();
    pooling_type(
        model
            .meta_val_str(&format!("{arch}.pooling_type"))
            .ok()
            .as_deref(),
    )
}

/// The pooling a GGUF `pooling_type` value names (llama.cpp's numbering), mean otherwise.
fn pooling_type(value: Option<&str>) -> LlamaPoolingType {
    match value.and_then(|v| v.trim().parse::<i32>().ok()) {
        Some(2) => LlamaPoolingType::Cls,
        Some(3) => LlamaPoolingType::Last,
        _ => LlamaPoolingType::Mean,
    }
}

/// The unit vector along `v` and `v`'s L2 norm (a zero vector stays as it is).
fn normalise(v: &[f32]) -> (Vec<f32>, f32) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        (v.iter().map(|x| x / norm).collect(), norm)
    } else {
        (v.to_vec(), norm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Consecutive groups, as the queue takes them.
    fn groups(lens: &[usize], budget: usize, max_seqs: usize) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut start = 0;
        while start < lens.len() {
            let n = next_group(lens[start..].iter().copied(), budget, max_seqs);
            out.push(start..start + n);
            start += n;
        }
        out
    }

    #[test]
    fn groups_respect_sequence_and_token_limits() {
        assert_eq!(groups(&[], 10, 8), Vec::<Range<usize>>::new());
        assert_eq!(groups(&[3, 3, 3], 10, 8), vec![0..3]);
        assert_eq!(groups(&[4, 4, 4], 10, 8), vec![0..2, 2..3]);
        assert_eq!(groups(&[10, 1, 10], 10, 8), vec![0..1, 1..2, 2..3]);
        assert_eq!(groups(&[1; 5], 100, 2), vec![0..2, 2..4, 4..5]);
    }

    #[test]
    fn pooling_follows_llama_cpp_numbering() {
        assert_eq!(pooling_type(Some("2")), LlamaPoolingType::Cls);
        assert_eq!(pooling_type(Some("3")), LlamaPoolingType::Last);
        assert_eq!(pooling_type(Some("1")), LlamaPoolingType::Mean);
        assert_eq!(pooling_type(Some("x")), LlamaPoolingType::Mean);
        assert_eq!(pooling_type(None), LlamaPoolingType::Mean);
    }

    #[test]
    fn normalise_returns_unit_vector_and_norm() {
        let (unit, norm) = normalise(&[3.0, 4.0]);
        assert_eq!(norm, 5.0);
        assert_eq!(unit, vec![0.6, 0.8]);
        assert_eq!(normalise(&[0.0, 0.0]), (vec![0.0, 0.0], 0.0));
    }
}
