//! Responses input items: `input` (a string or a list) checked and brought into canonical items
//! (what the store keeps), and a conversation of items mapped onto native chat messages:
//! messages, `function_call` items as assistant tool calls, `function_call_output` items as
//! `tool` messages; reasoning items are skipped (this server produces none).

use serde_json::{json as j, Value};

use crate::error::{ApiError, ApiResult};
use crate::tools::{ToolCall, ToolFunction};
use crate::wire::Message;

/// Canonical items from `input`: a string becomes one user message; every list element is
/// checked. `None` (no `input`) is an empty list.
pub fn items(input: Option<&Value>) -> ApiResult<Vec<Value>> {
    match input {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![j!({
            "type": "message", "role": "user",
            "content": [{"type": "input_text", "text": s}],
        })]),
        Some(Value::Array(list)) => list.iter().enumerate().map(|(i, it)| item(i, it)).collect(),
        Some(_) => Err(ApiError::bad(
            "Invalid 'input': expected a string or an array of input items.",
        )),
    }
}

fn item(i: usize, it: &Value) -> ApiResult<Value> {
    let at = |what: &str| ApiError::bad(format!("Invalid 'input[{i}]': {what}."));
    let Some(o) = it.as_object() else {
        return Err(at("expected an object"));
    };
    let kind = match o.get("type").and_then(Value::as_str) {
        Some(t) => t,
        None if o.contains_key("role") => "message",
        None => return Err(at("missing 'type'")),
    };
    match kind {
        "message" => {
            let role = o.get("role").and_then(Value::as_str).unwrap_or_default();
            if !matches!(role, "user" | "system" | "developer" | "assistant") {
                return Err(ApiError::bad(format!(
                    "Invalid value for 'input[{i}].role': '{role}'. Supported values are: 'user', 'system', 'developer' and 'assistant'."
                )));
            }
            match o.get("content") {
                Some(Value::String(_)) => {}
                Some(Value::Array(parts)) => {
                    for (k, p) in parts.iter().enumerate() {
                        part(i, k, p)?;
                    }
                }
                _ => {
                    return Err(ApiError::bad(format!(
                        "Invalid 'input[{i}].content': expected a string or an array of content parts."
                    )))
                }
            }
            let mut m = it.clone();
            m["type"] = j!("message");
            Ok(m)
        }
        "function_call" => {
            for key in ["call_id", "name", "arguments"] {
                if !o.get(key).is_some_and(Value::is_string) {
                    return Err(ApiError::bad(format!(
                        "Missing required parameter: 'input[{i}].{key}' (a string)."
                    )));
                }
            }
            let args = o["arguments"].as_str().unwrap_or_default();
            if serde_json::from_str::<Value>(args).is_err() {
                return Err(ApiError::bad(format!(
                    "Invalid 'input[{i}].arguments': not a JSON string."
                )));
            }
            Ok(it.clone())
        }
        "function_call_output" => {
            if !o.get("call_id").is_some_and(Value::is_string) {
                return Err(ApiError::bad(format!(
                    "Missing required parameter: 'input[{i}].call_id'."
                )));
            }
            match o.get("output") {
                Some(Value::String(_)) => {}
                Some(Value::Array(parts)) => {
                    for (k, p) in parts.iter().enumerate() {
                        part(i, k, p)?;
                    }
                }
                _ => {
                    return Err(ApiError::bad(format!(
                        "Missing required parameter: 'input[{i}].output' (a string or content parts)."
                    )))
                }
            }
            Ok(it.clone())
        }
        "reasoning" => Ok(it.clone()),
        "item_reference" => Err(ApiError::bad(format!(
            "Invalid 'input[{i}]': 'item_reference' items are not supported by this server; use 'previous_response_id' or send the item itself."
        ))),
        other => Err(ApiError::bad(format!(
            "Invalid 'input[{i}].type': '{other}' items are not supported by this server."
        ))),
    }
}

fn part(i: usize, k: usize, p: &Value) -> ApiResult<()> {
    let kind = p.get("type").and_then(Value::as_str).unwrap_or_default();
    match kind {
        "input_text" | "output_text" | "text" => {
            if p.get("text").is_some_and(Value::is_string) {
                Ok(())
            } else {
                Err(ApiError::bad(format!(
                    "Missing required parameter: 'input[{i}].content[{k}].text'."
                )))
            }
        }
        "refusal" => Ok(()),
        "input_image" => {
            let url = p.get("image_url").and_then(Value::as_str).unwrap_or_default();
            if url.starts_with("data:") {
                Ok(())
            } else {
                Err(ApiError::bad(
                    "image URLs and file ids are not currently supported, please use base64 encoded data instead",
                ))
            }
        }
        other => Err(ApiError::bad(format!(
            "Invalid 'input[{i}].content[{k}].type': '{other}' content is not supported by this server."
        ))),
    }
}

