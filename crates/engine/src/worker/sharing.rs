//! Prefix sharing on the inference thread: a request's prefix is copied from another slot's KV
//! cells or restored from the host-memory cache instead of being prefilled again, a request
//! waits for a prefix that another one is prefilling, and cells about to be overwritten are
//! saved to the host cache first, or ahead of time while no request waits for its first token.
//!
//! The KV cache is not unified (one stream per slot keeps each slot's attention short), so a
//! copy between slots copies the donor's whole stream at the start of the next decode and then
//! drops the cells past the shared prefix. Until that decode, the copy's destination is
//! `fresh` (not to be read or written) and its source is a `copy_source` (not to be
//! overwritten); both flags clear after the decode.

use std::sync::atomic::Ordering;

use llama_cpp_2::token::LlamaToken;

use super::{free_sequence, Worker};
use crate::job::Job;
use crate::prompt_cache::Space;
use crate::schedule::{self, reusable_prefix, MIN_GAIN, MIN_SAVE};

impl Worker<'_> {
    /// The longest prefix of `tokens` available now without prefilling: in a slot whose cells
    /// can be read, or in the host cache.
    pub(super) fn best_available(&self, tokens: &[LlamaToken]) -> usize {
        let in_slots = self
            .slots
            .iter()
            .map(|s| s.own_prefix(tokens))
            .max()
            .unwrap_or(0);
        let in_host = self.host_best(tokens).map_or(0, |(_, n)| n);
        in_slots.max(in_host)
    }

    /// The host-cache entry sharing the longest reusable prefix with `tokens`, and that length.
    fn host_best(&self, tokens: &[LlamaToken]) -> Option<(usize, usize)> {
        self.host
            .best(Space::Generation, tokens)
            .map(|(i, n)| (i, n.min(tokens.len().saturating_sub(1))))
    }

    /// Whether `job` should wait for a slot that is prefilling a long prefix they share, so that
    /// the prefix is evaluated once and then copied (`best_now`: [`Self::best_available`]).
    pub(super) fn waits_for_shared_prefill(&self, job: &Job, best_now: usize) -> bool {
        self.slots.iter().any(|s| {
            s.active.as_ref().is_some_and(|a| {
                a.prefilling()
                    && schedule::waits_for(
                        reusable_prefix(&a.job.tokens, &job.tokens),
                        a.prefilled,
                        best_now,
                    )
            })
        })
    }

    /// The idle slot `tokens` should take (`best`: [`Self::best_available`]).
    pub(super) fn choose_slot(&self, tokens: &[LlamaToken], best: usize) -> Option<usize> {
        let idle = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.active.is_none())
            .map(|(i, s)| (i, s.own_prefix(tokens), s.cache.len(), s.last_used));
        schedule::choose_slot(idle, best, self.host.enabled())
    }

    /// Before slot `index` serves `tokens`: bring in a longer prefix from another slot or the
    /// host cache when there is one (saving what the slot held first), and return how many
    /// leading tokens of `tokens` its cells now hold.
    pub(super) fn bring_prefix(&mut self, index: usize, tokens: &[LlamaToken]) -> usize {
        let slot = &self.slots[index];
        let own = slot.own_prefix(tokens);
        let donor = self
            .best_donor(index, tokens)
            .filter(|&(_, n)| n >= own + MIN_GAIN);
        let restorable = !slot.fresh && !slot.copy_source;
        let host = self
            .host_best(tokens)
            .filter(|&(_, n)| restorable && n >= own + MIN_GAIN);
        match (donor, host) {
            (Some((j, n)), h) if h.is_none_or(|(_, hn)| n >= hn) => {
                self.save_evicted(index, 0);
                let (src, dst) = (self.slots[j].seq, self.slots[index].seq);
                if self.ctx.kv_cache_seq_cp(src, dst, None, None).is_err() {
                    return own;
                }
                let cache = self.slots[j].cache[..n].to_vec();
                self.slots[j].copy_source = true;
                let slot = &mut self.slots[index];
                slot.cache = cache;
                slot.fresh = true;
                self.counters.bump(
                    &self.counters.shared_copies,
                    &self.counters.shared_tokens,
                    n,
                );
                tracing::debug!(
                    from = src,
                    to = dst,
                    tokens = n,
                    "prefix copied from another slot"
                );
                n
            }
            (_, Some((i, n))) => {
                self.save_evicted(index, 0);
                let slot = &mut self.slots[index];
                free_sequence(&mut self.ctx, slot);
                let began = std::time::Instant::now();
                match self.host.restore_seq(&mut self.ctx, i, slot.seq, n) {
                    Ok(tokens) => slot.cache = tokens,
                    Err(e) => {
                        tracing::warn!(
                            seq = slot.seq,
                            error = %e,
                            "restoring a cached prompt failed; prefilling it"
                        );
                        free_sequence(&mut self.ctx, slot);
                        return 0;
                    }
                }
                tracing::debug!(
                    seq = slot.seq,
                    tokens = n,
                    micros = began.elapsed().as_micros() as u64,
                    "prefix restored from the host cache"
                );
                n
            }
            _ => {
                if self.host.enabled() && own < MIN_GAIN {
                    self.counters.misses.fetch_add(1, Ordering::Relaxed);
                }
                self.save_evicted(index, own);
                own
            }
        }
    }

    /// Save the idle slot that the next new conversation would evict (the least recently used)
    /// to the host cache now, while no request waits for its first token, so that its save is
    /// not on that request's path. Only what no other slot holds counts: a slot whose cells are
    /// mostly a prefix shared with others is left alone, as an eviction would leave it. Each
    /// turn is offered once.
    pub(super) fn save_ahead(&mut self) {
        if !self.host.enabled() {
            return;
        }
        let busy = !self.queue.is_empty()
            || !self.embeds.is_empty()
            || !self.scores.is_empty()
            || self
                .slots
                .iter()
                .any(|s| s.active.as_ref().is_some_and(|a| a.prefilling()));
        // An empty slot is what the next new conversation takes.
        let empty_idle = self
            .slots
            .iter()
            .any(|s| s.active.is_none() && s.cache.is_empty());
        if busy || empty_idle {
            return;
        }
        let Some(index) = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.active.is_none())
            .min_by_key(|(_, s)| s.last_used)
            .map(|(i, _)| i)
        else {
            return;
        };
        let slot = &self.slots[index];
        if slot.fresh || slot.copy_source || slot.saved_ahead == Some(slot.last_used) {
            return;
        }
        self.slots[index].saved_ahead = Some(self.slots[index].last_used);
        let shared = self
            .best_donor(index, &self.slots[index].cache)
            .map_or(0, |(_, n)| n);
        self.save_evicted(index, shared);
    }

    /// The other slot holding the longest reusable prefix of `tokens`, and that length.
    fn best_donor(&self, index: usize, tokens: &[LlamaToken]) -> Option<(usize, usize)> {
        self.slots
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != index)
            .map(|(j, s)| (j, s.own_prefix(tokens)))
            .max_by_key(|&(_, n)| n)
    }

    /// Save slot `index`'s cells to the host cache when keeping only `keep` of them would lose
    /// at least [`MIN_SAVE`] tokens that no entry holds yet.
    fn save_evicted(&mut self, index: usize, keep: usize) {
        let slot = &self.slots[index];
        if !self.host.enabled()
            || slot.fresh
            || slot.cache.len() < keep + MIN_SAVE
            || self.host.covers(Space::Generation, &slot.cache)
        {
            return;
        }
        let began = std::time::Instant::now();
        match self
            .host
            .save_seq(&self.ctx, slot.seq, Space::Generation, &slot.cache)
        {
            Ok(kept) => {
                if kept {
                    tracing::debug!(
                        seq = slot.seq,
                        tokens = slot.cache.len(),
                        bytes = self.host.used(),
                        micros = began.elapsed().as_micros() as u64,
                        "prompt saved to the host cache"
                    );
                }
            }
            Err(e) => {
                tracing::warn!(seq = slot.seq, error = %e, "saving a prompt to the host cache failed")
            }
        }
    }

    /// After a decode: every pending copy has happened.
    pub(super) fn copies_done(&mut self) {
        for s in &mut self.slots {
            s.fresh = false;
            s.copy_source = false;
        }
    }
}
