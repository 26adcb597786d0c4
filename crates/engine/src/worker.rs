//! The inference thread: owns the llama.cpp context and runs continuous batching over its slots.
//!
//! Each step builds one batch with one token for every generating slot plus chunks of prompts
//! still being prefilled, decodes it, and samples every slot whose logits it produced. New
//! requests take the idle slot sharing the longest prefix with their prompt, so only the unseen
//! suffix is evaluated. A request whose receiver is gone is dropped before the next step; its slot
//! is free for the next request at once, and the KV cells it already evaluated stay cached (the
//! slot's token list says exactly what they hold), so a retry or the next turn of that
//! conversation continues from them. Evicting cells is the job of slot assignment only.
//!
//! Prefixes are shared across slots and kept in host memory when a slot changes hands
//! ([`sharing`]). Embedding requests run a group per step between generation steps
//! ([`embed::Embedder`]), and scoring requests one decode per step in a context of their own
//! ([`score::Scorer`]). A panic anywhere on the thread is caught ([`contain`]).

pub(crate) mod contain;
mod score;
mod sharing;

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::{mpsc, Arc};
use std::time::Instant;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;

use crate::embed;
use crate::event::{DoneReason, Event, Logprobs, TokenLogprob};
use crate::job::{Command, Job};
use crate::kv::{self, KvShape};
use crate::llama_backend::{self, decode};
use crate::prompt_cache::{Counters, HostCache};
use crate::sampler::{self, SlotSampler};
use crate::schedule;
use crate::slot::{Active, Slot};
use crate::text::TextStream;
use crate::{EngineError, FlashAttention, LoadConfig};

/// Thread entry point: build the context, report its per-slot length, then serve until
/// shutdown. A panic is caught: it fails every request and ends the thread ([`contain`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn run(
    backend: &'static LlamaBackend,
    model: Arc<LlamaModel>,
    config: LoadConfig,
    threads: u32,
    commands: mpsc::Receiver<Command>,
    ready: mpsc::SyncSender<Result<u32, EngineError>>,
    counters: Arc<Counters>,
    health: Arc<contain::Health>,
) {
    let mut worker = None;
    let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if let Some(w) = start(backend, &model, config, threads, &ready, counters) {
            worker.insert(w).serve(&commands);
        }
    }));
    if let Err(payload) = served {
        contain::fail_everything(
            &health,
            payload.as_ref(),
            worker.as_mut(),
            &commands,
            &ready,
        );
    }
    drop(worker);
    tracing::debug!("inference thread stopped");
}

/// Build the context and the worker, and report the per-slot context length (or the failure).
fn start<'m>(
    backend: &'static LlamaBackend,
    model: &'m LlamaModel,
    config: LoadConfig,
    threads: u32,
    ready: &mpsc::SyncSender<Result<u32, EngineError>>,
    counters: Arc<Counters>,
) -> Option<Worker<'m>> {
    let n_slots = config.parallel.max(1);
    let n_ctx_slot = match kv::slot_context(&KvShape::of(model), model.n_ctx_train(), &config) {
        Ok(n) => n,
        Err(e) => {
            let _ = ready.send(Err(e));
            return None;
        }
    };
    let threads_batch = config.threads_batch.unwrap_or(threads).max(1);
    let batch_size = config.batch_size.max(n_slots).max(32);
    let flash_attn = llama_backend::flash_attn_type(config.flash_attention);
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx_slot * n_slots))
        .with_n_seq_max(n_slots)
        .with_n_batch(batch_size)
        .with_n_ubatch(batch_size)
        .with_n_threads(threads as i32)
        .with_n_threads_batch(threads_batch as i32)
        .with_kv_unified(false)
        .with_flash_attention_policy(flash_attn);
    let ctx = match model.new_context(backend, params) {
        Ok(ctx) => ctx,
        Err(e) => {
            let _ = ready.send(Err(EngineError::Context(e.to_string())));
            return None;
        }
    };
    let per_slot = ctx.n_ctx() / n_slots;
    let _ = ready.send(Ok(per_slot));
    Some(Worker {
        backend,
        model,
        ctx,
        embeds: embed::Embedder::new(),
        scores: score::Scorer::new(),
        slots: (0..n_slots as i32).map(Slot::new).collect(),
        queue: VecDeque::new(),
        batch: LlamaBatch::new(batch_size as usize, n_slots as i32),
        batch_size: batch_size as usize,
        n_ctx_slot: per_slot,
        clock: 0,
        threads,
        last_apart: config.flash_attention == FlashAttention::Disabled,
        host: HostCache::new(
            usize::try_from(config.cache_ram_bytes).unwrap_or(usize::MAX),
            Arc::clone(&counters),
        ),
        counters,
    })
}

