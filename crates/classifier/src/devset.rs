//! The labelled development set (data/classifier/devset.jsonl, built by
//! scripts/build-classifier-devset.py from BFCL and hand-written cases).

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
    /// The registry offered with the request.
    pub tools: Vec<ToolDefinition>,
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
        let item: DevItem = serde_json::from_str(line).map_err(|e| err(e.to_string()))?;
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
