//! hearth's cache directory: `$HEARTH_CACHE_DIR`, else `$XDG_CACHE_HOME/hearth`, else
//! `$HOME/.cache/hearth`, else a folder under the system temp dir, the first one writable.

use std::path::PathBuf;

use crate::error::{AirgapError, Result};

/// Environment variable that names the cache directory outright.
pub const CACHE_ENV: &str = "HEARTH_CACHE_DIR";

/// The candidate directories, in order of preference.
pub fn candidates() -> Vec<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let mut out = Vec::new();
    if let Some(dir) = var(CACHE_ENV) {
        out.push(dir);
    }
    if let Some(xdg) = var("XDG_CACHE_HOME") {
        out.push(xdg.join("hearth"));
    }
    if let Some(home) = var("HOME") {
        out.push(home.join(".cache").join("hearth"));
    }
    let user = std::env::var("USER").unwrap_or_else(|_| "user".into());
    let user: String = user
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    out.push(std::env::temp_dir().join(format!("hearth-cache-{user}")));
    out
}

/// The first candidate that can be created and written to.
pub fn cache_dir() -> Result<PathBuf> {
    let all = candidates();
    for dir in &all {
        if writable(dir) {
            return Ok(dir.clone());
        }
    }
    Err(AirgapError::NotFound(format!(
        "no writable cache directory (tried {}); set {CACHE_ENV}",
        all.iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

fn writable(dir: &std::path::Path) -> bool {
    std::fs::create_dir_all(dir).is_ok() && tempfile::tempfile_in(dir).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwritable_dirs_are_skipped() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        assert!(!writable(&file.join("sub")));
        assert!(writable(&d.path().join("ok")));
        assert!(candidates()
            .last()
            .unwrap()
            .starts_with(std::env::temp_dir()));
    }
}
