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

/// `parameters` as CapGuard's list, or as a JSON-Schema object (properties in schema order).
fn parameters<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ToolParameter>, D::Error> {
    use serde::de::Error;
    use serde_json::Value;
    match Value::deserialize(d)? {
        Value::Null => Ok(Vec::new()),
        v @ Value::Array(_) => serde_json::from_value(v).map_err(D::Error::custom),
        Value::Object(schema) => {
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let Some(props) = schema.get("properties") else {
                return Ok(Vec::new());
            };
            let props = props.as_object().ok_or_else(|| {
                D::Error::custom("parameters.properties must be an object of parameter schemas")
            })?;
            Ok(props
                .iter()
                .map(|(name, p)| ToolParameter {
                    name: name.clone(),
                    kind: p
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("str")
                        .to_owned(),
                    description: p
                        .get("description")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    required: required.contains(&name.as_str()),
                    default: p.get("default").cloned(),
                })
                .collect())
        }
        _ => Err(D::Error::custom(
            "parameters must be a list of {name, type, description} or a JSON-Schema object",
        )),
    }
}

/// A tool the agent may call: what it does and how dangerous it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDefinition {
    /// Unique name (the key in a token's `granted_tools`).
    pub name: String,
    /// What the tool does; the LLM classifier reads it.
    #[serde(default)]
    pub description: String,
    /// Parameters (names are shown to the model; constraints refer to them). CapGuard's list of
    /// [`ToolParameter`]s; a JSON-Schema object (`{"type": "object", "properties": {...},
    /// "required": [...]}`, as OpenAI and Ollama tools carry) is accepted too.
    #[serde(default, deserialize_with = "parameters")]
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
    fn parameters_as_json_schema() {
        let t: ToolDefinition = serde_json::from_str(
            r#"{"name":"get_weather","parameters":{"type":"object",
                "properties":{"city":{"type":"string","description":"City name"},"unit":{"type":"string","default":"C"}},
                "required":["city"]}}"#,
        )
        .unwrap();
        let names: Vec<_> = t.parameters.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["city", "unit"]);
        assert!(t.parameters[0].required && !t.parameters[1].required);
        assert_eq!(t.parameters[0].description, "City name");
        assert_eq!(t.parameters[1].default, Some(serde_json::json!("C")));
        let err = serde_json::from_str::<ToolDefinition>(r#"{"name":"x","parameters":7}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("JSON-Schema"), "{err}");
    }

    #[test]
    fn defaults_are_lenient() {
        let t: ToolDefinition = serde_json::from_str(r#"{"name":"x"}"#).unwrap();
        assert_eq!(t.risk_level, 3);
        assert!(t.parameters.is_empty());
    }
}
