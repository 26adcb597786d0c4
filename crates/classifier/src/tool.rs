//! Tool definitions with CapGuard's field names (`ToolDefinition`, `ToolParameter`).

use serde::{Deserialize, Serialize};

/// One parameter of a tool, as CapGuard describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolParameter {
    /// Parameter name.
    pub name: String,
    /// Type name as written by the tool author (`str`, `int`, ...).
    #[serde(rename = "type", default = "default_type")]
    pub kind: String,
    /// What the parameter means.
    #[serde(default)]
    pub description: String,
    /// Whether callers must pass it.
    #[serde(default = "default_true")]
    pub required: bool,
    /// Default value, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
}

fn default_type() -> String {
    "str".to_owned()
}

fn default_true() -> bool {
    true
}

fn default_risk() -> i64 {
    3
}

/// A tool the agent may call: what it does and how dangerous it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDefinition {
    /// Unique name (the key in a token's `granted_tools`).
    pub name: String,
    /// What the tool does; the LLM classifier reads it.
    #[serde(default)]
    pub description: String,
    /// Parameters (names are shown to the model; constraints refer to them).
    #[serde(default)]
    pub parameters: Vec<ToolParameter>,
    /// 1 = read-only … 5 = irreversible. Missing means 3; the registry refuses values outside 1..=5.
    #[serde(default = "default_risk")]
    pub risk_level: i64,
    /// Whether a human should confirm each call.
    #[serde(default)]
    pub requires_confirmation: bool,
}

impl ToolDefinition {
    /// A tool with no parameters.
    pub fn new(name: impl Into<String>, description: impl Into<String>, risk_level: i64) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            parameters: Vec::new(),
            risk_level,
            requires_confirmation: false,
        }
    }

    /// Add a required string parameter (builder style).
    #[must_use]
    pub fn with_param(mut self, name: impl Into<String>, description: impl Into<String>) -> Self {
        self.parameters.push(ToolParameter {
            name: name.into(),
            kind: default_type(),
            description: description.into(),
            required: true,
            default: None,
        });
        self
    }

    /// Risky tools (risk ≥ 4: sending, paying, deleting, executing) need stronger evidence.
    pub fn is_risky(&self) -> bool {
        self.risk_level >= 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_capguard_json() {
        let t: ToolDefinition = serde_json::from_str(
            r#"{"name":"send_email","description":"Send an email to a recipient",
                "parameters":[{"name":"to","type":"str","description":"Recipient address","required":true}],
                "risk_level":4,"requires_confirmation":true}"#,
        )
        .unwrap();
        assert_eq!(t.name, "send_email");
        assert_eq!(t.parameters[0].kind, "str");
        assert!(t.is_risky());
        assert!(t.requires_confirmation);
    }

    #[test]
    fn defaults_are_lenient() {
        let t: ToolDefinition = serde_json::from_str(r#"{"name":"x"}"#).unwrap();
        assert_eq!(t.risk_level, 3);
        assert!(t.parameters.is_empty());
    }
}
