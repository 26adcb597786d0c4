//! `tool_choice` obeyed by grammar rather than by hope: which tools the model is shown, whether
//! its output is parsed for calls, how many calls are kept, and for `required` or a named tool
//! a GBNF that admits only `<tool_call>` envelopes whose arguments match the tool's JSON schema.

use serde_json::{json, Value};

use crate::error::ApiError;
use crate::wire::ToolChoice;

/// The most calls a forced, parallel answer may hold.
pub const MAX_FORCED_CALLS: usize = 8;

/// OpenAI's `tool_choice`: `"none"`, `"auto"`, `"required"`, or a named function as
/// `{"type":"function","function":{"name":...}}` (Chat Completions) or
/// `{"type":"function","name":...}` (Responses).
pub fn from_openai(v: Option<&Value>) -> Result<Option<ToolChoice>, ApiError> {
    let invalid = |v: &Value| {
        ApiError::bad(format!(
            "Invalid value for 'tool_choice': {v}. Expected \"none\", \"auto\", \"required\" or {{\"type\": \"function\", \"function\": {{\"name\": ...}}}}."
        ))
    };
    let Some(v) = v else { return Ok(None) };
    match v {
        Value::Null => Ok(None),
        Value::String(s) => match s.as_str() {
            "none" => Ok(Some(ToolChoice::None)),
            "auto" => Ok(Some(ToolChoice::Auto)),
            "required" => Ok(Some(ToolChoice::Required)),
            _ => Err(invalid(v)),
        },
        Value::Object(o) if o.get("type").and_then(Value::as_str) == Some("function") => {
            let name = o
                .get("function")
                .and_then(|f| f.get("name"))
                .or_else(|| o.get("name"))
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| invalid(v))?;
            Ok(Some(ToolChoice::Function(name.to_owned())))
        }
        _ => Err(invalid(v)),
    }
}

/// What a chat turn does with its tools.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolPlan {
    /// The tool definitions shown to the model (none for `tool_choice: none`).
    pub tools: Vec<Value>,
    /// A GBNF that forces a call, for `required` and named choices.
    pub grammar: Option<String>,
    /// Parse the output for calls.
    pub parse: bool,
    /// Keep at most this many calls (`parallel_tool_calls: false` → 1).
    pub max_calls: Option<usize>,
}

/// The tool definitions the model is shown: none for `tool_choice: none`, else all of them.
/// [`plan`] and the token count of `/v1/messages/count_tokens` both follow this one rule.
pub fn shown_tools(tools: Vec<Value>, choice: Option<&ToolChoice>) -> Vec<Value> {
    match choice {
        Some(ToolChoice::None) => Vec::new(),
        _ => tools,
    }
}

/// Plan a turn. `to_gbnf` turns a JSON schema into GBNF with a `root` rule (the engine's
/// llama.cpp converter in production).
pub fn plan(
    tools: Vec<Value>,
    choice: Option<&ToolChoice>,
    parallel: Option<bool>,
    to_gbnf: impl Fn(&Value) -> Result<String, String>,
) -> Result<ToolPlan, ApiError> {
    let tools = shown_tools(tools, choice);
    let choice = choice.cloned().unwrap_or_default();
    let single = parallel == Some(false);
    let max_calls = single.then_some(1);
    let forced: Vec<&Value> = match &choice {
        ToolChoice::None => {
            return Ok(ToolPlan {
                tools,
                grammar: None,
                parse: false,
                max_calls: None,
            })
        }
        ToolChoice::Auto => {
            return Ok(ToolPlan {
                parse: !tools.is_empty(),
                tools,
                grammar: None,
                max_calls,
            })
        }
        ToolChoice::Required => {
            if tools.is_empty() {
                return Err(ApiError::bad(
                    "tool_choice \"required\" needs at least one tool in \"tools\"",
                ));
            }
            tools.iter().collect()
        }
        ToolChoice::Function(name) => {
            let found: Vec<&Value> = tools
                .iter()
                .filter(|t| tool_name(t) == Some(name))
                .collect();
            if found.is_empty() {
                return Err(ApiError::bad(format!(
                    "tool_choice names the function {name:?}, which is not among \"tools\""
                )));
            }
            found.into_iter().take(1).collect()
        }
    };
    let mut variants = Vec::with_capacity(forced.len());
    for t in forced {
        let name = tool_name(t).ok_or_else(|| ApiError::bad("every tool needs a function name"))?;
        let params = tool_parameters(t);
        if !params.is_object() {
            return Err(ApiError::bad(format!(
                "the parameters of tool {name:?} must be a JSON schema object"
            )));
        }
        variants.push(json!({
            "type": "object",
            "properties": {"name": {"const": name}, "arguments": params},
            "required": ["name", "arguments"],
            "additionalProperties": false,
        }));
    }
    let schema = if variants.len() == 1 {
        variants.pop().unwrap_or_default()
    } else {
        json!({ "anyOf": variants })
    };
    let call = to_gbnf(&schema).map_err(|e| {
        ApiError::bad(format!(
            "cannot enforce tool_choice: the tools' parameters are not a supported JSON schema ({e})"
        ))
    })?;
    let calls = if single { 1 } else { MAX_FORCED_CALLS };
    Ok(ToolPlan {
        tools,
        grammar: Some(envelope(&call, calls)),
        parse: true,
        max_calls: Some(calls),
    })
}

