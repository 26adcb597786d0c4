//! hearth-to-hearth over loopback: one store served by the read-only registry, pulled into
//! others with digests checked; an interrupted pull resumes with `Range`; a corrupt partial
//! download, a lying registry and an unknown model leave no model behind.

mod common;

use std::sync::{Arc, Mutex};

use hearth_airgap::registry::{self, pull::partial_path, PullOptions};
use hearth_store::names::ModelName;
use hearth_store::{manifest as mt, Digest, Layer, Manifest, Store};
use serde_json::Value;

/// Serve `store` read-only on a loopback port; returns the port and the `Range` headers seen.
async fn serve(store: Store) -> (u16, Arc<Mutex<Vec<String>>>) {
    let ranges = Arc::new(Mutex::new(Vec::new()));
    let seen = ranges.clone();
    let app = registry::router(store).layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            if let Some(r) = req.headers().get("range") {
                seen.lock().unwrap().push(r.to_str().unwrap().to_owned());
            }
            next.run(req)
        },
    ));
    (common::serve(app).await, ranges)
}

/// The real bundled smollm2 imported into a fresh store as `library/smol:q4`.
fn source_store() -> (tempfile::TempDir, Store, Manifest) {
    let gguf = common::smollm2_gguf();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let name = ModelName::parse("library/smol:q4").unwrap();
    let manifest = hearth_airgap::gguf_import::create_from_gguf(&store, &name, &gguf).unwrap();
    (dir, store, manifest)
}

