//! Hostile model files over HTTP, with the REAL bundled model: single-field edits of SmolLM2
//! that abort llama.cpp (from `hearth_gguf::edit::hostile`) are uploaded as blobs and given to
//! `/api/create`, which must answer 400 naming the field, commit no model, and leave the
//! server serving the bundled model. Never skips: a missing model fails loudly.

mod common;

use std::sync::OnceLock;

use common::{client, models_dir, MODEL};
use hearth_gguf::edit::{hostile::CASES, Data, Gguf};
use serde_json::{json, Value};

/// One server for the whole binary.
fn base() -> &'static str {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(|| common::serve(|config| config.scheduler.num_ctx = 1024))
}

/// Upload `bytes` as a blob; returns its digest.
async fn upload(bytes: Vec<u8>) -> String {
    let digest = hearth_store::Digest::of(&bytes).wire();
    let resp = client()
        .post(format!("{}/api/blobs/{digest}", base()))
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "blob upload: {}", resp.status());
    digest
}

async fn generate_works() {
    let resp = client()
        .post(format!("{}/api/generate", base()))
        .json(&json!({"model": MODEL, "prompt": "Hello", "stream": false,
                       "options": {"num_predict": 4, "temperature": 0}}))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let v: Value = resp.json().await.unwrap();
    assert!(status.is_success(), "generate on {MODEL}: {status} {v}");
    assert_eq!(v["done"], true, "{v}");
    assert!(v["eval_count"].as_u64().unwrap() > 0, "{v}");
}

#[tokio::test]
async fn hostile_files_get_400_naming_the_field_and_the_server_keeps_serving() {
    let source = models_dir().join("smollm2-135m.gguf");
    let base_gguf = Gguf::open(&source).expect("reading the bundled model");
    let dir = tempfile::tempdir().unwrap();
    // Every killer, plus a tensor-layout case the header reader catches.
    let cases: Vec<_> = CASES
        .iter()
        .filter(|c| {
            c.killer
                || c.name == "tensor_offset_outside_file"
                || c.name == "attn_q_missing_in_one_block"
        })
        .collect();
    assert!(cases.len() >= 7);
    generate_works().await;
    for case in cases {
        let mut g = base_gguf.clone();
        (case.apply)(&mut g);
        let path = dir.path().join(format!("{}.gguf", case.name));
        g.write(&path, Data::Copy).unwrap();
        let digest = upload(std::fs::read(&path).unwrap()).await;
        std::fs::remove_file(&path).unwrap();
        let name = format!("hostile-{}", case.name.replace('_', "-"));
        let resp = client()
            .post(format!("{}/api/create", base()))
            .json(&json!({"model": name, "files": {"model.gguf": digest}}))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert_eq!(
            status, 400,
            "{}: create answered {status} {text}",
            case.name
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        let error = v["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(case.field) && error.starts_with("invalid model file \"model.gguf\": "),
            "{}: error {v} does not name {}",
            case.name,
            case.field
        );
        assert!(
            !error.contains("/blobs/"),
            "the error leaks a server path: {error}"
        );
        // Nothing was committed under that name.
        let shown = client()
            .post(format!("{}/api/show", base()))
            .json(&json!({"model": name}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            shown.status(),
            404,
            "{}: a rejected model was created",
            case.name
        );
    }
    generate_works().await;
}
