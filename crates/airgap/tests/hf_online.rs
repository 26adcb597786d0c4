//! `hf.co/...` names online, against a fake Hugging Face Hub on loopback serving what `hf-hub`
//! asks for (repo info, `resolve/` with etag / x-repo-commit / Range): the real SmolLM2 GGUF
//! lands in a temporary HF cache and in the store with the right digest, its tokenizer is checked;
//! with the hub gone the same name still pulls from the cache, and an uncached one says the hub
//! could not be reached. Nothing is written to the store when a pull is refused.

mod common;
mod hf_support;

use std::path::Path;
use std::sync::atomic::Ordering;

use hearth_airgap::hf::{self, HfOptions, Source};
use hearth_airgap::hf_tokcheck::TokenizerCheck;
use hearth_store::names::ModelName;
use hearth_store::{manifest as mt, Store};
use hf_support::{dead_endpoint, serve, smol_gguf, smol_hub, COMMIT, TOKEN};

fn opts(cache: &Path, endpoint: &str) -> HfOptions {
    let mut o = HfOptions::with_cache(cache);
    o.endpoint = endpoint.to_owned();
    o.token = Some(TOKEN.to_owned());
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulls_from_a_hub_into_the_cache_then_offline() {
    let (_, sha, size) = smol_gguf();
    let dir = tempfile::tempdir().unwrap();
    let hub = smol_hub(dir.path());
    let (addr, stop, server) = serve(hub.clone()).await;
    let endpoint = format!("http://{addr}");
    let hf_home = dir.path().join("hf-home");
    let cache = hf_home.join("hub");
    let store = Store::new(dir.path().join("store"));
    let name = ModelName::parse("hf.co/someone/smol-GGUF:Q4_1").unwrap();

    // Refusals first: none of them may write to the store.
    let mut anonymous = opts(&cache, &endpoint);
    anonymous.token = None;
    let err = hf::pull(&store, &name, &anonymous, |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("HF_TOKEN") && err.contains("401"), "{err}");
    let q2 = ModelName::parse("hf.co/someone/smol-GGUF:Q2_K").unwrap();
    let err = hf::pull(&store, &q2, &opts(&cache, &endpoint), |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no GGUF for quant Q2_K") && err.contains("smol-Q4_1.gguf, smol-Q8_0.gguf"),
        "{err}"
    );
    let nobody = ModelName::parse("hf.co/nobody/nothing").unwrap();
    let err = hf::pull(&store, &nobody, &opts(&cache, &endpoint), |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("nobody/nothing was not found"), "{err}");
    assert!(store.list().is_empty());
    assert_eq!(
        hub.total.load(Ordering::SeqCst),
        3,
        "one listing each, no download"
    );

    // Online: listed, the Q4_1 file and tokenizer.json downloaded into the cache, imported.
    let mut lines = Vec::new();
    let pulled = hf::pull(&store, &name, &opts(&cache, &endpoint), |v| lines.push(v))
        .await
        .unwrap();
    assert_eq!(pulled.source, Source::Hub);
    let weights = pulled.manifest.layer(mt::MEDIA_MODEL).unwrap();
    assert_eq!(weights.digest, format!("sha256:{sha}"));
    assert_eq!(weights.size, size);
    assert!(
        matches!(pulled.tokenizer, Some(TokenizerCheck::Match { .. })),
        "{:?}",
        pulled.tokenizer
    );
    assert_eq!(
        store.list()[0].name.display(),
        "hf.co/someone/smol-GGUF:Q4_1"
    );
    assert!(
        lines.iter().any(|v| v["status"] == "pulling smol-Q4_1.gguf"
            && v["total"] == size
            && v["completed"] == size),
        "{lines:?}"
    );
    assert_eq!(lines.last().unwrap()["status"], "success");
    let repo_dir = cache.join("models--someone--smol-GGUF");
    assert_eq!(
        std::fs::read_to_string(repo_dir.join("refs/main")).unwrap(),
        COMMIT
    );
    let snap = repo_dir.join("snapshots").join(COMMIT);
    assert_eq!(
        std::fs::read_link(snap.join("smol-Q4_1.gguf")).unwrap(),
        Path::new("../../blobs").join(&sha)
    );
    assert!(snap.join("tokenizer.json").is_file());
    assert!(pulled.gguf.starts_with(&snap));
    {
        let hits = hub.hits.lock().unwrap();
        assert!(!hits.contains_key("resolve smol-Q8_0.gguf"), "{hits:?}");
        assert!(!hits.contains_key("resolve README.md"), "{hits:?}");
    }

    // Cached: a second pull never touches the network, even with the hub still up.
    let before = hub.total.load(Ordering::SeqCst);
    let store2 = Store::new(dir.path().join("store2"));
    let again = hf::pull(&store2, &name, &opts(&cache, &endpoint), |_| {})
        .await
        .unwrap();
    assert_eq!(again.source, Source::Cache);
    assert_eq!(hub.total.load(Ordering::SeqCst), before);

    // The hub gone: the cached name still pulls, an uncached one explains itself.
    stop.send(()).unwrap();
    server.await.unwrap();
    let store3 = Store::new(dir.path().join("store3"));
    let offline = hf::pull(&store3, &name, &opts(&cache, &endpoint), |_| {})
        .await
        .unwrap();
    assert_eq!(offline.source, Source::Cache);
    assert_eq!(
        offline.manifest.layer(mt::MEDIA_MODEL).unwrap().digest,
        weights.digest
    );
    let other = ModelName::parse("hf.co/someone/other-GGUF:Q4_1").unwrap();
    let err = hf::pull(
        &store3,
        &other,
        &opts(&cache, &dead_endpoint().await),
        |_| {},
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("someone/other-GGUF is not in the local Hugging Face cache")
            && err.contains(&cache.display().to_string())
            && err.contains("could not be reached"),
        "{err}"
    );
    let mut no_net = opts(&cache, &endpoint);
    no_net.offline = true;
    let err = hf::pull(&store3, &other, &no_net, |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("HF_HUB_OFFLINE"), "{err}");
    assert_eq!(store3.list().len(), 1);

    // The CLI reads the same cache from HF_HOME, with the hub unreachable.
    let models = dir.path().join("cli-store");
    let out = std::process::Command::new(common::hearth_bin())
        .args(["pull", "hf.co/someone/smol-GGUF:Q4_1", "--models-dir"])
        .arg(&models)
        .env("HF_HOME", &hf_home)
        .env_remove("HF_HUB_CACHE")
        .env_remove("HUGGINGFACE_HUB_CACHE")
        .env("HF_ENDPOINT", dead_endpoint().await)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("imported hf.co/someone/smol-GGUF:Q4_1 from the Hugging Face cache"),
        "{stderr}"
    );
    assert_eq!(Store::new(&models).list().len(), 1);
}
