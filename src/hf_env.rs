//! Hugging Face's environment variables, read once by the binary and passed to hearth-airgap as
//! [`HfOptions`] values (the library reads no environment).

use std::path::PathBuf;

use hearth_airgap::hf::{self, HfOptions};

fn env_var(k: &str) -> Option<PathBuf> {
    std::env::var_os(k)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn env_flag(k: &str) -> bool {
    std::env::var(k).is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    })
}

/// `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`.
fn hf_home() -> PathBuf {
    env_var("HF_HOME").unwrap_or_else(|| {
        env_var("XDG_CACHE_HOME")
            .unwrap_or_else(|| env_var("HOME").unwrap_or_default().join(".cache"))
            .join("huggingface")
    })
}

/// The hub cache directory, from the environment.
fn cache_dir() -> PathBuf {
    if let Some(dir) = env_var("HF_HUB_CACHE").or_else(|| env_var("HUGGINGFACE_HUB_CACHE")) {
        return dir;
    }
    hf_home().join("hub")
}

/// Hugging Face options from the environment, as `huggingface_hub` reads it: `HF_HUB_CACHE` / `HF_HOME`,
/// `HF_ENDPOINT`, `HF_TOKEN` (else `HF_TOKEN_PATH`, else `$HF_HOME/token`),
/// `HF_HUB_OFFLINE`; plus `HEARTH_HF_REFRESH`.
pub fn options() -> HfOptions {
    let endpoint = std::env::var("HF_ENDPOINT")
        .ok()
        .map(|e| e.trim().trim_end_matches('/').to_owned())
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| hf::DEFAULT_ENDPOINT.to_owned());
    let token = ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"]
        .iter()
        .find_map(|k| std::env::var(k).ok())
        .or_else(|| {
            let file = env_var("HF_TOKEN_PATH").unwrap_or_else(|| hf_home().join("token"));
            std::fs::read_to_string(file).ok()
        })
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    HfOptions {
        cache: cache_dir(),
        endpoint,
        token,
        offline: env_flag("HF_HUB_OFFLINE"),
        refresh: env_flag("HEARTH_HF_REFRESH"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn hf_variables_are_read_as_huggingface_hub_reads_them() {
        // The only test in this binary that touches these variables.
        std::env::set_var("HF_HUB_CACHE", "/x/hub-cache");
        assert_eq!(cache_dir(), Path::new("/x/hub-cache"));
        std::env::remove_var("HF_HUB_CACHE");
        std::env::set_var("HF_HOME", "/y/hf");
        assert_eq!(cache_dir(), Path::new("/y/hf/hub"));

        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join("token"), "hf_from_file\n").unwrap();
        std::env::set_var("HF_HOME", home.path());
        for k in [
            "HF_ENDPOINT",
            "HF_TOKEN",
            "HUGGING_FACE_HUB_TOKEN",
            "HF_TOKEN_PATH",
        ] {
            std::env::remove_var(k);
        }
        let o = options();
        assert_eq!(o.cache, home.path().join("hub"));
        assert_eq!(o.endpoint, hf::DEFAULT_ENDPOINT);
        assert_eq!(o.token.as_deref(), Some("hf_from_file"));
        std::env::set_var("HF_ENDPOINT", "http://mirror.local:8080/");
        std::env::set_var("HF_TOKEN", "hf_from_env");
        std::env::set_var("HF_HUB_OFFLINE", "1");
        std::env::set_var("HEARTH_HF_REFRESH", "true");
        let o = options();
        assert_eq!(o.endpoint, "http://mirror.local:8080");
        assert_eq!(o.token.as_deref(), Some("hf_from_env"));
        assert!(o.offline && o.refresh);
        for k in [
            "HF_HOME",
            "HF_ENDPOINT",
            "HF_TOKEN",
            "HF_HUB_OFFLINE",
            "HEARTH_HF_REFRESH",
        ] {
            std::env::remove_var(k);
        }
    }
}
