//! The hostile-edit table: single-field edits of the bundled SmolLM2 model (`llama`
//! architecture, `gpt2` tokenizer, 30 blocks) that llama.cpp aborts on, panics on or refuses,
//! each with the field its rejection must name. Shared by the validator's tests and the
//! server's, so both prove the same files are refused.

use super::{Gguf, Value};

/// One hostile edit.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    /// Short name for test output.
    pub name: &'static str,
    /// What the rejection must mention: the metadata key or tensor name.
    pub field: &'static str,
    /// One of the edits seen to abort or wedge a server that loads it unchecked.
    pub killer: bool,
    /// The edit.
    pub apply: fn(&mut Gguf),
}

const fn case(name: &'static str, field: &'static str, killer: bool, apply: fn(&mut Gguf)) -> Case {
    Case {
        name,
        field,
        killer,
        apply,
    }
}

fn set(g: &mut Gguf, key: &str, v: Value) {
    g.set(key, v);
}

fn truncate(g: &mut Gguf, key: &str, by: usize) {
    if let Some(Value::Array(_, items)) = g.get_mut(key) {
        let n = items.len().saturating_sub(by);
        items.truncate(n);
    }
}

fn n_tokens(g: &Gguf) -> usize {
    match g.get("tokenizer.ggml.tokens") {
        Some(Value::Array(_, t)) => t.len(),
        _ => 0,
    }
}

