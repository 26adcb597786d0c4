//! hearth's cache directory: the first writable one of [`CacheRoots::candidates`]
//! (`$HEARTH_CACHE_DIR`, else `$XDG_CACHE_HOME/hearth`, else `$HOME/.cache/hearth`, else a folder
//! under the system temp dir). The binary reads those variables and passes them in as a
//! [`CacheRoots`]; nothing here reads the environment.

use std::path::{Path, PathBuf};

use crate::error::{AirgapError, Result};

/// Environment variable that names the cache directory outright (read by the binary).
pub const CACHE_ENV: &str = "HEARTH_CACHE_DIR";

/// What the cache directory is chosen from, as the caller found it (empty values are `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheRoots {
    /// The cache directory named outright ([`CACHE_ENV`]).
    pub explicit: Option<PathBuf>,
    /// `$XDG_CACHE_HOME`.
    pub xdg_cache_home: Option<PathBuf>,
    /// `$HOME`.
    pub home: Option<PathBuf>,
    /// `$USER`, naming the last-resort folder (`user` when unknown).
    pub user: Option<String>,
    /// The system temp dir, for that last-resort folder.
    pub temp_dir: PathBuf,
}

impl CacheRoots {
    /// The candidate directories, in order of preference.
    pub fn candidates(&self) -> Vec<PathBuf> {
        let set = |p: &Option<PathBuf>| p.clone().filter(|p| !p.as_os_str().is_empty());
        let mut out = Vec::new();
        if let Some(dir) = set(&self.explicit) {
            out.push(dir);
        }
        if let Some(xdg) = set(&self.xdg_cache_home) {
            out.push(xdg.join("hearth"));
        }
        if let Some(home) = set(&self.home) {
            out.push(home.join(".cache").join("hearth"));
        }
        let user: String = self
            .user
            .as_deref()
            .unwrap_or("user")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        out.push(self.temp_dir.join(format!("hearth-cache-{user}")));
        out
    }
}

/// The first of `candidates` that can be created and written to.
pub fn cache_dir(candidates: &[PathBuf]) -> Result<PathBuf> {
    for dir in candidates {
        if writable(dir) {
            return Ok(dir.clone());
        }
    }
    Err(AirgapError::NotFound(format!(
        "no writable cache directory (tried {}); set {CACHE_ENV}",
        candidates
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

fn writable(dir: &Path) -> bool {
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
        let chosen = cache_dir(&[file.join("sub"), d.path().join("ok")]).unwrap();
        assert_eq!(chosen, d.path().join("ok"));
        assert!(cache_dir(&[file.join("sub")])
            .unwrap_err()
            .to_string()
            .contains(CACHE_ENV));
    }

    #[test]
    fn candidates_in_order_of_preference() {
        let roots = CacheRoots {
            explicit: Some("/c".into()),
            xdg_cache_home: Some("".into()),
            home: Some("/h".into()),
            user: Some("a/b".into()),
            temp_dir: "/t".into(),
        };
        assert_eq!(
            roots.candidates(),
            [
                PathBuf::from("/c"),
                PathBuf::from("/h/.cache/hearth"),
                PathBuf::from("/t/hearth-cache-ab"),
            ]
        );
        let bare = CacheRoots {
            temp_dir: "/t".into(),
            ..CacheRoots::default()
        };
        assert_eq!(bare.candidates(), [PathBuf::from("/t/hearth-cache-user")]);
    }
}
