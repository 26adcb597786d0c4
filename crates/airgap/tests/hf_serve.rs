//! `POST /api/pull` of an `hf.co` name on a real `hearth serve` (the airgap registry client
//! plugged in): fetched from a fake Hub (HF_ENDPOINT, HF_HOME, HF_TOKEN from the environment, as
//! the server reads them) into the HF cache and the store, with Ollama-style NDJSON progress and
//! the tokenizer check; with the Hub gone an uncached name is a clear error and nothing changes.
//! The only test in this binary: it owns the process environment.

mod common;
mod hf_support;

use hearth_store::names::ModelName;
use hearth_store::{manifest as mt, Store};
use hf_support::{serve, smol_gguf, smol_hub, TOKEN};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_pull_resolves_hf_names() {
    let (_, sha, size) = smol_gguf();
    let dir = tempfile::tempdir().unwrap();
    let hub = smol_hub(dir.path());
    let (addr, stop, server) = serve(hub).await;
    let hf_home = dir.path().join("hf-home");
    for k in [
        "HF_HUB_CACHE",
        "HUGGINGFACE_HUB_CACHE",
        "HF_HUB_OFFLINE",
        "HEARTH_HF_REFRESH",
    ] {
        std::env::remove_var(k);
    }
    std::env::set_var("HF_HOME", &hf_home);
    std::env::set_var("HF_ENDPOINT", format!("http://{addr}"));
    std::env::set_var("HF_TOKEN", TOKEN);

    let store = Store::new(dir.path().join("store"));
    let served = common::serve_hearth(&store, false).await;
    let url = format!("http://127.0.0.1:{}/api/pull", served.port);
    let http = reqwest::Client::new();
    let text = http
        .post(&url)
        .json(&json!({"model": "hf.co/someone/smol-GGUF:Q4_1"}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.last().unwrap()["status"], "success", "{text}");
    assert!(
        lines.iter().any(|v| v["status"] == "pulling smol-Q4_1.gguf"
            && v["total"] == size
            && v["completed"] == size),
        "{text}"
    );
    assert!(
        lines.iter().any(|v| v["status"]
            .as_str()
            .unwrap_or_default()
            .starts_with("tokenizer check: GGUF tokenizer matches tokenizer.json")),
        "{text}"
    );
    let name = ModelName::parse("hf.co/someone/smol-GGUF:Q4_1").unwrap();
    let manifest = store.get(&name).unwrap().expect("pulled into the store");
    assert_eq!(
        manifest.manifest.layer(mt::MEDIA_MODEL).unwrap().digest,
        format!("sha256:{sha}")
    );
    assert!(hf_home
        .join("hub/models--someone--smol-GGUF/refs/main")
        .is_file());

    // The Hub gone (the server's HF_ENDPOINT now refuses connections): an uncached name fails
    // clearly, the store is unchanged.
    stop.send(()).unwrap();
    server.await.unwrap();
    let resp = http
        .post(&url)
        .json(&json!({"model": "hf.co/someone/other-GGUF:Q4_1", "stream": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    let v: Value = resp.json().await.unwrap();
    let err = v["error"].as_str().unwrap();
    assert!(
        err.contains("not in the local Hugging Face cache") && err.contains("could not be reached"),
        "{err}"
    );
    assert_eq!(store.list().len(), 1);
    for k in ["HF_HOME", "HF_ENDPOINT", "HF_TOKEN"] {
        std::env::remove_var(k);
    }
}
