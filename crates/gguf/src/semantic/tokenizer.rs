//! Tokenizer rules: a tokenizer model llama.cpp knows, and vocabulary arrays consistent with
//! it. llama.cpp trusts these at tokenization time (inside `extern "C"` calls, where a C++
//! exception or a `GGML_ABORT` takes the whole process down).

use super::keys::{array, kind, string, uint};
use super::{Check, SemanticError};
use crate::{GgufInfo, GgufValue};

/// How llama.cpp tokenizes with a given `tokenizer.ggml.model`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// SentencePiece (`llama`): scores, and byte-fallback tokens `<0x00>`…`<0xFF>`.
    Spm,
    /// Byte-level BPE (`gpt2` and friends): merges.
    Bpe,
    /// WordPiece (`bert`).
    Wpm,
    /// Unigram (`t5`): scores.
    Ugm,
    /// RWKV's trie tokenizer.
    Rwkv,
    /// PLaMo-2.
    Plamo2,
}

/// `tokenizer.ggml.model` values llama.cpp's `llama_vocab::impl::load` accepts (its `test`
/// model is for llama.cpp's own tests, and `none`/`no_vocab` leave a model that cannot
/// tokenize text, which aborts at the first request).
const MODELS: &[(&str, Kind)] = &[
    ("llama", Kind::Spm),
    ("gpt2", Kind::Bpe),
    ("hybriddna", Kind::Bpe),
    ("whitespace", Kind::Bpe),
    ("gemma4", Kind::Bpe),
    ("bert", Kind::Wpm),
    ("t5", Kind::Ugm),
    ("rwkv", Kind::Rwkv),
    ("plamo2", Kind::Plamo2),
];

/// Special-token ids llama.cpp reads.
const SPECIAL_IDS: &[&str] = &[
    "bos",
    "eos",
    "eot",
    "eom",
    "unknown",
    "seperator",
    "padding",
    "cls",
    "mask",
    "fim_pre",
    "fim_suf",
    "fim_mid",
    "fim_pad",
    "fim_rep",
    "fim_sep",
    "prefix",
    "suffix",
    "middle",
];

/// `LLAMA_TOKEN_TYPE_BYTE`.
const TOKEN_TYPE_BYTE: i64 = 6;

const MODEL: &str = "tokenizer.ggml.model";
const TOKENS: &str = "tokenizer.ggml.tokens";
const SCORES: &str = "tokenizer.ggml.scores";
const TOKEN_TYPE: &str = "tokenizer.ggml.token_type";
const MERGES: &str = "tokenizer.ggml.merges";

/// Check the tokenizer of `info`.
pub(crate) fn check(info: &GgufInfo) -> Check {
    let model = string(info, MODEL)?.ok_or_else(|| {
        SemanticError::new(
            MODEL,
            "is missing (llama.cpp needs a tokenizer to run the model)",
        )
    })?;
    let tk = match MODELS.iter().find(|(name, _)| *name == model) {
        Some((_, k)) => *k,
        None if model == "none" || model == "no_vocab" => {
            return Err(SemanticError::new(
                MODEL,
                format!("{model:?} means the file has no vocabulary, so text cannot be tokenized"),
            ))
        }
        None => {
            let known: Vec<&str> = MODELS.iter().map(|(n, _)| *n).collect();
            return Err(SemanticError::new(
                MODEL,
                format!(
                    "unknown tokenizer model {model:?} (llama.cpp knows {})",
                    known.join(", ")
                ),
            ));
        }
    };

    let tokens = array(info, TOKENS)?.ok_or_else(|| SemanticError::new(TOKENS, "is missing"))?;
    if tokens.is_empty() {
        return Err(SemanticError::new(TOKENS, "is empty"));
    }
    if tokens.len() as u64 > i32::MAX as u64 {
        return Err(SemanticError::new(
            TOKENS,
            format!(
                "has {} tokens, more than llama.cpp's token ids can address",
                tokens.len()
            ),
        ));
    }
    let mut texts = Vec::with_capacity(tokens.len());
    for (i, t) in tokens.iter().enumerate() {
        match t {
            GgufValue::String(s) => texts.push(s.as_str()),
            other => {
                return Err(SemanticError::new(
                    format!("{TOKENS}[{i}]"),
                    format!("must be a string, found {}", kind(other)),
                ))
            }
        }
    }
    let n = texts.len();

    let scores = array(info, SCORES)?;
    if let Some(scores) = scores {
        same_length(SCORES, scores.len(), n)?;
        if let Some((i, v)) = scores.iter().enumerate().find(|(_, v)| !is_number(v)) {
            return Err(SemanticError::new(
                format!("{SCORES}[{i}]"),
                format!("must be a finite number, found {}", describe(v)),
            ));
        }
    } else if matches!(tk, Kind::Spm | Kind::Ugm) {
        return Err(SemanticError::new(
            SCORES,
            format!("is missing, but the {model:?} tokenizer ranks pieces by score"),
        ));
    }

    let types = array(info, TOKEN_TYPE)?;
    if let Some(types) = types {
        same_length(TOKEN_TYPE, types.len(), n)?;
        for (i, v) in types.iter().enumerate() {
            let GgufValue::I64(t) = *v else {
                return Err(SemanticError::new(
                    format!("{TOKEN_TYPE}[{i}]"),
                    format!("must be an i32, found {}", describe(v)),
                ));
            };
            if t == TOKEN_TYPE_BYTE {
                if tk == Kind::Wpm {
                    return Err(SemanticError::new(
                        format!("{TOKEN_TYPE}[{i}]"),
                        "marks a byte token, which the \"bert\" tokenizer cannot decode",
                    ));
                }
                if !is_byte_token(texts[i]) && tk != Kind::Rwkv {
                    return Err(SemanticError::new(
                        format!("{TOKEN_TYPE}[{i}]"),
                        format!(
                            "marks {:?} as a byte token, but byte tokens are spelled <0xXX>",
                            texts[i]
                        ),
                    ));
                }
            }
        }
    }

    match tk {
        Kind::Bpe => {
            let kimi = string(info, "tokenizer.ggml.pre")? == Some("kimi-k2");
            match array(info, MERGES)? {
                Some(merges) => {
                    if let Some((i, v)) = merges
                        .iter()
                        .enumerate()
                        .find(|(_, v)| v.as_str().is_none())
                    {
                        return Err(SemanticError::new(
                            format!("{MERGES}[{i}]"),
                            format!("must be a string, found {}", kind_of(v)),
                        ));
                    }
                }
                None if kimi && model == "gpt2" => {}
                None => {
                    return Err(SemanticError::new(
                        MERGES,
                        format!("is missing, but the {model:?} (BPE) tokenizer needs merges"),
                    ))
                }
            }
        }
        Kind::Spm => byte_fallback(&texts, model)?,
        Kind::Rwkv => {
            if !texts.iter().any(|t| *t == "\\n" || *t == "\n") {
                return Err(SemanticError::new(
                    TOKENS,
                    "has no newline token, which llama.cpp's RWKV tokenizer requires",
                ));
            }
        }
        Kind::Ugm => {
            if let Some(map) = array(info, "tokenizer.ggml.precompiled_charsmap")? {
                charsmap(map)?;
            }
        }
        Kind::Wpm | Kind::Plamo2 => {}
    }

    for name in SPECIAL_IDS {
        let key = format!("tokenizer.ggml.{name}_token_id");
        if info.get(&key).is_some() {
            uint(info, &key, 0..=(n as u64 - 1)).map_err(|e| {
                SemanticError::new(
                    e.field.clone(),
                    format!("{}; the vocabulary has {n} tokens", e.reason),
                )
            })?;
        }
    }
    Ok(())
}

