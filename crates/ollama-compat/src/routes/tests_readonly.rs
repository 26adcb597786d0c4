//! Read-only stores (a bundled executable's models, `HEARTH_EXTRA_MODELS`): listed and served
//! after the writable store, never deleted from, copied out into the writable store on request.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use super::tests::{app_with, call, error_of, post};
use hearth_store::names::ModelName;
use hearth_store::{manifest as mt, Layer, Manifest, Store};

/// A read-only store holding `ro/model:1` with a SYSTEM and PARAMETERs.
fn read_only_store(dir: &std::path::Path) -> Store {
    let store = Store::new(dir);
    let layer = |media: &str, bytes: &[u8]| Layer {
        media_type: media.into(),
        digest: store.put_blob_bytes(bytes).unwrap().wire(),
        size: bytes.len() as u64,
        from: None,
    };
    let m = Manifest::new(
        layer(
            mt::MEDIA_CONFIG,
            br#"{"model_format":"gguf","model_family":"llama"}"#,
        ),
        vec![
            layer(mt::MEDIA_MODEL, b"read-only weights"),
            layer(mt::MEDIA_SYSTEM, b"From the bundle."),
            layer(mt::MEDIA_PARAMS, br#"{"temperature":0.5}"#),
        ],
    );
    store
        .put_manifest(&ModelName::parse("ro/model:1").unwrap(), &m)
        .unwrap();
    store
}

#[tokio::test]
async fn read_only_models_are_served_but_never_deleted() {
    let ro_dir = tempfile::tempdir().unwrap();
    let ro = read_only_store(ro_dir.path());
    let before: Vec<_> = std::fs::read_dir(ro.root().join("blobs"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let a = app_with(|c| c.read_only_models = vec![ro_dir.path().to_owned()]);

    let (_, _, b) = call(&a, Method::GET, "/api/tags", None).await;
    let tags: Value = serde_json::from_slice(&b).unwrap();
    let names: Vec<&str> = tags["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert!(names.contains(&"ro/model:1"), "{tags}");

    let (s, v) = post(&a, "/api/show", json!({"model": "RO/Model:1"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["system"], "From the bundle.");
    assert!(
        v["parameters"].as_str().unwrap().contains("temperature"),
        "{v}"
    );

    let (s, _, b) = call(
        &a,
        Method::DELETE,
        "/api/delete",
        Some(json!({"model": "ro/model:1"})),
    )
    .await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(error_of(&v).contains("read-only"), "{v}");

    // A copy lands in the writable store, weights included; deleting it leaves the original.
    let (s, _, _) = call(
        &a,
        Method::POST,
        "/api/copy",
        Some(json!({"source": "ro/model:1", "destination": "mine:1"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = post(&a, "/api/show", json!({"model": "mine:1"})).await;
    assert_eq!(
        (s, &v["system"]),
        (StatusCode::OK, &json!("From the bundle."))
    );
    let (s, _, _) = call(
        &a,
        Method::DELETE,
        "/api/delete",
        Some(json!({"model": "mine:1"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = post(&a, "/api/show", json!({"model": "ro/model:1"})).await;
    assert_eq!(s, StatusCode::OK);
    let after: Vec<_> = std::fs::read_dir(ro.root().join("blobs"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before, after, "the read-only store is untouched");
}
