//! The inference thread: owns the llama.cpp context and runs continuous batching over its slots.
//!
//! Each step builds one batch with one token for every generating slot plus chunks of prompts
//! still being prefilled, decodes it, and samples every slot whose logits it produced. New
//! requests take the idle slot sharing the longest prefix with their prompt, so only the unseen
//! suffix is evaluated. A request whose receiver is gone is dropped before the next step and its
//! KV cells are freed.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::{mpsc, Arc};
use std::time::Instant;

use llama_cpp_2::context::params::{LlamaContextParams, LlamaPoolingType};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use tokio::sync::{mpsc as tokio_mpsc, oneshot};

use crate::event::{DoneReason, Event, Logprobs, TokenLogprob};
use crate::sampler::{self, SlotSampler};
use crate::slot::{common_prefix, Active, Slot};
use crate::text::TextStream;
use crate::{EngineError, LoadConfig, SamplingOptions};

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

type EmbedReply = oneshot::Sender<Result<crate::Embeddings, EngineError>>;

pub(crate) enum Command {
    Generate(Box<Job>),
    Embed {
        inputs: Vec<Vec<LlamaToken>>,
        reply: EmbedReply,
    },
    Shutdown,
}

/// Sequences embedded together in one decode.
const EMBED_SEQS: u32 = 8;

/// One decode at a time in the whole process. Every decode already uses all physical cores;
/// two models (or a model and an embedding context) decoding at once would oversubscribe them,
/// and OpenMP's spinning threads then make both several times slower than taking turns.
static COMPUTE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn decode(
    ctx: &mut LlamaContext<'_>,
    batch: &mut LlamaBatch<'_>,
) -> Result<(), llama_cpp_2::DecodeError> {
    let _turn = COMPUTE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    ctx.decode(batch)
}

/// Thread entry point: build the context, report its per-slot length, then serve until shutdown.
pub(crate) fn run(
    backend: &'static LlamaBackend,
    model: Arc<LlamaModel>,
    config: LoadConfig,
    threads: u32,
    commands: mpsc::Receiver<Command>,
    ready: mpsc::SyncSender<Result<u32, EngineError>>,
) {
    let n_slots = config.parallel.max(1);
    let n_ctx_slot = slot_context(&model, &config);
    let threads_batch = config.threads_batch.unwrap_or(threads).max(1);
    let batch_size = config.batch_size.max(n_slots).max(32);
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx_slot * n_slots))
        .with_n_seq_max(n_slots)
        .with_n_batch(batch_size)
        .with_n_ubatch(batch_size)
        .with_n_threads(threads as i32)
        .with_n_threads_batch(threads_batch as i32)
        .with_kv_unified(false);
    let ctx = match model.new_context(backend, params) {
        Ok(ctx) => ctx,
        Err(e) => {
            let _ = ready.send(Err(EngineError::Context(e.to_string())));
            return;
        }
    };
    let per_slot = ctx.n_ctx() / n_slots;
    let _ = ready.send(Ok(per_slot));
    let mut engine = Worker {
        backend,
        model: &model,
        ctx,
        embed_ctx: None,
        slots: (0..n_slots as i32)
            .map(|seq| Slot {
                seq,
                cache: Vec::new(),
                last_used: 0,
                active: None,
            })
            .collect(),
        queue: VecDeque::new(),
        batch: LlamaBatch::new(batch_size as usize, n_slots as i32),
        batch_size: batch_size as usize,
        n_ctx_slot: per_slot,
        clock: 0,
        threads,
    };
    engine.serve(&commands);
    tracing::debug!("inference thread stopped");
}

