//! Unit tests of the semantic rules on hand-built headers: architectures and tokenizers the
//! bundled models do not exercise.

use std::collections::BTreeMap;

use super::{check_model, check_vocab};
use crate::{GgufInfo, GgufValue, TensorInfo};

fn s(v: &str) -> GgufValue {
    GgufValue::String(v.into())
}

fn u(v: u64) -> GgufValue {
    GgufValue::U64(v)
}

fn strs(items: &[&str]) -> GgufValue {
    GgufValue::Array(items.iter().map(|i| s(i)).collect())
}

/// A vocabulary of `n` plain tokens plus, for SentencePiece, every byte token.
fn vocab(model: &str, spm: bool) -> BTreeMap<String, GgufValue> {
    let mut tokens: Vec<String> = vec!["<unk>".into(), "<s>".into(), "</s>".into(), "\n".into()];
    if spm {
        tokens.extend((0..=255u8).map(|b| format!("<0x{b:02X}>")));
    }
    let n = tokens.len();
    let mut m = BTreeMap::new();
    m.insert("tokenizer.ggml.model".into(), s(model));
    m.insert(
        "tokenizer.ggml.tokens".into(),
        GgufValue::Array(tokens.iter().map(|t| s(t)).collect()),
    );
    m.insert(
        "tokenizer.ggml.scores".into(),
        GgufValue::Array(vec![GgufValue::F64(0.0); n]),
    );
    m.insert(
        "tokenizer.ggml.token_type".into(),
        GgufValue::Array(vec![GgufValue::I64(1); n]),
    );
    m.insert("tokenizer.ggml.merges".into(), strs(&["a b"]));
    m
}

fn info(metadata: BTreeMap<String, GgufValue>, tensors: Vec<TensorInfo>) -> GgufInfo {
    GgufInfo {
        version: 3,
        tensor_count: tensors.len() as u64,
        metadata,
        tensors,
        ..GgufInfo::default()
    }
}

fn tensor(name: &str, dims: &[u64], ggml_type: u32) -> TensorInfo {
    TensorInfo {
        name: name.into(),
        dims: dims.to_vec(),
        ggml_type,
        ..TensorInfo::default()
    }
}

#[test]
fn tokenizer_models_and_arrays() {
    for (model, spm) in [
        ("llama", true),
        ("gpt2", false),
        ("bert", false),
        ("t5", false),
    ] {
        check_vocab(&info(vocab(model, spm), vec![])).unwrap_or_else(|e| panic!("{model}: {e}"));
    }
    // SentencePiece without byte tokens would throw through the C API at the first
    // character no piece covers.
    let e = check_vocab(&info(vocab("llama", false), vec![])).unwrap_err();
    assert_eq!(e.field, "tokenizer.ggml.tokens");
    assert!(e.reason.contains("<0x"), "{e}");
    // WordPiece cannot decode byte tokens (GGML_ABORT in token_to_byte).
    let mut m = vocab("bert", false);
    m.insert(
        "tokenizer.ggml.token_type".into(),
        GgufValue::Array(vec![
            GgufValue::I64(1),
            GgufValue::I64(6),
            GgufValue::I64(1),
            GgufValue::I64(1),
        ]),
    );
    let e = check_vocab(&info(m, vec![])).unwrap_err();
    assert_eq!(e.field, "tokenizer.ggml.token_type[1]");
    // RWKV needs a newline token.
    let mut m = vocab("rwkv", false);
    m.insert("tokenizer.ggml.tokens".into(), strs(&["a", "b"]));
    m.remove("tokenizer.ggml.scores");
    m.remove("tokenizer.ggml.token_type");
    assert!(check_vocab(&info(m, vec![]))
        .unwrap_err()
        .reason
        .contains("newline"));
    // The T5 charsmap's declared size must fit.
    let mut m = vocab("t5", false);
    m.insert(
        "tokenizer.ggml.precompiled_charsmap".into(),
        GgufValue::Array([255u64, 0, 0, 0, 1, 2].iter().map(|&b| u(b)).collect()),
    );
    let e = check_vocab(&info(m, vec![])).unwrap_err();
    assert_eq!(e.field, "tokenizer.ggml.precompiled_charsmap");
}

