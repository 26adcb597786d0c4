//! Scoring continuations on the inference thread ([`crate::score`]): the prefix is evaluated
//! once into sequence 0, every continuation of a round gets its own sequence that shares the
//! prefix's KV cells, and one decode reads all of them.
//!
//! Scoring has a context of its own (made on first use, as long as one slot's context), with a
//! unified KV cache of [`SCORE_SEQS`] sequences:
//! * in a unified cache `kv_cache_seq_cp` copies no data: it adds the destination sequence to
//!   the prefix's cells, so K continuations cost their own tokens' cells only. Generation's
//!   context has one sequence per slot and split streams (a copy there duplicates the whole
//!   stream), and no spare sequences for K continuations;
//! * generation slots' caches are never touched, and scoring's cached prefix is never evicted
//!   by a conversation;
//! * its rounds can be sized for batch-independent scores ([`ROUND_TOKENS`]).
//!
//! Sequence 0 keeps the last prefix between requests, with the logits after its last token, so
//! a request sharing its start (the same system text and tool registry) evaluates only the rest,
//! and an identical prefix evaluates nothing. A prefix replaced by another one goes to the
//! host-memory prompt cache (the generation slots' cache, under the same budget, in a space of
//! its own) and comes back from there when its registry does. Sequences `1..` hold one round's
//! continuations and are emptied after it. A request runs one decode per call of [`Scorer::step`] (a prefix chunk
//! or a round), taking turns with generation steps like embeddings do.

use std::collections::VecDeque;
use std::num::NonZeroU32;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::SeqState;

use crate::job::ScoreJob;
use crate::llama_backend::{self, decode};
use crate::prompt_cache::{HostCache, Space};
use crate::schedule::{common_prefix, MIN_GAIN, MIN_SAVE};
use crate::score::{log_sum_exp, next_round, renormalise, ContinuationScore, Scores};
use crate::{EngineError, FlashAttention};

/// Sequences of the scoring context: the cached prefix and up to 63 continuations a round.
pub(crate) const SCORE_SEQS: u32 = 64;

/// The sequence holding the cached prefix.
const PREFIX_SEQ: i32 = 0;

/// Most continuation tokens decoded together. llama.cpp's CPU flash attention switches kernels at
/// 64 query tokens a ubatch (a vector kernel below, a tiled one from there on), and on small
/// models the two differ by up to ~0.4 nats. Rounds under 64 tokens keep every continuation on
/// the vector kernel, so its scores are bit-for-bit the same whatever else shares its decode,
/// and the same as the generation path's decode of those tokens after the same cached prefix.
/// The cost is a decode per 63 tokens instead of one per batch, which on the CPU (where the
/// work grows with the tokens, not the decodes) is small. The prefix is still prefilled a
/// whole batch at a time.
pub(crate) const ROUND_TOKENS: usize = 63;

/// The scoring context and what its prefix sequence holds.
struct State<'m> {
    ctx: LlamaContext<'m>,
    batch: LlamaBatch<'static>,
    n_batch: usize,
    /// Continuations decoded together at most ([`seqs_per_round`]).
    seqs_per_round: usize,
    /// Tokens whose cells sequence 0 holds, in position order.
    cached: Vec<LlamaToken>,
    /// The logits after the last cached token, when it was evaluated with them.
    last_logits: Option<Vec<f32>>,
}

/// The request being scored.
struct Progress {
    job: Box<ScoreJob>,
    /// Prefix tokens whose cells are in place.
    prefilled: usize,
    /// The first continuation not scored yet.
    next: usize,
    result: Scores,
}

impl Progress {
    fn done(&self) -> bool {
        self.prefilled == self.job.prefix.len() && self.next == self.job.continuations.len()
    }
}

/// Scoring requests of one model and the context they share.
pub(crate) struct Scorer<'m> {
    queue: VecDeque<Box<ScoreJob>>,
    current: Option<Progress>,
    state: Option<State<'m>>,
}

impl<'m> Scorer<'m> {
    pub(crate) fn new() -> Self {
        Scorer {
            queue: VecDeque::new(),
            current: None,
            state: None,
        }
    }

    /// Queue a request.
    pub(crate) fn push(&mut self, job: Box<ScoreJob>) {
        self.queue.push_back(job);
    }

