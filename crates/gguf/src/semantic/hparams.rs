//! Hyperparameter rules: the ranges llama.cpp's `load_hparams` asserts (an assert there aborts
//! the process) plus the sizes the tensor shapes are derived from.

use super::arch::Arch;
use super::keys::{float, string, uint, uint_per_layer, uint_required, Float};
use super::{Check, SemanticError};
use crate::{GgufInfo, GgufValue};

/// `LLAMA_MAX_LAYERS`.
pub(crate) const MAX_LAYERS: u64 = 512;
/// `LLAMA_MAX_EXPERTS`.
pub(crate) const MAX_EXPERTS: u64 = 1024;
/// llama-cpp-2 reads `n_ctx_train` as an `i32` and panics on anything larger.
pub(crate) const MAX_CONTEXT: u64 = i32::MAX as u64;
/// Generous upper bounds that no real model comes near, so sizes derived from them cannot
/// overflow.
const MAX_EMBD: u64 = 1 << 17;
const MAX_HEADS: u64 = 1 << 14;
const MAX_FF: u64 = 1 << 20;
const MAX_HEAD_DIM: u64 = 1 << 14;
const MAX_EPS: f64 = 1.0;
/// llama.cpp's `llama_rope_scaling_type_from_string`: anything else trips a `GGML_ASSERT`.
const ROPE_SCALING_TYPES: &[&str] = &["none", "linear", "yarn", "longrope"];

/// The hyperparameters tensor shapes are derived from, one entry per layer where they vary.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hparams {
    pub n_layer: u64,
    pub n_embd: u64,
    pub n_ctx: u64,
    /// Tokens in the vocabulary (`tokenizer.ggml.tokens`, else `<arch>.vocab_size`).
    pub n_vocab: Option<u64>,
    pub n_head: Vec<u64>,
    pub n_head_kv: Vec<u64>,
    pub n_ff: Vec<u64>,
    pub head_k: Vec<u64>,
    pub head_v: Vec<u64>,
    pub n_expert: u64,
}

/// Check the hyperparameters of architecture `a` (`arch` when it is fully described) and
/// return them.
pub(crate) fn check(
    info: &GgufInfo,
    a: &str,
    arch: Option<&Arch>,
) -> Result<Hparams, SemanticError> {
    let k = |s: &str| format!("{a}.{s}");
    let n_layer = uint_required(info, &k("block_count"), 1..=MAX_LAYERS)?;
    let n_ctx = uint_required(info, &k("context_length"), 1..=MAX_CONTEXT)?;
    let n_embd = uint_required(info, &k("embedding_length"), 1..=MAX_EMBD)?;
    uint(info, &k("nextn_predict_layers"), 0..=n_layer)?;
    let vocab_size = uint(info, &k("vocab_size"), 1..=MAX_CONTEXT)?;
    let n_tokens = match info.get("tokenizer.ggml.tokens") {
        Some(GgufValue::Array(t)) => Some(t.len() as u64),
        _ => None,
    };
    experts(info, a, n_layer)?;
    let n_expert = uint(info, &k("expert_count"), 0..=MAX_EXPERTS)?.unwrap_or(0);

    let n_ff = uint_per_layer(info, &k("feed_forward_length"), n_layer, 0..=MAX_FF)?
        .unwrap_or_else(|| vec![0; n_layer as usize]);
    let n_head = uint_per_layer(info, &k("attention.head_count"), n_layer, 0..=MAX_HEADS)?;
    let n_head_kv = uint_per_layer(info, &k("attention.head_count_kv"), n_layer, 0..=MAX_HEADS)?;
    if arch.is_some() && n_head.is_none() {
        return Err(SemanticError::new(k("attention.head_count"), "is missing"));
    }
    let n_head = n_head.unwrap_or_else(|| vec![0; n_layer as usize]);
    let n_head_kv = n_head_kv.unwrap_or_else(|| n_head.clone());
    let head_key = k("attention.head_count");
    let kv_key = k("attention.head_count_kv");
    for (il, (&h, &kv)) in n_head.iter().zip(&n_head_kv).enumerate() {
        let at = |key: &str| {
            if n_head.iter().all(|&x| x == h) && n_head_kv.iter().all(|&x| x == kv) {
                key.to_owned()
            } else {
                format!("{key}[{il}]")
            }
        };
        if arch.is_some() && h == 0 {
            return Err(SemanticError::new(
                at(&head_key),
                format!("0 is out of range (1..={MAX_HEADS})"),
            ));
        }
        if arch.is_some() && kv == 0 {
            return Err(SemanticError::new(
                at(&kv_key),
                format!("0 is out of range (1..={h})"),
            ));
        }
        if kv > h || (kv > 0 && h % kv != 0) {
            return Err(SemanticError::new(
                at(&kv_key),
                format!("{kv} does not divide {head_key} ({h}): each key/value head must serve a whole number of query heads"),
            ));
        }
    }
    if arch.is_some() && n_expert == 0 {
        if let Some((il, _)) = n_ff.iter().enumerate().find(|(_, &f)| f == 0) {
            let key = k("feed_forward_length");
            let key = if n_ff.iter().all(|&f| f == 0) {
                key
            } else {
                format!("{key}[{il}]")
            };
            return Err(SemanticError::new(
                key,
                format!("0 is out of range (1..={MAX_FF})"),
            ));
        }
    }

    // Head sizes: explicit, or n_embd / n_head.
    let head_dim = |key: &str| -> Result<Vec<u64>, SemanticError> {
        let explicit = uint(info, &k(key), 1..=MAX_HEAD_DIM)?;
        n_head
            .iter()
            .map(|&h| match explicit {
                Some(d) => Ok(d),
                None if h == 0 => Ok(0),
                None if arch.is_some() && n_embd % h != 0 => Err(SemanticError::new(
                    k("embedding_length"),
                    format!(
                        "{n_embd} is not a multiple of {} ({h}) and {} is not given",
                        head_key,
                        k(key)
                    ),
                )),
                None => Ok(n_embd / h),
            })
            .collect()
    };
    let head_k = head_dim("attention.key_length")?;
    let head_v = head_dim("attention.value_length")?;
    let max_head_k = head_k.iter().copied().max().unwrap_or(0);
    for key in ["rope.dimension_count", "rope.dimension_count_swa"] {
        if let Some(n_rot) = uint(info, &k(key), 0..=MAX_HEAD_DIM)? {
            if n_rot % 2 != 0 {
                return Err(SemanticError::new(
                    k(key),
                    format!("{n_rot} is odd (RoPE rotates pairs of dimensions)"),
                ));
            }
            if max_head_k > 0 && n_rot > max_head_k {
                return Err(SemanticError::new(
                    k(key),
                    format!("{n_rot} is larger than the head size ({max_head_k})"),
                ));
            }
        }
    }

    // Norm epsilons: llama.cpp asserts eps >= 0; NaN fails that assert too.
    for key in [
        "attention.layer_norm_rms_epsilon",
        "attention.layer_norm_epsilon",
        "attention.group_norm_epsilon",
    ] {
        float(info, &k(key), Float::AtMost(MAX_EPS))?;
    }
    if let Some(arch) = arch {
        let key = k(arch.eps.key());
        if info.get(&key).is_none() {
            return Err(SemanticError::new(key, "is missing"));
        }
    }

    rope(info, a)?;
    // Every other float the architecture carries must at least be a number.
    let prefix = format!("{a}.");
    for (key, v) in info.metadata.range(prefix.clone()..) {
        if !key.starts_with(&prefix) {
            break;
        }
        if let GgufValue::F64(x) = v {
            if !x.is_finite() {
                return Err(SemanticError::new(
                    key.as_str(),
                    format!("{x} is not a finite number"),
                ));
            }
        }
    }

    Ok(Hparams {
        n_layer,
        n_embd,
        n_ctx,
        n_vocab: n_tokens.or(vocab_size),
        n_head,
        n_head_kv,
        n_ff,
        head_k,
        head_v,
        n_expert,
    })
}

