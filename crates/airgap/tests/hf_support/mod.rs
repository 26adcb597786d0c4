//! Shared by the `hf_*` tests: the bundled SmolLM2 GGUF (required, never skipped), a
//! `tokenizer.json` rebuilt from that GGUF's own vocabulary and merges with the `tokenizers`
//! crate (as its Hugging Face original is: byte-level BPE after single-digit splitting), and
//! Hugging Face cache layouts.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use hearth_engine::gguf::GgufValue;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, Tokenizer};

/// The bundled SmolLM2 GGUF and its sha256; panics (never skips) when it was not fetched.
pub fn smol_gguf() -> (PathBuf, String, u64) {
    let m = hearth_engine::bundled::find("smollm2:135m").unwrap();
    let path = hearth_engine::bundled::locate(m).unwrap_or_else(|e| {
        panic!("the bundled model is required: run scripts/fetch-models.sh ({e})")
    });
    (path, m.sha256.clone(), m.size)
}

/// How to spoil a rebuilt tokenizer.
#[derive(Debug, Clone, Copy)]
pub enum Spoil {
    /// Exactly as the GGUF.
    None,
    /// The vocabulary entries of two ids exchanged.
    SwapIds(u32, u32),
    /// Only the first `n` merges kept.
    TruncateMerges(usize),
}

/// A `tokenizer.json` for the GGUF at `gguf`, built from its vocabulary and merges.
pub fn tokenizer_from_gguf(gguf: &Path, spoil: Spoil) -> Tokenizer {
    let info = hearth_engine::gguf::validate(gguf).unwrap();
    let array = |key: &str| match info.get(key) {
        Some(GgufValue::Array(items)) => items.clone(),
        other => panic!("{key}: {other:?}"),
    };
    let tokens: Vec<String> = array("tokenizer.ggml.tokens")
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    let types: Vec<u64> = array("tokenizer.ggml.token_type")
        .iter()
        .map(|t| t.as_u64().unwrap())
        .collect();
    let mut merges: Vec<(String, String)> = array("tokenizer.ggml.merges")
        .iter()
        .map(|m| {
            let (a, b) = m.as_str().unwrap().split_once(' ').unwrap();
            (a.to_owned(), b.to_owned())
        })
        .collect();
    let mut ids: Vec<u32> = (0..tokens.len() as u32).collect();
    match spoil {
        Spoil::None => {}
        Spoil::SwapIds(a, b) => ids.swap(a as usize, b as usize),
        Spoil::TruncateMerges(n) => merges.truncate(n),
    }
    let vocab: tokenizers::models::bpe::Vocab =
        tokens.iter().cloned().zip(ids.iter().copied()).collect();
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .unwrap();
    let mut tok = Tokenizer::new(bpe);
    tok.with_pre_tokenizer(Some(Sequence::new(vec![
        Digits::new(true).into(),
        ByteLevel::new(false, true, true).into(),
    ])));
    tok.with_decoder(Some(ByteLevel::default()));
    let specials: Vec<AddedToken> = tokens
        .iter()
        .zip(&types)
        .filter(|(_, &t)| t == 3)
        .map(|(s, _)| AddedToken::from(s.clone(), true))
        .collect();
    tok.add_special_tokens(&specials);
    tok
}

/// Write a rebuilt `tokenizer.json` to `path`.
pub fn write_tokenizer(gguf: &Path, spoil: Spoil, path: &Path) {
    tokenizer_from_gguf(gguf, spoil).save(path, false).unwrap();
}

/// Lay out a hub cache at `cache` holding `files` (name → content path) for `user/repo` at
/// `commit`, as huggingface_hub writes it: refs/main, snapshots/<commit>/<name> linking to
/// ../../blobs/<sha256>.
pub fn lay_out_cache(cache: &Path, repo_id: &str, commit: &str, files: &[(&str, &Path)]) {
    use sha2::Digest as _;
    let repo = cache.join(format!("models--{}", repo_id.replace('/', "--")));
    let snapshot = repo.join("snapshots").join(commit);
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::create_dir_all(repo.join("blobs")).unwrap();
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::write(repo.join("refs/main"), commit).unwrap();
    for (name, content) in files {
        let bytes = std::fs::read(content).unwrap();
        let etag = format!("{:x}", sha2::Sha256::digest(&bytes));
        let blob = repo.join("blobs").join(&etag);
        if !blob.exists() {
            std::os::unix::fs::symlink(content, &blob).unwrap();
        }
        std::os::unix::fs::symlink(format!("../../blobs/{etag}"), snapshot.join(name)).unwrap();
    }
}
