//! Where models are: the writable store, the read-only stores and the folders of the built-in
//! models, from flags, the environment and an activated bundle. The binary is the only part of
//! hearth that reads these; every library gets the folders as values.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use hearth_airgap::bundle::Activated;
use hearth_store::builtin;
use hearth_store::catalog::BuiltinEntry;

/// Environment variable listing read-only model stores, separated like `PATH` (`:` on Unix).
pub const READ_ONLY_MODELS_ENV: &str = "HEARTH_EXTRA_MODELS";

/// The `models/` folder of the source tree this binary was built from (a developer's checkout).
const SOURCE_MODELS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models");

static ACTIVATED: OnceLock<Option<Activated>> = OnceLock::new();

/// Record what a bundled executable unpacked (once, first thing in `main`).
pub fn set_activated(activated: Option<Activated>) {
    let _ = ACTIVATED.set(activated);
}

fn activated() -> Option<&'static Activated> {
    ACTIVATED.get().and_then(Option::as_ref)
}

/// Parser for `OLLAMA_MODELS`-style path options: an empty value means the default, as with
/// Ollama (clap's `PathBuf` parser would refuse it).
pub fn path_or_empty() -> impl clap::builder::TypedValueParser<Value = std::path::PathBuf> {
    use clap::builder::TypedValueParser;
    clap::builder::OsStringValueParser::new().map(std::path::PathBuf::from)
}

/// The model store: the flag or `OLLAMA_MODELS` (an empty value means the default, as with
/// Ollama), else Ollama's `~/.ollama/models`.
pub fn models_dir(flag: Option<PathBuf>) -> PathBuf {
    flag.filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
            home.join(".ollama").join("models")
        })
}

/// `OLLAMA_MODELS` as [`models_dir`] reads it, for verbs without a flag of their own.
pub fn models_dir_from_env() -> PathBuf {
    models_dir(std::env::var_os("OLLAMA_MODELS").map(PathBuf::from))
}

/// An activated bundle's own store (its models were verified against the bundle's digests).
pub fn bundle_store() -> Option<PathBuf> {
    activated().and_then(|a| a.store.clone())
}

/// Read-only stores, in order: an activated bundle's own store models, then
/// `HEARTH_EXTRA_MODELS` (empty entries skipped).
pub fn read_only_stores() -> Vec<PathBuf> {
    let from_env = std::env::var_os(READ_ONLY_MODELS_ENV)
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    activated()
        .and_then(|a| a.store.clone())
        .into_iter()
        .chain(from_env)
        .collect()
}

/// Folders searched for built-in weights, in order: an activated bundle's folder,
/// `$HEARTH_BUNDLED_DIR`, `models/` next to the executable, `models/` two levels up from it
/// (`target/release/hearth` → the repository), and the source tree's `models/`.
pub fn builtin_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = activated().map(|a| a.dir.clone()).into_iter().collect();
    if let Some(dir) = std::env::var_os(builtin::DIR_ENV).filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(dir));
    }
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        dirs.push(exe_dir.join("models"));
        dirs.push(exe_dir.join("../../models"));
    }
    dirs.push(PathBuf::from(SOURCE_MODELS_DIR));
    let mut unique: Vec<PathBuf> = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let dir = dir.canonicalize().unwrap_or(dir);
        if !unique.contains(&dir) {
            unique.push(dir);
        }
    }
    unique
}

/// The built-in models found on disk, as catalogue entries. A bundle (or `HEARTH_BUNDLED_DIR`)
/// carries the chosen models only, so a missing one is logged at debug level there.
pub fn builtin_entries() -> Vec<BuiltinEntry> {
    let chosen =
        activated().is_some() || std::env::var_os(builtin::DIR_ENV).is_some_and(|d| !d.is_empty());
    builtin::catalog_entries(&builtin_dirs(), !chosen)
}

/// The weights of a built-in model, or an error that says what to run.
pub fn locate_builtin(m: &builtin::BuiltinModel) -> Result<PathBuf, builtin::BuiltinError> {
    builtin::locate(m, &builtin_dirs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_dirs_end_with_the_source_tree() {
        // The folder next to the executable is searched before the source tree's, which is last.
        let repo = PathBuf::from(SOURCE_MODELS_DIR);
        let repo = repo.canonicalize().unwrap_or(repo);
        let dirs = builtin_dirs();
        assert_eq!(dirs.last(), Some(&repo), "{dirs:?}");
        let exe_dir = std::env::current_exe()
            .unwrap()
            .parent()
            .unwrap()
            .join("models");
        let exe_dir = exe_dir.canonicalize().unwrap_or(exe_dir);
        let at = |d: &PathBuf| dirs.iter().position(|x| x == d);
        assert!(at(&exe_dir) < at(&repo), "{dirs:?}");
    }

    #[test]
    fn an_empty_models_dir_means_the_default() {
        let default = models_dir(None);
        assert!(default.ends_with(".ollama/models"));
        assert_eq!(models_dir(Some(PathBuf::new())), default);
        assert_eq!(models_dir(Some("/x".into())), PathBuf::from("/x"));
    }
}