    /// Whether nothing is queued or in progress.
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty() && self.current.is_none()
    }

    /// Drop queued requests whose requester has gone away (one in progress finishes: its
    /// prefix stays cached for the next one).
    pub(crate) fn drop_cancelled(&mut self) {
        self.queue.retain(|job| !job.reply.is_closed());
    }

    /// Run one decode of the current request (starting the next queued one first), and answer
    /// it when it is complete. `n_ctx`: the scoring context's length; `n_batch`: its batch;
    /// `host`: the host-memory cache that keeps prefixes replaced by another one.
    pub(crate) fn step(
        &mut self,
        backend: &LlamaBackend,
        model: &'m LlamaModel,
        n_ctx: u32,
        threads: u32,
        n_batch: usize,
        host: &mut HostCache<SeqState>,
    ) {
        while self.current.is_none() {
            let Some(job) = self.queue.pop_front() else {
                return;
            };
            if job.reply.is_closed() {
                continue;
            }
            if self.state.is_none() {
                match State::new(backend, model, n_ctx, threads, n_batch) {
                    Ok(state) => self.state = Some(state),
                    Err(e) => {
                        let _ = job.reply.send(Err(e));
                        continue;
                    }
                }
            }
            let state = self.state.as_mut().expect("made above");
            state.swap_prefix(&job.prefix, host);
            match state.begin(job) {
                Ok(progress) => self.current = Some(progress),
                Err((job, e)) => {
                    let _ = job.reply.send(Err(e));
                }
            }
        }
        let (Some(mut progress), Some(state)) = (self.current.take(), self.state.as_mut()) else {
            return;
        };
        if !progress.done() {
            let ran = if progress.prefilled < progress.job.prefix.len() {
                state.prefill(&mut progress)
            } else {
                state.round(&mut progress)
            };
            if let Err(e) = ran {
                tracing::warn!(error = %e, "scoring failed");
                let _ = progress.job.reply.send(Err(e));
                return;
            }
        }
        if !progress.done() {
            self.current = Some(progress);
            return;
        }
        let mut result = progress.result;
        result.total_duration_ns = progress.job.received.elapsed().as_nanos() as u64;
        tracing::debug!(
            continuations = result.continuations.len(),
            prefix_evaluated = result.prefix_evaluated,
            prefix_reused = result.prefix_reused,
            rounds = result.rounds,
            ms = result.total_duration_ns / 1_000_000,
            "scored"
        );
        let _ = progress.job.reply.send(Ok(result));
    }
}

/// How many continuations share a decode. Models with sliding-window attention layers (Gemma
/// 2/3, …) get one: with several sequences in one ubatch over the unified cache, llama.cpp's
/// sliding-window cache gave scores off by up to ~0.2 nats for some of them (Gemma 3 270M,
/// llama.cpp as of llama-cpp-sys-2 0.1.161), while one continuation a decode equals the
/// generation path bit for bit. Their prefix is still evaluated once and shared.
fn seqs_per_round(model: &LlamaModel) -> usize {
    let arch = model
        .meta_val_str("general.architecture")
        .unwrap_or_default();
    let window = model
        .meta_val_str(&format!("{arch}.attention.sliding_window"))
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    if window > 0 {
        1
    } else {
        SCORE_SEQS as usize - 1
    }
}