#[tokio::test(flavor = "multi_thread")]
async fn hearth_to_hearth_pull_resume_and_refusals() {
    let (_a, a, manifest) = source_store();
    let (port, ranges) = serve(a.clone()).await;
    let name = ModelName::parse(&format!("127.0.0.1:{port}/library/smol:q4")).unwrap();
    let opts = PullOptions { insecure: true };

    // A clean pull, with Ollama's status lines.
    let b_dir = tempfile::tempdir().unwrap();
    let b = Store::new(b_dir.path());
    let mut lines = Vec::new();
    let got = registry::pull(&b, &name, &opts, |v| lines.push(v))
        .await
        .unwrap();
    assert_eq!(got, manifest);
    let statuses: Vec<&str> = lines.iter().filter_map(|v| v["status"].as_str()).collect();
    assert_eq!(statuses.first(), Some(&"pulling manifest"));
    assert!(statuses.contains(&"pulling b179c9523d0e"), "{statuses:?}");
    assert_eq!(
        &statuses[statuses.len() - 3..],
        ["verifying sha256 digest", "writing manifest", "success"]
    );
    let last_progress = lines
        .iter()
        .rfind(|v| v["digest"] == manifest.layers[0].digest)
        .unwrap();
    assert_eq!(last_progress["completed"], last_progress["total"]);
    assert_eq!(b.get(&name).unwrap().unwrap().manifest, manifest);
    common::assert_blobs_verified(&b, &manifest);
    assert!(ranges.lock().unwrap().is_empty());

    // An interrupted pull (the first 40 MB already on disk) resumes with Range.
    let c_dir = tempfile::tempdir().unwrap();
    let c = Store::new(c_dir.path());
    let weights = Digest::parse(&manifest.layers[0].digest).unwrap();
    let full = std::fs::read(a.blob_path(&weights)).unwrap();
    std::fs::create_dir_all(c_dir.path().join("blobs")).unwrap();
    std::fs::write(partial_path(&c, &weights), &full[..40_000_000]).unwrap();
    registry::pull(&c, &name, &opts, |_| {}).await.unwrap();
    assert_eq!(*ranges.lock().unwrap(), vec!["bytes=40000000-".to_owned()]);
    common::assert_blobs_verified(&c, &manifest);
    assert!(!partial_path(&c, &weights).exists());

    // A corrupt partial download is caught by the digest check, then the next pull starts over.
    let d_dir = tempfile::tempdir().unwrap();
    let d = Store::new(d_dir.path());
    std::fs::create_dir_all(d_dir.path().join("blobs")).unwrap();
    let mut bad = full[..1000].to_vec();
    bad[10] ^= 1;
    std::fs::write(partial_path(&d, &weights), &bad).unwrap();
    let err = registry::pull(&d, &name, &opts, |_| {}).await.unwrap_err();
    assert!(err.to_string().contains("sha256 mismatch"), "{err}");
    assert!(d.list().is_empty() && !d.has_blob(&weights));
    registry::pull(&d, &name, &opts, |_| {}).await.unwrap();
    common::assert_blobs_verified(&d, &manifest);

    // Unknown models and bad names.
    let unknown = ModelName::parse(&format!("127.0.0.1:{port}/library/nope:1")).unwrap();
    let err = registry::pull(&d, &unknown, &opts, |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "pull model manifest: file does not exist");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_registry_that_lies_about_sizes_is_refused() {
    let src_dir = tempfile::tempdir().unwrap();
    let src = Store::new(src_dir.path());
    let w = src.put_blob_bytes(&[1u8; 5000]).unwrap();
    let c = src.put_blob_bytes(b"{}").unwrap();
    let layer = |media: &str, d: &Digest, size: u64| Layer {
        media_type: media.into(),
        digest: d.wire(),
        size,
        from: None,
    };
    let lying = Manifest::new(
        layer(mt::MEDIA_CONFIG, &c, 2),
        vec![layer(mt::MEDIA_MODEL, &w, 4000)],
    );
    src.put_manifest(&ModelName::parse("liar").unwrap(), &lying)
        .unwrap();
    let (port, _) = serve(src).await;
    let dst_dir = tempfile::tempdir().unwrap();
    let dst = Store::new(dst_dir.path());
    let name = ModelName::parse(&format!("127.0.0.1:{port}/library/liar:latest")).unwrap();
    let err = registry::pull(&dst, &name, &PullOptions { insecure: true }, |_| {})
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("more than the 4000 bytes"),
        "{err}"
    );
    assert!(dst.list().is_empty() && !dst.has_blob(&w));
    assert!(!partial_path(&dst, &w).exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn api_pull_streams_ollama_progress_lines() {
    let src_dir = tempfile::tempdir().unwrap();
    let src = Store::new(src_dir.path());
    let w = src.put_blob_bytes(&[3u8; 3000]).unwrap();
    let c = src.put_blob_bytes(b"{}").unwrap();
    let m = Manifest::new(
        Layer {
            media_type: mt::MEDIA_CONFIG.into(),
            digest: c.wire(),
            size: 2,
            from: None,
        },
        vec![Layer {
            media_type: mt::MEDIA_MODEL.into(),
            digest: w.wire(),
            size: 3000,
            from: None,
        }],
    );
    src.put_manifest(&ModelName::parse("tiny:1").unwrap(), &m)
        .unwrap();
    let (reg_port, _) = serve(src).await;
    let dst_dir = tempfile::tempdir().unwrap();
    let dst = Store::new(dst_dir.path());
    let served = common::serve_hearth(&dst, false).await;
    let port = served.port;
    let url = format!("http://127.0.0.1:{port}/api/pull");
    let model = format!("127.0.0.1:{reg_port}/library/tiny:1");
    let http = reqwest::Client::new();
    let resp = http
        .post(&url)
        .json(&serde_json::json!({"model": model, "insecure": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "application/x-ndjson");
    let text = resp.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["status"], "pulling manifest");
    assert_eq!(lines.last().unwrap()["status"], "success", "{text}");
    assert!(dst
        .get(&ModelName::parse(&model).unwrap())
        .unwrap()
        .is_some());
    let resp = http
        .post(&url)
        .json(&serde_json::json!({"model": format!("127.0.0.1:{reg_port}/x/none"), "insecure": true, "stream": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"], "pull model manifest: file does not exist");
    let resp = http
        .post(&url)
        .json(&serde_json::json!({"model": "../bad"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_manifests_are_refused() {
    use axum::routing::get;
    let bad_digest = r#"{"schemaVersion":2,"mediaType":"x","config":{"mediaType":"c","digest":"sha256:../../../etc/passwd","size":1},"layers":[]}"#;
    let app = axum::Router::new()
        .route(
            "/v2/library/evil/manifests/latest",
            get(move || async move { bad_digest }),
        )
        .route(
            "/v2/library/junk/manifests/latest",
            get(|| async { "not json" }),
        );
    let port = common::serve(app).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let opts = PullOptions { insecure: true };
    for (model, why) in [("evil", "bad digest"), ("junk", "pull model manifest")] {
        let name = ModelName::parse(&format!("127.0.0.1:{port}/library/{model}")).unwrap();
        let err = registry::pull(&store, &name, &opts, |_| {})
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(why), "{model}: {err}");
    }
    assert!(store.list().is_empty());
    assert!(!dir.path().join("blobs").exists());
}

/// A registry whose connection drops after `cut` bytes of the weights blob.
async fn serve_flaky(store: Store, weights: Digest, cut: usize) -> u16 {
    use axum::routing::get;
    let bytes = std::fs::read(store.blob_path(&weights)).unwrap();
    let total = bytes.len();
    let blob_path = format!("/v2/library/smol/blobs/{}", weights.wire());
    let app = axum::Router::new()
        .route(
            &blob_path,
            get(move || {
                let head = bytes::Bytes::copy_from_slice(&bytes[..cut]);
                async move {
                    let body = futures::stream::iter(vec![
                        Ok(head),
                        Err(std::io::Error::other("cable pulled")),
                    ]);
                    axum::response::Response::builder()
                        .header("content-length", total)
                        .body(axum::body::Body::from_stream(body))
                        .unwrap()
                }
            }),
        )
        .fallback_service(registry::router(store));
    common::serve(app).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_connection_leaves_no_model_and_the_next_pull_resumes() {
    let (_a, a, manifest) = source_store();
    let weights = Digest::parse(&manifest.layers[0].digest).unwrap();
    let flaky = serve_flaky(a.clone(), weights.clone(), 30_000_000).await;
    let (good, ranges) = serve(a.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let b = Store::new(dir.path());
    let opts = PullOptions { insecure: true };

    let name = ModelName::parse(&format!("127.0.0.1:{flaky}/library/smol:q4")).unwrap();
    let err = registry::pull(&b, &name, &opts, |_| {}).await.unwrap_err();
    assert!(err.to_string().contains("pulling sha256:"), "{err}");
    assert!(b.list().is_empty(), "no model after an interrupted pull");
    assert!(!b.has_blob(&weights));
    let partial = std::fs::metadata(partial_path(&b, &weights)).unwrap().len();
    assert!(partial > 0 && partial <= 30_000_000, "{partial}");

    let name = ModelName::parse(&format!("127.0.0.1:{good}/library/smol:q4")).unwrap();
    registry::pull(&b, &name, &opts, |_| {}).await.unwrap();
    assert_eq!(*ranges.lock().unwrap(), vec![format!("bytes={partial}-")]);
    common::assert_blobs_verified(&b, &manifest);
    assert!(!partial_path(&b, &weights).exists());
}

/// `hearth serve --registry`: the `/v2/` routes merged into the API's router (behind its guards)
/// serve a pull like the registry router alone, next to the API.
#[tokio::test(flavor = "multi_thread")]
async fn v2_routes_work_inside_the_api_router() {
    let (_a, a, manifest) = source_store();
    let served = common::serve_hearth(&a, true).await;
    let port = served.port;
    let dir = tempfile::tempdir().unwrap();
    let b = Store::new(dir.path());
    let name = ModelName::parse(&format!("127.0.0.1:{port}/library/smol:q4")).unwrap();
    registry::pull(&b, &name, &PullOptions { insecure: true }, |_| {})
        .await
        .unwrap();
    common::assert_blobs_verified(&b, &manifest);
    let base = format!("http://127.0.0.1:{port}");
    let v2 = reqwest::get(format!("{base}/v2/")).await.unwrap();
    assert_eq!(v2.status(), 200);
    let root = reqwest::get(&base).await.unwrap().text().await.unwrap();
    assert_eq!(root, "Ollama is running");
}
