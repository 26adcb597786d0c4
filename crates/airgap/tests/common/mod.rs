//! Helpers shared by the airgap integration tests: the release `hearth` binary and temp dirs.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

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
