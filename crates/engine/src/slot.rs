//! A slot: one sequence of the shared context, with the tokens its KV cells hold and, while
//! busy, the request it serves.

use std::time::Instant;

use llama_cpp_2::token::LlamaToken;

use crate::event::{Completion, DoneReason, Event, Logprobs};
use crate::job::Job;
use crate::sampler::SlotSampler;
use crate::text::TextStream;

/// One generation in progress on a slot.
pub(crate) struct Active {
    pub job: Box<Job>,
    pub sampler: SlotSampler,
    pub text: TextStream,
    /// Next prompt token to prefill (index into `job.tokens`).
    pub prefilled: usize,
    /// Prompt tokens found in the cache.
    pub cached: usize,
    /// Generated tokens (decoded or about to be).
    pub generated: Vec<LlamaToken>,
    /// Token sampled last, to be decoded in the next step.
    pub next_input: Option<LlamaToken>,
    /// Where this slot's logits are in the current batch.
    pub logits_at: Option<i32>,
    pub started: Instant,
    pub first_token_at: Option<Instant>,
    pub pending_logprobs: Vec<Logprobs>,
}

impl Active {
    pub(crate) fn prefilling(&self) -> bool {
        self.prefilled < self.job.tokens.len()
    }

    /// Send a piece of text (with any log-probabilities gathered for it).
    pub(crate) fn emit(&mut self, text: String) {
        if text.is_empty() {
            return;
        }
        let logprobs = std::mem::take(&mut self.pending_logprobs);
        let _ = self.job.events.send(Event::Token { text, logprobs });
    }

    /// Flush held text and send the final event.
    pub(crate) fn finish(mut self, reason: DoneReason) {
        let rest = self.text.finish();
        self.emit(rest);
        let now = Instant::now();
        let first = self.first_token_at.unwrap_or(now);
        tracing::debug!(
            prompt = self.job.tokens.len(),
            cached = self.cached,
            queued_us = nanos(self.started - self.job.received) / 1000,
            first_token_us = nanos(first - self.started) / 1000,
            generated = self.generated.len(),
            "generation done"
        );
        let mut context: Vec<i32> = self.job.tokens.iter().map(|t| t.0).collect();
        context.extend(self.generated.iter().map(|t| t.0));
        let done = Completion {
            done_reason: reason,
            prompt_eval_count: self.job.tokens.len() as u32,
            cached_prompt_tokens: self.cached as u32,
            prompt_eval_duration_ns: nanos(first - self.started),
            eval_count: self.generated.len() as u32,
            eval_duration_ns: nanos(now - first),
            total_duration_ns: nanos(now - self.job.received),
            context,
            truncated_tokens: self.job.truncated,
        };
        let _ = self.job.events.send(Event::Done(done));
    }
}

fn nanos(d: std::time::Duration) -> u64 {
    d.as_nanos().min(u64::MAX as u128) as u64
}

/// A sequence of the context.
pub(crate) struct Slot {
    pub seq: i32,
    /// Tokens whose KV cells this sequence holds, in position order.
    pub cache: Vec<LlamaToken>,
    pub last_used: u64,
    pub active: Option<Active>,
    /// Its cells were copied in from another slot since the last decode: the copy happens at the
    /// start of the next decode, so until then its buffers must not be read or written.
    pub fresh: bool,
    /// Another slot copies from it at the next decode: its buffers must not be overwritten
    /// (restored from the host cache) before then.
    pub copy_source: bool,
    /// `last_used` when its cells were last offered to the host cache ahead of an eviction:
    /// each conversation turn is saved ahead at most once.
    pub saved_ahead: Option<u64>,
}

impl Slot {
    /// How many leading tokens of `tokens` its cells hold and can be reused now (none while a
    /// copy into it is pending).
    pub(crate) fn own_prefix(&self, tokens: &[LlamaToken]) -> usize {
        if self.fresh {
            0
        } else {
            crate::schedule::reusable_prefix(&self.cache, tokens)
        }
    }

    /// An empty slot for sequence `seq`.
    pub(crate) fn new(seq: i32) -> Slot {
        Slot {
            seq,
            cache: Vec::new(),
            last_used: 0,
            active: None,
            fresh: false,
            copy_source: false,
            saved_ahead: None,
        }
    }
}
