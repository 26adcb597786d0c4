//! Moving models between machines without a network: export/import archives (and, with the
//! registry, pulls from another hearth).

use std::path::PathBuf;

/// The model store: the flag or `OLLAMA_MODELS`, else Ollama's `~/.ollama/models`.
pub fn models_dir(flag: Option<PathBuf>) -> PathBuf {
    flag.filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
            home.join(".ollama").join("models")
        })
}
