//! The hostile-edit table against the validator: every single-field edit of the bundled
//! SmolLM2 model in `hearth_gguf::edit::hostile` is rejected, naming its field, while the
//! unedited bundled models (and an unedited round trip through the rewriter) pass. No
//! llama.cpp here: the files are written sparse (header plus a hole for the tensor data).

use std::path::{Path, PathBuf};

use hearth_gguf::edit::{hostile::CASES, Data, Gguf};

fn model(file: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../models")
        .join(file);
    assert!(
        p.is_file(),
        "bundled model {} is missing; run scripts/fetch-models.sh",
        p.display()
    );
    p
}

#[test]
fn bundled_models_pass() {
    for file in ["smollm2-135m.gguf", "gemma3-270m.gguf"] {
        let info = hearth_gguf::validate_model(&model(file))
            .unwrap_or_else(|e| panic!("{file} must pass: {e}"));
        assert!(!info.tensors.is_empty());
    }
}

#[test]
fn an_unedited_rewrite_passes() {
    let dir = tempfile_dir("roundtrip");
    let g = Gguf::open(&model("smollm2-135m.gguf")).unwrap();
    let out = dir.join("same.gguf");
    g.write(&out, Data::Sparse).unwrap();
    hearth_gguf::validate_model(&out).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_hostile_edit_is_rejected_naming_its_field() {
    assert!(CASES.len() >= 30, "the table has {} cases", CASES.len());
    assert!(CASES.iter().filter(|c| c.killer).count() >= 5);
    let dir = tempfile_dir("hostile");
    let base = Gguf::open(&model("smollm2-135m.gguf")).unwrap();
    let mut failures = Vec::new();
    for case in CASES {
        let mut g = base.clone();
        (case.apply)(&mut g);
        let out = dir.join(format!("{}.gguf", case.name));
        g.write(&out, Data::Sparse).unwrap();
        match hearth_gguf::validate_model(&out) {
            Ok(_) => failures.push(format!("{}: accepted", case.name)),
            Err(e) => {
                let text = e.to_string();
                if !text.contains(case.field) {
                    failures.push(format!(
                        "{}: error does not name {}: {text}",
                        case.name, case.field
                    ));
                } else {
                    println!("{:32} {text}", case.name);
                }
            }
        }
        std::fs::remove_file(&out).unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn errors_read_as_field_and_reason() {
    let dir = tempfile_dir("message");
    let mut g = Gguf::open(&model("smollm2-135m.gguf")).unwrap();
    (CASES[0].apply)(&mut g);
    let out = dir.join("zero.gguf");
    g.write(&out, Data::Sparse).unwrap();
    let info = hearth_gguf::validate(&out).unwrap();
    let e = hearth_gguf::check_model(&info).unwrap_err();
    assert_eq!(e.field, "llama.block_count");
    assert_eq!(
        e.to_string(),
        "llama.block_count: 0 is out of range (1..=512)"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// One edit of a parsed header.
type Edit = fn(&mut Gguf);

fn tempfile_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hearth-gguf-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The gemma3 table is checked too: its per-head q/k norms and post-norms are required, with
/// the head size `key_length` gives (not `embedding_length / head_count`).
#[test]
fn gemma3_rules_apply_to_the_bundled_gemma3() {
    let dir = tempfile_dir("gemma3");
    let base = Gguf::open(&model("gemma3-270m.gguf")).unwrap();
    let edits: [(&str, Edit); 4] = [
        ("tensor blk.5.attn_k_norm.weight", |g| {
            g.tensor("blk.5.attn_k_norm.weight").name = "blk.5.attn_k_norx.weight".into();
        }),
        ("tensor blk.2.post_ffw_norm.weight", |g| {
            g.tensor("blk.2.post_ffw_norm.weight").name = "blk.2.post_ffw_norx.weight".into();
        }),
        ("gemma3.attention.key_length", |g| {
            g.set(
                "gemma3.attention.key_length",
                hearth_gguf::edit::Value::U32(0),
            );
        }),
        ("tensor blk.0.attn_q.weight", |g| {
            g.set(
                "gemma3.attention.key_length",
                hearth_gguf::edit::Value::U32(128),
            );
        }),
    ];
    for (field, edit) in edits {
        let mut g = base.clone();
        edit(&mut g);
        let out = dir.join("edited.gguf");
        g.write(&out, Data::Sparse).unwrap();
        let e = match hearth_gguf::validate_model(&out) {
            Ok(_) => panic!("an edit of {field} was accepted"),
            Err(e) => e.to_string(),
        };
        assert!(e.contains(field), "expected {field}: {e}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