/// Native messages for a conversation: `instructions` first as a system message, then every
/// item in order. Items must have passed [`items`] (or be this server's own output items).
pub fn messages(instructions: Option<&str>, conversation: &[Value]) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::with_capacity(conversation.len() + 1);
    if let Some(sys) = instructions.filter(|s| !s.is_empty()) {
        out.push(Message {
            role: "system".into(),
            content: sys.to_owned(),
            ..Message::default()
        });
    }
    let mut calls_seen: Vec<(String, String)> = Vec::new();
    for it in conversation {
        let kind = it.get("type").and_then(Value::as_str).unwrap_or("message");
        match kind {
            "message" => {
                let role = match it["role"].as_str().unwrap_or("user") {
                    "developer" => "system",
                    r => r,
                };
                let (content, images) = content_of(&it["content"]);
                out.push(Message {
                    role: role.to_owned(),
                    content,
                    images: (!images.is_empty()).then_some(images),
                    ..Message::default()
                });
            }
            "function_call" => {
                let call_id = it["call_id"].as_str().unwrap_or_default().to_owned();
                let name = it["name"].as_str().unwrap_or_default().to_owned();
                let arguments = it["arguments"]
                    .as_str()
                    .and_then(|a| serde_json::from_str(a).ok())
                    .unwrap_or_else(|| j!({}));
                calls_seen.push((call_id.clone(), name.clone()));
                let target = match out.last_mut() {
                    Some(m) if m.role == "assistant" => m,
                    _ => {
                        out.push(Message {
                            role: "assistant".into(),
                            ..Message::default()
                        });
                        out.last_mut().expect("just pushed")
                    }
                };
                let calls = target.tool_calls.get_or_insert_with(Vec::new);
                calls.push(ToolCall {
                    id: call_id,
                    function: ToolFunction {
                        index: calls.len(),
                        name,
                        arguments,
                    },
                });
            }
            "function_call_output" => {
                let call_id = it["call_id"].as_str().unwrap_or_default().to_owned();
                let content = match &it["output"] {
                    Value::String(s) => s.clone(),
                    other => content_of(other).0,
                };
                let tool_name = it
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .or_else(|| {
                        calls_seen
                            .iter()
                            .rev()
                            .find(|(id, _)| *id == call_id)
                            .map(|(_, n)| n.clone())
                    });
                out.push(Message {
                    role: "tool".into(),
                    content,
                    tool_name,
                    tool_call_id: Some(call_id),
                    ..Message::default()
                });
            }
            _ => {}
        }
    }
    out
}

/// Text (parts joined) and base64 images of a message's content.
fn content_of(content: &Value) -> (String, Vec<String>) {
    match content {
        Value::String(s) => (s.clone(), Vec::new()),
        Value::Array(parts) => {
            let mut text = String::new();
            let mut images = Vec::new();
            for p in parts {
                match p.get("type").and_then(Value::as_str) {
                    Some("input_text" | "output_text" | "text") => {
                        text.push_str(p["text"].as_str().unwrap_or_default())
                    }
                    Some("refusal") => text.push_str(p["refusal"].as_str().unwrap_or_default()),
                    Some("input_image") => {
                        let url = p["image_url"].as_str().unwrap_or_default();
                        let data = url.split_once(',').map_or("", |(_, d)| d);
                        images.push(data.to_owned());
                    }
                    _ => {}
                }
            }
            (text, images)
        }
        _ => (String::new(), Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_join_the_assistant_turn_and_outputs_find_their_tool() {
        let conv = items(Some(&j!([
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": [{"type": "input_text", "text": "Weather "}, {"type": "input_text", "text": "in Paris?"}]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking.", "annotations": []}]},
            {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
            {"type": "function_call", "call_id": "call_2", "name": "get_time", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
            {"type": "reasoning", "id": "rs_1", "summary": []},
        ])))
        .unwrap();
        let m = messages(Some("sys"), &conv);
        let roles: Vec<&str> = m.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, ["system", "system", "user", "assistant", "tool"]);
        assert_eq!(m[2].content, "Weather in Paris?");
        let calls = m[3].tool_calls.as_ref().unwrap();
        assert_eq!(m[3].content, "Checking.");
        assert_eq!((calls.len(), calls[1].function.index), (2, 1));
        assert_eq!(calls[0].function.arguments, j!({"city": "Paris"}));
        assert_eq!(m[4].tool_name.as_deref(), Some("get_weather"));
        assert_eq!(m[4].tool_call_id.as_deref(), Some("call_1"));
    }

    #[test]
    fn bad_items_are_refused() {
        for bad in [
            j!(5),
            j!([{"role": "robot", "content": "x"}]),
            j!([{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{nope"}]),
            j!([{"type": "function_call_output", "output": "x"}]),
            j!([{"type": "web_search_call", "id": "x"}]),
            j!([{"role": "user", "content": [{"type": "input_image", "image_url": "https://x/y.png"}]}]),
            j!([{"role": "user"}]),
        ] {
            assert!(items(Some(&bad)).is_err(), "{bad}");
        }
    }
}
