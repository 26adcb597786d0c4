//! The release binary end to end: `hearth import` a GGUF into store A, `hearth registry` serves
//! A on loopback, `hearth pull --insecure` copies the model into store B (digests re-hashed),
//! `hearth export` from B and `hearth import` into C round-trip it, and a truncated archive is
//! refused with nothing written.

mod common;

use std::path::Path;
use std::process::{Child, Command};

use hearth_ollama_compat::names::ModelName;
use hearth_ollama_compat::store::{Digest, Store};

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn hearth(store: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(common::hearth_bin())
        .args(args)
        .env("OLLAMA_MODELS", store)
        .output()
        .unwrap();
    eprintln!(
        "hearth {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn verified(store: &Store, name: &ModelName) -> String {
    let stored = store.get(name).unwrap().expect("model in store");
    for d in stored.manifest.digests() {
        let d = Digest::parse(d).unwrap();
        let bytes = std::fs::read(store.blob_path(&d)).unwrap();
        assert_eq!(Digest::of(&bytes), d);
    }
    stored.digest
}

#[test]
fn import_registry_pull_export_import() {
    let m = hearth_engine::bundled::find("smollm2:135m").unwrap();
    let gguf = hearth_engine::bundled::locate(m)
        .unwrap_or_else(|e| panic!("the bundled model is required (scripts/fetch-models.sh): {e}"));
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );

    let out = hearth(&a, &["import", gguf.to_str().unwrap(), "--name", "smol:q4"]);
    assert!(out.status.success());

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let _registry = Kill(
        Command::new(common::hearth_bin())
            .args(["registry", "--host", &addr])
            .env("OLLAMA_MODELS", &a)
            .spawn()
            .unwrap(),
    );
    let up = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        std::net::TcpStream::connect(&addr).is_ok()
    });
    assert!(up, "hearth registry did not listen on {addr}");

    let remote = format!("{addr}/library/smol:q4");
    let out = hearth(&b, &["pull", "--insecure", &remote]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("success"));
    let name_a = ModelName::parse("smol:q4").unwrap();
    let name_b = ModelName::parse(&remote).unwrap();
    let digest_a = verified(&Store::new(&a), &name_a);
    assert_eq!(verified(&Store::new(&b), &name_b), digest_a);

    let out = hearth(&b, &["pull", "--insecure", &format!("{addr}/library/nope")]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("file does not exist"));

    let tar = dir.path().join("smol.tar");
    assert!(
        hearth(&b, &["export", &remote, "-o", tar.to_str().unwrap()])
            .status
            .success()
    );
    assert!(hearth(&c, &["import", tar.to_str().unwrap()])
        .status
        .success());
    assert_eq!(verified(&Store::new(&c), &name_b), digest_a);

    let bytes = std::fs::read(&tar).unwrap();
    let cut = dir.path().join("cut.tar");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let d = dir.path().join("d");
    let out = hearth(&d, &["import", cut.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"));
    assert!(Store::new(&d).list().is_empty());
    let leftovers = std::fs::read_dir(d.join("blobs")).map_or(0, |r| r.count());
    assert_eq!(leftovers, 0, "nothing half-written");
}
