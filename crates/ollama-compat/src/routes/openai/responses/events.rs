//! Native chat chunks → Responses streaming events, in the order the `openai` SDKs accumulate
//! them (`response.created`, `response.in_progress`, per item `output_item.added`,
//! `content_part.added`, `output_text.delta`…, `output_text.done`, `content_part.done`,
//! `output_item.done`, or for a call `function_call_arguments.delta`/`.done`; then
//! `response.completed`, `response.incomplete` or `response.failed`), each numbered by
//! `sequence_number`, and the SSE body (`event:` + `data:` lines, no `[DONE]`). The same
//! builder makes the non-streaming answer, so both always agree.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use futures::{Stream, StreamExt};
use serde_json::{json as j, Map, Value};

use super::object::{self, Skeleton, State};
use crate::wire::ChatChunk;

/// One streaming event: its `type` and its whole JSON object (type and sequence number included).
#[derive(Debug, Clone)]
pub struct Event {
    /// `response.created`, …
    pub kind: &'static str,
    /// The event object.
    pub data: Value,
}

/// How a response ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Completed or incomplete: the final Response object and its output items.
    Done {
        /// The Response object.
        response: Value,
        /// Its output items.
        output: Vec<Value>,
    },
    /// Failed mid-way.
    Failed {
        /// What went wrong.
        message: String,
    },
}

struct OpenText {
    index: usize,
    id: String,
    text: String,
    logprobs: Vec<Value>,
}

/// Turns chunks into events, keeping the output items.
pub struct Builder {
    skel: Skeleton,
    seq: u64,
    output: Vec<Value>,
    open: Option<OpenText>,
    outcome: Option<Outcome>,
}

impl Builder {
    /// A builder for one response.
    pub fn new(skel: Skeleton) -> Self {
        Builder {
            skel,
            seq: 0,
            output: Vec::new(),
            open: None,
            outcome: None,
        }
    }

    /// The response's id.
    pub fn id(&self) -> &str {
        &self.skel.id
    }

