//! Embedding requests on the inference thread, run one group (one decode) at a time.
//!
//! Between two groups the inference thread runs a generation step, so tokens keep streaming
//! during a long batch, and the requests take turns, so a small request is not stuck behind a
//! 2,000-input one. A request whose reply receiver is gone (the client went away) is dropped
//! before its next group, like a cancelled generation.

use std::collections::VecDeque;

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;

use super::{context, embed_group, next_group, Embeddings, EMBED_SEQS};
use crate::EngineError;

/// Where a request's result goes (the job module's `EmbedReply`, named here without it).
type EmbedReply = tokio::sync::oneshot::Sender<Result<Embeddings, EngineError>>;

/// One embedding request in progress: its inputs and the vectors made so far.
pub(crate) struct EmbedJob {
    inputs: Vec<Vec<LlamaToken>>,
    /// The first input not embedded yet.
    next: usize,
    done: Embeddings,
    reply: EmbedReply,
}

impl EmbedJob {
    pub(crate) fn new(inputs: Vec<Vec<LlamaToken>>, reply: EmbedReply) -> Self {
        let n = inputs.len();
        EmbedJob {
            inputs,
            next: 0,
            done: Embeddings {
                vectors: Vec::with_capacity(n),
                norms: Vec::with_capacity(n),
                prompt_eval_count: 0,
            },
            reply,
        }
    }

    /// Whether its requester has gone away.
    fn cancelled(&self) -> bool {
        self.reply.is_closed()
    }

    /// Answer with `error`.
    pub(crate) fn fail(self, error: EngineError) {
        let _ = self.reply.send(Err(error));
    }

    /// Embed the next group of inputs (each cut to `capacity` tokens, at most `budget` tokens
    /// a group unless one input alone is longer). Returns the job while inputs remain.
    fn run_group(
        mut self,
        ctx: &mut LlamaContext<'_>,
        batch: &mut LlamaBatch<'_>,
        capacity: usize,
        budget: usize,
    ) -> Option<Self> {
        let rest = &self.inputs[self.next..];
        let cut = |t: &Vec<LlamaToken>| t.len().min(capacity);
        let n = next_group(rest.iter().map(cut), budget, EMBED_SEQS as usize);
        let group: Vec<&[LlamaToken]> = rest[..n].iter().map(|t| &t[..cut(t)]).collect();
        match embed_group(ctx, batch, &group) {
            Ok(vectors) => {
                for (tokens, (unit, norm)) in group.iter().zip(vectors) {
                    self.done.vectors.push(unit);
                    self.done.norms.push(norm);
                    self.done.prompt_eval_count += tokens.len() as u32;
                }
                self.next += n;
            }
            Err(e) => {
                self.fail(e);
                return None;
            }
        }
        if self.next < self.inputs.len() {
            return Some(self);
        }
        let _ = self.reply.send(Ok(self.done));
        None
    }
}

/// The embedding requests of one model and the pooled context they share (made on first use).
pub(crate) struct Embedder<'m> {
    jobs: VecDeque<EmbedJob>,
    ctx: Option<(LlamaContext<'m>, LlamaBatch<'static>)>,
}

impl<'m> Embedder<'m> {
    pub(crate) fn new() -> Self {
        Embedder {
            jobs: VecDeque::new(),
            ctx: None,
        }
    }

    /// Queue a request (an empty one is answered at once).
    pub(crate) fn push(&mut self, job: EmbedJob) {
        if job.inputs.is_empty() {
            let _ = job.reply.send(Ok(job.done));
            return;
        }
        self.jobs.push_back(job);
    }

    /// Whether no request is waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// Drop the requests whose requester has gone away.
    pub(crate) fn drop_cancelled(&mut self) {
        let before = self.jobs.len();
        self.jobs.retain(|job| !job.cancelled());
        if self.jobs.len() < before {
            tracing::debug!(
                cancelled = before - self.jobs.len(),
                "embedding cancelled; its remaining inputs are skipped"
            );
        }
    }

    /// Fail every request with `error`.
    pub(crate) fn fail_all(&mut self, error: &EngineError) {
        for job in self.jobs.drain(..) {
            job.fail(error.clone());
        }
    }

    /// Run one group of the request whose turn it is, which then goes to the back of the line.
    /// The context is made on first use with `n_ctx` tokens; groups hold at most `budget`
    /// tokens. A context that cannot be made fails every request.
    pub(crate) fn step(
        &mut self,
        backend: &LlamaBackend,
        model: &'m LlamaModel,
        n_ctx: u32,
        threads: u32,
        budget: usize,
    ) {
        if self.jobs.is_empty() {
            return;
        }
        if self.ctx.is_none() {
            match context(backend, model, n_ctx, threads) {
                Ok(ctx) => {
                    let batch = LlamaBatch::new(ctx.n_batch() as usize, EMBED_SEQS as i32);
                    self.ctx = Some((ctx, batch));
                }
                Err(e) => {
                    self.fail_all(&e);
                    return;
                }
            }
        }
        let (Some(job), Some((ctx, batch))) = (self.jobs.pop_front(), self.ctx.as_mut()) else {
            return;
        };
        let capacity = ctx.n_batch() as usize;
        if let Some(job) = job.run_group(ctx, batch, capacity, budget.min(capacity).max(1)) {
            self.jobs.push_back(job);
        }
    }
}