struct Worker<'m> {
    backend: &'static LlamaBackend,
    model: &'m LlamaModel,
    ctx: LlamaContext<'m>,
    /// Embedding requests and their pooled context.
    embeds: embed::Embedder<'m>,
    /// Scoring requests and their context.
    scores: score::Scorer<'m>,
    slots: Vec<Slot>,
    queue: VecDeque<Box<Job>>,
    batch: LlamaBatch<'static>,
    batch_size: usize,
    n_ctx_slot: u32,
    clock: u64,
    threads: u32,
    /// Whether the last prompt token is evaluated in a step of its own
    /// ([`schedule::prefill_chunk`]): with the unfused attention path.
    last_apart: bool,
    /// Sequences saved when their slot went to another conversation.
    host: HostCache<llama_cpp_2::SeqState>,
    /// Prefix-reuse counters the model handle reads.
    counters: Arc<Counters>,
}

impl<'m> Worker<'m> {
    fn serve(&mut self, commands: &mpsc::Receiver<Command>) {
        loop {
            let idle = self.queue.is_empty()
                && self.embeds.is_empty()
                && self.scores.is_empty()
                && self.slots.iter().all(|s| s.active.is_none());
            if idle {
                match commands.recv() {
                    Ok(cmd) => {
                        if !self.handle(cmd) {
                            return;
                        }
                    }
                    Err(_) => return,
                }
            }
            loop {
                match commands.try_recv() {
                    Ok(cmd) => {
                        if !self.handle(cmd) {
                            return;
                        }
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => return,
                }
            }
            self.drop_cancelled();
            self.assign_slots();
            self.step();
            // One embedding group per generation step: neither starves the other.
            let (n_ctx, budget) = (self.n_ctx_slot, self.batch_size);
            self.embeds
                .step(self.backend, self.model, n_ctx, self.threads, budget);
            // And one scoring decode (a prefix chunk or a round of continuations).
            self.scores.step(
                self.backend,
                self.model,
                n_ctx,
                self.threads,
                budget,
                &mut self.host,
            );
            // Once every request has its first token: save the next slot to be evicted (also
            // the last thing done before the loop waits idle for a command).
            self.save_ahead();
        }
    }

    /// Returns false on shutdown.
    fn handle(&mut self, cmd: Command) -> bool {
        match cmd {
            Command::Generate(job) => self.queue.push_back(job),
            Command::Embed { inputs, reply } => {
                self.embeds.push(embed::EmbedJob::new(inputs, reply))
            }
            Command::Score(job) => self.scores.push(job),
            Command::Shutdown => return false,
            #[cfg(test)]
            Command::Panic(message) => panic!("{message}"),
        }
        true
    }

    /// Drop requests whose receiver is gone. A cancelled slot keeps its KV cells: every token in
    /// `slot.cache` was decoded by a step that completed (a failed decode frees the sequence),
    /// so the cells hold exactly the prompt chunks prefilled so far and the generated tokens
    /// decoded so far. The sampled-but-undecoded `next_input` is not among them.
    fn drop_cancelled(&mut self) {
        self.embeds.drop_cancelled();
        self.scores.drop_cancelled();
        self.queue.retain(|job| !job.events.is_closed());
        for slot in &mut self.slots {
            if slot
                .active
                .as_ref()
                .is_some_and(|a| a.job.events.is_closed())
            {
                slot.active = None;
                tracing::debug!(
                    seq = slot.seq,
                    cached = slot.cache.len(),
                    "generation cancelled; its evaluated prefix stays cached"
                );
            }
        }
    }

    /// Give queued requests an idle slot: the one holding their prefix, else the one that loses
    /// least, with the prefix brought in from another slot or the host cache. A request whose
    /// long prefix another request is prefilling right now waits for it instead.
    fn assign_slots(&mut self) {
        let mut i = 0;
        while i < self.queue.len() {
            if self.slots.iter().all(|s| s.active.is_some()) {
                return;
            }
            let best = self.best_available(&self.queue[i].tokens);
            if self.waits_for_shared_prefill(&self.queue[i], best) {
                i += 1;
                continue;
            }
            let Some(index) = self.choose_slot(&self.queue[i].tokens, best) else {
                return;
            };
            let job = self.queue.remove(i).expect("index in range");
            self.start(index, job);
        }
    }

    fn start(&mut self, index: usize, job: Box<Job>) {
        self.clock += 1;
        let started = Instant::now();
        // Keep the shared prefix (brought in from elsewhere when that is longer), but always
        // evaluate at least the last prompt token to get logits.
        let mut keep = self.bring_prefix(index, &job.tokens);
        let slot = &mut self.slots[index];
        slot.last_used = self.clock;
        if self
            .ctx
            .kv_cache_seq_rm(slot.seq, Some(keep as u32), None)
            .is_err()
        {
            free_sequence(&mut self.ctx, slot);
            keep = 0;
        }
        slot.cache.truncate(keep);
        let mut sampler =
            match SlotSampler::new(self.model, &job.options, job.grammar.as_deref(), job.n_ctx) {
                Ok(s) => s,
                Err(e) => {
                    let _ = job.events.send(Event::Error(e));
                    return;
                }
            };
        let window = schedule::penalty_window_start(job.tokens.len(), job.options.repeat_last_n);
        sampler.accept_prompt(&job.tokens[window..]);
        slot.active = Some(Active {
            text: TextStream::new(&job.options.stop),
            job,
            sampler,
            prefilled: keep,
            cached: keep,
            generated: Vec::new(),
            next_input: None,
            logits_at: None,
            started,
            first_token_at: None,
            pending_logprobs: Vec::new(),
        });
    }

    /// One decode step over every busy slot.
    fn step(&mut self) {
        self.batch.clear();
        let mut used = 0usize;
        // One token for every generating slot first: decoding latency beats prefill throughput.
        for slot in &mut self.slots {
            let Some(active) = &mut slot.active else {
                continue;
            };
            active.logits_at = None;
            if let Some(token) = active.next_input.take() {
                let pos = slot.cache.len() as i32;
                if self.batch.add(token, pos, &[slot.seq], true).is_err() {
                    active.next_input = Some(token);
                    continue;
                }
                slot.cache.push(token);
                active.logits_at = Some(self.batch.n_tokens() - 1);
                used += 1;
            }
        }
        // Then prompt chunks, in slot order, while the batch has room.
        for slot in &mut self.slots {
            let Some(active) = &mut slot.active else {
                continue;
            };
            if !active.prefilling() || used >= self.batch_size {
                continue;
            }
            let remaining = active.job.tokens.len() - active.prefilled;
            let n = schedule::prefill_chunk(remaining, self.batch_size, used, self.last_apart);
            let end = active.prefilled + n;
            for i in active.prefilled..end {
                let token = active.job.tokens[i];
                let last = i + 1 == active.job.tokens.len();
                if self.batch.add(token, i as i32, &[slot.seq], last).is_err() {
                    break;
                }
                slot.cache.push(token);
                active.prefilled += 1;
                used += 1;
                if last {
                    active.logits_at = Some(self.batch.n_tokens() - 1);
                }
            }
        }
        if self.batch.n_tokens() == 0 {
            return;
        }
        let began = Instant::now();
        let decoded = decode(&mut self.ctx, &mut self.batch);
        tracing::trace!(
            tokens = self.batch.n_tokens(),
            micros = began.elapsed().as_micros() as u64,
            "decoded"
        );
        self.copies_done();
        if let Err(e) = decoded {
            tracing::error!(error = %e, "decode failed");
            for slot in &mut self.slots {
                if slot
                    .active
                    .as_ref()
                    .is_some_and(|a| a.logits_at.is_some() || a.prefilling())
                {
                    if let Some(active) = slot.active.take() {
                        let _ = active
                            .job
                            .events
                            .send(Event::Error(EngineError::Decode(e.to_string())));
                    }
                    free_sequence(&mut self.ctx, slot);
                }
            }
            return;
        }
        for index in 0..self.slots.len() {
            self.after_decode(index);
        }
    }

    /// Sample a slot whose logits were computed and decide whether it continues.
    fn after_decode(&mut self, index: usize) {
        let n_ctx_slot = self.n_ctx_slot;
        let slot = &mut self.slots[index];
        let Some(active) = &mut slot.active else {
            return;
        };
        let Some(at) = active.logits_at.take() else {
            return;
        };
        let now = Instant::now();
        if active.first_token_at.is_none() {
            active.first_token_at = Some(now);
        }
        let token = active.sampler.sample(&self.ctx, at);
        let vocab = self.model.vocab();
        if vocab.is_eog(token) {
            if let Some(done) = slot.active.take() {
                done.finish(DoneReason::Stop);
            }
            return;
        }
        if let Some(top_n) = active.job.logprobs {
            let (logprob, top) =
                sampler::logprobs(self.ctx.get_logits_ith(at), token, top_n as usize);
            let describe = |t: LlamaToken, logprob: f32| {
                let bytes = vocab.token_to_piece(t, true, None);
                TokenLogprob {
                    token: String::from_utf8_lossy(&bytes).into_owned(),
                    logprob,
                    bytes,
                }
            };
            active.pending_logprobs.push(Logprobs {
                sampled: describe(token, logprob),
                top_logprobs: top.into_iter().map(|(t, lp)| describe(t, lp)).collect(),
            });
        }
        active.generated.push(token);
        let pushed = active.text.push(&vocab.token_to_piece(token, true, None));
        active.emit(pushed.text);
        let reason = schedule::end_reason(
            pushed.stopped,
            active.generated.len(),
            active.job.options.num_predict,
            slot.cache.len(),
            active.job.n_ctx.min(n_ctx_slot),
        );
        match reason {
            Some(reason) => {
                if let Some(done) = slot.active.take() {
                    done.finish(reason);
                }
            }
            None => active.next_input = Some(token),
        }
    }
}

/// Remove every KV cell of a slot's sequence.
fn free_sequence(ctx: &mut LlamaContext<'_>, slot: &mut Slot) {
    let _ = ctx.clear_kv_cache_seq(Some(slot.seq as u32), None, None);
    slot.cache.clear();
}
