//! Hostile model files at the offline entries: `create --from FILE` (and so Hugging Face cache
//! imports, which go through it) and archive import refuse the single-field edits of the
//! bundled SmolLM2 that abort llama.cpp, naming the field, and leave no model and no blob.

mod common;

use hearth_gguf::edit::{hostile::CASES, Data, Gguf};
use hearth_store::names::ModelName;
use hearth_store::{manifest as mt, Layer, Manifest, Store};

fn killers() -> impl Iterator<Item = &'static hearth_gguf::edit::hostile::Case> {
    CASES.iter().filter(|c| c.killer)
}

fn blobs(store: &Store) -> usize {
    std::fs::read_dir(store.root().join("blobs"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn create_from_a_hostile_gguf_is_refused_naming_the_field() {
    let base = Gguf::open(&common::smollm2_gguf()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path().join("store"));
    for case in killers() {
        let mut g = base.clone();
        (case.apply)(&mut g);
        let file = dir.path().join(format!("{}.gguf", case.name));
        g.write(&file, Data::Sparse).unwrap();
        let name = ModelName::parse("hostile").unwrap();
        let e = hearth_airgap::gguf_import::create_from_gguf(&store, &name, &file)
            .expect_err(case.name)
            .to_string();
        assert!(e.contains(case.field), "{}: {e}", case.name);
        assert!(
            store.list().is_empty() && blobs(&store) == 0,
            "{}",
            case.name
        );
        std::fs::remove_file(&file).unwrap();
    }
}

#[test]
fn importing_an_archive_with_hostile_weights_writes_nothing() {
    let base = Gguf::open(&common::smollm2_gguf()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for case in killers().take(3) {
        let (sa, sb) = (
            Store::new(dir.path().join(format!("a-{}", case.name))),
            Store::new(dir.path().join(format!("b-{}", case.name))),
        );
        let mut g = base.clone();
        (case.apply)(&mut g);
        let file = dir.path().join("w.gguf");
        g.write(&file, Data::Sparse).unwrap();
        let weights = std::fs::read(&file).unwrap();
        let w = sa.put_blob_bytes(&weights).unwrap();
        let c = sa.put_blob_bytes(br#"{"model_format":"gguf"}"#).unwrap();
        let layer = |media: &str, d: &hearth_store::Digest, size: usize| Layer {
            media_type: media.into(),
            digest: d.wire(),
            size: size as u64,
            from: None,
        };
        let m = Manifest::new(
            layer(mt::MEDIA_CONFIG, &c, 23),
            vec![layer(mt::MEDIA_MODEL, &w, weights.len())],
        );
        let name = ModelName::parse("hostile").unwrap();
        sa.put_manifest(&name, &m).unwrap();
        let tar = dir.path().join("hostile.tar");
        hearth_airgap::archive::export(&sa, &name, &tar).unwrap();
        let e = hearth_airgap::archive::import(&sb, &tar)
            .expect_err(case.name)
            .to_string();
        assert!(e.contains(case.field), "{}: {e}", case.name);
        assert!(
            sb.list().is_empty(),
            "{}: a manifest was written",
            case.name
        );
        assert_eq!(blobs(&sb), 0, "{}: blobs were left behind", case.name);
    }
}
