//! Export/import round trip, and the archives import must refuse without writing anything:
//! truncated at every kind of boundary, path tricks, wrong digests, missing blobs.

use std::path::Path;

use hearth_airgap::archive;
use hearth_store::names::ModelName;
use hearth_store::{manifest as mt, Layer, Manifest, Store};

fn model(store: &Store, name: &str, weights: &[u8]) -> Manifest {
    let w = store.put_blob_bytes(weights).unwrap();
    let c = store.put_blob_bytes(br#"{"model_format":"gguf"}"#).unwrap();
    let t = store.put_blob_bytes(b"{{ .Prompt }}").unwrap();
    let layer = |media: &str, d: &hearth_store::Digest, size: usize| Layer {
        media_type: media.into(),
        digest: d.wire(),
        size: size as u64,
        from: None,
    };
    let m = Manifest::new(
        layer(mt::MEDIA_CONFIG, &c, 23),
        vec![
            layer(mt::MEDIA_MODEL, &w, weights.len()),
            layer(mt::MEDIA_TEMPLATE, &t, 13),
        ],
    );
    store
        .put_manifest(&ModelName::parse(name).unwrap(), &m)
        .unwrap();
    m
}

/// Every file under `dir`, relative.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path().strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn round_trip_keeps_manifest_and_blobs() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (sa, sb) = (Store::new(a.path()), Store::new(b.path()));
    let weights = vec![42u8; 100_000];
    let m = model(&sa, "myns/tiny:v1", &weights);
    let name = ModelName::parse("myns/tiny:v1").unwrap();
    let tar = a.path().join("tiny.tar");
    archive::export(&sa, &name, &tar).unwrap();
    let names = archive::import(&sb, &tar).unwrap();
    assert_eq!(names, vec![name.clone()]);
    let got = sb.get(&name).unwrap().unwrap();
    assert_eq!(got.manifest, m);
    assert_eq!(got.digest, sa.get(&name).unwrap().unwrap().digest);
    assert_eq!(
        files(&a.path().join("blobs")),
        files(&b.path().join("blobs"))
    );
    // Importing twice is harmless.
    archive::import(&sb, &tar).unwrap();
    let err = archive::export(&sa, &ModelName::parse("nope").unwrap(), &tar)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not found"), "{err}");
}

#[test]
fn truncated_archives_change_nothing() {
    let a = tempfile::tempdir().unwrap();
    let sa = Store::new(a.path());
    model(&sa, "tiny", &vec![7u8; 50_000]);
    let tar = a.path().join("tiny.tar");
    archive::export(&sa, &ModelName::parse("tiny").unwrap(), &tar).unwrap();
    let bytes = std::fs::read(&tar).unwrap();
    for cut in [
        10,
        512,
        700,
        1536,
        20_000,
        51_200,
        bytes.len() - 2048,
        bytes.len() - 1100,
    ] {
        let b = tempfile::tempdir().unwrap();
        let cut_tar = b.path().join("cut.tar");
        std::fs::write(&cut_tar, &bytes[..cut]).unwrap();
        let store_dir = b.path().join("store");
        let err = archive::import(&Store::new(&store_dir), &cut_tar);
        let err = err
            .expect_err(&format!("cut at {cut} must fail"))
            .to_string();
        assert!(
            err.contains("truncated") || err.contains("refusing") || err.contains("missing"),
            "cut at {cut}: {err}"
        );
        assert_eq!(
            files(&store_dir),
            Vec::<String>::new(),
            "cut at {cut}: {err}"
        );
    }
}

/// A tar with one entry whose name is written raw (bypassing the builder's own checks).
fn raw_tar(path: &Path, name: &str, data: &[u8]) {
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    b.append(&h, data).unwrap();
    b.finish().unwrap();
}

#[test]
fn path_tricks_and_wrong_digests_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let store_dir = d.path().join("store");
    let store = Store::new(&store_dir);
    let hex = "a".repeat(64);
    for (name, why) in [
        ("../evil", "unsafe path"),
        ("/etc/passwd", "unsafe path"),
        ("blobs/../../x", "unsafe path"),
        ("blobs/sha256-../x", "refusing"),
        ("blobs/evil", "not a sha256 blob name"),
        ("manifests/h/n/../t", "unsafe path"),
        ("manifests/h/n.x/m/t", "not a valid model name"),
        ("other/file", "unexpected entry"),
        (&format!("blobs/sha256-{hex}"), "sha256 mismatch"),
    ] {
        let t = d.path().join("t.tar");
        raw_tar(&t, name, b"data");
        let err = archive::import(&store, &t).unwrap_err().to_string();
        assert!(err.contains(why), "{name}: {err}");
        assert_eq!(files(&store_dir), Vec::<String>::new(), "{name}");
    }
    // A manifest whose blob is not in the archive.
    let a = tempfile::tempdir().unwrap();
    let sa = Store::new(a.path());
    let m = model(&sa, "tiny", b"w");
    let t = d.path().join("m.tar");
    raw_tar(
        &t,
        "manifests/registry.ollama.ai/library/tiny/latest",
        &serde_json::to_vec(&m).unwrap(),
    );
    let err = archive::import(&store, &t).unwrap_err().to_string();
    assert!(err.contains("missing"), "{err}");
    assert!(store.list().is_empty());
}
