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
