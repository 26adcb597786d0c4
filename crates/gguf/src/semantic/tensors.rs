//! Tensor rules: each tensor's type must suit its role (ggml's CPU kernels abort on types they
//! have no kernel for), and for the architectures in [`super::arch`], every tensor llama.cpp
//! creates must be present with the shape the hyperparameters imply.

use std::collections::HashMap;

use super::arch::{Arch, Dim, Need};
use super::hparams::Hparams;
use super::{Check, SemanticError};
use crate::{GgufInfo, TensorInfo};

/// `GGML_TYPE_*` ids the rules name.
mod id {
    pub const F32: u32 = 0;
    pub const Q8_1: u32 = 9;
    pub const Q8_K: u32 = 15;
    pub const I8: u32 = 24;
    pub const I16: u32 = 25;
    pub const I32: u32 = 26;
    pub const I64: u32 = 27;
    pub const F64: u32 = 28;
}

/// What a tensor is used for, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A norm weight or a bias: added to or multiplied with F32 activations element-wise,
    /// which ggml's CPU `binary_op` supports only for an F32 operand.
    Elementwise,
    /// A weight matrix (or embedding table): any float or quantized type with a dot-product
    /// kernel.
    Weight,
}

fn role(t: &TensorInfo) -> Role {
    let stem = t
        .name
        .rsplit_once('.')
        .map_or(t.name.as_str(), |(stem, _)| stem);
    if t.name.ends_with(".bias") || stem.ends_with("norm") || stem.ends_with("_norm") {
        Role::Elementwise
    } else {
        Role::Weight
    }
}

/// Check every tensor's type, then (for a described architecture) presence and shapes.
pub(crate) fn check(info: &GgufInfo, arch: Option<&Arch>, hp: &Hparams) -> Check {
    for t in &info.tensors {
        check_type(t)?;
    }
    match arch {
        Some(arch) => check_layout(info, arch, hp),
        None => Ok(()),
    }
}

fn check_type(t: &TensorInfo) -> Check {
    let field = format!("tensor {}", t.name);
    let ty = t.type_name();
    match (role(t), t.ggml_type) {
        (Role::Elementwise, id::F32) => Ok(()),
        (Role::Elementwise, _) => Err(SemanticError::new(
            field,
            format!("type {ty} is not allowed for a norm or bias (must be F32)"),
        )),
        (_, id::I8 | id::I16 | id::I32 | id::I64) => Err(SemanticError::new(
            field,
            format!("integer type {ty} is not allowed for weights"),
        )),
        (_, id::F64 | id::Q8_1 | id::Q8_K) => Err(SemanticError::new(
            field,
            format!("type {ty} has no matrix kernel in ggml and cannot hold weights"),
        )),
        _ => Ok(()),
    }
}

fn check_layout(info: &GgufInfo, arch: &Arch, hp: &Hparams) -> Check {
    let by_name: HashMap<&str, &TensorInfo> =
        info.tensors.iter().map(|t| (t.name.as_str(), t)).collect();
    let n_vocab = hp.n_vocab.ok_or_else(|| {
        SemanticError::new(
            "tokenizer.ggml.tokens",
            "is missing, so the vocabulary size is unknown",
        )
    })?;
    for spec in arch.global {
        let shape = resolve(spec.shape, hp, n_vocab, 0);
        expect(&by_name, spec.name, spec.need, &shape, hp, false)?;
    }
    for il in 0..hp.n_layer {
        let fused = by_name.contains_key(format!("blk.{il}.attn_qkv.weight").as_str());
        for spec in arch.layer {
            let name = format!("blk.{il}.{}", spec.name);
            let shape = resolve(spec.shape, hp, n_vocab, il as usize);
            expect(&by_name, &name, spec.need, &shape, hp, fused)?;
        }
    }
    Ok(())
}

/// The expected dimensions for layer `il` (`None` for any size).
fn resolve(shape: &[Dim], hp: &Hparams, n_vocab: u64, il: usize) -> Vec<Option<u64>> {
    let at = |v: &Vec<u64>| v.get(il).copied().unwrap_or(0);
    let (n_head, n_head_kv) = (at(&hp.n_head), at(&hp.n_head_kv));
    let (head_k, head_v, n_ff) = (at(&hp.head_k), at(&hp.head_v), at(&hp.n_ff));
    shape
        .iter()
        .map(|d| match d {
            Dim::Embd => Some(hp.n_embd),
            Dim::Vocab => Some(n_vocab),
            Dim::Ff => Some(n_ff),
            Dim::Ff2 => Some(2 * n_ff),
            Dim::Q => Some(head_k * n_head),
            Dim::KGqa => Some(head_k * n_head_kv),
            Dim::VGqa => Some(head_v * n_head_kv),
            Dim::Qkv => Some(head_k * n_head + head_k * n_head_kv + head_v * n_head_kv),
            Dim::HeadK => Some(head_k),
            Dim::Experts => Some(hp.n_expert),
            Dim::Ctx => Some(hp.n_ctx),
            Dim::Any => None,
        })
        .collect()
}

fn expect(
    by_name: &HashMap<&str, &TensorInfo>,
    name: &str,
    need: Need,
    shape: &[Option<u64>],
    hp: &Hparams,
    fused_qkv: bool,
) -> Check {
    let required = match need {
        Need::Always => true,
        Need::Optional => false,
        Need::Split => !fused_qkv,
        Need::Dense => hp.n_expert == 0,
        Need::Moe => hp.n_expert > 0,
    };
    let Some(t) = by_name.get(name) else {
        if required {
            return Err(SemanticError::new(
                format!("tensor {name}"),
                "is missing (llama.cpp requires it for this architecture)",
            ));
        }
        return Ok(());
    };
    let fits = t.dims.len() <= 4
        && (0..4).all(|i| {
            let have = t.dims.get(i).copied().unwrap_or(1);
            match shape.get(i) {
                Some(Some(want)) => have == *want,
                Some(None) => true,
                None => have == 1,
            }
        });
    if !fits {
        let want: Vec<String> = shape
            .iter()
            .map(|d| d.map_or("*".to_owned(), |n| n.to_string()))
            .collect();
        return Err(SemanticError::new(
            format!("tensor {name}"),
            format!(
                "has shape {:?}, expected [{}] from the hyperparameters",
                t.dims,
                want.join(", ")
            ),
        ));
    }
    Ok(())
}
