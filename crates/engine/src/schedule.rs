//! The inference thread's scheduling decisions, as pure functions: which idle slot a request
//! takes, how much of a slot's cache it keeps, how much prompt a step prefills, and when a
//! generation ends.

use llama_cpp_2::token::LlamaToken;

use crate::event::DoneReason;

/// Length of the longest common prefix.
pub(crate) fn common_prefix(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// A prefix from elsewhere (another slot, the host cache) is brought in only when it saves at
/// least this many tokens over what the chosen slot already holds.
pub(crate) const MIN_GAIN: usize = 16;

/// A slot's cells are saved to the host cache before being overwritten only when at least this
/// many tokens would be lost.
pub(crate) const MIN_SAVE: usize = 64;

/// The idle slot a prompt takes, weighing its prefix against evicting another conversation:
/// a slot that already holds (almost) the best prefix available anywhere (`best_elsewhere`) is
/// taken as it is; otherwise the prefix is brought in from elsewhere and the slot that loses
/// least is chosen: an empty or short cache first when nothing is saved, else the least
/// recently used. `idle` yields `(index, own prefix, cache length, last_used)`.
pub(crate) fn choose_slot(
    idle: impl IntoIterator<Item = (usize, usize, usize, u64)>,
    best_elsewhere: usize,
    saved_when_evicted: bool,
) -> Option<usize> {
    let idle: Vec<_> = idle.into_iter().collect();
    let best_own = idle.iter().map(|&(_, own, _, _)| own).max()?;
    if best_own + MIN_GAIN > best_elsewhere {
        return idle
            .iter()
            .filter(|&&(_, own, _, _)| own == best_own)
            .min_by_key(|&&(_, _, _, last_used)| last_used)
            .map(|&(i, _, _, _)| i);
    }
    idle.iter()
        .min_by_key(|&&(_, own, len, last_used)| {
            let lost = if saved_when_evicted { 0 } else { len - own };
            (lost, last_used)
        })
        .map(|&(i, _, _, _)| i)
}

/// Whether a prompt should wait for another request that is prefilling a prefix they share
/// (`shared` tokens, of which `prefilled` are done) instead of prefilling it a second time:
/// only when that prefix beats the best one available now by [`MIN_GAIN`].
pub(crate) fn waits_for(shared: usize, prefilled: usize, best_now: usize) -> bool {
    shared >= best_now + MIN_GAIN && prefilled < shared
}

/// Cached prompt tokens a request can keep: the shared prefix, but never the last prompt token,
/// which must be evaluated to produce logits.
pub(crate) fn reusable_prefix(cache: &[LlamaToken], prompt: &[LlamaToken]) -> usize {
    common_prefix(cache, prompt).min(prompt.len().saturating_sub(1))
}

/// Where the repetition penalties' window starts in a prompt of `len` tokens
/// (`repeat_last_n` < 0: the whole prompt).
pub(crate) fn penalty_window_start(len: usize, repeat_last_n: i32) -> usize {
    match usize::try_from(repeat_last_n) {
        Ok(n) => len.saturating_sub(n),
        Err(_) => 0,
    }
}

/// Prompt tokens to prefill this step: what is left, as far as the batch has room; with
/// `last_apart`, the last prompt token in a step of its own. The token whose logits start the
/// answer is then evaluated the same way (one query token after the prefix's cells) whether the
/// prefix was prefilled just now, kept from an earlier request, copied from another slot or
/// restored from host memory, so the same request gives the same answer in every case. The
/// unfused CPU attention needs it (its products round differently for one query token than
/// inside a chunk); flash attention's vector kernel does not, and there the last token stays in
/// its chunk, as the scoring path evaluates continuations.
pub(crate) fn prefill_chunk(
    remaining: usize,
    batch_size: usize,
    used: usize,
    last_apart: bool,
) -> usize {
    let room = batch_size.saturating_sub(used);
    if last_apart && remaining > 1 {
        (remaining - 1).min(room)
    } else {
        remaining.min(room)
    }
}

/// Why a generation ends after its latest token, if it does: a stop sequence, `num_predict`
/// (negative: no limit) reached, or no room for another token in the context.
pub(crate) fn end_reason(
    stopped: bool,
    generated: usize,
    num_predict: i32,
    cached: usize,
    n_ctx: u32,
) -> Option<DoneReason> {
    if stopped {
        Some(DoneReason::Stop)
    } else if usize::try_from(num_predict).is_ok_and(|limit| generated >= limit)
        || cached + 1 >= n_ctx as usize
    {
        Some(DoneReason::Length)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_holding_the_prefix_is_taken_as_it_is() {
        // Slot 1 holds 500 of the prompt; elsewhere has 510: not worth a copy.
        let idle = [(0, 0, 0, 5), (1, 500, 900, 9)];
        assert_eq!(choose_slot(idle, 510, true), Some(1));
        // Ties on the prefix go to the least recently used.
        assert_eq!(
            choose_slot([(0, 3, 10, 7), (1, 3, 10, 2)], 0, true),
            Some(1)
        );
        assert_eq!(choose_slot(std::iter::empty(), 100, true), None);
    }

    #[test]
    fn otherwise_the_slot_that_loses_least_is_evicted() {
        // The prefix is elsewhere (another slot or the host cache).
        let idle = [(0, 0, 800, 1), (1, 0, 0, 9), (2, 10, 300, 4)];
        // Nothing is saved on eviction: the empty slot loses nothing.
        assert_eq!(choose_slot(idle, 1000, false), Some(1));
        // Evicted cells are saved: the least recently used goes.
        assert_eq!(choose_slot(idle, 1000, true), Some(0));
    }

    #[test]
    fn a_request_waits_only_for_a_prefix_worth_waiting_for() {
        assert!(waits_for(1300, 512, 0));
        assert!(!waits_for(1300, 1300, 0), "already prefilled: copy it now");
        assert!(!waits_for(10, 0, 0), "too short to matter");
        assert!(
            !waits_for(1300, 512, 1290),
            "a prefix as good is available now"
        );
    }

    fn toks(ids: &[i32]) -> Vec<LlamaToken> {
        ids.iter().map(|&t| LlamaToken(t)).collect()
    }

    #[test]
    fn common_prefix_counts_shared_leading_tokens() {
        assert_eq!(common_prefix(&toks(&[1, 2, 3]), &toks(&[1, 2, 4])), 2);
        assert_eq!(common_prefix(&toks(&[1, 2]), &toks(&[1, 2, 3])), 2);
        assert_eq!(common_prefix(&toks(&[]), &toks(&[1])), 0);
        assert_eq!(common_prefix(&toks(&[5]), &toks(&[1])), 0);
    }

    #[test]
    fn the_slot_with_the_longest_prefix_wins_then_the_least_recently_used() {
        let (a, b, c) = (toks(&[1, 2, 3]), toks(&[1, 2]), toks(&[9]));
        let prompt = toks(&[1, 2, 3, 4]);
        let idle = |v: &[(usize, &Vec<LlamaToken>, u64)]| {
            let own = v
                .iter()
                .map(|&(i, c, u)| (i, common_prefix(c, &prompt), c.len(), u));
            choose_slot(own, 0, true)
        };
        assert_eq!(idle(&[(0, &b, 1), (1, &a, 9), (2, &c, 0)]), Some(1));
        // No shared prefix anywhere: the least recently used.
        assert_eq!(idle(&[(0, &c, 5), (1, &c, 2), (2, &c, 7)]), Some(1));
        // Equal prefixes: the least recently used of those.
        assert_eq!(idle(&[(0, &a, 5), (1, &a, 2), (2, &c, 0)]), Some(1));
        assert_eq!(idle(&[]), None);
    }

    #[test]
    fn the_last_prompt_token_is_always_evaluated() {
        let prompt = toks(&[1, 2, 3]);
        assert_eq!(reusable_prefix(&toks(&[1, 2, 3, 4]), &prompt), 2);
        assert_eq!(reusable_prefix(&toks(&[1, 2, 3]), &prompt), 2);
        assert_eq!(reusable_prefix(&toks(&[1, 9]), &prompt), 1);
        assert_eq!(reusable_prefix(&toks(&[1]), &toks(&[1])), 0);
        assert_eq!(reusable_prefix(&toks(&[1]), &[]), 0);
    }

    #[test]
    fn penalty_window_covers_the_last_n_prompt_tokens() {
        assert_eq!(penalty_window_start(100, 64), 36);
        assert_eq!(penalty_window_start(10, 64), 0);
        assert_eq!(penalty_window_start(10, 0), 10);
        assert_eq!(penalty_window_start(10, -1), 0);
    }

    #[test]
    fn prefill_fills_the_batch_without_overflowing_it_and_keeps_the_last_token_apart() {
        for apart in [false, true] {
            assert_eq!(prefill_chunk(1000, 512, 0, apart), 512);
            assert_eq!(prefill_chunk(1000, 512, 3, apart), 509);
            assert_eq!(prefill_chunk(10, 512, 512, apart), 0);
            assert_eq!(prefill_chunk(10, 512, 600, apart), 0);
            assert_eq!(prefill_chunk(1, 512, 3, apart), 1);
        }
        assert_eq!(prefill_chunk(10, 512, 3, false), 10);
        // Kept apart, the last prompt token goes in a step of its own.
        assert_eq!(prefill_chunk(10, 512, 3, true), 9);
        assert_eq!(prefill_chunk(513, 512, 0, true), 512);
        assert_eq!(prefill_chunk(2, 512, 0, true), 1);
        assert_eq!(prefill_chunk(1, 512, 512, true), 0);
    }

    #[test]
    fn generations_end_on_stop_limit_or_full_context() {
        assert_eq!(end_reason(true, 1, 10, 5, 100), Some(DoneReason::Stop));
        assert_eq!(end_reason(false, 10, 10, 5, 100), Some(DoneReason::Length));
        assert_eq!(end_reason(false, 9, 10, 5, 100), None);
        assert_eq!(end_reason(false, 1000, -1, 5, 100), None);
        assert_eq!(end_reason(false, 0, 0, 5, 100), Some(DoneReason::Length));
        assert_eq!(end_reason(false, 1, -1, 99, 100), Some(DoneReason::Length));
        assert_eq!(end_reason(false, 1, -1, 98, 100), None);
        // A stop sequence wins over a limit reached at the same token.
        assert_eq!(end_reason(true, 10, 10, 99, 100), Some(DoneReason::Stop));
    }
}
