//! The host-memory prompt cache: KV states of sequences whose slot was given to another
//! conversation (and of scoring prefixes replaced by another registry), kept under one byte
//! budget and restored when their conversation (or registry) comes back.
//!
//! Entries are chosen by prefix value and recency: an entry whose tokens are a prefix of a newer
//! one is superseded by it, and the least recently used entries go first when the budget is full.
//! The store is generic over the saved state so that its bookkeeping is tested without a model;
//! saving and restoring a llama.cpp sequence are the two methods of `HostCache<SeqState>`. The
//! cache keeps its size in the shared [`Counters`] itself.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use llama_cpp_2::context::session::SeqState;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::{LlamaStateSeqFlags, StateSeqError};

use crate::schedule::common_prefix;

/// What a saved state costs in host memory.
pub(crate) trait StateBytes {
    /// Bytes held.
    fn bytes(&self) -> usize;
}

impl StateBytes for SeqState {
    fn bytes(&self) -> usize {
        self.byte_len()
    }
}

/// Which context a saved state comes from. A state is only ever restored into the context it
/// came from (their KV layouts differ), so each space is looked up on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Space {
    /// Generation slots.
    Generation,
    /// The scoring context's prefix sequence.
    Scoring,
}

/// One saved sequence: the tokens its KV cells hold, in position order, and their state.
pub(crate) struct Entry<S> {
    pub space: Space,
    pub tokens: Vec<LlamaToken>,
    pub state: S,
    last_used: u64,
}

/// Saved sequences under a byte budget.
pub(crate) struct HostCache<S> {
    entries: Vec<Entry<S>>,
    budget: usize,
    used: usize,
    clock: u64,
    /// Where its size is published (and its hits counted).
    counters: Arc<Counters>,
}

impl<S: StateBytes> HostCache<S> {
    /// An empty cache holding at most `budget` bytes (0: off), publishing into `counters`.
    pub fn new(budget: usize, counters: Arc<Counters>) -> Self {
        HostCache {
            entries: Vec::new(),
            budget,
            used: 0,
            clock: 0,
            counters,
        }
    }

    /// Whether anything can ever be kept.
    pub fn enabled(&self) -> bool {
        self.budget > 0
    }

    /// Bytes held now (never more than the budget).
    pub fn used(&self) -> usize {
        self.used
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether an entry of `space` already covers `tokens` (same tokens or a longer
    /// conversation).
    pub fn covers(&self, space: Space, tokens: &[LlamaToken]) -> bool {
        self.entries
            .iter()
            .any(|e| e.space == space && e.tokens.starts_with(tokens))
    }

    /// Keep `state` for `tokens` in `space`. Entries of that space whose tokens are a prefix of
    /// `tokens` are superseded; the least recently used of any space go until it fits. A state
    /// larger than the whole budget is refused. Returns whether it was kept.
    pub fn insert(&mut self, space: Space, tokens: Vec<LlamaToken>, state: S) -> bool {
        let size = state.bytes();
        if size > self.budget || tokens.is_empty() {
            return false;
        }
        let superseded: Vec<usize> = (0..self.entries.len())
            .filter(|&i| {
                let e = &self.entries[i];
                e.space == space && tokens.starts_with(&e.tokens)
            })
            .collect();
        for i in superseded.into_iter().rev() {
            self.remove(i);
        }
        while self.used + size > self.budget {
            let oldest = (0..self.entries.len())
                .min_by_key(|&i| self.entries[i].last_used)
                .expect("the budget holds the new state, so something is left to evict");
            self.remove(oldest);
        }
        self.clock += 1;
        self.used += size;
        self.entries.push(Entry {
            space,
            tokens,
            state,
            last_used: self.clock,
        });
        self.counters.size(self);
        true
    }

    /// The entry of `space` sharing the longest prefix with `prompt`, and that length.
    pub fn best(&self, space: Space, prompt: &[LlamaToken]) -> Option<(usize, usize)> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.space == space)
            .map(|(i, e)| (i, common_prefix(&e.tokens, prompt)))
            .max_by_key(|&(i, n)| (n, self.entries[i].last_used))
    }

