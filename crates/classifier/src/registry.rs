//! The tool registry: an ordered, validated set of tool definitions with unique names.

use std::collections::HashMap;

use crate::{RegistryError, ToolDefinition};

/// Longest accepted tool name (names become grammar literals and prompt text).
pub const MAX_NAME_LEN: usize = 128;

/// Registered tools in insertion order. Every token issued against a registry lists each of its
/// tools exactly once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolRegistry {
    tools: Vec<ToolDefinition>,
    index: HashMap<String, usize>,
}

impl ToolRegistry {
    /// An empty registry to `register` into.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry from a tool list, refusing empty lists, duplicate names, bad names and risk levels
    /// outside 1..=5 (so a caller can reject a bad tool list with a clear message).
    pub fn from_tools(tools: Vec<ToolDefinition>) -> Result<Self, RegistryError> {
        if tools.is_empty() {
            return Err(RegistryError::Empty);
        }
        let mut registry = Self::new();
        for tool in tools {
            registry.register(tool, false)?;
        }
        Ok(registry)
    }

    /// Parse a JSON array of CapGuard `ToolDefinition`s and validate it.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, RegistryError> {
        let tools: Vec<ToolDefinition> = serde_json::from_value(value.clone())
            .map_err(|e| RegistryError::Malformed(e.to_string()))?;
        Self::from_tools(tools)
    }

    /// Add a tool. A name already present is refused unless `overwrite`, which replaces it in place.
    pub fn register(&mut self, tool: ToolDefinition, overwrite: bool) -> Result<(), RegistryError> {
        validate(&tool)?;
        match self.index.get(&tool.name) {
            Some(&i) if overwrite => self.tools[i] = tool,
            Some(_) => return Err(RegistryError::DuplicateName(tool.name)),
            None => {
                self.index.insert(tool.name.clone(), self.tools.len());
                self.tools.push(tool);
            }
        }
        Ok(())
    }

    /// Remove a tool by name.
    pub fn unregister(&mut self, name: &str) -> Result<ToolDefinition, RegistryError> {
        let i = self
            .index
            .remove(name)
            .ok_or_else(|| RegistryError::NotFound(name.to_owned()))?;
        let tool = self.tools.remove(i);
        for v in self.index.values_mut() {
            if *v > i {
                *v -= 1;
            }
        }
        Ok(tool)
    }

    /// A tool's definition.
    pub fn get(&self, name: &str) -> Option<&ToolDefinition> {
        self.index.get(name).map(|&i| &self.tools[i])
    }

    /// Whether a tool is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// All tools in insertion order.
    pub fn tools(&self) -> &[ToolDefinition] {
        &self.tools
    }

    /// Tool names in insertion order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tools.iter().map(|t| t.name.as_str())
    }

    /// Number of tools.
    pub fn len(&self) -> usize {
        self.tools.len()
    }

    /// Whether no tool is registered.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }
}

fn validate(tool: &ToolDefinition) -> Result<(), RegistryError> {
    let invalid = |reason| RegistryError::InvalidName {
        name: tool.name.clone(),
        reason,
    };
    if tool.name.trim().is_empty() {
        return Err(invalid("empty"));
    }
    if tool.name.len() > MAX_NAME_LEN {
        return Err(invalid("longer than 128 bytes"));
    }
    if tool
        .name
        .chars()
        .any(|c| c.is_control() || c == '"' || c == '\\')
    {
        return Err(invalid(
            "control characters, quotes and backslashes are not allowed",
        ));
    }
    if !(1..=5).contains(&tool.risk_level) {
        return Err(RegistryError::InvalidRisk {
            name: tool.name.clone(),
            risk: tool.risk_level,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, risk: i64) -> ToolDefinition {
        ToolDefinition::new(name, "d", risk)
    }

    #[test]
    fn keeps_order_and_refuses_duplicates() {
        let mut r = ToolRegistry::from_tools(vec![t("b", 1), t("a", 2)]).unwrap();
        assert_eq!(r.names().collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(
            r.register(t("a", 3), false),
            Err(RegistryError::DuplicateName("a".into()))
        );
        r.register(t("a", 5), true).unwrap();
        assert_eq!(r.get("a").unwrap().risk_level, 5);
        assert_eq!(r.len(), 2);
        r.unregister("b").unwrap();
        assert_eq!(r.get("a").unwrap().name, "a");
    }

    #[test]
    fn refuses_bad_lists() {
        assert_eq!(ToolRegistry::from_tools(vec![]), Err(RegistryError::Empty));
        assert!(matches!(
            ToolRegistry::from_tools(vec![t("x", 0)]),
            Err(RegistryError::InvalidRisk { risk: 0, .. })
        ));
        assert!(matches!(
            ToolRegistry::from_tools(vec![t("x", 6)]),
            Err(RegistryError::InvalidRisk { risk: 6, .. })
        ));
        assert!(matches!(
            ToolRegistry::from_tools(vec![t("a\"b", 1)]),
            Err(RegistryError::InvalidName { .. })
        ));
        assert!(matches!(
            ToolRegistry::from_json(&serde_json::json!([{"description": "no name"}])),
            Err(RegistryError::Malformed(_))
        ));
    }
}
