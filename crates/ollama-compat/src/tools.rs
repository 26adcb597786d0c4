//! Tool calling: the prompt for templates that do not render tools themselves, and a streaming
//! parser that turns `<tool_call>{...}</tool_call>` (or a bare JSON call) into whole tool calls.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A tool call in Ollama's native shape (arguments as an object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// `call_` + 8 lower-case alphanumerics.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The function and its arguments.
    pub function: ToolFunction,
}

/// The called function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolFunction {
    /// Position among this response's calls (always serialised).
    #[serde(default)]
    pub index: usize,
    /// Function name.
    pub name: String,
    /// Arguments, a JSON object.
    #[serde(default, deserialize_with = "arguments")]
    pub arguments: Value,
}

/// Accept arguments as an object or as a JSON string holding one.
fn arguments<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::String(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
        Value::Null => Value::Object(Default::default()),
        other => other,
    })
}

/// A fresh tool-call id.
pub fn call_id() -> String {
    let chars: String = (0..8)
        .map(|_| {
            let n = fastrand::u8(0..36);
            if n < 10 {
                (b'0' + n) as char
            } else {
                (b'a' + n - 10) as char
            }
        })
        .collect();
    format!("call_{chars}")
}

/// The system prompt that teaches a model without native tool support the `<tool_call>` format.
pub fn tools_system_prompt(tools: &[Value]) -> String {
    let mut s = String::from(
        "You are a function calling AI model. You are provided with function signatures within <tools></tools> XML tags. \
         You may call one or more functions to assist with the user query. Don't make assumptions about what values to plug into functions.\n<tools>\n",
    );
    for t in tools {
        s.push_str(&t.to_string());
        s.push('\n');
    }
    s.push_str(
        "</tools>\nFor each function call return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n\
         <tool_call>\n{\"name\": <function-name>, \"arguments\": <args-dict>}\n</tool_call>",
    );
    s
}

/// How a past tool call is written back into an assistant turn for such templates.
pub fn render_call(call: &ToolCall) -> String {
    let body =
        serde_json::json!({"name": call.function.name, "arguments": call.function.arguments});
    format!("<tool_call>\n{body}\n</tool_call>")
}

/// What the parser lets through.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// Plain text.
    Text(String),
    /// A complete call.
    Call(ToolCall),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Start,
    Text,
    InTag,
    Json,
}

const OPEN: &str = "<tool_call>";
const CLOSE: &str = "</tool_call>";

/// Streaming tool-call extraction.
#[derive(Debug)]
pub struct ToolParser {
    buf: String,
    mode: Mode,
    next_index: usize,
    max_calls: Option<usize>,
}

impl Default for ToolParser {
    fn default() -> Self {
        ToolParser {
            buf: String::new(),
            mode: Mode::Start,
            next_index: 0,
            max_calls: None,
        }
    }
}

impl ToolParser {
    /// A parser that keeps at most `max_calls` calls and drops the rest
    /// (`parallel_tool_calls: false`).
    pub fn with_limit(max_calls: Option<usize>) -> Self {
        ToolParser {
            max_calls,
            ..ToolParser::default()
        }
    }

    /// Feed generated text; returns what can be emitted now.
    pub fn feed(&mut self, text: &str) -> Vec<Parsed> {
        self.buf.push_str(text);
        let mut out = Vec::new();
        loop {
            match self.mode {
                Mode::Start => {
                    let t = self.buf.trim_start();
                    if t.is_empty() {
                        return out;
                    }
                    self.mode = if t.starts_with('{') || t.starts_with('[') {
                        Mode::Json
                    } else {
                        Mode::Text
                    };
                }
                Mode::Json => {
                    let text = self.buf.trim().to_owned();
                    if let Some(calls) = self.parse_calls(&text) {
                        out.extend(calls.into_iter().map(Parsed::Call));
                        self.buf.clear();
                        self.mode = Mode::Start;
                    }
                    return out;
                }
                Mode::Text => {
                    if let Some(i) = self.buf.find(OPEN) {
                        if i > 0 {
                            out.push(Parsed::Text(self.buf[..i].to_owned()));
                        }
                        self.buf.drain(..i + OPEN.len());
                        self.mode = Mode::InTag;
                        continue;
                    }
                    let hold = partial_suffix(&self.buf, OPEN);
                    let emit = self.buf.len() - hold;
                    if emit > 0 {
                        out.push(Parsed::Text(self.buf[..emit].to_owned()));
                        self.buf.drain(..emit);
                    }
                    return out;
                }
                Mode::InTag => {
                    let Some(i) = self.buf.find(CLOSE) else {
                        return out;
                    };
                    let inner = self.buf[..i].to_owned();
                    self.buf.drain(..i + CLOSE.len());
                    match self.parse_calls(inner.trim()) {
                        Some(calls) => out.extend(calls.into_iter().map(Parsed::Call)),
                        None => out.push(Parsed::Text(format!("{OPEN}{inner}{CLOSE}"))),
                    }
                    self.mode = Mode::Text;
                }
            }
        }
    }