    /// Take entry `index` out (it is being restored into a slot, which now holds it).
    pub fn take(&mut self, index: usize) -> Entry<S> {
        self.remove(index)
    }

    fn remove(&mut self, index: usize) -> Entry<S> {
        let e = self.entries.swap_remove(index);
        self.used -= e.state.bytes();
        self.counters.size(self);
        e
    }
}

impl HostCache<SeqState> {
    /// Save sequence `seq` of `ctx`, whose cells hold `tokens`, into `space`. Returns whether
    /// the cache kept it ([`HostCache::insert`]).
    pub fn save_seq(
        &mut self,
        ctx: &LlamaContext<'_>,
        seq: i32,
        space: Space,
        tokens: &[LlamaToken],
    ) -> Result<bool, StateSeqError> {
        let state = ctx.state_seq_get(seq, LlamaStateSeqFlags::empty())?;
        Ok(self.insert(space, tokens.to_vec(), state))
    }

    /// Take entry `index` out and restore it into sequence `seq` of `ctx` (which must hold no
    /// cells), counting a hit of `reused` tokens. Returns the tokens its cells now hold. On an
    /// error the entry is gone and the sequence may hold part of it: the caller clears it.
    pub fn restore_seq(
        &mut self,
        ctx: &mut LlamaContext<'_>,
        index: usize,
        seq: i32,
        reused: usize,
    ) -> Result<Vec<LlamaToken>, StateSeqError> {
        let entry = self.take(index);
        ctx.state_seq_set(&entry.state, seq)?;
        let c = &self.counters;
        c.bump(&c.hits, &c.restored_tokens, reused);
        Ok(entry.tokens)
    }
}

/// Counters of prefix reuse, shared between the inference thread and the model handle.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub restored_tokens: AtomicU64,
    pub shared_copies: AtomicU64,
    pub shared_tokens: AtomicU64,
    pub bytes: AtomicU64,
    pub entries: AtomicU64,
    pub budget: AtomicU64,
}

impl Counters {
    /// A snapshot.
    pub fn stats(&self) -> PromptCacheStats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        PromptCacheStats {
            hits: get(&self.hits),
            misses: get(&self.misses),
            restored_tokens: get(&self.restored_tokens),
            shared_copies: get(&self.shared_copies),
            shared_tokens: get(&self.shared_tokens),
            bytes: get(&self.bytes),
            entries: get(&self.entries),
            budget: get(&self.budget),
        }
    }

    /// Add one to a counter, `n` to another.
    pub fn bump(&self, counter: &AtomicU64, tokens: &AtomicU64, n: usize) {
        counter.fetch_add(1, Ordering::Relaxed);
        tokens.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Record the cache's size.
    pub fn size<S: StateBytes>(&self, cache: &HostCache<S>) {
        self.bytes.store(cache.used() as u64, Ordering::Relaxed);
        self.entries.store(cache.len() as u64, Ordering::Relaxed);
    }
}

/// How a model has reused prompt prefixes since it was loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PromptCacheStats {
    /// Requests whose prefix was restored from the host-memory cache.
    pub hits: u64,
    /// Requests that looked in the host-memory cache and found nothing worth restoring.
    pub misses: u64,
    /// Tokens restored from the host-memory cache instead of being prefilled.
    pub restored_tokens: u64,
    /// Requests whose prefix was copied from another slot's KV cells.
    pub shared_copies: u64,
    /// Tokens copied from other slots instead of being prefilled.
    pub shared_tokens: u64,
    /// Bytes the host-memory cache holds now.
    pub bytes: u64,
    /// Sequences the host-memory cache holds now.
    pub entries: u64,
    /// The host-memory cache's byte budget (0: off).
    pub budget: u64,
}

