//! Messages from a [`Model`](crate::Model) handle to its inference thread: generation jobs,
//! embedding and scoring requests and shutdown, and how each is failed when the thread goes away.

use std::time::Instant;

use llama_cpp_2::token::LlamaToken;
use tokio::sync::{mpsc as tokio_mpsc, oneshot};

use crate::{EngineError, Event, SamplingOptions};

/// A generation request, tokenized and checked by the handle.
pub(crate) struct Job {
    pub tokens: Vec<LlamaToken>,
    pub options: SamplingOptions,
    pub grammar: Option<String>,
    pub logprobs: Option<u32>,
    /// Context limit for this request (≤ the slot's context).
    pub n_ctx: u32,
    pub truncated: u32,
    pub received: Instant,
    pub events: tokio_mpsc::UnboundedSender<Event>,
}

/// Where the inference thread sends the result of an embedding request.
pub(crate) type EmbedReply = oneshot::Sender<Result<crate::Embeddings, EngineError>>;

/// Where the inference thread sends the result of a scoring request.
pub(crate) type ScoreReply = oneshot::Sender<Result<crate::Scores, EngineError>>;

/// A scoring request, tokenized and checked by the handle.
pub(crate) struct ScoreJob {
    /// Never empty.
    pub prefix: Vec<LlamaToken>,
    /// Each non-empty.
    pub continuations: Vec<Vec<LlamaToken>>,
    /// The first token of each candidate, and how each was tokenized.
    pub candidates: Vec<LlamaToken>,
    pub candidate_tokens: Vec<Vec<i32>>,
    pub token_logprobs: bool,
    pub top_logprobs: u32,
    pub received: Instant,
    pub reply: ScoreReply,
}

/// One message to the inference thread.
pub(crate) enum Command {
    Generate(Box<Job>),
    Embed {
        inputs: Vec<Vec<LlamaToken>>,
        reply: EmbedReply,
    },
    Score(Box<ScoreJob>),
    Shutdown,
    /// Panic on the inference thread (tests of panic containment only).
    #[cfg(test)]
    Panic(&'static str),
}

impl Command {
    /// Answer this command with `error` instead of running it (the thread is going away).
    pub(crate) fn fail(self, error: &EngineError) {
        match self {
            Command::Generate(job) => {
                let _ = job.events.send(Event::Error(error.clone()));
            }
            Command::Embed { reply, .. } => {
                let _ = reply.send(Err(error.clone()));
            }
            Command::Score(job) => {
                let _ = job.reply.send(Err(error.clone()));
            }
            Command::Shutdown => {}
            #[cfg(test)]
            Command::Panic(_) => {}
        }
    }
}
