//! Anthropic requests onto the native chat: `system` and content blocks into [`Message`]s,
//! tools into native function definitions, `tool_choice` into [`ToolChoice`], and the sampling
//! fields into `options`. Every malformed part is a 400 naming the field, as Anthropic does.

use serde_json::{json as j, Map, Value};

use super::wire::MessagesBody;
use crate::error::{ApiError, ApiResult};
use crate::tools::{ToolCall, ToolFunction};
use crate::wire::{ChatBody, Message, ToolChoice};

/// A request mapped onto the native chat, with what the answer needs to know.
#[derive(Debug)]
pub struct Mapped {
    /// The native request (`stream` left unset: the caller streams pieces itself).
    pub chat: ChatBody,
    /// The stop sequences asked for.
    pub stop_sequences: Vec<String>,
    /// `max_tokens` (absent for count_tokens).
    pub max_tokens: Option<i64>,
}

/// Map a `/v1/messages` body; `need_max_tokens` is false for count_tokens.
pub fn map(body: MessagesBody, need_max_tokens: bool) -> ApiResult<Mapped> {
    let model = body
        .model
        .filter(|m| !m.is_empty())
        .ok_or_else(|| ApiError::bad("model: Field required"))?;
    let max_tokens = match body.max_tokens {
        None if need_max_tokens => return Err(ApiError::bad("max_tokens: Field required")),
        Some(n) if n < 1 => {
            return Err(ApiError::bad(
                "max_tokens: Input should be greater than or equal to 1",
            ))
        }
        other => other,
    };
    let raw = body
        .messages
        .ok_or_else(|| ApiError::bad("messages: Field required"))?;
    if raw.is_empty() {
        return Err(ApiError::bad("messages: at least one message is required"));
    }
    let mut messages = Vec::with_capacity(raw.len() + 1);
    if let Some(system) = body.system.as_ref() {
        let text = system_text(system)?;
        if !text.is_empty() {
            messages.push(Message {
                role: "system".into(),
                content: text,
                ..Message::default()
            });
        }
    }
    let mut calls_seen: Vec<ToolCall> = Vec::new();
    for (i, m) in raw.iter().enumerate() {
        let converted = message(i, m, &calls_seen)?;
        for c in &converted {
            calls_seen.extend(c.tool_calls.clone().unwrap_or_default());
        }
        messages.extend(converted);
    }
    let tools = body
        .tools
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, t)| tool(i, t))
        .collect::<ApiResult<Vec<_>>>()?;
    let (tool_choice, parallel) = match &body.tool_choice {
        None | Some(Value::Null) => (None, None),
        Some(tc) => tool_choice(tc, &tools)?,
    };
    if let Some(t) = &body.thinking {
        check_thinking(t)?;
    }
    let format = match &body.output_config {
        None => None,
        Some(c) => output_format(c)?,
    };
    let stop_sequences = body.stop_sequences.unwrap_or_default();
    let mut options = Map::new();
    if let Some(n) = max_tokens {
        options.insert("num_predict".into(), j!(n));
    }
    if let Some(t) = body.temperature {
        options.insert("temperature".into(), j!(t));
    }
    if let Some(p) = body.top_p {
        options.insert("top_p".into(), j!(p));
    }
    if let Some(k) = body.top_k {
        options.insert("top_k".into(), j!(k));
    }
    if !stop_sequences.is_empty() {
        options.insert("stop".into(), j!(stop_sequences));
    }
    let chat = ChatBody {
        model,
        messages: Some(messages),
        tools: (!tools.is_empty()).then_some(tools),
        options: Some(options),
        format,
        tool_choice,
        parallel_tool_calls: parallel,
        ..ChatBody::default()
    };
    Ok(Mapped {
        chat,
        stop_sequences,
        max_tokens,
    })
}

