//! Does a GGUF tokenize like the Hugging Face tokenizer it was converted from? Broken conversions
//! exist in the wild (a wrong pre-tokenizer, lost merges, shifted ids) and only show as a model
//! that is quietly worse. When a repo carries `tokenizer.json`, a fixed probe text is tokenized
//! with the `tokenizers` crate and with the GGUF's own tokenizer through llama.cpp (vocabulary
//! only), and the ids are compared.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use crate::error::{AirgapError, Result};

/// The probe text: mixed case, digits and numbers, punctuation, accents and other scripts,
/// emoji, code, and runs of spaces, tabs and newlines.
pub const PROBE: &str = "Hello World! HELLO world, hello WORLD; It's what they've said: \
\"don't\" -- isn't it?\n\
Numbers: 0 7 42 1234567890 3.14159 -17 1e-9 2024-06-01T12:34:56Z $1,299.99 50% #3\n\
Accents: naïve café résumé Ünïcödé Ñandú façade Ωμέγα Привет мир 你好世界 こんにちは 안녕하세요\n\
Emoji: 🦀🚀👍🏽 ❤️ 🇫🇷 ✨\n\
fn main() {\n    let xs: Vec<u8> = vec![1, 2, 3];\n    println!(\"{xs:?} => {}\", xs.len() * 2); // done\n}\n\
\tTabs\t\tand    spaces   between\r\n\n\n  trailing  ";

/// The outcome of a tokenizer cross-check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenizerCheck {
    /// Both tokenizers produce the same ids for the probe text.
    Match {
        /// How many tokens the probe text is (special tokens left out).
        tokens: usize,
    },
    /// They differ.
    Mismatch(TokenizerMismatch),
}

/// Where and how two tokenizations of the probe text part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenizerMismatch {
    /// Index of the first differing token (special tokens at either end left out).
    pub position: usize,
    /// The GGUF's ids (through llama.cpp), special tokens at either end left out.
    pub gguf: Vec<i32>,
    /// `tokenizer.json`'s ids, special tokens at either end left out.
    pub hf: Vec<i32>,
    /// The GGUF's token at `position` as its vocabulary spells it (`None` past the end).
    pub gguf_piece: Option<String>,
    /// `tokenizer.json`'s token at `position` (`None` past the end).
    pub hf_piece: Option<String>,
}

impl TokenizerCheck {
    /// Whether the tokenizers agree.
    pub fn is_match(&self) -> bool {
        matches!(self, TokenizerCheck::Match { .. })
    }

    /// One line for logs and progress output.
    pub fn status_line(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for TokenizerCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenizerCheck::Match { tokens } => write!(
                f,
                "tokenizer check: GGUF tokenizer matches tokenizer.json ({tokens} tokens of probe text)"
            ),
            TokenizerCheck::Mismatch(m) => {
                let side = |ids: &[i32], piece: &Option<String>| match ids.get(m.position) {
                    Some(id) => format!("{id} {:?}", piece.as_deref().unwrap_or("?")),
                    None => "nothing (its tokens end there)".to_owned(),
                };
                write!(
                    f,
                    "tokenizer check: GGUF tokenizer differs from tokenizer.json at token {}: GGUF has {}, tokenizer.json has {} ({} vs {} tokens of probe text); the GGUF may be a broken conversion and produce worse output",
                    m.position,
                    side(&m.gguf, &m.gguf_piece),
                    side(&m.hf, &m.hf_piece),
                    m.gguf.len(),
                    m.hf.len()
                )
            }
        }
    }
}

/// Compare two tokenizations after dropping special tokens at either end of each (a BOS or EOS
/// added by one side only): `None` when equal, else the first differing index.
pub fn first_difference(
    gguf: &mut Vec<i32>,
    hf: &mut Vec<i32>,
    is_special: impl Fn(i32) -> bool,
) -> Option<usize> {
    for ids in [&mut *gguf, &mut *hf] {
        while ids.last().is_some_and(|&t| is_special(t)) {
            ids.pop();
        }
        let lead = ids.iter().take_while(|&&t| is_special(t)).count();
        ids.drain(..lead);
    }
    let common = gguf
        .iter()
        .zip(hf.iter())
        .take_while(|(a, b)| a == b)
        .count();
    (common < gguf.len().max(hf.len())).then_some(common)
}

