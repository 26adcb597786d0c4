//! CapGuard's `LLMClassifier` over `/v1/chat/completions`, answered by hearth's classifier.
//!
//! CapGuard (0.1.x) sends a fixed prompt pair — a system prompt naming "CapGuard", and a user
//! prompt with `Available Tools:` (one `- name (risk=N): description [params: a, b]` line each)
//! and `User Request: "..."` — in JSON mode, then parses `{"granted_tools": {...},
//! "confidence": x, "reasoning": "..."}` and falls back to deny-all on any deviation. Free JSON
//! from a small model rarely fits that contract, so a recognised CapGuard request is classified
//! by `hearth-classifier` (hybrid: rules, then the requested model under a grammar for the
//! uncertain tools) and answered in exactly that shape. Anything not recognised is an ordinary
//! chat completion. When hearth's classifier itself fails closed, the reply is a 500, so
//! CapGuard's own fallback (deny-all, visible in its `classification_method`) takes over.

use std::collections::BTreeMap;

use hearth_classifier::{Method, Policy, ToolDefinition, ToolRegistry};
use serde_json::{json, Value};

use crate::classify_request::ClassifyRequest;
use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;

/// What CapGuard's system prompt says about itself.
const SYSTEM_MARK: &str = "intent classifier for CapGuard";
const TOOLS_MARK: &str = "Available Tools:";
const REQUEST_MARK: &str = "User Request: \"";
const REQUEST_END: &str = "\"\n\nAnalyze the request";

/// A recognised CapGuard classification request.
#[derive(Debug)]
pub struct Prompt {
    /// The registry rebuilt from the tool lines.
    pub registry: ToolRegistry,
    /// The user request.
    pub request: String,
}

/// Recognise CapGuard's prompt pair in OpenAI messages (`role`/`content` objects).
pub fn recognise(messages: &[Value]) -> Option<Prompt> {
    let content = |m: &Value| m.get("content").and_then(Value::as_str).map(str::to_owned);
    let system = messages
        .iter()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("system"))
        .and_then(content)?;
    if !system.contains(SYSTEM_MARK) {
        return None;
    }
    let user = messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .and_then(content)?;
    parse_user_prompt(&user)
}

/// Parse CapGuard's user prompt: the tool lines and the quoted request.
pub fn parse_user_prompt(text: &str) -> Option<Prompt> {
    let after_tools = &text[text.find(TOOLS_MARK)? + TOOLS_MARK.len()..];
    let tools: Vec<ToolDefinition> = after_tools
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty())
        .map(tool_line)
        .collect::<Option<_>>()?;
    let start = text.find(REQUEST_MARK)? + REQUEST_MARK.len();
    let rest = &text[start..];
    let end = rest
        .find(REQUEST_END)
        .or_else(|| rest.lines().next().and_then(|l| l.rfind('"')))?;
    let registry = ToolRegistry::from_tools(tools).ok()?;
    Some(Prompt {
        registry,
        request: rest[..end].to_owned(),
    })
}

/// `- name (risk=N): description [params: a, b]` (params `none` when there are none).
fn tool_line(line: &str) -> Option<ToolDefinition> {
    let line = line.strip_prefix("- ")?;
    let (name, rest) = line.split_once(" (risk=")?;
    let (risk, rest) = rest.split_once("): ")?;
    let risk: i64 = risk.trim().parse().ok()?;
    let (description, params) = match rest.rfind(" [params: ") {
        Some(i) if rest.ends_with(']') => (&rest[..i], &rest[i + 10..rest.len() - 1]),
        _ => (rest, "none"),
    };
    let mut tool = ToolDefinition::new(name.trim(), description.trim(), risk);
    if params.trim() != "none" {
        for p in params.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            tool = tool.with_param(p, "");
        }
    }
    Some(tool)
}

/// Classify a recognised prompt with `model`; the JSON text CapGuard expects as the content.
pub async fn answer(st: &SharedState, model: &str, prompt: Prompt) -> ApiResult<String> {
    let request = ClassifyRequest {
        model: Some(model.to_owned()),
        registry: prompt.registry,
        request: prompt.request,
        method: Method::Hybrid,
        constraints: BTreeMap::new(),
        policy: Policy::default(),
    };
    let token = crate::classify_request::run(st, &request).await?;
    if token.classification_method.contains("-error: ") {
        return Err(ApiError::Internal(format!(
            "classification failed: {}",
            token.classification_method
        )));
    }
    Ok(json!({
        "granted_tools": token.granted_tools,
        "confidence": token.confidence,
        "reasoning": format!("hearth capability classifier ({})", token.classification_method),
    })
    .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "Available Tools:\n- read_website (risk=2): Fetch a page (by URL) [params: url]\n- send_email (risk=4): Send an email [params: to, body]\n- noop (risk=1): Nothing [params: none]\n\nUser Request: \"Summarize \"this\" page\"\n\nAnalyze the request and return JSON with:\n{\n  \"granted_tools\": {\"tool_name\": true/false}\n}";

    #[test]
    fn parses_capguards_prompt() {
        let p = parse_user_prompt(USER).unwrap();
        assert_eq!(p.request, "Summarize \"this\" page");
        let names: Vec<_> = p.registry.names().collect();
        assert_eq!(names, ["read_website", "send_email", "noop"]);
    }

    #[test]
    fn recognises_only_capguard() {
        let msgs = |system: &str| {
            vec![
                json!({"role": "system", "content": system}),
                json!({"role": "user", "content": USER}),
            ]
        };
        assert!(recognise(&msgs(
            "You are a security-focused intent classifier for CapGuard.\n..."
        ))
        .is_some());
        assert!(recognise(&msgs("You are a helpful assistant.")).is_none());
        assert!(recognise(&[json!({"role": "user", "content": USER})]).is_none());
    }

    #[test]
    fn malformed_tool_lists_are_not_recognised() {
        assert!(
            parse_user_prompt("Available Tools:\n- broken line\n\nUser Request: \"x\"").is_none()
        );
        assert!(
            parse_user_prompt("Available Tools:\n- a (risk=9): x\n\nUser Request: \"x\"").is_none()
        );
        assert!(
            parse_user_prompt("Available Tools:\nNo tools available.\n\nUser Request: \"x\"")
                .is_none()
        );
    }
}
