//! Grammars built from the registry, so the model can only answer with registered tool names.

use crate::ToolRegistry;

/// One answer word for per-tool scoring (either case, as small chat models like to capitalise).
pub const YES_NO_GBNF: &str = r#"root ::= "yes" | "no" | "Yes" | "No""#;

/// A GBNF grammar for the compact JSON object `{"<tool>":true|false,...}` whose keys are exactly the
/// registry's names, each once, in registry order. Every byte but the booleans is forced, so the
/// answer is N binary decisions and no other tool name can ever appear.
pub fn json_object_gbnf(registry: &ToolRegistry) -> String {
    let mut root = String::from("root ::= \"{\"");
    for (i, name) in registry.names().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        // The registry refuses quotes, backslashes and control characters in names; JSON and GBNF
        // escaping are therefore the identity except for the surrounding quotes.
        root.push_str(&format!(" \"{sep}\\\"{}\\\":\" bool", gbnf_escape(name)));
    }
    root.push_str(" \"}\"\nbool ::= \"true\" | \"false\"\n");
    root
}

/// The JSON schema equivalent of [`json_object_gbnf`] (for OpenAI-style `response_format` users).
pub fn json_schema(registry: &ToolRegistry) -> serde_json::Value {
    let properties: serde_json::Map<String, serde_json::Value> = registry
        .names()
        .map(|n| (n.to_owned(), serde_json::json!({"type": "boolean"})))
        .collect();
    serde_json::json!({
        "type": "object",
        "properties": properties,
        "required": registry.names().collect::<Vec<_>>(),
        "additionalProperties": false,
    })
}

fn gbnf_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' => "\\\"".to_owned(),
            '\\' => "\\\\".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ToolDefinition;

    #[test]
    fn json_grammar_lists_each_tool_once_in_order() {
        let r = ToolRegistry::from_tools(vec![
            ToolDefinition::new("read_website", "", 2),
            ToolDefinition::new("send.email", "", 4),
        ])
        .unwrap();
        let g = json_object_gbnf(&r);
        assert_eq!(
            g,
            "root ::= \"{\" \"\\\"read_website\\\":\" bool \",\\\"send.email\\\":\" bool \"}\"\nbool ::= \"true\" | \"false\"\n"
        );
        let s = json_schema(&r);
        assert_eq!(
            s["required"],
            serde_json::json!(["read_website", "send.email"])
        );
        assert_eq!(s["additionalProperties"], false);
    }
}
