//! The release binary end to end: `hearth import` a GGUF into store A, `hearth registry` serves
//! A on loopback, `hearth pull --insecure` copies the model into store B (digests re-hashed),
//! `hearth export` from B and `hearth import` into C round-trip it, and a truncated archive is
//! refused with nothing written. Then hearth to hearth through the API: `hearth serve --registry`
//! feeds a second `hearth serve` over `POST /api/pull`, which pushes on to a
//! `hearth registry --writable` over `POST /api/push`.

mod common;

use std::path::Path;
use std::process::{Child, Command};

use hearth_store::names::ModelName;
use hearth_store::{Digest, Store};

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

/// Start `hearth ARGS` on `store` and wait until `addr` accepts connections.
fn start(store: &Path, args: &[&str], addr: &str) -> Kill {
    let child = Kill(
        Command::new(common::hearth_bin())
            .args(args)
            .env("OLLAMA_MODELS", store)
            .env_remove("OLLAMA_HOST")
            .env_remove("HEARTH_API_KEY")
            .env_remove("HEARTH_REGISTRY")
            .spawn()
            .unwrap(),
    );
    let up = (0..300).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        std::net::TcpStream::connect(addr).is_ok()
    });
    assert!(up, "hearth {args:?} did not listen on {addr}");
    child
}

fn verified(store: &Store, name: &ModelName) -> String {
    let stored = store.get(name).unwrap().expect("model in store");
    common::assert_blobs_verified(store, &stored.manifest);
    stored.digest
}

#[test]
fn import_registry_pull_export_import() {
    let gguf = common::smollm2_gguf();
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );

    let out = hearth(&a, &["import", gguf.to_str().unwrap(), "--name", "smol:q4"]);
    assert!(out.status.success());

    let addr = format!("127.0.0.1:{}", common::free_port());
    let _registry = start(&a, &["registry", "--host", &addr], &addr);

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

fn sha256_of_blobs(store: &Store, digests: &[String]) -> Vec<String> {
    digests
        .iter()
        .map(|d| {
            let path = store.blob_path(&Digest::parse(d).unwrap());
            Digest::of(&std::fs::read(path).unwrap()).wire()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_registry_feeds_another_serve_which_pushes_on() {
    let gguf = common::smollm2_gguf();
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    let out = hearth(&a, &["import", gguf.to_str().unwrap(), "--name", "smol:q4"]);
    assert!(out.status.success());

    // A: `hearth serve --registry`; B: a plain `hearth serve` with an empty store.
    let addr_a = format!("127.0.0.1:{}", common::free_port());
    let addr_b = format!("127.0.0.1:{}", common::free_port());
    let _serve_a = start(&a, &["serve", "--registry", "--host", &addr_a], &addr_a);
    let _serve_b = start(&b, &["serve", "--host", &addr_b], &addr_b);
    let http = reqwest::Client::new();
    let v2 = |addr: &str| http.get(format!("http://{addr}/v2/")).send();
    assert_eq!(v2(&addr_a).await.unwrap().status(), 200);
    assert_eq!(v2(&addr_b).await.unwrap().status(), 404, "off by default");

    let remote = format!("{addr_a}/library/smol:q4");
    let pull_url = format!("http://{addr_b}/api/pull");
    let (status, lines) = common::post_lines(
        &pull_url,
        serde_json::json!({"model": remote, "insecure": true}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(lines[0]["status"], "pulling manifest", "{lines:?}");
    assert_eq!(lines.last().unwrap()["status"], "success", "{lines:?}");
    let statuses: Vec<&str> = lines.iter().filter_map(|v| v["status"].as_str()).collect();
    assert!(
        statuses.contains(&"verifying sha256 digest"),
        "{statuses:?}"
    );
    assert!(statuses.contains(&"writing manifest"), "{statuses:?}");
    assert!(
        lines
            .iter()
            .any(|v| v["completed"].is_u64() && v["completed"] == v["total"]),
        "{lines:?}"
    );

    // B lists it at once, and both stores hold the same bytes under the same digests.
    let tags: serde_json::Value = http
        .get(format!("http://{addr_b}/api/tags"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        tags["models"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == remote.as_str()),
        "{tags}"
    );
    let (store_a, store_b) = (Store::new(&a), Store::new(&b));
    let name_a = ModelName::parse("smol:q4").unwrap();
    let name_b = ModelName::parse(&remote).unwrap();
    assert_eq!(verified(&store_b, &name_b), verified(&store_a, &name_a));
    let digests: Vec<String> = store_a
        .get(&name_a)
        .unwrap()
        .unwrap()
        .manifest
        .digests()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        sha256_of_blobs(&store_b, &digests),
        sha256_of_blobs(&store_a, &digests)
    );
    assert_eq!(sha256_of_blobs(&store_a, &digests), digests);

    // Unknown models: an error line mid-stream, a 500 without streaming.
    let unknown = format!("{addr_a}/library/nope:1");
    let (status, lines) = common::post_lines(
        &pull_url,
        serde_json::json!({"model": unknown, "insecure": true}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        lines.last().unwrap()["error"],
        "pull model manifest: file does not exist"
    );
    let (status, lines) = common::post_lines(
        &pull_url,
        serde_json::json!({"model": unknown, "insecure": true, "stream": false}),
    )
    .await;
    assert_eq!(status, 500);
    assert_eq!(
        lines[0]["error"],
        "pull model manifest: file does not exist"
    );

    // B pushes on to C, a writable `hearth registry`.
    let addr_c = format!("127.0.0.1:{}", common::free_port());
    let _registry_c = start(&c, &["registry", "--writable", "--host", &addr_c], &addr_c);
    let target = format!("{addr_c}/team/smol:q4");
    let copied = http
        .post(format!("http://{addr_b}/api/copy"))
        .json(&serde_json::json!({"source": remote, "destination": target}))
        .send()
        .await
        .unwrap();
    assert_eq!(copied.status(), 200);
    let (status, lines) = common::post_lines(
        &format!("http://{addr_b}/api/push"),
        serde_json::json!({"model": target, "insecure": true}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(lines[0]["status"], "retrieving manifest", "{lines:?}");
    assert_eq!(lines.last().unwrap()["status"], "success", "{lines:?}");
    let store_c = Store::new(&c);
    let name_c = ModelName::parse("team/smol:q4").unwrap();
    assert_eq!(verified(&store_c, &name_c), verified(&store_a, &name_a));
}