    /// How it ended, once it has.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    fn emit(&mut self, out: &mut Vec<Event>, kind: &'static str, fields: Value) {
        let mut data = Map::new();
        data.insert("type".into(), j!(kind));
        if let Value::Object(f) = fields {
            data.extend(f);
        }
        data.insert("sequence_number".into(), j!(self.seq));
        self.seq += 1;
        out.push(Event {
            kind,
            data: Value::Object(data),
        });
    }

    /// `response.created` and `response.in_progress`.
    pub fn start(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        let r = self.skel.response(State::InProgress);
        self.emit(&mut out, "response.created", j!({ "response": r }));
        let r = self.skel.response(State::InProgress);
        self.emit(&mut out, "response.in_progress", j!({ "response": r }));
        out
    }

    /// The events for one chunk (none once the response has ended).
    pub fn chunk(&mut self, chunk: Result<ChatChunk, String>) -> Vec<Event> {
        let mut out = Vec::new();
        if self.outcome.is_some() {
            return out;
        }
        match chunk {
            Err(message) => self.fail(&mut out, message),
            Ok(c) => {
                let logprobs: Vec<Value> = c
                    .logprobs
                    .iter()
                    .flatten()
                    .map(|l| serde_json::to_value(l).unwrap_or(Value::Null))
                    .collect();
                if !c.message.content.is_empty() || !logprobs.is_empty() {
                    self.text(&mut out, &c.message.content, logprobs);
                }
                for call in c.message.tool_calls.iter().flatten() {
                    self.close_text(&mut out, "completed");
                    let index = self.output.len();
                    let id = object::new_id("fc");
                    let name = call.function.name.clone();
                    let args = call.function.arguments.to_string();
                    let call_id = if call.id.is_empty() {
                        crate::tools::call_id()
                    } else {
                        call.id.clone()
                    };
                    let added = object::call_item(&id, &call_id, &name, "", "in_progress");
                    self.emit(
                        &mut out,
                        "response.output_item.added",
                        j!({"output_index": index, "item": added}),
                    );
                    self.emit(
                        &mut out,
                        "response.function_call_arguments.delta",
                        j!({"item_id": id, "output_index": index, "delta": args}),
                    );
                    self.emit(
                        &mut out,
                        "response.function_call_arguments.done",
                        j!({"item_id": id, "output_index": index, "name": name, "arguments": args}),
                    );
                    let done = object::call_item(&id, &call_id, &name, &args, "completed");
                    self.output.push(done.clone());
                    self.emit(
                        &mut out,
                        "response.output_item.done",
                        j!({"output_index": index, "item": done}),
                    );
                }
                if c.done {
                    let incomplete =
                        (c.done_reason.as_deref() == Some("length")).then_some("max_output_tokens");
                    if self.output.is_empty() && self.open.is_none() {
                        self.text(&mut out, "", Vec::new());
                    }
                    let status = if incomplete.is_some() {
                        "incomplete"
                    } else {
                        "completed"
                    };
                    self.close_text(&mut out, status);
                    let usage = object::usage(c.metrics.prompt_eval_count, c.metrics.eval_count);
                    let response = self.skel.response(State::Done {
                        output: &self.output,
                        usage: &usage,
                        incomplete,
                    });
                    let kind = if incomplete.is_some() {
                        "response.incomplete"
                    } else {
                        "response.completed"
                    };
                    self.emit(&mut out, kind, j!({ "response": response }));
                    self.outcome = Some(Outcome::Done {
                        response,
                        output: self.output.clone(),
                    });
                }
            }
        }
        out
    }

    /// The end of the chunks: a response that never finished has failed.
    pub fn end(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        if self.outcome.is_none() {
            self.fail(&mut out, "generation ended without a final chunk".into());
        }
        out
    }

    fn fail(&mut self, out: &mut Vec<Event>, message: String) {
        self.close_text(out, "incomplete");
        let response = self.skel.response(State::Failed {
            output: &self.output,
            message: &message,
        });
        self.emit(out, "response.failed", j!({ "response": response }));
        self.outcome = Some(Outcome::Failed { message });
    }

    fn text(&mut self, out: &mut Vec<Event>, delta: &str, logprobs: Vec<Value>) {
        if self.open.is_none() {
            let index = self.output.len();
            let id = object::new_id("msg");
            self.emit(
                out,
                "response.output_item.added",
                j!({"output_index": index, "item":
                    {"id": id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}}),
            );
            self.emit(
                out,
                "response.content_part.added",
                j!({"item_id": id, "output_index": index, "content_index": 0,
                    "part": object::text_part("", &[])}),
            );
            self.open = Some(OpenText {
                index,
                id,
                text: String::new(),
                logprobs: Vec::new(),
            });
        }
        let Some(open) = self.open.as_mut() else {
            return;
        };
        open.text.push_str(delta);
        open.logprobs.extend(logprobs.iter().cloned());
        let (id, index) = (open.id.clone(), open.index);
        if !delta.is_empty() || !logprobs.is_empty() {
            self.emit(
                out,
                "response.output_text.delta",
                j!({"item_id": id, "output_index": index, "content_index": 0,
                    "delta": delta, "logprobs": logprobs}),
            );
        }
    }

    fn close_text(&mut self, out: &mut Vec<Event>, status: &str) {
        let Some(t) = self.open.take() else {
            return;
        };
        self.emit(
            out,
            "response.output_text.done",
            j!({"item_id": t.id, "output_index": t.index, "content_index": 0,
                "text": t.text, "logprobs": t.logprobs}),
        );
        self.emit(
            out,
            "response.content_part.done",
            j!({"item_id": t.id, "output_index": t.index, "content_index": 0,
                "part": object::text_part(&t.text, &t.logprobs)}),
        );
        let item = object::message_item(&t.id, status, &t.text, &t.logprobs);
        self.output.push(item.clone());
        self.emit(
            out,
            "response.output_item.done",
            j!({"output_index": t.index, "item": item}),
        );
    }
}

/// A `text/event-stream` body: `event: <type>` and `data: <json>` per event.
pub fn sse<S>(events: S) -> Response
where
    S: Stream<Item = Event> + Send + 'static,
{
    let body = events.map(|e| {
        let json = serde_json::to_string(&e.data).unwrap_or_else(|_| "{}".into());
        Ok::<_, std::convert::Infallible>(Bytes::from(format!(
            "event: {}\ndata: {json}\n\n",
            e.kind
        )))
    });
    let mut resp = Response::new(Body::from_stream(body));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}