/// Per-slot context length: the request, capped by the trained length and the KV budget.
fn slot_context(model: &LlamaModel, config: &LoadConfig) -> u32 {
    let mut n = config.num_ctx.max(64).min(model.n_ctx_train().max(64));
    if let Some(budget) = config.kv_budget_bytes {
        let head_dim = (model.n_embd() as u64) / u64::from(model.n_head().max(1));
        // K and V, f16, for every layer and KV head.
        let per_token =
            2 * 2 * u64::from(model.n_layer()) * u64::from(model.n_head_kv()) * head_dim;
        let cells = budget / per_token.max(1) / u64::from(config.parallel.max(1));
        n = n.min(cells.clamp(256, u64::from(u32::MAX)) as u32);
    }
    n
}

struct Worker<'m> {
    backend: &'static LlamaBackend,
    model: &'m LlamaModel,
    ctx: LlamaContext<'m>,
    embed_ctx: Option<LlamaContext<'m>>,
    slots: Vec<Slot>,
    queue: VecDeque<Box<Job>>,
    batch: LlamaBatch<'static>,
    batch_size: usize,
    n_ctx_slot: u32,
    clock: u64,
    threads: u32,
}

impl<'m> Worker<'m> {
    fn serve(&mut self, commands: &mpsc::Receiver<Command>) {
        loop {
            let idle = self.queue.is_empty() && self.slots.iter().all(|s| s.active.is_none());
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
        }
    }

    /// Returns false on shutdown.
    fn handle(&mut self, cmd: Command) -> bool {
        match cmd {
            Command::Generate(job) => self.queue.push_back(job),
            Command::Embed { inputs, reply } => {
                let _ = reply.send(self.embed(&inputs));
            }
            Command::Shutdown => return false,
        }
        true
    }

    fn drop_cancelled(&mut self) {
        self.queue.retain(|job| !job.events.is_closed());
        for slot in &mut self.slots {
            if slot
                .active
                .as_ref()
                .is_some_and(|a| a.job.events.is_closed())
            {
                slot.active = None;
                free_sequence(&mut self.ctx, slot);
                tracing::debug!(seq = slot.seq, "generation cancelled; KV cells freed");
            }
        }
    }

    /// Give queued requests the idle slot whose cache shares the longest prefix (else the least recently used).
    fn assign_slots(&mut self) {
        while let Some(job) = self.queue.front() {
            let best = self
                .slots
                .iter()
                .enumerate()
                .filter(|(_, s)| s.active.is_none())
                .max_by_key(|(_, s)| {
                    (
                        common_prefix(&s.cache, &job.tokens),
                        std::cmp::Reverse(s.last_used),
                    )
                })
                .map(|(i, _)| i);
            let Some(index) = best else { return };
            let job = self.queue.pop_front().expect("front exists");
            self.start(index, job);
        }
    }

