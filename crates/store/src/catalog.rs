//! Which models exist: the Ollama store's manifests, then those of read-only stores (a bundled
//! executable's own models, `HEARTH_EXTRA_MODELS`), then the built-in models; an earlier source
//! shadows a later one of the same name. All are resolved into one [`ModelRecord`] shape.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use hearth_gguf::GgufInfo;
use serde_json::{Map, Value};

use crate::manifest::{self as mt, ConfigV2};
use crate::names::ModelName;
use crate::{Digest, Store, StoreError, StoredModel};

/// A built-in model as the server offers it.
#[derive(Debug, Clone)]
pub struct BuiltinEntry {
    /// Canonical name (`smollm2:135m`).
    pub name: ModelName,
    /// Other names that resolve to it.
    pub aliases: Vec<ModelName>,
    /// The GGUF on disk.
    pub path: PathBuf,
    /// sha256 of the GGUF.
    pub sha256: String,
    /// GGUF size in bytes.
    pub size: u64,
    /// Architecture (family).
    pub family: String,
    /// Quantization label.
    pub quantization: String,
    /// Licence text or name.
    pub license: String,
}

/// Everything the server knows about one model before loading it.
#[derive(Debug, Clone)]
pub struct ModelRecord {
    /// Canonical name.
    pub name: ModelName,
    /// The GGUF weights.
    pub model_path: PathBuf,
    /// `/api/tags` digest (manifest sha256, or the GGUF's for built-in models).
    pub digest: String,
    /// Total size.
    pub size: u64,
    /// Manifest (or GGUF) mtime.
    pub modified: SystemTime,
    /// Modelfile TEMPLATE (Go template), if any.
    pub template: Option<String>,
    /// Modelfile SYSTEM, if any.
    pub system: Option<String>,
    /// Modelfile PARAMETERs (options JSON).
    pub params: Map<String, Value>,
    /// Modelfile MESSAGEs.
    pub messages: Vec<Value>,
    /// Licence texts.
    pub license: Vec<String>,
    /// The config blob.
    pub config: ConfigV2,
    /// Parent model (`from` of the weights layer).
    pub parent: String,
}

/// `details` as `/api/tags`, `/api/show` and `/api/ps` report it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Details {
    /// Parent model.
    pub parent_model: String,
    /// `gguf`.
    pub format: String,
    /// Architecture.
    pub family: String,
    /// Families.
    pub families: Vec<String>,
    /// e.g. `135M`.
    pub parameter_size: String,
    /// e.g. `Q4_1`.
    pub quantization_level: String,
}

/// The model catalogue.
#[derive(Debug)]
pub struct Catalog {
    store: Store,
    read_only: Vec<Store>,
    builtin: Vec<BuiltinEntry>,
    gguf: Mutex<HashMap<PathBuf, Arc<GgufInfo>>>,
}

impl Catalog {
    /// A catalogue over a store and a list of built-in models.
    pub fn new(store: Store, builtin: Vec<BuiltinEntry>) -> Self {
        Catalog {
            store,
            read_only: Vec::new(),
            builtin,
            gguf: Mutex::new(HashMap::new()),
        }
    }

    /// Also offer the models of read-only stores, consulted in order after the writable one
    /// (never written to, deleted from or pruned). A store that is the writable one is skipped.
    pub fn with_read_only(mut self, stores: impl IntoIterator<Item = Store>) -> Self {
        let same = |a: &Path, b: &Path| {
            a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
        };
        for s in stores {
            if same(s.root(), self.store.root()) {
                tracing::warn!(dir = %s.root().display(), "read-only store is the model store; ignored");
            } else if !self.read_only.iter().any(|r| same(r.root(), s.root())) {
                self.read_only.push(s);
            }
        }
        self
    }

    /// The (writable) store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The read-only stores, in the order they are consulted.
    pub fn read_only_stores(&self) -> &[Store] {
        &self.read_only
    }

    /// The read-only store a name resolves to: the first that has it, when the writable store
    /// does not.
    pub fn read_only_source(&self, name: &ModelName) -> Option<&Store> {
        if matches!(self.store.get(name), Ok(Some(_))) {
            return None;
        }
        self.read_only
            .iter()
            .find(|s| matches!(s.get(name), Ok(Some(_))))
    }