/// Wrap a call grammar (start rule `root`) in `<tool_call>` tags, 1 to `calls` times.
fn envelope(call_gbnf: &str, calls: usize) -> String {
    let mut out = String::with_capacity(call_gbnf.len() + 200);
    for line in call_gbnf.lines() {
        match line.strip_prefix("root ::=") {
            Some(rest) => {
                out.push_str("hearth-call ::=");
                out.push_str(rest);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out.push_str("hearth-tagged ::= \"<tool_call>\\n\" hearth-call \"\\n</tool_call>\"\n");
    if calls <= 1 {
        out.push_str("root ::= hearth-tagged\n");
    } else {
        out.push_str(&format!(
            "root ::= hearth-tagged (\"\\n\" hearth-tagged){{0,{}}}\n",
            calls - 1
        ));
    }
    out
}

/// A tool's function name, in the native `{"type":"function","function":{...}}` shape or flat.
fn tool_name(tool: &Value) -> Option<&str> {
    tool.get("function")
        .and_then(|f| f.get("name"))
        .or_else(|| tool.get("name"))
        .and_then(Value::as_str)
}

fn tool_parameters(tool: &Value) -> Value {
    let f = tool.get("function").unwrap_or(tool);
    match f.get("parameters") {
        None | Some(Value::Null) => json!({"type": "object"}),
        Some(p) => p.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(name: &str) -> Value {
        json!({"type": "function", "function": {"name": name, "parameters": {
            "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}})
    }

    fn fake_gbnf(schema: &Value) -> Result<String, String> {
        Ok(format!("root ::= {:?}\n", schema.to_string()))
    }

    #[test]
    fn openai_shapes() {
        assert_eq!(from_openai(None).unwrap(), None);
        assert_eq!(
            from_openai(Some(&json!("required"))).unwrap(),
            Some(ToolChoice::Required)
        );
        let named = Some(ToolChoice::Function("f".into()));
        let chat = json!({"type": "function", "function": {"name": "f"}});
        assert_eq!(from_openai(Some(&chat)).unwrap(), named);
        let responses = json!({"type": "function", "name": "f"});
        assert_eq!(from_openai(Some(&responses)).unwrap(), named);
        assert!(from_openai(Some(&json!("always"))).is_err());
        assert!(from_openai(Some(&json!({"type": "function"}))).is_err());
        assert!(from_openai(Some(&json!(3))).is_err());
    }

    #[test]
    fn none_hides_tools_and_parses_nothing() {
        let p = plan(vec![tool("a")], Some(&ToolChoice::None), None, fake_gbnf).unwrap();
        assert!(p.tools.is_empty() && !p.parse && p.grammar.is_none());
    }

    #[test]
    fn auto_single_keeps_one_call() {
        let p = plan(vec![tool("a")], None, Some(false), fake_gbnf).unwrap();
        assert_eq!((p.parse, p.max_calls, p.grammar), (true, Some(1), None));
        let p = plan(Vec::new(), None, None, fake_gbnf).unwrap();
        assert!(!p.parse);
    }

    #[test]
    fn named_choice_forces_that_tool_only() {
        let p = plan(
            vec![tool("a"), tool("b")],
            Some(&ToolChoice::Function("b".into())),
            Some(false),
            fake_gbnf,
        )
        .unwrap();
        let g = p.grammar.unwrap();
        assert!(g.contains("hearth-call ::="), "{g}");
        assert!(g.contains(r#"\"const\":\"b\""#), "{g}");
        assert!(!g.contains(r#"\"const\":\"a\""#), "{g}");
        assert!(g.ends_with("root ::= hearth-tagged\n"), "{g}");
        assert_eq!(p.max_calls, Some(1));
    }

    #[test]
    fn required_offers_every_tool_and_repeats() {
        let p = plan(
            vec![tool("a"), tool("b")],
            Some(&ToolChoice::Required),
            None,
            fake_gbnf,
        )
        .unwrap();
        let g = p.grammar.unwrap();
        assert!(g.contains("anyOf") && g.contains("{0,7}"), "{g}");
    }

    #[test]
    fn bad_choices_are_400s() {
        let e = plan(Vec::new(), Some(&ToolChoice::Required), None, fake_gbnf).unwrap_err();
        assert!(e.to_string().contains("at least one tool"), "{e}");
        let e = plan(
            vec![tool("a")],
            Some(&ToolChoice::Function("zzz".into())),
            None,
            fake_gbnf,
        )
        .unwrap_err();
        assert!(e.to_string().contains("zzz"), "{e}");
        let e = plan(vec![tool("a")], Some(&ToolChoice::Required), None, |_| {
            Err("nope".into())
        })
        .unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
    }
}