impl<'m> State<'m> {
    fn new(
        backend: &LlamaBackend,
        model: &'m LlamaModel,
        n_ctx: u32,
        threads: u32,
        n_batch: usize,
    ) -> Result<Self, EngineError> {
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_ctx))
            .with_n_batch(n_batch as u32)
            .with_n_ubatch(n_batch as u32)
            .with_n_seq_max(SCORE_SEQS)
            .with_kv_unified(true)
            .with_n_threads(threads as i32)
            .with_n_threads_batch(threads as i32)
            // Flash attention whatever the generation context uses: its vector kernel is what
            // makes a continuation's scores the same whatever else shares its decode (see
            // ROUND_TOKENS); the unfused path's products round differently with the batch.
            .with_flash_attention_policy(llama_backend::flash_attn_type(FlashAttention::Enabled));
        let ctx = model
            .new_context(backend, params)
            .map_err(|e| EngineError::Context(format!("scoring context: {e}")))?;
        tracing::debug!(n_ctx = ctx.n_ctx(), n_batch, "scoring context ready");
        Ok(State {
            ctx,
            batch: LlamaBatch::new(n_batch, 1),
            n_batch,
            seqs_per_round: seqs_per_round(model),
            cached: Vec::new(),
            last_logits: None,
        })
    }

    /// Check `job` against the context and keep the part of the cached prefix it shares.
    #[allow(clippy::result_large_err)]
    fn begin(&mut self, job: Box<ScoreJob>) -> Result<Progress, (Box<ScoreJob>, EngineError)> {
        let n_ctx = self.ctx.n_ctx() as usize;
        let prefix_len = job.prefix.len();
        if prefix_len >= n_ctx {
            let e = EngineError::ContextOverflow {
                tokens: prefix_len,
                context: n_ctx as u32,
            };
            return Err((job, e));
        }
        for c in &job.continuations {
            if c.len() > self.n_batch {
                let e = EngineError::InvalidRequest(format!(
                    "a continuation of {} tokens is longer than the scoring batch ({} tokens)",
                    c.len(),
                    self.n_batch
                ));
                return Err((job, e));
            }
            if prefix_len + c.len() > n_ctx {
                let e = EngineError::ContextOverflow {
                    tokens: prefix_len + c.len(),
                    context: n_ctx as u32,
                };
                return Err((job, e));
            }
        }
        let common = common_prefix(&self.cached, &job.prefix);
        // The first continuation token's log-probability needs the logits after the prefix:
        // when they are asked for and not kept, the prefix's last token is evaluated again.
        let need_logits = job.token_logprobs && !job.continuations.is_empty();
        let have_logits = self.cached.len() == prefix_len && self.last_logits.is_some();
        let mut keep = if common == prefix_len && (have_logits || !need_logits) {
            prefix_len
        } else {
            common.min(prefix_len - 1)
        };
        if keep < self.cached.len() {
            self.last_logits = None;
            if self
                .ctx
                .kv_cache_seq_rm(PREFIX_SEQ, Some(keep as u32), None)
                .is_err()
            {
                keep = 0;
                self.clear_prefix();
            }
            self.cached.truncate(keep);
        }
        if keep < prefix_len {
            self.last_logits = None;
        }
        let result = Scores {
            continuations: Vec::with_capacity(job.continuations.len()),
            candidate_tokens: job.candidate_tokens.clone(),
            prefix_tokens: prefix_len as u32,
            prefix_evaluated: (prefix_len - keep) as u32,
            prefix_reused: keep as u32,
            ..Scores::default()
        };
        Ok(Progress {
            job,
            prefilled: keep,
            next: 0,
            result,
        })
    }

    /// Before a request with `prefix`: keep sequence 0's prefix in the host cache when the
    /// request would drop at least [`MIN_SAVE`] of its tokens, and restore a longer start of
    /// `prefix` from there when one is kept, so that a registry scored before, then replaced by
    /// another one, is not evaluated again.
    fn swap_prefix(&mut self, prefix: &[LlamaToken], host: &mut HostCache<SeqState>) {
        if !host.enabled() {
            return;
        }
        let common = common_prefix(&self.cached, prefix);
        if self.cached.len() >= common + MIN_SAVE && !host.covers(Space::Scoring, &self.cached) {
            match host.save_seq(&self.ctx, PREFIX_SEQ, Space::Scoring, &self.cached) {
                Ok(true) => {
                    tracing::debug!(
                        tokens = self.cached.len(),
                        "scoring prefix saved to the host cache"
                    )
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "saving a scoring prefix to the host cache failed")
                }
            }
        }
        // Looked up after the save, which may have evicted entries. The last prefix token is
        // not counted: it is evaluated again when its logits are needed.
        let Some((i, n)) = host
            .best(Space::Scoring, prefix)
            .map(|(i, n)| (i, n.min(prefix.len().saturating_sub(1))))
            .filter(|&(_, n)| n >= common + MIN_GAIN)
        else {
            return;
        };
        self.clear_prefix();
        match host.restore_seq(&mut self.ctx, i, PREFIX_SEQ, n) {
            Ok(tokens) => {
                self.cached = tokens;
                tracing::debug!(tokens = n, "scoring prefix restored from the host cache");
            }
            Err(e) => {
                tracing::warn!(error = %e, "restoring a scoring prefix failed; evaluating it");
                self.clear_prefix();
            }
        }
    }

    /// Remove every cell of the prefix sequence.
    fn clear_prefix(&mut self) {
        let _ = self
            .ctx
            .clear_kv_cache_seq(Some(PREFIX_SEQ as u32), None, None);
        self.cached.clear();
        self.last_logits = None;
    }

    /// Evaluate the next chunk of the prefix into sequence 0.
    fn prefill(&mut self, p: &mut Progress) -> Result<(), EngineError> {
        let prefix = &p.job.prefix;
        let end = (p.prefilled + self.n_batch).min(prefix.len());
        self.batch.clear();
        for (i, &token) in prefix.iter().enumerate().take(end).skip(p.prefilled) {
            let last = i + 1 == prefix.len();
            self.batch
                .add(token, i as i32, &[PREFIX_SEQ], last)
                .map_err(|e| EngineError::Decode(e.to_string()))?;
        }
        if let Err(e) = decode(&mut self.ctx, &mut self.batch) {
            self.clear_prefix();
            return Err(EngineError::Decode(e.to_string()));
        }
        self.cached.extend_from_slice(&prefix[p.prefilled..end]);
        p.prefilled = end;
        if end == prefix.len() {
            let at = self.batch.n_tokens() - 1;
            self.last_logits = Some(self.ctx.get_logits_ith(at).to_vec());
        }
        Ok(())
    }

    /// Score the next round of continuations in one decode.
    fn round(&mut self, p: &mut Progress) -> Result<(), EngineError> {
        let prefix_len = p.job.prefix.len();
        let rest = &p.job.continuations[p.next..];
        let free = self.ctx.n_ctx() as usize - prefix_len;
        let n = next_round(
            rest.iter().map(Vec::len),
            self.seqs_per_round,
            self.n_batch.min(ROUND_TOKENS),
            free,
        );
        let round = &rest[..n];
        self.batch.clear();
        let mut starts = Vec::with_capacity(n);
        let mut filled = Ok(());
        for (k, continuation) in round.iter().enumerate() {
            let seq = k as i32 + 1;
            starts.push(self.batch.n_tokens());
            filled = filled.and_then(|()| {
                self.ctx
                    .kv_cache_seq_cp(PREFIX_SEQ, seq, None, None)
                    .map_err(|e| EngineError::Decode(e.to_string()))?;
                for (j, &token) in continuation.iter().enumerate() {
                    let last = j + 1 == continuation.len();
                    self.batch
                        .add(
                            token,
                            (prefix_len + j) as i32,
                            &[seq],
                            last || p.job.token_logprobs,
                        )
                        .map_err(|e| EngineError::Decode(e.to_string()))?;
                }
                Ok(())
            });
        }
        let decoded = filled.and_then(|()| {
            decode(&mut self.ctx, &mut self.batch).map_err(|e| EngineError::Decode(e.to_string()))
        });
        if decoded.is_ok() {
            for (continuation, &start) in round.iter().zip(&starts) {
                let score = self.read(&p.job, continuation, start);
                p.result.continuations.push(score);
                p.result.continuation_tokens += continuation.len() as u32;
            }
        }
        for seq in 1..=n as i32 {
            let _ = self.ctx.clear_kv_cache_seq(Some(seq as u32), None, None);
        }
        decoded?;
        p.next += n;
        p.result.rounds += 1;
        Ok(())
    }

    /// What `job` asks for about `continuation`, whose first token sits at batch index `start`.
    fn read(&self, job: &ScoreJob, continuation: &[LlamaToken], start: i32) -> ContinuationScore {
        let len = continuation.len() as i32;
        let last = self.ctx.get_logits_ith(start + len - 1);
        let lse = log_sum_exp(last.iter().copied());
        let of = |t: LlamaToken| {
            last.get(t.0 as usize)
                .map_or(f32::NEG_INFINITY, |l| l - lse)
        };
        let candidates: Vec<f32> = job.candidates.iter().map(|&t| of(t)).collect();
        let ids: Vec<i32> = job.candidates.iter().map(|t| t.0).collect();
        let normalised = renormalise(&candidates, &ids);
        let tokens = if job.token_logprobs {
            continuation
                .iter()
                .enumerate()
                .map(|(j, &t)| {
                    let before = match j {
                        0 => self.last_logits.as_deref().unwrap_or(&[]),
                        _ => self.ctx.get_logits_ith(start + j as i32 - 1),
                    };
                    let lse = log_sum_exp(before.iter().copied());
                    before
                        .get(t.0 as usize)
                        .map_or(f32::NEG_INFINITY, |l| l - lse)
                })
                .collect()
        } else {
            Vec::new()
        };
        let top = if job.top_logprobs > 0 {
            crate::sampler::logprobs(last, LlamaToken(0), job.top_logprobs as usize)
                .1
                .into_iter()
                .map(|(t, lp)| (t.0, lp))
                .collect()
        } else {
            Vec::new()
        };
        ContinuationScore {
            candidates,
            normalised,
            tokens,
            top,
        }
    }
}
