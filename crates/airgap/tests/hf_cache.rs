//! `hf.co/{user}/{repo}[:{quant}]` from a Hugging Face cache laid out by the test (refs/main,
//! snapshots linking into blobs/), with the real bundled GGUF as the weights; no network.

mod common;
mod hf_support;

use std::path::Path;

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

#[test]
fn cache_dir_follows_hf_variables() {
    // One test owns the environment (no other test in this binary reads these variables).
    std::env::set_var("HF_HUB_CACHE", "/x/hub-cache");
    assert_eq!(hf::cache_dir(), Path::new("/x/hub-cache"));
    std::env::remove_var("HF_HUB_CACHE");
    std::env::set_var("HF_HOME", "/y/hf");
    assert_eq!(hf::cache_dir(), Path::new("/y/hf/hub"));

    // The online settings, as huggingface_hub reads them.
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("token"), "hf_from_file\n").unwrap();
    std::env::set_var("HF_HOME", home.path());
    for k in [
        "HF_ENDPOINT",
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HF_TOKEN_PATH",
    ] {
        std::env::remove_var(k);
    }
    let o = hf::HfOptions::from_env();
    assert_eq!(o.cache, home.path().join("hub"));
    assert_eq!(o.endpoint, hf::DEFAULT_ENDPOINT);
    assert_eq!(o.token.as_deref(), Some("hf_from_file"));
    std::env::set_var("HF_ENDPOINT", "http://mirror.local:8080/");
    std::env::set_var("HF_TOKEN", "hf_from_env");
    std::env::set_var("HF_HUB_OFFLINE", "1");
    std::env::set_var("HEARTH_HF_REFRESH", "true");
    let o = hf::HfOptions::from_env();
    assert_eq!(o.endpoint, "http://mirror.local:8080");
    assert_eq!(o.token.as_deref(), Some("hf_from_env"));
    assert!(o.offline && o.refresh);
    for k in [
        "HF_HOME",
        "HF_ENDPOINT",
        "HF_TOKEN",
        "HF_HUB_OFFLINE",
        "HEARTH_HF_REFRESH",
    ] {
        std::env::remove_var(k);
    }
}