    /// The end of generation: flush what is held back.
    pub fn finish(&mut self) -> Vec<Parsed> {
        let rest = std::mem::take(&mut self.buf);
        let mode = std::mem::replace(&mut self.mode, Mode::Start);
        let parsed = match mode {
            Mode::InTag | Mode::Json => self.parse_calls(rest.trim()),
            _ => None,
        };
        match (parsed, mode) {
            (Some(calls), _) => calls.into_iter().map(Parsed::Call).collect(),
            (None, Mode::InTag) => vec![Parsed::Text(format!("{OPEN}{rest}"))],
            (None, _) if rest.is_empty() => Vec::new(),
            (None, _) => vec![Parsed::Text(rest)],
        }
    }

    fn parse_calls(&mut self, text: &str) -> Option<Vec<ToolCall>> {
        let value: Value = serde_json::from_str(text).ok()?;
        let items = match value {
            Value::Array(items) => items,
            one => vec![one],
        };
        let mut calls = Vec::new();
        let mut dropped = 0;
        for item in items {
            let obj = item.as_object()?;
            let (name, args) = match obj.get("function").and_then(Value::as_object) {
                Some(f) => (f.get("name")?, f.get("arguments")),
                None => (
                    obj.get("name")?,
                    obj.get("arguments").or_else(|| obj.get("parameters")),
                ),
            };
            let arguments = match args {
                Some(Value::String(s)) => {
                    serde_json::from_str(s).unwrap_or(Value::String(s.clone()))
                }
                Some(v) => v.clone(),
                None => Value::Object(Default::default()),
            };
            if self.max_calls.is_some_and(|m| self.next_index >= m) {
                dropped += 1;
                continue;
            }
            calls.push(ToolCall {
                id: call_id(),
                function: ToolFunction {
                    index: self.next_index,
                    name: name.as_str()?.to_owned(),
                    arguments,
                },
            });
            self.next_index += 1;
        }
        if dropped > 0 {
            tracing::debug!(dropped, "tool calls beyond the limit dropped");
            // A well-formed call past the limit is consumed, not shown as text.
            return Some(calls);
        }
        (!calls.is_empty()).then_some(calls)
    }
}

/// Length of the longest suffix of `s` that is a proper prefix of `tag`.
fn partial_suffix(s: &str, tag: &str) -> usize {
    (1..tag.len().min(s.len() + 1))
        .rev()
        .find(|&n| s.is_char_boundary(s.len() - n) && tag.starts_with(&s[s.len() - n..]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pieces: &[&str]) -> Vec<Parsed> {
        let mut p = ToolParser::default();
        let mut out: Vec<Parsed> = pieces.iter().flat_map(|s| p.feed(s)).collect();
        out.extend(p.finish());
        out
    }

    #[test]
    fn tagged_call_split_across_pieces() {
        let out = run(&[
            "Sure. <tool",
            "_call>\n{\"name\": \"get_weather\", ",
            "\"arguments\": {\"city\": \"Tokyo\"}}\n</tool_call>",
        ]);
        assert_eq!(out[0], Parsed::Text("Sure. ".into()));
        let Parsed::Call(c) = &out[1] else {
            panic!("{out:?}")
        };
        assert_eq!(c.function.name, "get_weather");
        assert_eq!(c.function.arguments["city"], "Tokyo");
        assert!(c.id.starts_with("call_") && c.id.len() == 13);
    }

    #[test]
    fn limit_keeps_the_first_call_only() {
        let mut p = ToolParser::with_limit(Some(1));
        let mut out = p.feed("<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call>\n");
        out.extend(p.feed("<tool_call>{\"name\": \"b\", \"arguments\": {}}</tool_call>"));
        out.extend(p.finish());
        let calls: Vec<_> = out
            .iter()
            .filter_map(|x| match x {
                Parsed::Call(c) => Some(c.function.name.as_str()),
                Parsed::Text(_) => None,
            })
            .collect();
        assert_eq!(calls, ["a"], "{out:?}");
    }

    #[test]
    fn bare_json_call_and_plain_text() {
        let out = run(&["{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": 1}\"}"]);
        let Parsed::Call(c) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(c.function.arguments["a"], 1);
        assert_eq!(
            run(&["hello <b>", " world"]),
            vec![
                Parsed::Text("hello <b>".into()),
                Parsed::Text(" world".into())
            ]
        );
        assert_eq!(run(&["{not json"]), vec![Parsed::Text("{not json".into())]);
    }
}