/// Every case.
pub const CASES: &[Case] = &[
    // The five classes llama.cpp was seen to abort or panic on.
    case("block_count_zero", "llama.block_count", true, |g| {
        set(g, "llama.block_count", Value::U32(0))
    }),
    case("block_count_max", "llama.block_count", true, |g| {
        set(g, "llama.block_count", Value::U32(u32::MAX))
    }),
    case(
        "rms_eps_negative",
        "llama.attention.layer_norm_rms_epsilon",
        true,
        |g| {
            set(
                g,
                "llama.attention.layer_norm_rms_epsilon",
                Value::F32(-1.0),
            );
        },
    ),
    case("tokenizer_none", "tokenizer.ggml.model", true, |g| {
        set(g, "tokenizer.ggml.model", Value::Str("none".into()))
    }),
    case(
        "tokenizer_llama_on_bpe",
        "tokenizer.ggml.scores",
        true,
        |g| {
            set(g, "tokenizer.ggml.model", Value::Str("llama".into()));
        },
    ),
    case("norm_type_i32", "blk.0.attn_norm.weight", true, |g| {
        g.tensor("blk.0.attn_norm.weight").ggml_type = 26
    }),
    case("context_length_max", "llama.context_length", true, |g| {
        set(g, "llama.context_length", Value::U32(u32::MAX));
    }),
    // Hyperparameters.
    case("context_length_zero", "llama.context_length", false, |g| {
        set(g, "llama.context_length", Value::U32(0))
    }),
    case("block_count_string", "llama.block_count", false, |g| {
        set(g, "llama.block_count", Value::Str("30".into()))
    }),
    case(
        "embedding_length_zero",
        "llama.embedding_length",
        false,
        |g| set(g, "llama.embedding_length", Value::U32(0)),
    ),
    case(
        "feed_forward_length_zero",
        "llama.feed_forward_length",
        false,
        |g| {
            set(g, "llama.feed_forward_length", Value::U32(0));
        },
    ),
    case(
        "head_count_zero",
        "llama.attention.head_count",
        false,
        |g| set(g, "llama.attention.head_count", Value::U32(0)),
    ),
    case(
        "head_count_per_layer_short",
        "llama.attention.head_count",
        false,
        |g| {
            set(
                g,
                "llama.attention.head_count",
                Value::Array(4, vec![Value::U32(9); 29]),
            );
        },
    ),
    case(
        "head_count_kv_not_dividing",
        "llama.attention.head_count_kv",
        false,
        |g| {
            set(g, "llama.attention.head_count_kv", Value::U32(2));
        },
    ),
    case(
        "head_count_kv_zero",
        "llama.attention.head_count_kv",
        false,
        |g| {
            set(g, "llama.attention.head_count_kv", Value::U32(0));
        },
    ),
    case(
        "rms_eps_nan",
        "llama.attention.layer_norm_rms_epsilon",
        false,
        |g| {
            set(
                g,
                "llama.attention.layer_norm_rms_epsilon",
                Value::F32(f32::NAN),
            );
        },
    ),
    case(
        "rms_eps_infinite",
        "llama.attention.layer_norm_rms_epsilon",
        false,
        |g| {
            set(
                g,
                "llama.attention.layer_norm_rms_epsilon",
                Value::F32(f32::INFINITY),
            );
        },
    ),
    case(
        "rms_eps_missing",
        "llama.attention.layer_norm_rms_epsilon",
        false,
        |g| {
            g.remove("llama.attention.layer_norm_rms_epsilon");
        },
    ),
    case("rope_freq_base_zero", "llama.rope.freq_base", false, |g| {
        set(g, "llama.rope.freq_base", Value::F32(0.0))
    }),
    case("rope_freq_base_nan", "llama.rope.freq_base", false, |g| {
        set(g, "llama.rope.freq_base", Value::F32(f32::NAN))
    }),
    case(
        "rope_scale_negative",
        "llama.rope.scaling.factor",
        false,
        |g| {
            set(g, "llama.rope.scaling.factor", Value::F32(-2.0));
        },
    ),
    case(
        "rope_scaling_type_unknown",
        "llama.rope.scaling.type",
        false,
        |g| {
            set(g, "llama.rope.scaling.type", Value::Str("warp".into()));
        },
    ),
    case(
        "rope_dimension_odd",
        "llama.rope.dimension_count",
        false,
        |g| {
            set(g, "llama.rope.dimension_count", Value::U32(63));
        },
    ),
    case("expert_count_huge", "llama.expert_count", false, |g| {
        set(g, "llama.expert_count", Value::U32(1 << 20))
    }),
    case(
        "expert_used_over_count",
        "llama.expert_used_count",
        false,
        |g| {
            set(g, "llama.expert_count", Value::U32(8));
            set(g, "llama.expert_used_count", Value::U32(9));
        },
    ),
    case(
        "nextn_layers_over_blocks",
        "llama.nextn_predict_layers",
        false,
        |g| {
            set(g, "llama.nextn_predict_layers", Value::U32(31));
        },
    ),
    case("architecture_missing", "general.architecture", false, |g| {
        g.remove("general.architecture");
    }),
    // Tokenizer.
    case("tokenizer_unknown", "tokenizer.ggml.model", false, |g| {
        set(
            g,
            "tokenizer.ggml.model",
            Value::Str("sentencepiece".into()),
        );
    }),
    case(
        "tokenizer_model_missing",
        "tokenizer.ggml.model",
        false,
        |g| {
            g.remove("tokenizer.ggml.model");
        },
    ),
    case("tokens_missing", "tokenizer.ggml.tokens", false, |g| {
        g.remove("tokenizer.ggml.tokens");
    }),
    case("tokens_empty", "tokenizer.ggml.tokens", false, |g| {
        set(g, "tokenizer.ggml.tokens", Value::Array(8, Vec::new()));
    }),
    case(
        "scores_length_mismatch",
        "tokenizer.ggml.scores",
        false,
        |g| {
            let n = n_tokens(g);
            set(
                g,
                "tokenizer.ggml.scores",
                Value::Array(6, vec![Value::F32(0.0); n - 1]),
            );
        },
    ),
    case(
        "token_type_length_mismatch",
        "tokenizer.ggml.token_type",
        false,
        |g| {
            truncate(g, "tokenizer.ggml.token_type", 1);
        },
    ),
    case(
        "token_type_bad_byte",
        "tokenizer.ggml.token_type[0]",
        false,
        |g| {
            if let Some(Value::Array(_, items)) = g.get_mut("tokenizer.ggml.token_type") {
                items[0] = Value::I32(6);
            }
        },
    ),
    case("merges_missing", "tokenizer.ggml.merges", false, |g| {
        g.remove("tokenizer.ggml.merges");
    }),
    case(
        "bos_id_past_vocab",
        "tokenizer.ggml.bos_token_id",
        false,
        |g| {
            let n = n_tokens(g) as u32;
            set(g, "tokenizer.ggml.bos_token_id", Value::U32(n));
        },
    ),
    case("eos_id_huge", "tokenizer.ggml.eos_token_id", false, |g| {
        set(g, "tokenizer.ggml.eos_token_id", Value::U32(u32::MAX));
    }),
    // Tensors.
    case("token_embd_missing", "token_embd.weight", false, |g| {
        g.tensor("token_embd.weight").name = "token_embd.weighx".into();
    }),
    case("output_norm_missing", "output_norm.weight", false, |g| {
        g.tensor("output_norm.weight").name = "output_norm.weighx".into();
    }),
    case(
        "attn_q_missing_in_one_block",
        "blk.17.attn_q.weight",
        false,
        |g| {
            g.tensor("blk.17.attn_q.weight").name = "blk.17.attn_x.weight".into();
        },
    ),
    case("token_embd_transposed", "token_embd.weight", false, |g| {
        g.tensor("token_embd.weight").dims.reverse()
    }),
    case("ffn_up_wrong_shape", "blk.3.ffn_up.weight", false, |g| {
        let t = g.tensor("blk.3.ffn_up.weight");
        t.dims = vec![t.dims[0] * 2, t.dims[1] / 2];
    }),
    case("norm_type_f16", "blk.0.ffn_norm.weight", false, |g| {
        let t = g.tensor("blk.0.ffn_norm.weight");
        t.ggml_type = 1;
        t.dims = vec![t.dims[0] * 2];
    }),
    case("norm_type_i16", "blk.29.attn_norm.weight", false, |g| {
        let t = g.tensor("blk.29.attn_norm.weight");
        t.ggml_type = 25;
        t.dims = vec![t.dims[0] * 2];
    }),
    case(
        "tensor_offset_outside_file",
        "token_embd.weight",
        false,
        |g| {
            g.tensor("token_embd.weight").offset = 1 << 40;
        },
    ),
    case("tensor_type_removed", "blk.1.ffn_norm.weight", false, |g| {
        g.tensor("blk.1.ffn_norm.weight").ggml_type = 31
    }),
];
