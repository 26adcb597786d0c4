//! The Response object and its output items, as OpenAI's API writes them: ids (`resp_`, `msg_`,
//! `fc_`), the echoed request settings, `status`, `incomplete_details`, `usage` with its detail
//! objects.

use serde_json::{json as j, Map, Value};

use super::request::{Plan, ResponsesBody};

/// A fresh id with OpenAI's prefix (`resp`, `msg`, `fc`).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{:032x}", fastrand::u128(..))
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// What every state of one response shares: its id, creation time and the echoed settings.
#[derive(Debug, Clone)]
pub struct Skeleton {
    /// `resp_…`.
    pub id: String,
    /// Creation time.
    pub created_at: i64,
    echo: Map<String, Value>,
}

impl Skeleton {
    /// The echo of a checked request.
    pub fn new(body: &ResponsesBody, plan: &Plan) -> Self {
        let mut echo = Map::new();
        let mut put = |k: &str, v: Value| {
            echo.insert(k.to_owned(), v);
        };
        put("background", j!(false));
        put("instructions", j!(body.instructions));
        put("max_output_tokens", j!(body.max_output_tokens));
        put("max_tool_calls", j!(body.max_tool_calls));
        put("model", j!(body.model));
        put(
            "parallel_tool_calls",
            j!(body.parallel_tool_calls.unwrap_or(true)),
        );
        put("previous_response_id", j!(body.previous_response_id));
        put("prompt_cache_key", j!(body.prompt_cache_key));
        put(
            "reasoning",
            body.reasoning
                .clone()
                .filter(|r| r.is_object())
                .unwrap_or_else(|| j!({"effort": null, "summary": null})),
        );
        put("safety_identifier", j!(body.safety_identifier));
        put(
            "service_tier",
            j!(body.service_tier.as_deref().unwrap_or("default")),
        );
        put("store", j!(body.store.unwrap_or(true)));
        put("temperature", plan.options["temperature"].clone());
        put("text", plan.text.clone());
        put("tool_choice", plan.tool_choice_echo.clone());
        put("tools", Value::Array(plan.tools.clone()));
        put("top_logprobs", j!(plan.top_logprobs));
        put("top_p", plan.options["top_p"].clone());
        put("truncation", j!(plan.truncation));
        put("user", j!(body.user));
        put(
            "metadata",
            body.metadata
                .clone()
                .filter(Value::is_object)
                .unwrap_or_else(|| j!({})),
        );
        Skeleton {
            id: new_id("resp"),
            created_at: now(),
            echo,
        }
    }

    /// The Response object in a given state.
    pub fn response(&self, state: State<'_>) -> Value {
        let mut r = Map::new();
        r.insert("id".into(), j!(self.id));
        r.insert("object".into(), j!("response"));
        r.insert("created_at".into(), j!(self.created_at));
        let (status, output, usage, incomplete, error) = match state {
            State::InProgress => ("in_progress", &[][..], None, None, None),
            State::Done {
                output,
                usage,
                incomplete,
            } => (
                if incomplete.is_some() {
                    "incomplete"
                } else {
                    "completed"
                },
                output,
                Some(usage),
                incomplete,
                None,
            ),
            State::Failed { output, message } => (
                "failed",
                output,
                None,
                None,
                Some(j!({"code": "server_error", "message": message})),
            ),
        };
        r.insert("status".into(), j!(status));
        r.insert(
            "completed_at".into(),
            if status == "completed" {
                j!(now())
            } else {
                Value::Null
            },
        );
        r.insert("error".into(), error.unwrap_or(Value::Null));
        r.insert(
            "incomplete_details".into(),
            incomplete.map_or(Value::Null, |reason| j!({ "reason": reason })),
        );
        r.insert("output".into(), Value::Array(output.to_vec()));
        for (k, v) in &self.echo {
            r.insert(k.clone(), v.clone());
        }
        r.insert("usage".into(), usage.cloned().unwrap_or(Value::Null));
        Value::Object(r)
    }
}

/// Where a response stands.
#[derive(Debug)]
pub enum State<'a> {
    /// Created, generating.
    InProgress,
    /// Finished; `incomplete` is the reason when it stopped early.
    Done {
        /// The output items.
        output: &'a [Value],
        /// The usage object.
        usage: &'a Value,
        /// `max_output_tokens` when cut short.
        incomplete: Option<&'static str>,
    },
    /// Failed mid-way.
    Failed {
        /// The output items finished before the failure.
        output: &'a [Value],
        /// What went wrong.
        message: &'a str,
    },
}

/// An assistant message item with one `output_text` part.
pub fn message_item(id: &str, status: &str, text: &str, logprobs: &[Value]) -> Value {
    j!({"id": id, "type": "message", "status": status, "role": "assistant",
        "content": [text_part(text, logprobs)]})
}

/// An `output_text` content part.
pub fn text_part(text: &str, logprobs: &[Value]) -> Value {
    j!({"type": "output_text", "annotations": [], "logprobs": logprobs, "text": text})
}

/// A `function_call` item.
pub fn call_item(id: &str, call_id: &str, name: &str, arguments: &str, status: &str) -> Value {
    j!({"id": id, "type": "function_call", "status": status, "arguments": arguments,
        "call_id": call_id, "name": name})
}

/// The usage object (no prompt-cache or reasoning figures: the native chunks carry none).
pub fn usage(input: u64, output: u64) -> Value {
    j!({"input_tokens": input,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output, "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input + output})
}