/// The expert counts, as `load_hparams` asserts them.
fn experts(info: &GgufInfo, a: &str, n_layer: u64) -> Check {
    let k = |s: &str| format!("{a}.{s}");
    let n_expert = uint(info, &k("expert_count"), 0..=MAX_EXPERTS)?.unwrap_or(0);
    let used_key = k("expert_used_count");
    let used = uint_per_layer(info, &used_key, n_layer, 0..=MAX_EXPERTS)?.unwrap_or_default();
    let used_max = used.iter().copied().max().unwrap_or(0);
    let groups_key = k("expert_group_count");
    let groups = uint(info, &groups_key, 0..=MAX_EXPERTS)?.unwrap_or(0);
    let group_used_key = k("expert_group_used_count");
    let group_used = uint(info, &group_used_key, 0..=MAX_EXPERTS)?.unwrap_or(0);
    if used_max > n_expert {
        return Err(SemanticError::new(
            used_key,
            format!("{used_max} is more than {} ({n_expert})", k("expert_count")),
        ));
    }
    if n_expert > 0 {
        if used_max == 0 {
            return Err(SemanticError::new(
                used_key,
                format!(
                    "must be at least 1 when {} is {n_expert}",
                    k("expert_count")
                ),
            ));
        }
        if groups >= n_expert {
            return Err(SemanticError::new(
                groups_key,
                format!(
                    "{groups} must be less than {} ({n_expert})",
                    k("expert_count")
                ),
            ));
        }
        if groups > 1 {
            if n_expert % groups != 0 {
                return Err(SemanticError::new(
                    groups_key,
                    format!(
                        "{groups} does not divide {} ({n_expert})",
                        k("expert_count")
                    ),
                ));
            }
            if group_used == 0 || group_used >= groups {
                return Err(SemanticError::new(
                    group_used_key,
                    format!("{group_used} is out of range (1..={})", groups - 1),
                ));
            }
        }
    } else if groups != 0 {
        return Err(SemanticError::new(
            groups_key,
            format!("must be 0 when the model has no experts, found {groups}"),
        ));
    }
    Ok(())
}

/// RoPE settings.
fn rope(info: &GgufInfo, a: &str) -> Check {
    let k = |s: &str| format!("{a}.rope.{s}");
    float(info, &k("freq_base"), Float::Positive)?;
    float(info, &k("freq_base_swa"), Float::Positive)?;
    float(info, &k("scaling.factor"), Float::NonNegative)?;
    float(info, &k("scale_linear"), Float::NonNegative)?;
    float(info, &k("scaling.attn_factor"), Float::NonNegative)?;
    for yarn in [
        "yarn_log_multiplier",
        "yarn_ext_factor",
        "yarn_attn_factor",
        "yarn_beta_fast",
        "yarn_beta_slow",
    ] {
        float(info, &k(&format!("scaling.{yarn}")), Float::Finite)?;
    }
    uint(info, &k("scaling.original_context_length"), 0..=MAX_CONTEXT)?;
    if let Some(t) = string(info, &k("scaling.type"))? {
        if !ROPE_SCALING_TYPES.contains(&t) {
            return Err(SemanticError::new(
                k("scaling.type"),
                format!(
                    "unknown RoPE scaling type {t:?} (llama.cpp knows {})",
                    ROPE_SCALING_TYPES.join(", ")
                ),
            ));
        }
    }
    Ok(())
}
