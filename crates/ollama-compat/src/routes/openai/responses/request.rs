//! The `POST /v1/responses` request body and its checks: function tools onto native tools,
//! `tool_choice`, `text.format` onto the native `format`, sampling options, logprobs and
//! truncation, each refused with OpenAI's wording when it is malformed.

use serde::Deserialize;
use serde_json::{json as j, Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::wire::ToolChoice;

/// The include value that asks for token log-probabilities.
pub const INCLUDE_LOGPROBS: &str = "message.output_text.logprobs";

/// `include` values accepted; only [`INCLUDE_LOGPROBS`] changes anything here (the others name
/// outputs this server never produces).
const INCLUDABLE: &[&str] = &[
    INCLUDE_LOGPROBS,
    "reasoning.encrypted_content",
    "file_search_call.results",
    "web_search_call.results",
    "web_search_call.action.sources",
    "message.input_image.image_url",
    "computer_call_output.output.image_url",
    "code_interpreter_call.outputs",
];

/// `POST /v1/responses` body (OpenAI's `ResponseCreateParams`).
#[derive(Debug, Default, Deserialize)]
pub struct ResponsesBody {
    /// Model.
    #[serde(default)]
    pub model: String,
    /// A string or a list of input items.
    #[serde(default)]
    pub input: Option<Value>,
    /// A system message put first (not carried to follow-up responses).
    #[serde(default)]
    pub instructions: Option<String>,
    /// → num_predict.
    #[serde(default)]
    pub max_output_tokens: Option<i64>,
    /// Default 1.0.
    #[serde(default)]
    pub temperature: Option<f64>,
    /// Default 1.0.
    #[serde(default)]
    pub top_p: Option<f64>,
    /// Tool definitions (function tools only).
    #[serde(default)]
    pub tools: Option<Vec<Value>>,
    /// `"none" | "auto" | "required"`, `{"type":"function","name":...}` or
    /// `{"type":"allowed_tools","mode":...,"tools":[...]}`.
    #[serde(default)]
    pub tool_choice: Option<Value>,
    /// `false`: at most one call.
    #[serde(default)]
    pub parallel_tool_calls: Option<bool>,
    /// `{"format": {...}, "verbosity": ...}`.
    #[serde(default)]
    pub text: Option<Value>,
    /// Alternatives per token (0–20).
    #[serde(default)]
    pub top_logprobs: Option<i64>,
    /// Extra outputs; see [`INCLUDABLE`].
    #[serde(default)]
    pub include: Option<Vec<String>>,
    /// `"disabled"` (default: an over-long input is a 400) or `"auto"` (cut from the front).
    #[serde(default)]
    pub truncation: Option<String>,
    /// Keep the response for `previous_response_id` (default true).
    #[serde(default)]
    pub store: Option<bool>,
    /// Up to 16 string pairs, echoed.
    #[serde(default)]
    pub metadata: Option<Value>,
    /// End-user id, echoed.
    #[serde(default)]
    pub user: Option<String>,
    /// Continue the conversation of a kept response.
    #[serde(default)]
    pub previous_response_id: Option<String>,
    /// Server-sent events.
    #[serde(default)]
    pub stream: Option<bool>,
    /// Reasoning options, echoed.
    #[serde(default)]
    pub reasoning: Option<Value>,
    /// Background mode (refused).
    #[serde(default)]
    pub background: Option<bool>,
    /// Conversations API (refused).
    #[serde(default)]
    pub conversation: Option<Value>,
    /// Stored prompt templates (refused).
    #[serde(default)]
    pub prompt: Option<Value>,
    /// Echoed.
    #[serde(default)]
    pub service_tier: Option<String>,
    /// Echoed.
    #[serde(default)]
    pub safety_identifier: Option<String>,
    /// Echoed.
    #[serde(default)]
    pub prompt_cache_key: Option<String>,
    /// Built-in tool call limit, echoed.
    #[serde(default)]
    pub max_tool_calls: Option<i64>,
}

/// The checked request, in native terms and as the response echoes it.
#[derive(Debug)]
pub struct Plan {
    /// Native tool definitions (`{"type":"function","function":{...}}`).
    pub native_tools: Vec<Value>,
    /// The tools as the response echoes them.
    pub tools: Vec<Value>,
    /// Native tool choice.
    pub tool_choice: Option<ToolChoice>,
    /// The tool choice as the response echoes it.
    pub tool_choice_echo: Value,
    /// Native `format`.
    pub format: Option<Value>,
    /// `text` as the response echoes it.
    pub text: Value,
    /// Native options.
    pub options: Map<String, Value>,
    /// Log-probabilities asked for.
    pub logprobs: bool,
    /// Alternatives per token.
    pub top_logprobs: i64,
    /// `truncation` (`auto` or `disabled`).
    pub truncation: &'static str,
}

/// Check a body and turn it into native terms.
pub fn plan(b: &ResponsesBody) -> ApiResult<Plan> {
    if b.model.is_empty() {
        return Err(ApiError::bad("Missing required parameter: 'model'."));
    }
    if b.background == Some(true) {
        return Err(ApiError::bad(
            "background responses are not supported by this server; send the request without 'background'",
        ));
    }
    if b.conversation.as_ref().is_some_and(|c| !c.is_null()) {
        return Err(ApiError::bad(
            "'conversation' is not supported by this server; use 'previous_response_id' to continue a response",
        ));
    }
    if b.prompt.as_ref().is_some_and(|p| !p.is_null()) {
        return Err(ApiError::bad(
            "stored prompt templates ('prompt') are not supported by this server; send 'input' and 'instructions'",
        ));
    }
    let (native_tools, tools) = tools(b.tools.as_deref().unwrap_or_default())?;
    let (tool_choice, tool_choice_echo, native_tools) =
        tool_choice(b.tool_choice.as_ref(), native_tools)?;
    let (format, text) = text_format(b.text.as_ref())?;
    let mut options = Map::new();
    let temperature = range("temperature", b.temperature, 0.0, 2.0)?.unwrap_or(1.0);
    let top_p = range("top_p", b.top_p, 0.0, 1.0)?.unwrap_or(1.0);
    options.insert("temperature".into(), j!(temperature));
    options.insert("top_p".into(), j!(if top_p > 0.0 { top_p } else { 1.0 }));
    if let Some(n) = b.max_output_tokens {
        if n < 1 {
            return Err(ApiError::bad(format!(
                "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 1, but got {n} instead."
            )));
        }
        options.insert("num_predict".into(), j!(n));
    }
    let include = b.include.as_deref().unwrap_or_default();
    if let Some(bad) = include.iter().find(|i| !INCLUDABLE.contains(&i.as_str())) {
        return Err(ApiError::bad(format!(
            "Invalid value: '{bad}'. Supported values are: {}.",
            INCLUDABLE
                .iter()
                .map(|i| format!("'{i}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let top_logprobs = b.top_logprobs.unwrap_or(0);
    if !(0..=20).contains(&top_logprobs) {
        return Err(ApiError::bad(format!(
            "Invalid 'top_logprobs': expected a value between 0 and 20, but got {top_logprobs} instead."
        )));
    }
    let truncation = match b.truncation.as_deref() {
        None | Some("disabled") => "disabled",
        Some("auto") => "auto",
        Some(other) => {
            return Err(ApiError::bad(format!(
                "Invalid value: '{other}'. Supported values are: 'auto' and 'disabled'."
            )))
        }
    };
    if let Some(m) = &b.metadata {
        check_metadata(m)?;
    }
    Ok(Plan {
        native_tools,
        tools,
        tool_choice,
        tool_choice_echo,
        format,
        text,
        options,
        logprobs: include.iter().any(|i| i == INCLUDE_LOGPROBS),
        top_logprobs,
        truncation,
    })
}

fn range(name: &str, v: Option<f64>, lo: f64, hi: f64) -> ApiResult<Option<f64>> {
    match v {
        Some(x) if x < lo => Err(ApiError::bad(format!(
            "Invalid '{name}': decimal below minimum value. Expected a value >= {lo}, but got {x} instead."
        ))),
        Some(x) if x > hi => Err(ApiError::bad(format!(
            "Invalid '{name}': decimal above maximum value. Expected a value <= {hi}, but got {x} instead."
        ))),
        other => Ok(other),
    }
}

/// Function tools → (native definitions, the echo with OpenAI's defaults filled in).
fn tools(defs: &[Value]) -> ApiResult<(Vec<Value>, Vec<Value>)> {
    let mut native = Vec::with_capacity(defs.len());
    let mut echo = Vec::with_capacity(defs.len());
    for (i, t) in defs.iter().enumerate() {
        let kind = t.get("type").and_then(Value::as_str).unwrap_or_default();
        if kind != "function" {
            return Err(ApiError::bad(format!(
                "Invalid 'tools[{i}].type': '{kind}' tools are not supported by this server; only 'function' tools are."
            )));
        }
        let name = t
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                ApiError::bad(format!("Missing required parameter: 'tools[{i}].name'."))
            })?;
        let parameters = t.get("parameters").cloned().unwrap_or(Value::Null);
        if !parameters.is_null() && !parameters.is_object() {
            return Err(ApiError::bad(format!(
                "Invalid 'tools[{i}].parameters': expected an object (a JSON schema)."
            )));
        }
        let description = t.get("description").cloned().unwrap_or(Value::Null);
        let mut function = j!({"name": name});
        if !description.is_null() {
            function["description"] = description.clone();
        }
        function["parameters"] = if parameters.is_null() {
            j!({"type": "object", "properties": {}})
        } else {
            parameters.clone()
        };
        native.push(j!({"type": "function", "function": function}));
        echo.push(j!({
            "type": "function", "name": name, "description": description,
            "parameters": parameters,
            "strict": t.get("strict").and_then(Value::as_bool).unwrap_or(true),
        }));
    }
    Ok((native, echo))
}

fn tool_name(t: &Value) -> &str {
    t["function"]["name"].as_str().unwrap_or_default()
}

/// `tool_choice` → (native choice, echo, the tools the model is shown).
fn tool_choice(
    v: Option<&Value>,
    tools: Vec<Value>,
) -> ApiResult<(Option<ToolChoice>, Value, Vec<Value>)> {
    let invalid = |v: &Value| {
        ApiError::bad(format!(
            "Invalid value for 'tool_choice': {v}. Expected \"none\", \"auto\", \"required\", {{\"type\": \"function\", \"name\": ...}} or {{\"type\": \"allowed_tools\", ...}}."
        ))
    };
    let need_tools = |what: &str| {
        ApiError::bad(format!(
            "Tool choice '{what}' must be specified with 'tools' parameter."
        ))
    };
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok((None, j!("auto"), tools));
    };
    match v {
        Value::String(s) => {
            let choice = match s.as_str() {
                "none" => ToolChoice::None,
                "auto" => ToolChoice::Auto,
                "required" if tools.is_empty() => return Err(need_tools("required")),
                "required" => ToolChoice::Required,
                _ => return Err(invalid(v)),
            };
            Ok((Some(choice), v.clone(), tools))
        }
        Value::Object(o) => match o.get("type").and_then(Value::as_str) {
            Some("function") => {
                let name = o
                    .get("name")
                    .and_then(Value::as_str)
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| {
                        ApiError::bad("Missing required parameter: 'tool_choice.name'.")
                    })?;
                if !tools.iter().any(|t| tool_name(t) == name) {
                    return Err(ApiError::bad(format!(
                        "Tool choice 'function' not found in 'tools' parameter: no function named '{name}'."
                    )));
                }
                Ok((
                    Some(ToolChoice::Function(name.to_owned())),
                    j!({"type": "function", "name": name}),
                    tools,
                ))
            }
            Some("allowed_tools") => {
                let allowed: Vec<&str> = o
                    .get("tools")
                    .and_then(Value::as_array)
                    .ok_or_else(|| {
                        ApiError::bad("Missing required parameter: 'tool_choice.tools'.")
                    })?
                    .iter()
                    .map(|t| t.get("name").and_then(Value::as_str).unwrap_or_default())
                    .collect();
                if let Some(missing) = allowed
                    .iter()
                    .find(|n| !tools.iter().any(|t| tool_name(t) == **n))
                {
                    return Err(ApiError::bad(format!(
                        "Invalid 'tool_choice.tools': no function named '{missing}' in 'tools'."
                    )));
                }
                let kept: Vec<Value> = tools
                    .into_iter()
                    .filter(|t| allowed.contains(&tool_name(t)))
                    .collect();
                let choice = match o.get("mode").and_then(Value::as_str) {
                    Some("auto") | None => ToolChoice::Auto,
                    Some("required") if kept.is_empty() => return Err(need_tools("required")),
                    Some("required") => ToolChoice::Required,
                    Some(_) => return Err(invalid(v)),
                };
                Ok((Some(choice), v.clone(), kept))
            }
            _ => Err(invalid(v)),
        },
        _ => Err(invalid(v)),
    }
}

/// `text.format` → (native format, the `text` echo).
fn text_format(text: Option<&Value>) -> ApiResult<(Option<Value>, Value)> {
    let verbosity = text
        .and_then(|t| t.get("verbosity"))
        .filter(|v| !v.is_null())
        .cloned()
        .unwrap_or(j!("medium"));
    let format = text.and_then(|t| t.get("format")).filter(|f| !f.is_null());
    let Some(f) = format else {
        return Ok((
            None,
            j!({"format": {"type": "text"}, "verbosity": verbosity}),
        ));
    };
    let (native, echo) = match f.get("type").and_then(Value::as_str) {
        Some("text") => (None, j!({"type": "text"})),
        Some("json_object") => (Some(j!("json")), j!({"type": "json_object"})),
        Some("json_schema") => {
            let name = f
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::bad("Missing required parameter: 'text.format.name'."))?;
            let schema = f
                .get("schema")
                .filter(|s| s.is_object())
                .ok_or_else(|| {
                    ApiError::bad("Missing required parameter: 'text.format.schema'.")
                })?;
            (
                Some(schema.clone()),
                j!({"type": "json_schema", "name": name, "schema": schema,
                    "description": f.get("description").cloned().unwrap_or(Value::Null),
                    "strict": f.get("strict").and_then(Value::as_bool).unwrap_or(false)}),
            )
        }
        _ => {
            return Err(ApiError::bad(format!(
                "Invalid value for 'text.format.type': {}. Supported values are: 'text', 'json_object' and 'json_schema'.",
                f.get("type").unwrap_or(&Value::Null)
            )))
        }
    };
    Ok((native, j!({"format": echo, "verbosity": verbosity})))
}

fn check_metadata(m: &Value) -> ApiResult<()> {
    let bad = |why: &str| ApiError::bad(format!("Invalid 'metadata': {why}."));
    match m {
        Value::Null => Ok(()),
        Value::Object(o) => {
            if o.len() > 16 {
                return Err(bad("at most 16 keys are allowed"));
            }
            for (k, v) in o {
                if k.chars().count() > 64 {
                    return Err(bad("keys are at most 64 characters"));
                }
                match v.as_str() {
                    Some(s) if s.chars().count() <= 512 => {}
                    Some(_) => return Err(bad("values are at most 512 characters")),
                    None => return Err(bad("values must be strings")),
                }
            }
            Ok(())
        }
        _ => Err(bad("expected an object of string values")),
    }
}