/// A tiny qwen2 model: 2 layers, embedding 8, 2 heads, 1 KV head, FF 16, fused QKV in layer 1.
fn qwen2() -> (BTreeMap<String, GgufValue>, Vec<TensorInfo>) {
    let mut m = vocab("gpt2", false);
    for (k, v) in [
        ("general.architecture", s("qwen2")),
        ("qwen2.block_count", u(2)),
        ("qwen2.context_length", u(128)),
        ("qwen2.embedding_length", u(8)),
        ("qwen2.feed_forward_length", u(16)),
        ("qwen2.attention.head_count", u(2)),
        ("qwen2.attention.head_count_kv", u(1)),
        (
            "qwen2.attention.layer_norm_rms_epsilon",
            GgufValue::F64(1e-6),
        ),
    ] {
        m.insert(k.into(), v);
    }
    let mut t = vec![
        tensor("token_embd.weight", &[8, 4], 8),
        tensor("output_norm.weight", &[8], 0),
    ];
    for il in 0..2 {
        let p = |n: &str| format!("blk.{il}.{n}");
        t.push(tensor(&p("attn_norm.weight"), &[8], 0));
        if il == 0 {
            t.push(tensor(&p("attn_q.weight"), &[8, 8], 1));
            t.push(tensor(&p("attn_k.weight"), &[8, 4], 1));
            t.push(tensor(&p("attn_v.weight"), &[8, 4], 1));
            t.push(tensor(&p("attn_q.bias"), &[8], 0));
        } else {
            t.push(tensor(&p("attn_qkv.weight"), &[8, 16], 1));
        }
        t.push(tensor(&p("attn_output.weight"), &[8, 8], 1));
        t.push(tensor(&p("ffn_norm.weight"), &[8], 0));
        t.push(tensor(&p("ffn_gate.weight"), &[8, 16], 1));
        t.push(tensor(&p("ffn_up.weight"), &[8, 16], 1));
        t.push(tensor(&p("ffn_down.weight"), &[16, 8], 1));
    }
    (m, t)
}

#[test]
fn qwen2_layout_with_split_and_fused_attention() {
    let (m, t) = qwen2();
    check_model(&info(m.clone(), t.clone())).unwrap();
    let mut bad = t.clone();
    bad.retain(|t| t.name != "blk.1.attn_qkv.weight");
    let e = check_model(&info(m.clone(), bad)).unwrap_err();
    assert_eq!(e.field, "tensor blk.1.attn_q.weight");
    let mut bad = t.clone();
    bad.iter_mut()
        .find(|t| t.name == "blk.0.attn_q.bias")
        .unwrap()
        .ggml_type = 1;
    let e = check_model(&info(m.clone(), bad)).unwrap_err();
    assert_eq!(e.field, "tensor blk.0.attn_q.bias");
    let mut bad = t;
    bad.iter_mut()
        .find(|t| t.name == "blk.1.ffn_down.weight")
        .unwrap()
        .ggml_type = 15;
    let e = check_model(&info(m, bad)).unwrap_err();
    assert!(e.reason.contains("Q8_K"), "{e}");
}

#[test]
fn other_architectures_get_the_general_rules() {
    // A recurrent model with no attention heads is fine under the general rules.
    let mut m = vocab("gpt2", false);
    for (k, v) in [
        ("general.architecture", s("mamba")),
        ("mamba.block_count", u(2)),
        ("mamba.context_length", u(1024)),
        ("mamba.embedding_length", u(8)),
        (
            "mamba.attention.layer_norm_rms_epsilon",
            GgufValue::F64(1e-5),
        ),
    ] {
        m.insert(k.into(), v);
    }
    let t = vec![
        tensor("token_embd.weight", &[8, 4], 1),
        tensor("blk.0.ssm_norm.weight", &[8], 0),
    ];
    check_model(&info(m.clone(), t.clone())).unwrap();
    let mut bad = m.clone();
    bad.insert("mamba.block_count".into(), u(0));
    assert_eq!(
        check_model(&info(bad, t.clone())).unwrap_err().field,
        "mamba.block_count"
    );
    let mut bad = m.clone();
    bad.insert("mamba.ssm.time_step_rank".into(), GgufValue::F64(f64::NAN));
    assert_eq!(
        check_model(&info(bad, t.clone())).unwrap_err().field,
        "mamba.ssm.time_step_rank"
    );
    let mut bad = t;
    bad[1].ggml_type = 26;
    assert_eq!(
        check_model(&info(m, bad)).unwrap_err().field,
        "tensor blk.0.ssm_norm.weight"
    );
}
