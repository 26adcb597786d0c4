//! Writes small seed inputs for the GGUF fuzz target (`scripts/fuzz`): a miniature model shrunk
//! from a real one (one layer, 64-wide, a 64-token vocabulary, zeroed weights), which passes every
//! check, so mutations start deep inside the header and semantic rules; plus a few single-field
//! edits of it.
//!
//! ```text
//! cargo run --release -p hearth-gguf --features edit --example fuzz-seeds -- MODEL.gguf OUT_DIR
//! ```
//!
//! The output is a few tens of kilobytes of zeros and metadata, never model weights.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hearth_gguf::edit::{Gguf, Value};

/// The miniature's sizes.
const EMBD: u64 = 64;
const FFN: u64 = 128;
const VOCAB: usize = 64;

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [model, out] = args.as_slice() else {
        eprintln!("usage: fuzz-seeds MODEL.gguf OUT_DIR");
        return ExitCode::from(2);
    };
    match run(model, out) {
        Ok(n) => {
            println!("fuzz-seeds: wrote {n} seeds to {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fuzz-seeds: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(model: &Path, out: &Path) -> Result<usize, String> {
    let source = Gguf::open(model).map_err(|e| format!("{}: {e}", model.display()))?;
    let arch = match source.get("general.architecture") {
        Some(Value::Str(a)) => a.clone(),
        _ => return Err("the model has no general.architecture".into()),
    };
    let mini = shrink(&source, &arch)?;
    let bytes = serialize(&mini);
    let info = hearth_gguf::validate_bytes(&bytes).map_err(|e| format!("miniature: {e}"))?;
    hearth_gguf::check_model(&info).map_err(|e| format!("miniature: {e}"))?;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut seeds = vec![("mini.gguf".to_owned(), bytes.clone())];
    // A few variants that stop at different rules, so the corpus starts with each path.
    for (name, key, value) in [
        ("no-layers", format!("{arch}.block_count"), Value::U32(0)),
        (
            "bad-eps",
            format!("{arch}.attention.layer_norm_rms_epsilon"),
            Value::F32(-1.0),
        ),
        (
            "no-vocab",
            "tokenizer.ggml.model".to_owned(),
            Value::Str("none".into()),
        ),
    ] {
        let mut g = mini.clone();
        g.set(&key, value);
        seeds.push((format!("{name}.gguf"), serialize(&g)));
    }
    seeds.push(("header-only.gguf".to_owned(), mini.header_bytes()));
    for (name, bytes) in &seeds {
        let path = out.join(name);
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(seeds.len())
}

/// One layer, narrow matrices, a short vocabulary; every tensor dimension mapped to its small
/// counterpart and the offsets laid out again.
fn shrink(source: &Gguf, arch: &str) -> Result<Gguf, String> {
    let get = |key: &str| match source.get(&format!("{arch}.{key}")) {
        Some(Value::U32(v)) => Some(u64::from(*v)),
        Some(Value::U64(v)) => Some(*v),
        _ => None,
    };
    let n_embd = get("embedding_length").ok_or("no embedding_length")?;
    let n_ff = get("feed_forward_length").ok_or("no feed_forward_length")?;
    let n_head = get("attention.head_count").ok_or("no head_count")?;
    let n_head_kv = get("attention.head_count_kv").unwrap_or(n_head);
    let head_dim = get("attention.key_length").unwrap_or(n_embd / n_head);
    let n_vocab = match source.get("tokenizer.ggml.tokens") {
        Some(Value::Array(_, v)) => v.len() as u64,
        _ => return Err("no tokenizer.ggml.tokens".into()),
    };
    // Old size -> new size. The head size stays; one head of it, one KV head.
    let mut dims: HashMap<u64, u64> = HashMap::new();
    dims.insert(n_embd, EMBD);
    dims.insert(n_ff, FFN);
    dims.insert(n_head * head_dim, head_dim);
    dims.insert(n_head_kv * head_dim, head_dim);
    dims.insert(n_vocab, VOCAB as u64);
    if head_dim != EMBD {
        return Err(format!(
            "head size {head_dim} differs from the miniature's width {EMBD}"
        ));
    }

    let mut g = source.clone();
    let key = |k: &str| format!("{arch}.{k}");
    g.set(&key("block_count"), Value::U32(1));
    g.set(&key("embedding_length"), Value::U32(EMBD as u32));
    g.set(&key("feed_forward_length"), Value::U32(FFN as u32));
    g.set(&key("attention.head_count"), Value::U32(1));
    g.set(&key("attention.head_count_kv"), Value::U32(1));
    if g.get(&key("vocab_size")).is_some() {
        g.set(&key("vocab_size"), Value::U32(VOCAB as u32));
    }
    for (k, v) in g.kvs.iter_mut() {
        match v {
            Value::Array(_, items)
                if k.starts_with("tokenizer.ggml.") && k != "tokenizer.ggml.merges" =>
            {
                items.truncate(VOCAB);
            }
            Value::U32(id) if k.starts_with("tokenizer.ggml.") && k.ends_with("_token_id") => {
                *id = (*id).min(VOCAB as u32 - 1);
            }
            _ => {}
        }
    }
    // Merges whose result is in the short vocabulary only.
    let tokens: Vec<String> = match g.get("tokenizer.ggml.tokens") {
        Some(Value::Array(_, v)) => v
            .iter()
            .filter_map(|t| match t {
                Value::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    if let Some(Value::Array(_, merges)) = g.get_mut("tokenizer.ggml.merges") {
        merges.retain(|m| match m {
            Value::Str(m) => m.split_once(' ').is_some_and(|(a, b)| {
                tokens.iter().any(|t| t == a)
                    && tokens.iter().any(|t| t == b)
                    && tokens.iter().any(|t| *t == format!("{a}{b}"))
            }),
            _ => false,
        });
        if merges.is_empty() {
            merges.push(Value::Str(format!("{} {}", tokens[1], tokens[2])));
        }
    }

    g.tensors
        .retain(|t| !t.name.starts_with("blk.") || t.name.starts_with("blk.0."));
    let align = 32;
    let mut offset = 0;
    for t in g.tensors.iter_mut() {
        for d in t.dims.iter_mut() {
            *d = dims.get(d).copied().unwrap_or(*d);
        }
        let ty = hearth_gguf::ggml_type(t.ggml_type).ok_or("unknown tensor type")?;
        let elements: u64 = t.dims.iter().product();
        t.offset = offset;
        offset += (elements / ty.block * ty.bytes).div_ceil(align) * align;
    }
    Ok(g)
}

/// The header and zeroed tensor data.
fn serialize(g: &Gguf) -> Vec<u8> {
    let mut bytes = g.header_bytes();
    let data: u64 = g
        .tensors
        .iter()
        .map(|t| {
            let ty = hearth_gguf::ggml_type(t.ggml_type).expect("known type");
            let elements: u64 = t.dims.iter().product();
            t.offset + elements / ty.block * ty.bytes
        })
        .max()
        .unwrap_or(0);
    bytes.resize(bytes.len() + data as usize, 0);
    bytes
}
