//! The architectures whose tensors are checked in full: for each, its norm epsilon key and the
//! tensors llama.cpp's `load_arch_tensors` creates (from `src/models/<arch>.cpp` of the vendored
//! llama.cpp), with their shapes in terms of the hyperparameters. Any other architecture gets
//! the general rules only.

/// A dimension of an expected tensor shape, in terms of the hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dim {
    /// `embedding_length`.
    Embd,
    /// The vocabulary size.
    Vocab,
    /// `feed_forward_length` of the layer.
    Ff,
    /// Twice `feed_forward_length` (a fused gate and up projection).
    Ff2,
    /// `key_length * head_count` of the layer: the query projection.
    Q,
    /// `key_length * head_count_kv` of the layer.
    KGqa,
    /// `value_length * head_count_kv` of the layer.
    VGqa,
    /// `Q + KGqa + VGqa`: a fused QKV projection.
    Qkv,
    /// `key_length`: one head.
    HeadK,
    /// `expert_count`.
    Experts,
    /// `context_length` (learned position embeddings).
    Ctx,
    /// Any size (e.g. the number of token types).
    Any,
}

/// When a tensor must be present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// Always.
    Always,
    /// Never required; checked when present.
    Optional,
    /// Required unless the layer has a fused `attn_qkv.weight`.
    Split,
    /// Required when the model has no experts (dense feed-forward).
    Dense,
    /// Required when the model has experts.
    Moe,
}

/// One tensor llama.cpp creates: `name` is the part after `blk.N.` for per-layer tensors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tensor {
    pub name: &'static str,
    pub shape: &'static [Dim],
    pub need: Need,
}

const fn t(name: &'static str, shape: &'static [Dim], need: Need) -> Tensor {
    Tensor { name, shape, need }
}

/// Which layer norm epsilon the architecture reads (a required key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Eps {
    /// `attention.layer_norm_rms_epsilon`.
    Rms,
    /// `attention.layer_norm_epsilon`.
    Layer,
}

impl Eps {
    pub(crate) fn key(self) -> &'static str {
        match self {
            Eps::Rms => "attention.layer_norm_rms_epsilon",
            Eps::Layer => "attention.layer_norm_epsilon",
        }
    }
}

/// A fully checked architecture.
#[derive(Debug)]
pub(crate) struct Arch {
    pub names: &'static [&'static str],
    pub eps: Eps,
    /// Whether the query projection is `Q` (head-size based) or `Embd` wide.
    pub global: &'static [Tensor],
    pub layer: &'static [Tensor],
}

use Dim::*;
use Need::*;

const OUTPUT: [Tensor; 3] = [
    t("token_embd.weight", &[Embd, Vocab], Always),
    t("output_norm.weight", &[Embd], Always),
    t("output.weight", &[Embd, Vocab], Optional),
];

/// Attention with the query `Q` wide (llama, gemma, qwen3).
const ATTN_Q: [Tensor; 8] = [
    t("attn_norm.weight", &[Embd], Always),
    t("attn_qkv.weight", &[Embd, Qkv], Optional),
    t("attn_q.weight", &[Embd, Q], Split),
    t("attn_k.weight", &[Embd, KGqa], Split),
    t("attn_v.weight", &[Embd, VGqa], Split),
    t("attn_output.weight", &[Q, Embd], Always),
    t("attn_q.bias", &[Q], Optional),
    t("attn_k.bias", &[KGqa], Optional),
];

/// Attention with the query `Embd` wide (qwen2, phi3, bert).
const ATTN_E: [Tensor; 8] = [
    t("attn_norm.weight", &[Embd], Always),
    t("attn_qkv.weight", &[Embd, Qkv], Optional),
    t("attn_q.weight", &[Embd, Embd], Split),
    t("attn_k.weight", &[Embd, KGqa], Split),
    t("attn_v.weight", &[Embd, VGqa], Split),
    t("attn_output.weight", &[Embd, Embd], Always),
    t("attn_q.bias", &[Embd], Optional),
    t("attn_k.bias", &[KGqa], Optional),
];

const FFN_GATED: [Tensor; 4] = [
    t("ffn_norm.weight", &[Embd], Always),
    t("ffn_gate.weight", &[Embd, Ff], Dense),
    t("ffn_up.weight", &[Embd, Ff], Dense),
    t("ffn_down.weight", &[Ff, Embd], Dense),
];

const FFN_MOE: [Tensor; 4] = [
    t("ffn_gate_inp.weight", &[Embd, Experts], Moe),
    t("ffn_gate_exps.weight", &[Embd, Ff, Experts], Optional),
    t("ffn_up_exps.weight", &[Embd, Ff, Experts], Moe),
    t("ffn_down_exps.weight", &[Ff, Embd, Experts], Moe),
];

const QK_NORM: [Tensor; 2] = [
    t("attn_q_norm.weight", &[HeadK], Always),
    t("attn_k_norm.weight", &[HeadK], Always),
];

const POST_NORMS: [Tensor; 2] = [
    t("post_attention_norm.weight", &[Embd], Always),
    t("post_ffw_norm.weight", &[Embd], Always),
];