/// `system`: a string, or text blocks joined as they are.
fn system_text(system: &Value) -> ApiResult<String> {
    match system {
        Value::String(s) => Ok(s.clone()),
        Value::Array(blocks) => {
            let mut out = String::new();
            for (i, b) in blocks.iter().enumerate() {
                match (block_type(b), b.get("text")) {
                    (Some("text"), Some(Value::String(t))) => out.push_str(t),
                    (Some("text"), _) => {
                        return Err(ApiError::bad(format!("system.{i}.text: Field required")))
                    }
                    _ => {
                        return Err(ApiError::bad(format!(
                            "system.{i}: only text blocks are allowed in system"
                        )))
                    }
                }
            }
            Ok(out)
        }
        Value::Null => Ok(String::new()),
        _ => Err(ApiError::bad(
            "system: Input should be a valid string or a list of text blocks",
        )),
    }
}

fn block_type(b: &Value) -> Option<&str> {
    b.get("type").and_then(Value::as_str)
}

/// One Anthropic message: its tool results become `tool` messages (first, as Anthropic puts
/// them first in the user turn), the rest one user or assistant message.
fn message(i: usize, v: &Value, earlier_calls: &[ToolCall]) -> ApiResult<Vec<Message>> {
    let role = match v.get("role").and_then(Value::as_str) {
        Some(r @ ("user" | "assistant")) => r.to_owned(),
        Some(_) => {
            return Err(ApiError::bad(format!(
                "messages.{i}.role: Input should be 'user' or 'assistant'"
            )))
        }
        None => return Err(ApiError::bad(format!("messages.{i}.role: Field required"))),
    };
    let mut m = Message {
        role: role.clone(),
        ..Message::default()
    };
    let mut results = Vec::new();
    match v.get("content") {
        Some(Value::String(s)) => m.content = s.clone(),
        Some(Value::Array(blocks)) => {
            for (k, b) in blocks.iter().enumerate() {
                let at = format!("messages.{i}.content.{k}");
                match block_type(b) {
                    Some("text") => m.content.push_str(text_of(b, &at)?),
                    Some("image") => m
                        .images
                        .get_or_insert_with(Vec::new)
                        .push(image_data(b, &at)?),
                    Some("tool_use") if role == "assistant" => {
                        let calls = m.tool_calls.get_or_insert_with(Vec::new);
                        calls.push(tool_use(b, &at, calls.len())?);
                    }
                    Some("tool_result") if role == "user" => {
                        results.push(tool_result(b, &at, earlier_calls)?)
                    }
                    Some(t @ ("tool_use" | "tool_result")) => {
                        return Err(ApiError::bad(format!(
                            "{at}: {t} blocks are only allowed in {} messages",
                            if t == "tool_use" { "assistant" } else { "user" }
                        )))
                    }
                    // Earlier turns' reasoning, kept as the native message's thinking.
                    Some("thinking") => {
                        if let Some(t) = b.get("thinking").and_then(Value::as_str) {
                            m.thinking.get_or_insert_with(String::new).push_str(t);
                        }
                    }
                    Some("redacted_thinking") => {}
                    Some(other) => {
                        return Err(ApiError::bad(format!(
                            "{at}: content block type '{other}' is not supported"
                        )))
                    }
                    None => return Err(ApiError::bad(format!("{at}.type: Field required"))),
                }
            }
        }
        None => {
            return Err(ApiError::bad(format!(
                "messages.{i}.content: Field required"
            )))
        }
        Some(_) => {
            return Err(ApiError::bad(format!(
                "messages.{i}.content: Input should be a valid string or a list of content blocks"
            )))
        }
    }
    let has_own = !m.content.is_empty()
        || m.images.is_some()
        || m.tool_calls.is_some()
        || m.thinking.is_some()
        || results.is_empty();
    if has_own {
        results.push(m);
    }
    Ok(results)
}

fn text_of<'a>(b: &'a Value, at: &str) -> ApiResult<&'a str> {
    b.get("text")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad(format!("{at}.text: Field required")))
}

