//! Helpers shared by the airgap integration tests: the release `hearth` binary, the bundled
//! model, loopback servers and offline (network-namespace) script runs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use hearth_store::{Digest, Manifest, Store};
use sha2::Digest as _;

/// The bundled SmolLM2 GGUF; panics (never skips) when `scripts/fetch-models.sh` has not run.
pub fn smollm2_gguf() -> PathBuf {
    let m = hearth_store::builtin::find("smollm2:135m").unwrap();
    hearth_store::builtin::locate(m, &[repo_models_dir()])
        .unwrap_or_else(|e| panic!("the bundled model is required (scripts/fetch-models.sh): {e}"))
}

/// Assert that every blob `m` names is in `store` and hashes to its digest (with `sha2`
/// directly, not the store's own hashing).
pub fn assert_blobs_verified(store: &Store, m: &Manifest) {
    for d in m.digests() {
        let d = Digest::parse(d).unwrap();
        let bytes = std::fs::read(store.blob_path(&d)).unwrap();
        assert_eq!(hearth_store::hex(&sha2::Sha256::digest(&bytes)), d.hex());
    }
}

/// `POST url` with `body`; the status and the NDJSON (or single JSON) lines of the answer.
pub async fn post_lines(url: &str, body: serde_json::Value) -> (u16, Vec<serde_json::Value>) {
    let resp = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let lines = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    (status, lines)
}

/// Serve `app` on a free loopback port (for the rest of the test); returns the port.
pub async fn serve(app: axum::Router) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

/// A `hearth serve` child process, killed when dropped.
pub struct Served {
    child: std::process::Child,
    /// Its loopback port.
    pub port: u16,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The real `hearth serve` over `store` (the airgap registry client plugged in, as always), with
/// `--registry` when asked, on a free loopback port; returns once it answers `/`. It inherits
/// this process's environment (`HF_ENDPOINT`, `HF_HOME`, …).
pub async fn serve_hearth(store: &Store, registry: bool) -> Served {
    let port = free_port();
    let mut cmd = Command::new(hearth_bin());
    cmd.args([
        "serve",
        "--host",
        &format!("127.0.0.1:{port}"),
        "--models-dir",
    ])
    .arg(store.root())
    .env_remove("HEARTH_EXTRA_MODELS")
    .env_remove("HEARTH_API_KEY")
    .env_remove("HEARTH_REGISTRY");
    if registry {
        cmd.arg("--registry");
    }
    let served = Served {
        child: cmd.spawn().expect("starting hearth serve"),
        port,
    };
    let url = format!("http://127.0.0.1:{port}/");
    for _ in 0..200 {
        if reqwest::get(&url)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return served;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("hearth serve did not answer on port {port} within 10 s");
}

/// `target/release/hearth`, built by `cargo build --release` (or `cargo test --release
/// --workspace`); panics with the command to run when it is missing or predates `hearth bundle`.
pub fn hearth_bin() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")));
    let bin = target.join("release").join("hearth");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build --release --bin hearth` first",
        bin.display()
    );
    let ok = Command::new(&bin)
        .args(["bundle", "--help"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "{} has no `bundle` verb (stale build): run `cargo build --release --bin hearth`",
        bin.display()
    );
    bin
}

/// The repository's `models/` folder (hidden from bundled executables under test).
pub fn repo_models_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models"))
        .canonicalize()
        .expect("the repository's models/ folder")
}

/// How to cut the network: `unshare` flags that work here (new user+net+mount namespaces, or
/// net+mount as root), or `None` when no namespace can be made.
pub fn unshare_flags() -> Option<&'static str> {
    ["-rnm", "-nm"].into_iter().find(|flags| {
        Command::new("unshare")
            .args([flags, "true"])
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `sh -c SCRIPT` offline (see [`isolated_sh`]) with a clean environment: `PATH`, `HOME`,
/// `WORK`, `REPO_MODELS` (the source tree's `models/`, which the script hides when isolated) and
/// `ISOLATE` (`1` or `0`). Add the script's own variables, then [`run_offline`].
pub fn offline_sh(script: &str, home: &Path, work: &Path) -> (Command, bool) {
    let (mut cmd, isolated) = isolated_sh(script);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("WORK", work)
        .env("REPO_MODELS", repo_models_dir())
        .env("ISOLATE", if isolated { "1" } else { "0" });
    (cmd, isolated)
}

/// Run a script made by [`offline_sh`]; asserts that it succeeded and, when isolated, that it
/// saw only the loopback interface and reached nothing. Returns its stdout.
pub fn run_offline(mut cmd: Command, isolated: bool) -> String {
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}\n{stderr}");
    assert!(out.status.success(), "offline script failed");
    if isolated {
        assert!(stdout.contains("interfaces: lo \n"), "{stdout}");
        assert!(!stdout.contains("NETWORK REACHABLE"));
    }
    stdout
}

/// `sh -c SCRIPT` in new namespaces without a network (and with a private mount table) when
/// [`unshare_flags`] finds a way, else plainly with a loud warning; the flag says which.
pub fn isolated_sh(script: &str) -> (Command, bool) {
    match unshare_flags() {
        Some(flags) => {
            eprintln!("isolating with `unshare {flags}` (no network, models/ hidden)");
            let mut c = Command::new("unshare");
            c.args([flags, "sh", "-c", script]);
            (c, true)
        }
        None => {
            eprintln!(
                "WARNING: no network namespace available here; running with an empty HOME only \
                 (the network and the source tree's models/ stay visible)"
            );
            let mut c = Command::new("sh");
            c.args(["-c", script]);
            (c, false)
        }
    }
}
