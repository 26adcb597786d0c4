//! The capability token: which registered tools one user request may use (CapGuard's JSON shape).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ToolRegistry;

/// CapGuard-compatible capability token. `granted_tools` names every registered tool exactly once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapabilityToken {
    /// uuid4 string.
    pub request_id: String,
    /// The trusted user request the token was issued for.
    pub user_request: String,
    /// Every registered tool with its grant.
    pub granted_tools: BTreeMap<String, bool>,
    /// Per-tool argument constraints, e.g. `{"send_email": {"recipient_whitelist": ["me@example.com"]}}`.
    #[serde(default)]
    pub constraints: BTreeMap<String, serde_json::Value>,
    /// RFC 3339 UTC time of issue.
    pub timestamp: String,
    /// 0..1, from token probabilities (LLM) or rule coverage; 0 when the classifier failed.
    #[serde(default = "one")]
    pub confidence: f64,
    /// `rule-based`, `llm-<model>`, `hybrid-…`, or `…-error: <reason>` when everything was denied.
    pub classification_method: String,
    /// hearth extension: per-tool probability that the tool is needed (absent in CapGuard's tokens).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scores: BTreeMap<String, f64>,
}

fn one() -> f64 {
    1.0
}

impl CapabilityToken {
    /// A token for `request` with `grants` (tool → granted) over `registry`: tools missing from
    /// `grants` are denied and names not in the registry are dropped, so the token always lists
    /// exactly the registry.
    pub fn new(
        registry: &ToolRegistry,
        request: &str,
        grants: impl IntoIterator<Item = (String, bool)>,
        confidence: f64,
        method: impl Into<String>,
    ) -> Self {
        let mut granted_tools: BTreeMap<String, bool> =
            registry.names().map(|n| (n.to_owned(), false)).collect();
        for (name, granted) in grants {
            if let Some(slot) = granted_tools.get_mut(&name) {
                *slot = granted;
            }
        }
        Self {
            request_id: uuid::Uuid::new_v4().to_string(),
            user_request: request.to_owned(),
            granted_tools,
            constraints: BTreeMap::new(),
            timestamp: crate::time::now_rfc3339(),
            confidence: confidence.clamp(0.0, 1.0),
            classification_method: method.into(),
            scores: BTreeMap::new(),
        }
    }

    /// The fail-closed token: every tool denied, confidence 0, the reason in `classification_method`.
    pub fn deny_all(registry: &ToolRegistry, request: &str, method: &str, reason: &str) -> Self {
        let reason = reason.replace(['\n', '\r'], " ");
        Self::new(
            registry,
            request,
            [],
            0.0,
            format!("{method}-error: {reason}"),
        )
    }

    /// Whether the token grants `tool` (unknown tools are never granted).
    pub fn is_granted(&self, tool: &str) -> bool {
        self.granted_tools.get(tool).copied().unwrap_or(false)
    }

    /// The granted tool names (sorted).
    pub fn granted(&self) -> Vec<&str> {
        self.granted_tools
            .iter()
            .filter(|(_, &g)| g)
            .map(|(n, _)| n.as_str())
            .collect()
    }

    /// Whether this token records a classifier failure (everything denied).
    pub fn is_failure(&self) -> bool {
        self.classification_method.contains("-error: ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ToolDefinition;

    fn registry() -> ToolRegistry {
        ToolRegistry::from_tools(vec![
            ToolDefinition::new("a", "", 1),
            ToolDefinition::new("b", "", 4),
        ])
        .unwrap()
    }

    #[test]
    fn lists_every_registered_tool_and_drops_unknown_ones() {
        let t = CapabilityToken::new(
            &registry(),
            "r",
            [("a".into(), true), ("evil".into(), true)],
            0.9,
            "rule-based",
        );
        assert_eq!(t.granted_tools.len(), 2);
        assert!(t.is_granted("a") && !t.is_granted("b") && !t.is_granted("evil"));
        assert_eq!(t.request_id.len(), 36);
    }

    #[test]
    fn deny_all_is_marked() {
        let t = CapabilityToken::deny_all(&registry(), "r", "llm-x", "timeout");
        assert!(t.granted().is_empty());
        assert_eq!(t.confidence, 0.0);
        assert_eq!(t.classification_method, "llm-x-error: timeout");
        assert!(t.is_failure());
    }

    #[test]
    fn parses_capguard_token() {
        let t: CapabilityToken = serde_json::from_str(
            r#"{"request_id":"6f1c2d9e","user_request":"Read x and email me",
             "granted_tools":{"read_website":true,"send_email":true,"delete_file":false},
             "constraints":{"send_email":{"recipient_whitelist":["me@example.com"]}},
             "timestamp":"2026-01-14T10:00:00Z","confidence":0.93,"classification_method":"llm-m"}"#,
        )
        .unwrap();
        assert!(t.is_granted("send_email") && !t.is_granted("delete_file"));
        let back = serde_json::to_value(&t).unwrap();
        assert!(back.get("scores").is_none());
    }
}
