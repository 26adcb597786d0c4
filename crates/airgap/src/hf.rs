//! `hf.co/{user}/{repo}[:{quant}]` names resolved offline from the local Hugging Face cache
//! (`$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`), then imported into
//! the store like any GGUF.
//!
//! The cache layout is read directly (`models--{user}--{repo}/refs/main` →
//! `snapshots/<commit>/<file>`): choosing the GGUF for a quant needs the snapshot's file list,
//! which the `hf-hub` crate's offline cache API does not offer (it resolves one known file name),
//! so it would add a dependency without removing any of this code.

use std::path::{Path, PathBuf};

use hearth_ollama_compat::names::ModelName;
use hearth_ollama_compat::store::{Manifest, Store};

use crate::error::{AirgapError, Result};

/// Hosts that mean Hugging Face.
pub const HOSTS: [&str; 2] = ["hf.co", "huggingface.co"];

/// Ollama's default quant when an `hf.co` name has no tag.
pub const DEFAULT_QUANT: &str = "Q4_K_M";

/// Whether a name points at Hugging Face.
pub fn is_hf(name: &ModelName) -> bool {
    HOSTS.iter().any(|h| name.host.eq_ignore_ascii_case(h))
}

/// The hub cache directory, from the environment.
pub fn cache_dir() -> PathBuf {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = var("HF_HUB_CACHE").or_else(|| var("HUGGINGFACE_HUB_CACHE")) {
        return dir;
    }
    let home = var("HF_HOME").unwrap_or_else(|| {
        var("XDG_CACHE_HOME")
            .unwrap_or_else(|| var("HOME").unwrap_or_default().join(".cache"))
            .join("huggingface")
    });
    home.join("hub")
}

/// The cached GGUF for `name` in the hub cache at `cache`.
pub fn resolve(cache: &Path, name: &ModelName) -> Result<PathBuf> {
    let repo_id = format!("{}/{}", name.namespace, name.model);
    let repo = cache.join(format!("models--{}--{}", name.namespace, name.model));
    let not_cached = |why: String| {
        AirgapError::NotFound(format!(
            "{repo_id} is not in the Hugging Face cache {} ({why}); download it where there is a network (`hf download {repo_id}`) and copy the cache over",
            cache.display()
        ))
    };
    let snapshots = repo.join("snapshots");
    let commit = match std::fs::read_to_string(repo.join("refs").join("main")) {
        Ok(c) => c.trim().to_owned(),
        Err(_) => {
            let all: Vec<String> = std::fs::read_dir(&snapshots)
                .map_err(|e| not_cached(e.to_string()))?
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            match all.as_slice() {
                [one] => one.clone(),
                _ => {
                    return Err(not_cached(
                        "no refs/main and not exactly one snapshot".into(),
                    ))
                }
            }
        }
    };
    if commit.is_empty() || !commit.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(AirgapError::Invalid(format!(
            "{repo_id}: refs/main holds {commit:?}, not a commit"
        )));
    }
    let snapshot = snapshots.join(&commit);
    let mut ggufs: Vec<String> = std::fs::read_dir(&snapshot)
        .map_err(|e| not_cached(format!("snapshot {commit}: {e}")))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| {
            let lower = f.to_ascii_lowercase();
            lower.ends_with(".gguf") && !lower.contains("mmproj")
        })
        .collect();
    ggufs.sort();
    let explicit = name.tag != hearth_ollama_compat::names::DEFAULT_TAG;
    let quant = if explicit {
        name.tag.as_str()
    } else {
        DEFAULT_QUANT
    };
    let chosen = pick(&ggufs, quant).or_else(|| match (explicit, ggufs.as_slice()) {
        (false, [only]) => Some(only.clone()),
        _ => None,
    });
    let Some(file) = chosen else {
        return Err(AirgapError::NotFound(format!(
            "{repo_id}: no GGUF for quant {quant} in the cached snapshot (it has: {})",
            if ggufs.is_empty() {
                "none".to_owned()
            } else {
                ggufs.join(", ")
            }
        )));
    };
    Ok(snapshot.join(file))
}

/// The file whose name carries `quant` as a separate word (`model-Q4_K_M.gguf`).
fn pick(files: &[String], quant: &str) -> Option<String> {
    let q = quant.to_ascii_lowercase();
    files
        .iter()
        .find(|f| {
            let stem = f.to_ascii_lowercase();
            let stem = stem.trim_end_matches(".gguf");
            stem.ends_with(&q) && stem[..stem.len() - q.len()].ends_with(['-', '.'])
        })
        .cloned()
}

/// Import `name` from the hub cache at `cache` into `store` (under `name`).
pub fn import_cached(store: &Store, cache: &Path, name: &ModelName) -> Result<Manifest> {
    let path = resolve(cache, name)?;
    crate::gguf_import::create_from_gguf(store, name, &path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quant_matching_is_by_word() {
        let files = vec![
            "m-Q4_K_M.gguf".to_owned(),
            "m-IQ4_K_M.gguf".to_owned(),
            "m.Q8_0.gguf".to_owned(),
        ];
        assert_eq!(pick(&files, "q4_k_m").as_deref(), Some("m-Q4_K_M.gguf"));
        assert_eq!(pick(&files, "Q8_0").as_deref(), Some("m.Q8_0.gguf"));
        assert_eq!(pick(&files, "K_M"), None);
        assert!(is_hf(&ModelName::parse("hf.co/u/r:Q8_0").unwrap()));
        assert!(!is_hf(&ModelName::parse("u/r").unwrap()));
    }
}