impl std::ops::AddAssign for PromptCacheStats {
    /// Add another model's figures (for totals over the loaded models).
    fn add_assign(&mut self, o: Self) {
        self.hits += o.hits;
        self.misses += o.misses;
        self.restored_tokens += o.restored_tokens;
        self.shared_copies += o.shared_copies;
        self.shared_tokens += o.shared_tokens;
        self.bytes += o.bytes;
        self.entries += o.entries;
        self.budget += o.budget;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake(usize);
    impl StateBytes for Fake {
        fn bytes(&self) -> usize {
            self.0
        }
    }

    const G: Space = Space::Generation;

    fn toks(ids: &[i32]) -> Vec<LlamaToken> {
        ids.iter().map(|&t| LlamaToken(t)).collect()
    }

    #[test]
    fn the_budget_is_never_exceeded() {
        let mut c = HostCache::new(100, Arc::default());
        for i in 0..50 {
            c.insert(G, toks(&[i, i + 1, i + 2]), Fake(7 + (i as usize % 30)));
            assert!(c.used() <= 100, "{} bytes after insert {i}", c.used());
            let published = c.counters.stats();
            assert_eq!(
                (published.bytes, published.entries),
                (c.used() as u64, c.len() as u64)
            );
        }
        assert!(
            !c.insert(G, toks(&[1]), Fake(101)),
            "larger than the budget"
        );
        assert!(c.used() <= 100);
        let off = HostCache::<Fake>::new(0, Arc::default());
        assert!(!off.enabled());
    }

    #[test]
    fn least_recently_used_goes_first() {
        let mut c = HostCache::new(30, Arc::default());
        c.insert(G, toks(&[1, 2]), Fake(10));
        c.insert(G, toks(&[3, 4]), Fake(10));
        c.insert(G, toks(&[5, 6]), Fake(10));
        c.insert(G, toks(&[7, 8]), Fake(10));
        assert_eq!(c.len(), 3);
        assert!(!c.covers(G, &toks(&[1, 2])), "the oldest was evicted");
        assert!(c.covers(G, &toks(&[3, 4])) && c.covers(G, &toks(&[7, 8])));
    }

    #[test]
    fn a_longer_conversation_supersedes_its_prefix() {
        let mut c = HostCache::new(100, Arc::default());
        c.insert(G, toks(&[1, 2, 3]), Fake(10));
        c.insert(G, toks(&[1, 2, 3, 4, 5]), Fake(20));
        assert_eq!(c.len(), 1);
        assert_eq!(c.used(), 20);
        assert!(c.covers(G, &toks(&[1, 2, 3])));
        // A different branch of the same prefix is its own entry.
        c.insert(G, toks(&[1, 2, 9]), Fake(10));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn best_match_is_the_longest_shared_prefix_and_take_frees_it() {
        let mut c = HostCache::new(100, Arc::default());
        c.insert(G, toks(&[1, 2, 3, 4]), Fake(10));
        c.insert(G, toks(&[1, 9]), Fake(10));
        let (i, n) = c.best(G, &toks(&[1, 2, 3, 7])).unwrap();
        assert_eq!(n, 3);
        let e = c.take(i);
        assert_eq!(e.tokens, toks(&[1, 2, 3, 4]));
        assert_eq!(c.used(), 10);
        assert!(HostCache::<Fake>::new(10, Arc::default())
            .best(G, &toks(&[1]))
            .is_none());
    }

    #[test]
    fn spaces_are_looked_up_apart_and_share_the_budget() {
        let mut c = HostCache::new(30, Arc::default());
        c.insert(G, toks(&[1, 2, 3]), Fake(10));
        c.insert(Space::Scoring, toks(&[1, 2, 3, 4]), Fake(10));
        // The scoring entry neither supersedes nor stands in for the generation one.
        assert_eq!(c.len(), 2);
        assert!(c.covers(G, &toks(&[1, 2, 3])));
        assert!(!c.covers(G, &toks(&[1, 2, 3, 4])));
        assert_eq!(
            c.best(Space::Scoring, &toks(&[1, 2, 3, 4, 5])).map(|b| b.1),
            Some(4)
        );
        assert_eq!(c.best(G, &toks(&[1, 2, 3, 4, 5])).map(|b| b.1), Some(3));
        // One budget: a third entry of either space evicts the least recently used of both.
        c.insert(Space::Scoring, toks(&[7]), Fake(20));
        assert_eq!(c.used(), 30);
        assert!(!c.covers(G, &toks(&[1, 2, 3])));
    }
}
