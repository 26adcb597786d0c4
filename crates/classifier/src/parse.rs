//! Strict parsing of a model's JSON answer: exactly the registry's tools, each a boolean.

use crate::ToolRegistry;

/// Parse `{"tool": bool, ...}` (or CapGuard's `{"granted_tools": {...}, ...}`) against `registry`.
///
/// Unlike CapGuard, unknown names and non-boolean values are errors (the caller then denies
/// everything), and so is a missing tool: a complete answer is the only acceptable one.
pub fn parse_grants(text: &str, registry: &ToolRegistry) -> Result<Vec<(String, bool)>, String> {
    let value: serde_json::Value =
        serde_json::from_str(text.trim()).map_err(|e| format!("unparseable answer: {e}"))?;
    let mut object = value.as_object().ok_or("the answer is not a JSON object")?;
    if let Some(inner) = object.get("granted_tools") {
        object = inner.as_object().ok_or("granted_tools is not an object")?;
    }
    let mut grants = Vec::with_capacity(registry.len());
    for (name, v) in object {
        if !registry.contains(name) {
            return Err(format!("unknown tool {name:?} in the answer"));
        }
        let b = v
            .as_bool()
            .ok_or_else(|| format!("tool {name:?}: {v} is not a boolean"))?;
        grants.push((name.clone(), b));
    }
    if let Some(missing) = registry.names().find(|n| !object.contains_key(*n)) {
        return Err(format!("tool {missing:?} missing from the answer"));
    }
    Ok(grants)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ToolDefinition;

    fn reg() -> ToolRegistry {
        ToolRegistry::from_tools(vec![
            ToolDefinition::new("a", "", 1),
            ToolDefinition::new("b", "", 5),
        ])
        .unwrap()
    }

    #[test]
    fn accepts_exact_answers() {
        assert_eq!(
            parse_grants(r#"{"a":true,"b":false}"#, &reg()).unwrap(),
            [("a".to_owned(), true), ("b".to_owned(), false)]
        );
        let capguard = r#"{"granted_tools":{"a":false,"b":true},"confidence":0.9,"reasoning":"x"}"#;
        assert_eq!(
            parse_grants(capguard, &reg()).unwrap()[1],
            ("b".to_owned(), true)
        );
    }

    #[test]
    fn refuses_anything_else() {
        for bad in [
            r#"{"a":true,"b":false,"evil":true}"#,
            r#"{"a":true}"#,
            r#"{"a":"yes","b":false}"#,
            r#"{"a":true,"b":fal"#,
            "[]",
            "",
        ] {
            assert!(parse_grants(bad, &reg()).is_err(), "{bad}");
        }
    }
}
