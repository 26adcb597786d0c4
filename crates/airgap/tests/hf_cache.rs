//! `hf.co/{user}/{repo}[:{quant}]` from a Hugging Face cache laid out by the test (refs/main,
//! snapshots linking into blobs/), with the real bundled GGUF as the weights; no network.

mod common;
mod hf_support;

use hearth_airgap::hf;
use hearth_store::names::ModelName;
use hearth_store::{manifest as mt, Store};

#[test]
fn hf_names_resolve_offline_from_the_cache() {
    let m = hearth_store::builtin::find("smollm2:135m").unwrap();
    let gguf = common::smollm2_gguf();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("hub");
    let readme = dir.path().join("README.md");
    std::fs::write(&readme, b"not a model").unwrap();
    hf_support::lay_out_cache(
        &cache,
        "someone/smol-GGUF",
        "0123456789abcdef0123456789abcdef01234567",
        &[
            ("smol-Q4_1.gguf", &gguf),
            ("smol-Q4_K_M.gguf", &gguf),
            ("README.md", &readme),
        ],
    );
    let store = Store::new(dir.path().join("store"));

    let name = ModelName::parse("hf.co/someone/smol-GGUF:Q4_1").unwrap();
    assert!(hf::resolve(&cache, &name)
        .unwrap()
        .ends_with("smol-Q4_1.gguf"));
    let latest = ModelName::parse("hf.co/someone/smol-GGUF").unwrap();
    assert!(hf::resolve(&cache, &latest)
        .unwrap()
        .ends_with("smol-Q4_K_M.gguf"));

    let manifest = hf::import_cached(&store, &cache, &name).unwrap();
    let weights = manifest.layer(mt::MEDIA_MODEL).unwrap();
    assert_eq!(weights.digest, format!("sha256:{}", m.sha256));
    assert_eq!(weights.size, m.size);
    assert_eq!(
        store.list()[0].name.display(),
        "hf.co/someone/smol-GGUF:Q4_1"
    );

    let missing = ModelName::parse("hf.co/someone/smol-GGUF:Q8_0").unwrap();
    let err = hf::resolve(&cache, &missing).unwrap_err().to_string();
    assert!(
        err.contains("no GGUF for quant Q8_0") && err.contains("smol-Q4_1.gguf"),
        "{err}"
    );
    let other = ModelName::parse("hf.co/nobody/nothing").unwrap();
    let err = hf::resolve(&cache, &other).unwrap_err().to_string();
    assert!(err.contains("not in the Hugging Face cache"), "{err}");
}