/// A base64 image block's data (a URL source is refused, as the native API takes bytes only).
fn image_data(b: &Value, at: &str) -> ApiResult<String> {
    let source = b
        .get("source")
        .ok_or_else(|| ApiError::bad(format!("{at}.source: Field required")))?;
    match source.get("type").and_then(Value::as_str) {
        Some("base64") => source
            .get("data")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ApiError::bad(format!("{at}.source.data: Field required"))),
        Some("url") => Err(ApiError::bad(format!(
            "{at}.source: image URLs are not supported, send the image as base64 data"
        ))),
        _ => Err(ApiError::bad(format!(
            "{at}.source.type: Input should be 'base64'"
        ))),
    }
}

fn tool_use(b: &Value, at: &str, index: usize) -> ApiResult<ToolCall> {
    let field = |k: &str| {
        b.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::bad(format!("{at}.{k}: Field required")))
    };
    let id = field("id")?.to_owned();
    let name = field("name")?.to_owned();
    let arguments = match b.get("input") {
        Some(v @ Value::Object(_)) => v.clone(),
        None | Some(Value::Null) => j!({}),
        Some(_) => {
            return Err(ApiError::bad(format!(
                "{at}.input: Input should be a valid dictionary"
            )))
        }
    };
    Ok(ToolCall {
        id,
        function: ToolFunction {
            index,
            name,
            arguments,
        },
    })
}

/// A tool result as a native `tool` message; `is_error` results say so in their text.
fn tool_result(b: &Value, at: &str, earlier_calls: &[ToolCall]) -> ApiResult<Message> {
    let id = b
        .get("tool_use_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad(format!("{at}.tool_use_id: Field required")))?;
    let mut m = Message {
        role: "tool".into(),
        tool_call_id: Some(id.to_owned()),
        tool_name: earlier_calls
            .iter()
            .rev()
            .find(|c| c.id == id)
            .map(|c| c.function.name.clone()),
        ..Message::default()
    };
    match b.get("content") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => m.content = s.clone(),
        Some(Value::Array(parts)) => {
            for (k, p) in parts.iter().enumerate() {
                let at = format!("{at}.content.{k}");
                match block_type(p) {
                    Some("text") => m.content.push_str(text_of(p, &at)?),
                    Some("image") => m
                        .images
                        .get_or_insert_with(Vec::new)
                        .push(image_data(p, &at)?),
                    Some(other) => {
                        return Err(ApiError::bad(format!(
                            "{at}: content block type '{other}' is not supported in tool_result"
                        )))
                    }
                    None => return Err(ApiError::bad(format!("{at}.type: Field required"))),
                }
            }
        }
        Some(_) => {
            return Err(ApiError::bad(format!(
                "{at}.content: Input should be a valid string or a list of content blocks"
            )))
        }
    }
    match b.get("is_error") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => m.content = format!("Error: {}", m.content),
        Some(_) => {
            return Err(ApiError::bad(format!(
                "{at}.is_error: Input should be a valid boolean"
            )))
        }
    }
    Ok(m)
}