    fn start(&mut self, index: usize, job: Box<Job>) {
        self.clock += 1;
        let started = Instant::now();
        let slot = &mut self.slots[index];
        slot.last_used = self.clock;
        // Keep the shared prefix, but always evaluate at least the last prompt token to get logits.
        let mut keep = common_prefix(&slot.cache, &job.tokens).min(job.tokens.len() - 1);
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
        let last_n = match job.options.repeat_last_n {
            n if n < 0 => job.tokens.len(),
            n => n as usize,
        };
        sampler.accept_prompt(&job.tokens[job.tokens.len().saturating_sub(last_n)..]);
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
            let n = (active.job.tokens.len() - active.prefilled).min(self.batch_size - used);
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
        if let Err(e) = decode(&mut self.ctx, &mut self.batch) {
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
        let limit = active.job.options.num_predict;
        let reason = if pushed.stopped {
            Some(DoneReason::Stop)
        } else if (limit >= 0 && active.generated.len() >= limit as usize)
            || slot.cache.len() + 1 >= (active.job.n_ctx.min(n_ctx_slot)) as usize
        {
            Some(DoneReason::Length)
        } else {
            None
        };
        match reason {
            Some(reason) => {
                if let Some(done) = slot.active.take() {
                    done.finish(reason);
                }
            }
            None => active.next_input = Some(token),
        }
    }

    /// Embed token sequences with a lazily created embedding context (pooled, L2-normalised).
    fn embed(&mut self, inputs: &[Vec<LlamaToken>]) -> Result<crate::Embeddings, EngineError> {
        if self.embed_ctx.is_none() {
            let n = self.n_ctx_slot;
            let params = LlamaContextParams::default()
                .with_embeddings(true)
                .with_pooling_type(pooling(self.model))
                .with_n_ctx(NonZeroU32::new(n))
                .with_n_batch(n)
                .with_n_ubatch(n)
                .with_n_seq_max(EMBED_SEQS)
                .with_kv_unified(true)
                .with_n_threads(self.threads as i32)
                .with_n_threads_batch(self.threads as i32);
            let ctx = self
                .model
                .new_context(self.backend, params)
                .map_err(|e| EngineError::Embedding(e.to_string()))?;
            self.embed_ctx = Some(ctx);
        }
        let ctx = self.embed_ctx.as_mut().expect("created above");
        let capacity = ctx.n_batch() as usize;
        let mut vectors = Vec::with_capacity(inputs.len());
        let mut norms = Vec::with_capacity(inputs.len());
        let mut evaluated = 0u32;
        let mut batch = LlamaBatch::new(capacity, EMBED_SEQS as i32);
        let mut group: Vec<&[LlamaToken]> = Vec::new();
        let mut pending = inputs
            .iter()
            .map(|v| &v[..v.len().min(capacity)])
            .peekable();
        while pending.peek().is_some() {
            batch.clear();
            group.clear();
            let mut used = 0;
            while let Some(tokens) = pending.peek() {
                if group.len() == EMBED_SEQS as usize
                    || (used + tokens.len() > capacity && !group.is_empty())
                {
                    break;
                }
                let seq = group.len() as i32;
                for (pos, &t) in tokens.iter().enumerate() {
                    batch
                        .add(t, pos as i32, &[seq], true)
                        .map_err(|e| EngineError::Embedding(e.to_string()))?;
                }
                used += tokens.len();
                group.push(tokens);
                pending.next();
            }
            ctx.clear_kv_cache();
            decode(ctx, &mut batch).map_err(|e| EngineError::Embedding(e.to_string()))?;
            for (seq, tokens) in group.iter().enumerate() {
                let raw = ctx
                    .embeddings_seq_ith(seq as i32)
                    .map_err(|e| EngineError::Embedding(e.to_string()))?;
                let (unit, norm) = normalise(raw);
                vectors.push(unit);
                norms.push(norm);
                evaluated += tokens.len() as u32;
            }
        }
        ctx.clear_kv_cache();
        Ok(crate::Embeddings {
            vectors,
            norms,
            prompt_eval_count: evaluated,
        })
    }
}

/// Remove every KV cell of a slot's sequence.
fn free_sequence(ctx: &mut LlamaContext<'_>, slot: &mut Slot) {
    let _ = ctx.clear_kv_cache_seq(Some(slot.seq as u32), None, None);
    slot.cache.clear();
}

/// The model's own pooling (`<arch>.pooling_type`), mean when it names none.
fn pooling(model: &LlamaModel) -> LlamaPoolingType {
    let arch = model
        .meta_val_str("general.architecture")
        .unwrap_or_default();
    match model
        .meta_val_str(&format!("{arch}.pooling_type"))
        .ok()
        .and_then(|v| v.parse::<i32>().ok())
    {
        Some(2) => LlamaPoolingType::Cls,
        Some(3) => LlamaPoolingType::Last,
        _ => LlamaPoolingType::Mean,
    }
}

/// The unit vector along `v` and `v`'s L2 norm (a zero vector stays as it is).
fn normalise(v: &[f32]) -> (Vec<f32>, f32) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        (v.iter().map(|x| x / norm).collect(), norm)
    } else {
        (v.to_vec(), norm)
    }
}
