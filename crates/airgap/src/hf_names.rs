//! The shared, offline half of `hf.co` names: which names mean Hugging Face, the repo id and
//! cache folder a name maps to, the one rule that chooses a GGUF among a repo's files, and the
//! [`HfOptions`] that say where a name is looked for and fetched from (the binary fills them
//! from Hugging Face's environment variables; this crate reads none). Both the cache import
//! ([`crate::hf`]) and the download ([`crate::hf_online`]) build on this module, which depends on
//! neither.

use std::path::{Component, Path, PathBuf};

use hearth_store::names::ModelName;

use crate::error::{AirgapError, Result};

/// Hosts that mean Hugging Face.
pub const HOSTS: [&str; 2] = ["hf.co", "huggingface.co"];

/// Ollama's default quant when an `hf.co` name has no tag.
pub const DEFAULT_QUANT: &str = "Q4_K_M";

/// The Hub, when `HF_ENDPOINT` does not say otherwise.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// The file a repo's Hugging Face tokenizer lives in.
pub const TOKENIZER_JSON: &str = "tokenizer.json";

/// Whether a name points at Hugging Face.
pub fn is_hf(name: &ModelName) -> bool {
    HOSTS.iter().any(|h| name.host.eq_ignore_ascii_case(h))
}

/// Where an `hf.co` name is looked for and fetched from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HfOptions {
    /// The hub cache directory (`$HF_HUB_CACHE`, else `$HF_HOME/hub`; the binary reads them).
    pub cache: PathBuf,
    /// The Hub's base URL (`$HF_ENDPOINT`, else [`DEFAULT_ENDPOINT`]).
    pub endpoint: String,
    /// A Hub token (`$HF_TOKEN`, else the token file `huggingface-cli login` writes).
    pub token: Option<String>,
    /// Never use the network (`HF_HUB_OFFLINE=1`).
    pub offline: bool,
    /// Ask the Hub even when the cache has the model (`HEARTH_HF_REFRESH=1`).
    pub refresh: bool,
}

impl HfOptions {
    /// The options for `cache`, with the default endpoint, no token, online, no refresh.
    pub fn with_cache(cache: impl Into<PathBuf>) -> HfOptions {
        HfOptions {
            cache: cache.into(),
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            token: None,
            offline: false,
            refresh: false,
        }
    }
}

/// `user/repo` for an `hf.co` name, refusing anything that could step outside the cache.
pub fn repo_id(name: &ModelName) -> Result<String> {
    for part in [&name.namespace, &name.model] {
        let ok = !part.is_empty()
            && part != "."
            && part != ".."
            && !part.contains("--")
            && !part.contains("..")
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !ok {
            return Err(AirgapError::Invalid(format!(
                "{}: {part:?} is not a Hugging Face user or repo name",
                name.display()
            )));
        }
    }
    Ok(format!("{}/{}", name.namespace, name.model))
}

/// The repo's folder in the hub cache (`models--user--repo`).
pub fn repo_dir(cache: &Path, name: &ModelName) -> Result<PathBuf> {
    let id = repo_id(name)?;
    let repo = hf_hub::Repo::model(id);
    Ok(cache.join(repo.folder_name()))
}

/// Whether a file name from a snapshot or the Hub is a plain top-level name (no `/`, `\`, `..`,
/// no leading dot).
pub fn is_plain_file_name(f: &str) -> bool {
    !f.is_empty()
        && !f.starts_with('.')
        && !f.contains(['/', '\\', '\0'])
        && Path::new(f)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// The quant an `hf.co` name asks for, and whether it asked explicitly (a tag other than
/// `latest`).
pub fn quant(name: &ModelName) -> (&str, bool) {
    if name.tag == hearth_store::names::DEFAULT_TAG {
        (DEFAULT_QUANT, false)
    } else {
        (name.tag.as_str(), true)
    }
}

/// Choose the GGUF for `name`'s quant among a repo's top-level `files` (a cached snapshot's or
/// the Hub's list): the one whose name ends in the quant as a separate word
/// (`model-Q4_K_M.gguf`); with no tag, [`DEFAULT_QUANT`], else the only GGUF. Projector files
/// (`mmproj`) are never chosen. `place` names where the list came from, for the error.
pub fn choose_gguf(files: &[String], name: &ModelName, place: &str) -> Result<String> {
    let mut ggufs: Vec<String> = files
        .iter()
        .filter(|f| is_plain_file_name(f))
        .filter(|f| {
            let lower = f.to_ascii_lowercase();
            lower.ends_with(".gguf") && !lower.contains("mmproj")
        })
        .cloned()
        .collect();
    ggufs.sort();
    ggufs.dedup();
    let (quant, explicit) = quant(name);
    let chosen = pick(&ggufs, quant).or_else(|| match (explicit, ggufs.as_slice()) {
        (false, [only]) => Some(only.clone()),
        _ => None,
    });
    chosen.ok_or_else(|| {
        AirgapError::NotFound(format!(
            "{}/{}: no GGUF for quant {quant} in {place} (it has: {})",
            name.namespace,
            name.model,
            if ggufs.is_empty() {
                "none".to_owned()
            } else {
                ggufs.join(", ")
            }
        ))
    })
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

    #[test]
    fn choice_ignores_nested_hidden_and_projector_files() {
        let files: Vec<String> = [
            "sub/m-Q4_K_M.gguf",
            "../m-Q4_K_M.gguf",
            ".m-Q4_K_M.gguf",
            "mmproj-m-Q4_K_M.gguf",
            "README.md",
        ]
        .map(String::from)
        .to_vec();
        let name = ModelName::parse("hf.co/u/r").unwrap();
        let err = choose_gguf(&files, &name, "the list").unwrap_err();
        assert!(err.to_string().contains("it has: none"), "{err}");
        let one = vec!["m-F16.gguf".to_owned(), "x/m-Q4_K_M.gguf".to_owned()];
        assert_eq!(choose_gguf(&one, &name, "the list").unwrap(), "m-F16.gguf");
        let tagged = ModelName::parse("hf.co/u/r:Q4_K_M").unwrap();
        assert!(choose_gguf(&one, &tagged, "the list").is_err());
    }

    #[test]
    fn path_tricks_are_refused() {
        let name = |ns: &str, m: &str| ModelName {
            host: "hf.co".into(),
            namespace: ns.into(),
            model: m.into(),
            tag: "latest".into(),
        };
        for (ns, m) in [
            ("..", "r"),
            ("u", ".."),
            ("u/..", "r"),
            ("u", "a--b"),
            ("", "r"),
        ] {
            assert!(repo_id(&name(ns, m)).is_err(), "{ns}/{m}");
        }
        assert_eq!(repo_id(&name("u", "r.v2")).unwrap(), "u/r.v2");
        for bad in ["hf.co/../r", "hf.co/u/../r", "hf.co/u/r/../../x"] {
            assert!(ModelName::parse(bad).is_none_or(|n| repo_id(&n).is_err()));
        }
        assert!(!is_plain_file_name("../x.gguf"));
        assert!(!is_plain_file_name("a/b.gguf"));
        assert!(is_plain_file_name("m-Q4_K_M.gguf"));
    }
}