fn same_length(key: &str, len: usize, n: usize) -> Check {
    if len != n {
        return Err(SemanticError::new(
            key,
            format!("has {len} entries but {TOKENS} has {n}"),
        ));
    }
    Ok(())
}

fn is_number(v: &GgufValue) -> bool {
    match v {
        GgufValue::F64(x) => x.is_finite(),
        GgufValue::I64(_) => true,
        _ => false,
    }
}

fn describe(v: &GgufValue) -> String {
    match v {
        GgufValue::F64(x) => x.to_string(),
        other => kind(other).to_owned(),
    }
}

fn kind_of(v: &GgufValue) -> &'static str {
    kind(v)
}

/// `<0xXX>` with two upper-case hex digits, as llama.cpp's `token_to_byte` parses it.
fn is_byte_token(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 6
        && t.starts_with("<0x")
        && b[5] == b'>'
        && b[3..5].iter().all(u8::is_ascii_hexdigit)
}

/// SentencePiece falls back to byte tokens for text no piece covers: llama.cpp looks up
/// `<0xXX>` (or the byte itself, for ASCII) and throws through its C API when it is missing,
/// which aborts the process. A vocabulary without them is not a SentencePiece vocabulary.
fn byte_fallback(texts: &[&str], model: &str) -> Check {
    let present: std::collections::HashSet<&str> = texts.iter().copied().collect();
    for byte in 0u8..=255 {
        let hex = format!("<0x{byte:02X}>");
        let ascii = byte.is_ascii().then(|| (byte as char).to_string());
        if !present.contains(hex.as_str()) && !ascii.as_deref().is_some_and(|a| present.contains(a))
        {
            return Err(SemanticError::new(
                TOKENS,
                format!(
                    "has no byte token {hex}, which the {model:?} (SentencePiece) tokenizer falls back to; \
                     is this a BPE vocabulary with the wrong {MODEL}?"
                ),
            ));
        }
    }
    Ok(())
}

/// The T5 precompiled charsmap: a `u32` blob size, then that many bytes of XCDA array.
fn charsmap(map: &[GgufValue]) -> Check {
    let key = "tokenizer.ggml.precompiled_charsmap";
    let bytes: Option<Vec<u8>> = map
        .iter()
        .map(|v| match *v {
            GgufValue::U64(b) => u8::try_from(b).ok(),
            GgufValue::I64(b) => i8::try_from(b).ok().map(|b| b as u8),
            _ => None,
        })
        .collect();
    let Some(bytes) = bytes else {
        return Err(SemanticError::new(key, "must be an array of bytes"));
    };
    if bytes.len() < 4 {
        return Err(SemanticError::new(key, "is too short for its size header"));
    }
    let blob = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    if blob.saturating_add(4) >= bytes.len() {
        return Err(SemanticError::new(
            key,
            format!(
                "declares a {blob}-byte table but holds {} bytes",
                bytes.len() - 4
            ),
        ));
    }
    Ok(())
}
