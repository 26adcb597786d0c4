//! Anthropic's event stream for `/v1/messages` with `stream: true`: `message_start`, `ping`,
//! then per content block `content_block_start` / `content_block_delta` (`text_delta`,
//! `input_json_delta`) / `content_block_stop`, then `message_delta` (stop reason, usage) and
//! `message_stop`; a failure mid-stream is an `error` event. Each is `event: <type>` plus
//! `data: <json>`.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use futures::stream::BoxStream;
use futures::StreamExt;
use hearth_engine::Completion;
use serde_json::{json as j, Value};

use super::turn::Context;
use super::wire::{self, tool_use_block, with_request_id};
use crate::infer::Piece;
use crate::tools::ToolCall;

/// One server-sent event: its type and its data.
type Event = (&'static str, Value);

/// The streaming response for a started generation; `input` is the prompt's token count.
pub fn respond(
    pieces: BoxStream<'static, Piece>,
    ctx: Context,
    model: String,
    input: u64,
    tools: bool,
) -> Response {
    let start = vec![
        (
            "message_start",
            j!({"type": "message_start", "message": {
                "id": wire::id("msg"), "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": wire::usage(input, 0)}}),
        ),
        ("ping", j!({"type": "ping"})),
    ];
    let mut blocks = Blocks {
        ctx,
        tools,
        index: 0,
        text_open: false,
        held: String::new(),
        saw_calls: false,
    };
    let events = futures::stream::iter(start)
        .chain(pieces.flat_map(move |p| futures::stream::iter(blocks.on(p))))
        .map(|(name, data): Event| {
            let mut out = Vec::with_capacity(64);
            out.extend_from_slice(b"event: ");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\ndata: ");
            out.extend_from_slice(data.to_string().as_bytes());
            out.extend_from_slice(b"\n\n");
            Ok::<_, std::convert::Infallible>(Bytes::from(out))
        });
    let mut resp = Response::new(Body::from_stream(events));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    with_request_id(resp)
}

/// The content blocks of the answer as they are streamed.
struct Blocks {
    ctx: Context,
    /// Tools were given: leading blank text is held back, as it may precede a tool call.
    tools: bool,
    /// The index of the next (or the open) block.
    index: usize,
    text_open: bool,
    held: String,
    saw_calls: bool,
}

impl Blocks {
    fn on(&mut self, piece: Piece) -> Vec<Event> {
        let mut out = Vec::new();
        match piece {
            Piece::Text { text, .. } => self.text(text, &mut out),
            Piece::Calls(calls) => self.calls(&calls, &mut out),
            Piece::Done(c) => self.done(&c, &mut out),
            Piece::Error(message) => out.push((
                "error",
                j!({"type": "error", "error": {"type": "api_error", "message": message}}),
            )),
        }
        out
    }

    fn text(&mut self, text: String, out: &mut Vec<Event>) {
        if text.is_empty() {
            return;
        }
        if !self.text_open {
            if self.tools && text.trim().is_empty() {
                self.held.push_str(&text);
                return;
            }
            self.open_text(out);
        }
        let text = std::mem::take(&mut self.held) + &text;
        out.push(delta(self.index, j!({"type": "text_delta", "text": text})));
    }

    fn open_text(&mut self, out: &mut Vec<Event>) {
        out.push((
            "content_block_start",
            j!({"type": "content_block_start", "index": self.index,
                "content_block": {"type": "text", "text": ""}}),
        ));
        self.text_open = true;
    }

    fn close_text(&mut self, out: &mut Vec<Event>) {
        if self.text_open {
            out.push(stop(self.index));
            self.index += 1;
            self.text_open = false;
        }
    }

    fn calls(&mut self, calls: &[ToolCall], out: &mut Vec<Event>) {
        self.close_text(out);
        self.held.clear();
        for c in calls {
            let mut block = tool_use_block(c);
            let input = block["input"].take().to_string();
            block["input"] = j!({});
            out.push((
                "content_block_start",
                j!({"type": "content_block_start", "index": self.index, "content_block": block}),
            ));
            out.push(delta(
                self.index,
                j!({"type": "input_json_delta", "partial_json": input}),
            ));
            out.push(stop(self.index));
            self.index += 1;
            self.saw_calls = true;
        }
    }

    fn done(&mut self, c: &Completion, out: &mut Vec<Event>) {
        if self.index == 0 && !self.text_open && !self.saw_calls {
            // No content at all: one (possibly blank) text block, as the non-streaming answer.
            self.open_text(out);
            let held = std::mem::take(&mut self.held);
            if !held.is_empty() {
                out.push(delta(self.index, j!({"type": "text_delta", "text": held})));
            }
        }
        self.close_text(out);
        let ending = self.ctx.ending(c, self.saw_calls);
        out.push((
            "message_delta",
            j!({"type": "message_delta",
                "delta": {"stop_reason": ending.stop_reason, "stop_sequence": ending.stop_sequence},
                "usage": wire::usage(c.prompt_eval_count.into(), c.eval_count.into())}),
        ));
        out.push(("message_stop", j!({"type": "message_stop"})));
    }
}

fn delta(index: usize, delta: Value) -> Event {
    (
        "content_block_delta",
        j!({"type": "content_block_delta", "index": index, "delta": delta}),
    )
}

fn stop(index: usize) -> Event {
    (
        "content_block_stop",
        j!({"type": "content_block_stop", "index": index}),
    )
}
