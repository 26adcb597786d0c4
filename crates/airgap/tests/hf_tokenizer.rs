//! The tokenizer cross-check on the real SmolLM2 GGUF: a `tokenizer.json` rebuilt from the GGUF's
//! own vocabulary and merges matches; one with two ids swapped or merges cut is reported as a
//! mismatch at the right token; an `hf.co` import with a broken `tokenizer.json` still succeeds.

mod common;
mod hf_support;

use hearth_airgap::hf::{self, HfOptions, Source};
use hearth_airgap::hf_tokcheck::{check_tokenizer, TokenizerCheck, PROBE};
use hearth_store::names::ModelName;
use hearth_store::{manifest as mt, Store};
use hf_support::{lay_out_cache, smol_gguf, write_tokenizer, Spoil};

fn mismatch(check: TokenizerCheck) -> hearth_airgap::hf_tokcheck::TokenizerMismatch {
    match check {
        TokenizerCheck::Mismatch(m) => m,
        other => panic!("expected a mismatch, got {other:?}"),
    }
}

#[test]
fn rebuilt_tokenizer_matches_and_spoiled_ones_do_not() {
    let (gguf, _, _) = smol_gguf();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("tokenizer.json");

    write_tokenizer(&gguf, Spoil::None, &json);
    let check = check_tokenizer(&gguf, &json).unwrap();
    let TokenizerCheck::Match { tokens } = check else {
        panic!("the GGUF's own vocabulary must match: {check}");
    };
    let ids = hearth_engine::tokenize_gguf(&gguf, PROBE).unwrap();
    assert_eq!(tokens, ids.len());
    assert!(tokens > 100, "{tokens}");
    assert!(
        check.status_line().contains("matches tokenizer.json"),
        "{check}"
    );

    // Two ids exchanged: the first token that uses either is where they part.
    let a = ids[7] as u32;
    let b = (1000..49_000u32)
        .find(|b| !ids.contains(&(*b as i32)))
        .unwrap();
    write_tokenizer(&gguf, Spoil::SwapIds(a, b), &json);
    let m = mismatch(check_tokenizer(&gguf, &json).unwrap());
    let expected = ids.iter().position(|&t| t == a as i32).unwrap();
    assert_eq!(m.position, expected);
    assert_eq!(m.gguf[m.position], a as i32);
    assert_eq!(m.hf[m.position], b as i32);
    assert_eq!(m.gguf_piece, m.hf_piece, "same piece, different id");
    let line = TokenizerCheck::Mismatch(m.clone()).status_line();
    assert!(
        line.starts_with(&format!(
            "tokenizer check: GGUF tokenizer differs from tokenizer.json at token {expected}: GGUF has {a} "
        )),
        "{line}"
    );

    // Merges cut: words come out in smaller pieces.
    write_tokenizer(&gguf, Spoil::TruncateMerges(2_000), &json);
    let m = mismatch(check_tokenizer(&gguf, &json).unwrap());
    assert_eq!(m.gguf[..m.position], m.hf[..m.position]);
    assert_ne!(m.gguf.get(m.position), m.hf.get(m.position));
    assert!(
        m.hf.len() > m.gguf.len(),
        "{} vs {}",
        m.hf.len(),
        m.gguf.len()
    );

    // Not a tokenizer at all: an error, not a verdict.
    std::fs::write(&json, b"{\"not\": \"a tokenizer\"}").unwrap();
    assert!(check_tokenizer(&gguf, &json).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_reports_a_mismatch_and_still_imports() {
    let (gguf, sha, size) = smol_gguf();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("tokenizer.json");
    write_tokenizer(&gguf, Spoil::TruncateMerges(1_000), &json);
    let cache = dir.path().join("hub");
    lay_out_cache(
        &cache,
        "someone/smol-GGUF",
        "89abcdef0123456789abcdef0123456789abcdef",
        &[("smol-Q4_1.gguf", &gguf), ("tokenizer.json", &json)],
    );
    let store = Store::new(dir.path().join("store"));
    let name = ModelName::parse("hf.co/someone/smol-GGUF:Q4_1").unwrap();
    let mut opts = HfOptions::with_cache(&cache);
    // Offline first: a cached model never asks this (unroutable) endpoint.
    opts.endpoint = "http://127.0.0.1:9".into();
    let mut lines = Vec::new();
    let pulled = hf::pull(&store, &name, &opts, |v| lines.push(v))
        .await
        .unwrap();
    assert_eq!(pulled.source, Source::Cache);
    let weights = pulled.manifest.layer(mt::MEDIA_MODEL).unwrap();
    assert_eq!(weights.digest, format!("sha256:{sha}"));
    assert_eq!(weights.size, size);
    let m = mismatch(pulled.tokenizer.expect("the check ran"));
    let status = format!(
        "tokenizer check: GGUF tokenizer differs from tokenizer.json at token {}:",
        m.position
    );
    assert!(
        lines.iter().any(|v| v["status"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&status)),
        "{lines:?}"
    );
    assert_eq!(lines.last().unwrap()["status"], "success");
    assert_eq!(store.list().len(), 1);
}