/// Tokenize [`PROBE`] with the GGUF at `gguf` (through llama.cpp) and with `tokenizer_json` (the
/// `tokenizers` crate) and compare. Blocking.
///
/// # Errors
/// When either tokenizer cannot be loaded; a mismatch is a result, not an error.
pub fn check_tokenizer(gguf: &Path, tokenizer_json: &Path) -> Result<TokenizerCheck> {
    check_text(gguf, tokenizer_json, PROBE)
}

/// [`check_tokenizer`] with another probe text.
pub fn check_text(gguf: &Path, tokenizer_json: &Path, text: &str) -> Result<TokenizerCheck> {
    let hf_tok = tokenizers::Tokenizer::from_file(tokenizer_json).map_err(|e| {
        AirgapError::Invalid(format!(
            "{}: not a usable tokenizer: {e}",
            tokenizer_json.display()
        ))
    })?;
    let encoding = hf_tok.encode(text, false).map_err(|e| {
        AirgapError::Invalid(format!(
            "{}: tokenizing failed: {e}",
            tokenizer_json.display()
        ))
    })?;
    let mut hf: Vec<i32> = encoding
        .get_ids()
        .iter()
        .map(|&id| i32::try_from(id).unwrap_or(i32::MAX))
        .collect();
    let mut ggml = hearth_engine::tokenize_gguf(gguf, text)
        .map_err(|e| AirgapError::Invalid(e.to_string()))?;
    // The GGUF's vocabulary, for naming tokens and knowing which are control tokens.
    let info =
        hearth_store::gguf::validate(gguf).map_err(|e| AirgapError::Invalid(e.to_string()))?;
    let array = |key: &str| match info.get(key) {
        Some(hearth_store::gguf::GgufValue::Array(items)) => items.as_slice(),
        _ => &[],
    };
    let pieces = array("tokenizer.ggml.tokens");
    let control: HashSet<i32> = array("tokenizer.ggml.token_type")
        .iter()
        .enumerate()
        // llama.cpp's LLAMA_TOKEN_TYPE_CONTROL.
        .filter(|(_, t)| t.as_u64() == Some(3))
        .map(|(i, _)| i32::try_from(i).unwrap_or(i32::MAX))
        .collect();
    let added: HashSet<i32> = hf_tok
        .get_added_tokens_decoder()
        .into_iter()
        .filter(|(_, t)| t.special)
        .map(|(id, _)| i32::try_from(id).unwrap_or(i32::MAX))
        .collect();
    let is_special = |t: i32| control.contains(&t) || added.contains(&t);
    Ok(match first_difference(&mut ggml, &mut hf, is_special) {
        None => TokenizerCheck::Match { tokens: ggml.len() },
        Some(position) => {
            let gguf_piece = ggml
                .get(position)
                .and_then(|&id| usize::try_from(id).ok())
                .and_then(|id| pieces.get(id))
                .and_then(|p| p.as_str())
                .map(str::to_owned);
            let hf_piece = hf
                .get(position)
                .and_then(|&id| u32::try_from(id).ok())
                .and_then(|id| hf_tok.id_to_token(id));
            TokenizerCheck::Mismatch(TokenizerMismatch {
                position,
                gguf: ggml,
                hf,
                gguf_piece,
                hf_piece,
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specials_at_the_ends_are_ignored() {
        let special = |t: i32| t < 3;
        let (mut a, mut b) = (vec![1, 10, 11, 2], vec![10, 11]);
        assert_eq!(first_difference(&mut a, &mut b, special), None);
        let (mut a, mut b) = (vec![1, 10, 12], vec![10, 11]);
        assert_eq!(first_difference(&mut a, &mut b, special), Some(1));
        let (mut a, mut b) = (vec![10, 11, 12], vec![10, 11]);
        assert_eq!(first_difference(&mut a, &mut b, special), Some(2));
    }

    #[test]
    fn mismatch_line_names_position_and_pieces() {
        let m = TokenizerCheck::Mismatch(TokenizerMismatch {
            position: 1,
            gguf: vec![5, 6],
            hf: vec![5],
            gguf_piece: Some("Ġx".into()),
            hf_piece: None,
        });
        let line = m.status_line();
        assert!(
            line.starts_with(
                "tokenizer check: GGUF tokenizer differs from tokenizer.json at token 1: GGUF has 6 \"Ġx\", tokenizer.json has nothing"
            ),
            "{line}"
        );
    }
}
