//! The labelled development set (data/classifier/devset.jsonl, built by
//! scripts/build-classifier-devset.py from BFCL and hand-written cases).
//!
//! The file holds two kinds of JSON line: a registry, `{"define_registry": id, "tools": [...]}`,
//! written once before its first use, and an item, which names its registry by that id.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::{DevsetError, ToolDefinition, ToolRegistry};

/// One labelled request.
#[derive(Debug, Clone, Deserialize)]
pub struct DevItem {
    /// Item id (BFCL id, with `-t<turn>` for multi-turn).
    pub id: String,
    /// `bfcl/<category>`, `handwritten/<kind>` or `agent/<kind>`.
    pub source: String,
    /// The registry's domain, for per-domain figures (`shop`, `bfcl-multi-turn`, ...).
    #[serde(default)]
    pub domain: String,
    /// `dev` or `test`.
    pub split: String,
    /// The user request.
    pub request: String,
    /// Tools the request needs (empty: none).
    pub needed: Vec<String>,
    /// Attacker goals: tool sets an injection in content the agent reads would need. Each is
    /// blocked when the request's token denies at least one of its tools.
    #[serde(default)]
    pub attacks: Vec<Vec<String>>,
    /// The registry offered with the request (resolved from the item's registry id).
    pub tools: Vec<ToolDefinition>,
}

/// One line of the file.
#[derive(Deserialize)]
#[serde(untagged)]
enum Line {
    Registry {
        define_registry: String,
        tools: Vec<ToolDefinition>,
    },
    Item(RawItem),
}

/// An item as written: its registry by id.
#[derive(Deserialize)]
struct RawItem {
    id: String,
    source: String,
    #[serde(default)]
    domain: String,
    split: String,
    request: String,
    needed: Vec<String>,
    #[serde(default)]
    attacks: Vec<Vec<String>>,
    registry: String,
}

impl DevItem {
    /// The item's registry.
    pub fn registry(&self) -> Result<ToolRegistry, String> {
        ToolRegistry::from_tools(self.tools.clone()).map_err(|e| e.to_string())
    }
}

/// Load a dev set, checking that every item's registry is valid and holds its needed tools.
pub fn load(path: &Path) -> Result<Vec<DevItem>, DevsetError> {
    let text = std::fs::read_to_string(path).map_err(|source| DevsetError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut items = Vec::new();
    let mut registries: HashMap<String, Vec<ToolDefinition>> = HashMap::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let err = |reason: String| DevsetError::Parse {
            path: path.to_owned(),
            line: i + 1,
            reason,
        };
        let raw = match serde_json::from_str(line).map_err(|e| err(e.to_string()))? {
            Line::Registry {
                define_registry,
                tools,
            } => {
                if registries.insert(define_registry.clone(), tools).is_some() {
                    return Err(err(format!(
                        "registry {define_registry:?} is defined twice"
                    )));
                }
                continue;
            }
            Line::Item(raw) => raw,
        };
        let Some(tools) = registries.get(&raw.registry) else {
            return Err(err(format!(
                "registry {:?} is not defined on an earlier line",
                raw.registry
            )));
        };
        let item = DevItem {
            id: raw.id,
            source: raw.source,
            domain: raw.domain,
            split: raw.split,
            request: raw.request,
            needed: raw.needed,
            attacks: raw.attacks,
            tools: tools.clone(),
        };
        let registry = item.registry().map_err(err)?;
        if let Some(missing) = item.needed.iter().find(|n| !registry.contains(n)) {
            return Err(err(format!("needed tool {missing:?} is not offered")));
        }
        if let Some(missing) = item
            .attacks
            .iter()
            .flatten()
            .find(|n| !registry.contains(n))
        {
            return Err(err(format!("attack tool {missing:?} is not offered")));
        }
        items.push(item);
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    fn load_text(text: &str) -> Result<Vec<super::DevItem>, crate::DevsetError> {
        let dir = std::env::temp_dir().join(format!("hearth-devset-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{}.jsonl", text.len()));
        std::fs::write(&path, text).unwrap();
        let out = super::load(&path);
        std::fs::remove_file(&path).ok();
        out
    }

    const REGISTRY: &str = r#"{"define_registry":"r1","tools":[{"name":"send_email","description":"Send an email","parameters":[],"risk_level":4}]}"#;
    const ITEM: &str = r#"{"id":"a","source":"handwritten/x","domain":"general","split":"dev","request":"mail Bob","needed":["send_email"],"attacks":[],"registry":"r1"}"#;

    #[test]
    fn items_resolve_their_registry_by_id() {
        let items = load_text(&format!("{REGISTRY}\n{ITEM}\n{ITEM}\n")).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].tools[0].name, "send_email");
    }

    #[test]
    fn an_undefined_or_twice_defined_registry_is_an_error() {
        let e = load_text(&format!("{ITEM}\n{REGISTRY}\n")).unwrap_err();
        assert!(e.to_string().contains("not defined"), "{e}");
        let e = load_text(&format!("{REGISTRY}\n{REGISTRY}\n{ITEM}\n")).unwrap_err();
        assert!(e.to_string().contains("defined twice"), "{e}");
    }

    #[test]
    fn the_committed_dev_set_loads() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../data/classifier/devset.jsonl");
        let items = super::load(&path).unwrap();
        assert!(items.len() > 500);
        assert!(items.iter().all(|i| i.tools.len() <= 40));
        assert!(
            items
                .iter()
                .filter(|i| i.source.starts_with("agent/"))
                .count()
                >= 200
        );
        assert!(items
            .iter()
            .any(|i| i.source == "bfcl/multi_turn_miss_func"));
        assert!(items
            .iter()
            .any(|i| i.source == "bfcl/multi_turn_miss_param"));
        assert!(items
            .iter()
            .any(|i| i.source == "bfcl/multi_turn_long_context"));
        assert!(items.iter().all(|i| !i.domain.is_empty()));
        assert!(items.iter().any(|i| i.needed.is_empty()));
        assert!(items
            .iter()
            .any(|i| i.source.starts_with("handwritten/injection")));
        assert!(items.iter().any(|i| i.split == "test") && items.iter().any(|i| i.split == "dev"));
    }
}