/// `{name, description, input_schema}` → `{"type": "function", "function": {...}}`. Anthropic's
/// server tools (web search, code execution, …) have no local executor and are refused.
fn tool(i: usize, t: &Value) -> ApiResult<Value> {
    if let Some(kind) = t.get("type").and_then(Value::as_str) {
        if kind != "custom" {
            return Err(ApiError::bad(format!(
                "tools.{i}.type: tool type '{kind}' is not supported; only custom tools \
                 (name, description, input_schema) are"
            )));
        }
    }
    let name = t
        .get("name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad(format!("tools.{i}.name: Field required")))?;
    let schema = match t.get("input_schema") {
        Some(s @ Value::Object(_)) => s.clone(),
        None => {
            return Err(ApiError::bad(format!(
                "tools.{i}.input_schema: Field required"
            )))
        }
        Some(_) => {
            return Err(ApiError::bad(format!(
                "tools.{i}.input_schema: Input should be a valid dictionary"
            )))
        }
    };
    let description = match t.get("description") {
        None | Some(Value::Null) => "",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => {
            return Err(ApiError::bad(format!(
                "tools.{i}.description: Input should be a valid string"
            )))
        }
    };
    Ok(j!({"type": "function", "function": {
        "name": name, "description": description, "parameters": schema}}))
}

fn tool_names(tools: &[Value]) -> impl Iterator<Item = &str> {
    tools
        .iter()
        .filter_map(|t| t.pointer("/function/name").and_then(Value::as_str))
}

/// `tool_choice` → the native choice and `parallel_tool_calls`.
fn tool_choice(tc: &Value, tools: &[Value]) -> ApiResult<(Option<ToolChoice>, Option<bool>)> {
    let kind = tc
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad("tool_choice.type: Field required"))?;
    let choice = match kind {
        "auto" => ToolChoice::Auto,
        "any" => ToolChoice::Required,
        "none" => ToolChoice::None,
        "tool" => {
            let name = tc
                .get("name")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| ApiError::bad("tool_choice.name: Field required"))?;
            if !tool_names(tools).any(|n| n == name) {
                return Err(ApiError::bad(format!(
                    "tool_choice.name: tool '{name}' is not among the request's tools"
                )));
            }
            ToolChoice::Function(name.to_owned())
        }
        other => {
            return Err(ApiError::bad(format!(
                "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none', not '{other}'"
            )))
        }
    };
    if matches!(choice, ToolChoice::Required) && tools.is_empty() {
        return Err(ApiError::bad(
            "tool_choice: 'any' may only be specified while providing tools",
        ));
    }
    let parallel = match tc.get("disable_parallel_tool_use") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(true)) => Some(false),
        Some(Value::Bool(false)) => None,
        Some(_) => {
            return Err(ApiError::bad(
                "tool_choice.disable_parallel_tool_use: Input should be a valid boolean",
            ))
        }
    };
    Ok((Some(choice), parallel))
}

/// `output_config`: its `format` (`{type: json_schema, schema}`) as the native `format`.
fn output_format(c: &Value) -> ApiResult<Option<Value>> {
    if !c.is_object() {
        return Err(ApiError::bad(
            "output_config: Input should be a valid dictionary",
        ));
    }
    match c.get("format") {
        None | Some(Value::Null) => Ok(None),
        Some(f) => match (f.get("type").and_then(Value::as_str), f.get("schema")) {
            (Some("json_schema"), Some(s @ Value::Object(_))) => Ok(Some(s.clone())),
            (Some("json_schema"), _) => Err(ApiError::bad(
                "output_config.format.schema: Input should be a valid dictionary",
            )),
            _ => Err(ApiError::bad(
                "output_config.format.type: Input should be 'json_schema'",
            )),
        },
    }
}

/// `thinking`: `{type: enabled, budget_tokens} | {type: disabled} | {type: adaptive}`,
/// checked for shape only; the answer has no thinking blocks.
fn check_thinking(t: &Value) -> ApiResult<()> {
    match t.get("type").and_then(Value::as_str) {
        Some("enabled") => match t.get("budget_tokens") {
            Some(v) if v.as_i64().is_some() => Ok(()),
            None => Err(ApiError::bad(
                "thinking.enabled.budget_tokens: Field required",
            )),
            Some(_) => Err(ApiError::bad(
                "thinking.enabled.budget_tokens: Input should be a valid integer",
            )),
        },
        Some("disabled" | "adaptive") => Ok(()),
        Some(other) => Err(ApiError::bad(format!(
            "thinking.type: Input should be 'enabled', 'disabled' or 'adaptive', not '{other}'"
        ))),
        None => Err(ApiError::bad("thinking.type: Field required")),
    }
}
