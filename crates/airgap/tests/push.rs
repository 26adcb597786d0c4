//! hearth-to-hearth push over loopback into a registry with the opt-in upload routes: blobs
//! arrive verified, the manifest last; a wrong digest and a manifest naming missing blobs are
//! refused; the read-only registry refuses uploads.

mod common;

use common::serve;
use hearth_airgap::registry::{self, PullOptions};
use hearth_store::names::ModelName;
use hearth_store::{Digest, Store};

#[tokio::test(flavor = "multi_thread")]
async fn push_to_a_writable_hearth_registry() {
    let gguf = common::smollm2_gguf();
    let a_dir = tempfile::tempdir().unwrap();
    let a = Store::new(a_dir.path());
    let local = ModelName::parse("smol:q4").unwrap();
    let manifest = hearth_airgap::gguf_import::create_from_gguf(&a, &local, &gguf).unwrap();

    let b_dir = tempfile::tempdir().unwrap();
    let b = Store::new(b_dir.path());
    let port = serve(registry::router(b.clone()).merge(registry::upload::router(b.clone()))).await;
    let remote = ModelName::parse(&format!("127.0.0.1:{port}/team/smol:q4")).unwrap();
    assert!(a.copy(&local, &remote).unwrap());
    let opts = PullOptions { insecure: true };
    let mut lines = Vec::new();
    registry::push(&a, &remote, &opts, |v| lines.push(v))
        .await
        .unwrap();
    let statuses: Vec<&str> = lines.iter().filter_map(|v| v["status"].as_str()).collect();
    assert_eq!(statuses[0], "retrieving manifest");
    assert!(statuses.contains(&"starting upload"));
    assert_eq!(
        &statuses[statuses.len() - 2..],
        ["pushing manifest", "success"]
    );
    let got = b
        .get(&ModelName::parse("team/smol:q4").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(got.manifest, manifest);
    for d in manifest.digests() {
        let d = Digest::parse(d).unwrap();
        assert_eq!(Digest::of(&std::fs::read(b.blob_path(&d)).unwrap()), d);
    }
    // Pushing again uploads nothing.
    let mut again = Vec::new();
    registry::push(&a, &remote, &opts, |v| again.push(v))
        .await
        .unwrap();
    assert!(!again.iter().any(|v| v["status"] == "starting upload"));

    // A body that does not match its digest, and a manifest naming a missing blob.
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}/v2/team/x");
    let wrong = Digest::of(b"something else");
    let resp = http
        .put(format!("{base}/blobs/uploads/1?digest={}", wrong.wire()))
        .body("data")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(!b.has_blob(&wrong));
    let mut missing = manifest.clone();
    missing.layers[0].digest = wrong.wire();
    let resp = http
        .put(format!("{base}/manifests/latest"))
        .body(serde_json::to_vec(&missing).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("missing"));
    assert!(b
        .get(&ModelName::parse("team/x").unwrap())
        .unwrap()
        .is_none());

    // The read-only registry has no upload routes.
    let c_dir = tempfile::tempdir().unwrap();
    let c = Store::new(c_dir.path());
    let port_c = serve(registry::router(c.clone())).await;
    let name_c = ModelName::parse(&format!("127.0.0.1:{port_c}/team/smol:q4")).unwrap();
    assert!(a.copy(&local, &name_c).unwrap());
    let err = registry::push(&a, &name_c, &opts, |_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("refused"), "{err}");
    assert!(c.list().is_empty());
}
