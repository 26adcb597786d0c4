//! The inference core shared by every generating endpoint: engine events in, [`Piece`]s out,
//! with tool-call extraction when tools were given, and TTFT/ITL/token metrics on the way.

use std::collections::VecDeque;
use std::time::Instant;

use futures::stream::BoxStream;
use futures::StreamExt;
use hearth_engine::{Completion, Event, GenerateRequest, Logprobs};

use crate::backend::EventStream;
use crate::error::ApiError;
use crate::scheduler::{Lease, Ticket};
use crate::state::SharedState;
use crate::tools::{Parsed, ToolCall, ToolParser};

/// One piece of a response.
#[derive(Debug)]
pub enum Piece {
    /// Output text.
    Text {
        /// The text.
        text: String,
        /// Its log-probabilities, when asked for.
        logprobs: Vec<Logprobs>,
    },
    /// Whole tool calls.
    Calls(Vec<ToolCall>),
    /// The end, with metrics.
    Done(Box<Completion>),
    /// A failure mid-stream.
    Error(String),
}

struct Core {
    events: EventStream,
    parser: Option<ToolParser>,
    pending: VecDeque<Piece>,
    finished: bool,
    state: SharedState,
    started: Instant,
    last_token: Option<Instant>,
    _lease: Lease,
    _ticket: Ticket,
}

/// Start generating; `parser` extracts tool calls when tools were given. The stream holds the
/// model lease and the queue ticket until it ends or is dropped (a client disconnect drops it,
/// which cancels the generation in the engine).
pub fn start(
    state: SharedState,
    lease: Lease,
    ticket: Ticket,
    request: GenerateRequest,
    parser: Option<ToolParser>,
    started: Instant,
) -> Result<BoxStream<'static, Piece>, ApiError> {
    let events = lease.model().generate(request)?;
    let core = Core {
        events,
        parser,
        pending: VecDeque::new(),
        finished: false,
        state,
        started,
        last_token: None,
        _lease: lease,
        _ticket: ticket,
    };
    Ok(
        futures::stream::unfold(core, |mut c| async move { c.step().await.map(|p| (p, c)) })
            .boxed(),
    )
}

impl Core {
    async fn step(&mut self) -> Option<Piece> {
        loop {
            if let Some(p) = self.pending.pop_front() {
                return Some(p);
            }
            if self.finished {
                return None;
            }
            match self.events.next().await {
                Some(Event::Token { text, logprobs }) => {
                    self.observe_token();
                    let Some(parser) = &mut self.parser else {
                        return Some(Piece::Text { text, logprobs });
                    };
                    let mut parts = parser.feed(&text);
                    if parts.is_empty() && !logprobs.is_empty() {
                        parts.push(Parsed::Text(String::new()));
                    }
                    self.push_parsed(parts, logprobs);
                }
                Some(Event::Done(done)) => {
                    if let Some(parser) = &mut self.parser {
                        let rest = parser.finish();
                        self.push_parsed(rest, Vec::new());
                    }
                    self.state
                        .metrics
                        .tokens_in
                        .inc_by(done.prompt_eval_count as u64);
                    self.pending.push_back(Piece::Done(Box::new(done)));
                    self.finished = true;
                }
                Some(Event::Error(e)) => {
                    tracing::error!(error = %e, "generation failed");
                    self.pending
                        .push_back(Piece::Error(ApiError::from(e).to_string()));
                    self.finished = true;
                }
                None => {
                    self.pending
                        .push_back(Piece::Error("model runner has unexpectedly stopped".into()));
                    self.finished = true;
                }
            }
        }
    }

    fn push_parsed(&mut self, parts: Vec<Parsed>, mut logprobs: Vec<Logprobs>) {
        for part in parts {
            match part {
                Parsed::Text(text) => self.pending.push_back(Piece::Text {
                    text,
                    logprobs: std::mem::take(&mut logprobs),
                }),
                Parsed::Call(call) => match self.pending.back_mut() {
                    Some(Piece::Calls(calls)) => calls.push(call),
                    _ => self.pending.push_back(Piece::Calls(vec![call])),
                },
            }
        }
    }

    fn observe_token(&mut self) {
        let now = Instant::now();
        let m = &self.state.metrics;
        m.tokens_out.inc();
        match self.last_token {
            None => m
                .ttft
                .observe(now.duration_since(self.started).as_secs_f64()),
            Some(prev) => m
                .inter_token
                .observe(now.duration_since(prev).as_secs_f64()),
        }
        self.last_token = Some(now);
    }
}