const fn cat<const A: usize, const B: usize, const N: usize>(
    a: [Tensor; A],
    b: [Tensor; B],
) -> [Tensor; N] {
    let mut out = [t("", &[], Optional); N];
    let mut i = 0;
    while i < A {
        out[i] = a[i];
        i += 1;
    }
    while i < A + B {
        out[i] = b[i - A];
        i += 1;
    }
    out
}

const LLAMA_LAYER: [Tensor; 16] = cat::<12, 4, 16>(cat::<8, 4, 12>(ATTN_Q, FFN_GATED), FFN_MOE);
const GEMMA_LAYER: [Tensor; 12] = cat::<8, 4, 12>(ATTN_Q, FFN_GATED);
const GEMMA2_LAYER: [Tensor; 14] = cat::<12, 2, 14>(GEMMA_LAYER, POST_NORMS);
const GEMMA3_LAYER: [Tensor; 16] = cat::<14, 2, 16>(GEMMA2_LAYER, QK_NORM);
const QWEN2_LAYER: [Tensor; 12] = cat::<8, 4, 12>(ATTN_E, FFN_GATED);
const QWEN3_LAYER: [Tensor; 14] = cat::<12, 2, 14>(GEMMA_LAYER, QK_NORM);
const PHI3_LAYER: [Tensor; 11] = cat::<8, 3, 11>(
    ATTN_E,
    [
        t("ffn_norm.weight", &[Embd], Always),
        t("ffn_up.weight", &[Embd, Ff2], Always),
        t("ffn_down.weight", &[Ff, Embd], Always),
    ],
);

/// BERT-style encoders: attention output norm, up/down (nomic-bert adds a gate), layer norm,
/// each norm with a bias.
const BERT_LAYER: [Tensor; 13] = [
    t("attn_qkv.weight", &[Embd, Qkv], Optional),
    t("attn_q.weight", &[Embd, Embd], Split),
    t("attn_k.weight", &[Embd, KGqa], Split),
    t("attn_v.weight", &[Embd, VGqa], Split),
    t("attn_output.weight", &[Embd, Embd], Always),
    t("attn_output_norm.weight", &[Embd], Always),
    t("attn_output_norm.bias", &[Embd], Always),
    t("ffn_up.weight", &[Embd, Ff], Always),
    t("ffn_up.bias", &[Ff], Optional),
    t("ffn_down.weight", &[Ff, Embd], Always),
    t("ffn_down.bias", &[Embd], Optional),
    t("layer_output_norm.weight", &[Embd], Always),
    t("layer_output_norm.bias", &[Embd], Always),
];
const NOMIC_LAYER: [Tensor; 14] =
    cat::<13, 1, 14>(BERT_LAYER, [t("ffn_gate.weight", &[Embd, Ff], Always)]);

const BERT_GLOBAL: [Tensor; 5] = [
    t("token_embd.weight", &[Embd, Vocab], Always),
    t("token_types.weight", &[Embd, Any], Optional),
    t("position_embd.weight", &[Embd, Ctx], Always),
    t("token_embd_norm.weight", &[Embd], Always),
    t("token_embd_norm.bias", &[Embd], Always),
];
const NOMIC_GLOBAL: [Tensor; 4] = [
    t("token_embd.weight", &[Embd, Vocab], Always),
    t("token_types.weight", &[Embd, Any], Optional),
    t("token_embd_norm.weight", &[Embd], Always),
    t("token_embd_norm.bias", &[Embd], Always),
];

/// The table. `llama` also covers Mistral and Mixtral files, which llama.cpp loads as `llama`.
const ARCHS: &[Arch] = &[
    Arch {
        names: &["llama"],
        eps: Eps::Rms,
        global: &OUTPUT,
        layer: &LLAMA_LAYER,
    },
    Arch {
        names: &["gemma"],
        eps: Eps::Rms,
        global: &OUTPUT,
        layer: &GEMMA_LAYER,
    },
    Arch {
        names: &["gemma2"],
        eps: Eps::Rms,
        global: &OUTPUT,
        layer: &GEMMA2_LAYER,
    },
    Arch {
        names: &["gemma3"],
        eps: Eps::Rms,
        global: &OUTPUT,
        layer: &GEMMA3_LAYER,
    },
    Arch {
        names: &["qwen2"],
        eps: Eps::Rms,
        global: &OUTPUT,
        layer: &QWEN2_LAYER,
    },
    Arch {
        names: &["qwen3"],
        eps: Eps::Rms,
        global: &OUTPUT,
        layer: &QWEN3_LAYER,
    },
    Arch {
        names: &["phi3"],
        eps: Eps::Rms,
        global: &OUTPUT,
        layer: &PHI3_LAYER,
    },
    Arch {
        names: &["bert"],
        eps: Eps::Layer,
        global: &BERT_GLOBAL,
        layer: &BERT_LAYER,
    },
    Arch {
        names: &["nomic-bert"],
        eps: Eps::Layer,
        global: &NOMIC_GLOBAL,
        layer: &NOMIC_LAYER,
    },
];

/// The fully checked architecture named `name`, if it is one.
pub(crate) fn lookup(name: &str) -> Option<&'static Arch> {
    ARCHS.iter().find(|a| a.names.contains(&name))
}