    /// The digest a file is stored under, when it is a blob of one of this catalogue's stores.
    pub fn blob_digest(&self, path: &Path) -> Option<Digest> {
        let d = Digest::parse(&path.file_name()?.to_string_lossy())?;
        std::iter::once(&self.store)
            .chain(&self.read_only)
            .any(|s| s.blob_path(&d) == path)
            .then_some(d)
    }

    /// Resolve a name: store first, then read-only stores, then built-in names and aliases.
    pub fn resolve(&self, name: &ModelName) -> Result<Option<ModelRecord>, StoreError> {
        if let Some(stored) = self.store.get(name)? {
            return Ok(self.record_of(&self.store, stored));
        }
        for store in &self.read_only {
            match store.get(name) {
                Ok(Some(stored)) => return Ok(self.record_of(store, stored)),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(dir = %store.root().display(), error = %e, "read-only store")
                }
            }
        }
        Ok(self
            .builtin
            .iter()
            .find(|b| b.name.matches(name) || b.aliases.iter().any(|a| a.matches(name)))
            .map(from_builtin))
    }

    /// Every model: store manifests, then those of read-only stores and built-in models not
    /// shadowed by an earlier one.
    pub fn list(&self) -> Vec<ModelRecord> {
        let mut out: Vec<ModelRecord> = self
            .store
            .list()
            .into_iter()
            .filter_map(|s| self.record_of(&self.store, s))
            .collect();
        for store in &self.read_only {
            for s in store.list() {
                if !out.iter().any(|r| r.name.matches(&s.name)) {
                    out.extend(self.record_of(store, s));
                }
            }
        }
        for b in &self.builtin {
            if !out.iter().any(|r| r.name.matches(&b.name)) {
                out.push(from_builtin(b));
            }
        }
        out.sort_by_key(|r| std::cmp::Reverse(r.modified));
        out
    }

    fn record_of(&self, store: &Store, stored: StoredModel) -> Option<ModelRecord> {
        let m = &stored.manifest;
        let weights = m.layer(mt::MEDIA_MODEL)?;
        let model_path = store.blob_path(&Digest::parse(&weights.digest)?);
        let text = |media: &str| {
            m.layer(media)
                .and_then(|l| store.read_blob_string(&l.digest))
        };
        let config = store
            .read_blob_string(&m.config.digest)
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        Some(ModelRecord {
            name: stored.name,
            model_path,
            digest: stored.digest,
            size: m.total_size(),
            modified: stored.modified,
            template: text(mt::MEDIA_TEMPLATE).or_else(|| text(mt::MEDIA_PROMPT)),
            system: text(mt::MEDIA_SYSTEM),
            params: text(mt::MEDIA_PARAMS)
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or_default(),
            messages: text(mt::MEDIA_MESSAGES)
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or_default(),
            license: m
                .layers
                .iter()
                .filter(|l| l.media_type == mt::MEDIA_LICENSE)
                .filter_map(|l| store.read_blob_string(&l.digest))
                .collect(),
            config,
            parent: weights.from.clone().unwrap_or_default(),
        })
    }

    /// GGUF metadata of a model file (cached; empty when unreadable).
    pub fn gguf(&self, path: &Path) -> Arc<GgufInfo> {
        let mut cache = self.gguf.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(path.to_owned())
            .or_insert_with(|| {
                Arc::new(hearth_gguf::validate(path).unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "cannot read GGUF metadata");
                    GgufInfo::default()
                }))
            })
            .clone()
    }

    /// `details` for a record.
    pub fn details(&self, r: &ModelRecord) -> Details {
        let info = self.gguf(&r.model_path);
        let family = non_empty(&r.config.model_family)
            .or_else(|| info.architecture().map(str::to_owned))
            .unwrap_or_else(|| "unknown".into());
        let parameter_size = non_empty(&r.config.model_type)
            .or_else(|| {
                (!info.tensors.is_empty())
                    .then(|| crate::labels::human_number(info.parameter_count()))
            })
            .or_else(|| str_meta(&info, "general.size_label"))
            .or_else(|| size_from_tag(&r.name.tag))
            .unwrap_or_else(|| "unknown".into());
        let quantization_level = non_empty(&r.config.file_type)
            .or_else(|| info.file_type_name().map(str::to_owned))
            .unwrap_or_else(|| "unknown".into());
        Details {
            parent_model: r.parent.clone(),
            format: "gguf".into(),
            families: r
                .config
                .model_families
                .clone()
                .unwrap_or_else(|| vec![family.clone()]),
            family,
            parameter_size,
            quantization_level,
        }
    }

    /// The chat template a model carries (GGUF Jinja, else the Modelfile template).
    pub fn template_text(&self, r: &ModelRecord) -> String {
        str_meta(&self.gguf(&r.model_path), "tokenizer.chat_template")
            .or_else(|| r.template.clone())
            .unwrap_or_default()
    }

    /// Capabilities derived from the model file, as Ollama does, with one deliberate difference:
    /// every `completion` model also has `tools`. Ollama refuses tools (400 `<name> does not
    /// support tools`) when the chat template does not mention them; hearth instead injects a
    /// tools system prompt and parses the calls (hearth-ollama-compat's `tools`), so the built-in SmolLM2 can
    /// call tools, and `/api/show` says so for clients (litellm, VS Code) that check first.
    pub fn capabilities(&self, r: &ModelRecord) -> Vec<&'static str> {
        let mut caps = self.file_capabilities(r);
        if caps.contains(&"completion") && !caps.contains(&"tools") {
            caps.insert(1, "tools");
        }
        caps
    }

    /// Capabilities as Ollama derives them (the manifest's list, else the model file).
    fn file_capabilities(&self, r: &ModelRecord) -> Vec<&'static str> {
        if let Some(caps) = &r.config.capabilities {
            if !caps.is_empty() {
                return caps.iter().filter_map(|c| capability_static(c)).collect();
            }
        }
        let info = self.gguf(&r.model_path);
        let keys = || info.metadata.keys();
        let mut caps = Vec::new();
        if keys().any(|k| k.ends_with(".pooling_type")) {
            caps.push("embedding");
        } else {
            caps.push("completion");
        }
        let template = self.template_text(r);
        if template.contains("tools") || template.contains("tool_call") {
            caps.push("tools");
        }
        if template.contains("<think>") {
            caps.push("thinking");
        }
        if keys().any(|k| k.ends_with(".vision.block_count")) {
            caps.push("vision");
        }
        caps
    }
}

