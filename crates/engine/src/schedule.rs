//! The inference thread's scheduling decisions, as pure functions: which idle slot a request
//! takes, how much of a slot's cache it keeps, how much prompt a step prefills, and when a
//! generation ends.

use llama_cpp_2::token::LlamaToken;

use crate::event::DoneReason;

/// Length of the longest common prefix.
pub(crate) fn common_prefix(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// The idle slot for a prompt: the one whose cache shares the longest prefix with it, ties
/// going to the least recently used. `idle` yields `(index, cache, last_used)`.
pub(crate) fn pick_slot<'a>(
    idle: impl IntoIterator<Item = (usize, &'a [LlamaToken], u64)>,
    prompt: &[LlamaToken],
) -> Option<usize> {
    idle.into_iter()
        .max_by_key(|&(_, cache, last_used)| {
            (common_prefix(cache, prompt), std::cmp::Reverse(last_used))
        })
        .map(|(index, _, _)| index)
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

/// Prompt tokens to prefill this step: what is left, as far as the batch has room.
pub(crate) fn prefill_chunk(remaining: usize, batch_size: usize, used: usize) -> usize {
    remaining.min(batch_size.saturating_sub(used))
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
            pick_slot(v.iter().map(|&(i, c, u)| (i, c.as_slice(), u)), &prompt)
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
    fn prefill_fills_the_batch_without_overflowing_it() {
        assert_eq!(prefill_chunk(1000, 512, 0), 512);
        assert_eq!(prefill_chunk(1000, 512, 3), 509);
        assert_eq!(prefill_chunk(10, 512, 3), 10);
        assert_eq!(prefill_chunk(10, 512, 512), 0);
        assert_eq!(prefill_chunk(10, 512, 600), 0);
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