fn capability_static(c: &str) -> Option<&'static str> {
    [
        "completion",
        "tools",
        "insert",
        "vision",
        "embedding",
        "thinking",
        "image",
        "audio",
    ]
    .into_iter()
    .find(|k| *k == c)
}

fn from_builtin(b: &BuiltinEntry) -> ModelRecord {
    let modified = std::fs::metadata(&b.path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    ModelRecord {
        name: b.name.clone(),
        model_path: b.path.clone(),
        digest: b.sha256.clone(),
        size: b.size,
        modified,
        template: None,
        system: None,
        params: Map::new(),
        messages: Vec::new(),
        license: if b.license.is_empty() {
            Vec::new()
        } else {
            vec![b.license.clone()]
        },
        config: ConfigV2 {
            model_format: "gguf".into(),
            model_family: b.family.clone(),
            file_type: b.quantization.clone(),
            ..ConfigV2::default()
        },
        parent: String::new(),
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

fn str_meta(info: &GgufInfo, key: &str) -> Option<String> {
    info.get_str(key)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn size_from_tag(tag: &str) -> Option<String> {
    let t = tag.split('-').next()?;
    let ok = t.len() > 1
        && (t.ends_with(['m', 'M', 'b', 'B']))
        && t[..t.len() - 1]
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.');
    ok.then(|| t.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_labels_from_tags() {
        assert_eq!(size_from_tag("135m"), Some("135M".into()));
        assert_eq!(size_from_tag("7b-instruct"), Some("7B".into()));
        assert_eq!(size_from_tag("latest"), None);
    }
}
