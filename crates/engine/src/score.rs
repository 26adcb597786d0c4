//! Scoring short continuations of one prefix: the request and result types of
//! [`Model::score_continuations`](crate::Model::score_continuations), the handle a caller waits
//! on, and the pure arithmetic (log-softmax, renormalising over candidates, planning rounds).
//!
//! The prefix is evaluated once (or taken from the scoring cache when an earlier request shared
//! it) and each continuation is decoded as its own sequence over the prefix's KV cells, all of
//! them in one batch; see the inference thread's `worker::score` for how.
//!
//! ```no_run
//! use hearth_engine::{LoadConfig, Model, Prompt, ScoreRequest};
//! let model = Model::load("models/smollm2-135m.gguf".as_ref(), LoadConfig::default())?;
//! let request = ScoreRequest::new(Prompt::Text("Is the sky blue? Answer:".into()))
//!     .with_continuations(vec![Prompt::Text(" Think.".into()), Prompt::Text(" Look up.".into())])
//!     .with_candidates(&[" yes", " no"]);
//! let scores = model.score_continuations(request)?.blocking_wait()?;
//! println!("P(yes) = {}", scores.continuations[0].normalised[0].exp());
//! # Ok::<(), hearth_engine::EngineError>(())
//! ```

use tokio::sync::oneshot;

use crate::{EngineError, Prompt};

/// "Score these continuations after this prefix."
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRequest {
    /// The shared prefix. Text is tokenized like a prompt (BOS added when the model wants one,
    /// special tokens parsed); an empty prefix is the BOS token.
    pub prefix: Prompt,
    /// The continuations, each scored as if it alone followed the prefix. Text is tokenized
    /// without BOS (special tokens parsed). Each must be non-empty and short: at most the
    /// engine's batch size in tokens, and the prefix plus it must fit the context. None: the
    /// prefix is only evaluated (a warm-up of the scoring cache).
    pub continuations: Vec<Prompt>,
    /// Next tokens whose log-probabilities are read after each continuation's last token. A
    /// text candidate is tokenized without BOS and counts by its first token
    /// ([`Scores::candidate_tokens`] says how each was tokenized).
    pub candidates: Vec<Prompt>,
    /// Also report the log-probability of every continuation token given what precedes it.
    pub token_logprobs: bool,
    /// Also report the most likely next tokens after each continuation (at most 20).
    pub top_logprobs: u32,
}

impl ScoreRequest {
    /// A request with `prefix`, no continuations and no candidates yet.
    pub fn new(prefix: Prompt) -> Self {
        Self {
            prefix,
            continuations: Vec::new(),
            candidates: Vec::new(),
            token_logprobs: false,
            top_logprobs: 0,
        }
    }

    /// Set the continuations.
    #[must_use]
    pub fn with_continuations(mut self, continuations: Vec<Prompt>) -> Self {
        self.continuations = continuations;
        self
    }

    /// Set the candidates from text (e.g. `[" yes", " no"]`).
    #[must_use]
    pub fn with_candidates(mut self, candidates: &[&str]) -> Self {
        self.candidates = candidates
            .iter()
            .map(|c| Prompt::Text((*c).to_owned()))
            .collect();
        self
    }
}

/// What was read after one continuation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContinuationScore {
    /// Natural-log probability (over the whole vocabulary) of each candidate's first token at
    /// the position after the continuation, in the request's order.
    pub candidates: Vec<f32>,
    /// The same log-probabilities renormalised over the candidates: their exponentials sum to 1
    /// (a token named by several candidates counts once in the sum).
    pub normalised: Vec<f32>,
    /// With [`ScoreRequest::token_logprobs`]: the log-probability of each continuation token
    /// given the prefix and the continuation tokens before it. Empty otherwise.
    pub tokens: Vec<f32>,
    /// With [`ScoreRequest::top_logprobs`]: the most likely next tokens `(id, log-probability)`,
    /// most likely first.
    pub top: Vec<(i32, f32)>,
}

/// The result of a [`ScoreRequest`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scores {
    /// One entry per continuation, in the request's order.
    pub continuations: Vec<ContinuationScore>,
    /// How each candidate was tokenized (its first token is the one scored).
    pub candidate_tokens: Vec<Vec<i32>>,
    /// Tokens in the prefix.
    pub prefix_tokens: u32,
    /// Prefix tokens evaluated for this request.
    pub prefix_evaluated: u32,
    /// Prefix tokens whose KV cells an earlier request left in the scoring cache.
    pub prefix_reused: u32,
    /// Continuation tokens evaluated (all continuations together).
    pub continuation_tokens: u32,
    /// Decodes of continuations: more than one when they did not fit one batch.
    pub rounds: u32,
    /// From the request reaching the engine to the result, queueing included (nanoseconds).
    pub total_duration_ns: u64,
}

/// A scoring in progress: wait for its [`Scores`]. Dropping it cancels the request if the
/// inference thread has not started it yet.
#[derive(Debug)]
pub struct Scoring {
    rx: oneshot::Receiver<Result<Scores, EngineError>>,
}

impl Scoring {
    /// A handle and the sender its result goes to (the inference thread, or a fake generator).
    pub fn channel() -> (oneshot::Sender<Result<Scores, EngineError>>, Scoring) {
        let (tx, rx) = oneshot::channel();
        (tx, Scoring { rx })
    }

    /// A scoring whose result is already known (for [`Generator`](crate::Generator) fakes).
    pub fn ready(result: Result<Scores, EngineError>) -> Scoring {
        let (tx, scoring) = Scoring::channel();
        let _ = tx.send(result);
        scoring
    }

    /// The result (async).
    pub async fn wait(self) -> Result<Scores, EngineError> {
        self.rx.await.unwrap_or(Err(EngineError::WorkerGone))
    }

    /// The result, blocking the current thread (not for use inside an async runtime).
    pub fn blocking_wait(self) -> Result<Scores, EngineError> {
        self.rx
            .blocking_recv()
            .unwrap_or(Err(EngineError::WorkerGone))
    }
}

/// The most top log-probabilities a request may ask for.
pub(crate) const MAX_TOP_LOGPROBS: u32 = 20;

/// The log of the sum of the exponentials (−∞ for no values).
pub(crate) fn log_sum_exp(values: impl IntoIterator<Item = f32> + Clone) -> f32 {
    let max = values.clone().into_iter().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        return max;
    }
    let sum: f32 = values.into_iter().map(|v| (v - max).exp()).sum();
    max + sum.ln()
}

/// `log_probs` (one per candidate, candidate `i` naming `tokens[i]`) renormalised over the
/// distinct tokens they name.
pub(crate) fn renormalise(log_probs: &[f32], tokens: &[i32]) -> Vec<f32> {
    let mut seen = std::collections::HashSet::new();
    let distinct: Vec<f32> = log_probs
        .iter()
        .zip(tokens)
        .filter(|(_, t)| seen.insert(**t))
        .map(|(&lp, _)| lp)
        .collect();
    let total = log_sum_exp(distinct.iter().copied());
    log_probs.iter().map(|lp| lp - total).collect()
}

/// How many of the continuations with these lengths go into the next decode: at most
/// `max_seqs` of them, `batch` tokens and `cells` free KV cells together, but at least one
/// (each alone fits; the caller checks that first).
pub(crate) fn next_round(
    lens: impl IntoIterator<Item = usize>,
    max_seqs: usize,
    batch: usize,
    cells: usize,
) -> usize {
    let budget = batch.min(cells);
    let mut n = 0;
    let mut used = 0;
    for len in lens {
        if n > 0 && (n == max_seqs || used + len > budget) {
            break;
        }
        used += len;
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rounds(lens: &[usize], max_seqs: usize, batch: usize, cells: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut start = 0;
        while start < lens.len() {
            let n = next_round(lens[start..].iter().copied(), max_seqs, batch, cells);
            out.push(n);
            start += n;
        }
        out
    }

    #[test]
    fn rounds_respect_sequences_batch_and_cells() {
        assert_eq!(rounds(&[], 4, 100, 100), Vec::<usize>::new());
        assert_eq!(rounds(&[5; 10], 4, 100, 100), vec![4, 4, 2]);
        assert_eq!(rounds(&[5; 10], 63, 20, 100), vec![4, 4, 2]);
        assert_eq!(rounds(&[5; 10], 63, 100, 12), vec![2, 2, 2, 2, 2]);
        assert_eq!(rounds(&[5; 50], 63, 512, 2000), vec![50]);
        // A continuation as long as the budget goes alone.
        assert_eq!(rounds(&[3, 10, 3], 63, 10, 100), vec![1, 1, 1]);
    }

    #[test]
    fn log_sum_exp_is_stable() {
        assert!((log_sum_exp([0.0f32, 0.0]) - 2f32.ln()).abs() < 1e-6);
        assert!((log_sum_exp([1000.0f32, 1000.0]) - (1000.0 + 2f32.ln())).abs() < 1e-3);
        assert_eq!(log_sum_exp(std::iter::empty::<f32>()), f32::NEG_INFINITY);
    }

    #[test]
    fn renormalised_candidates_sum_to_one_counting_each_token_once() {
        let lps = [0.2f32.ln(), 0.05f32.ln()];
        let n = renormalise(&lps, &[7, 9]);
        assert!((n[0].exp() - 0.8).abs() < 1e-5 && (n[1].exp() - 0.2).abs() < 1e-5);
        // The same token named twice.
        let n = renormalise(&[0.2f32.ln(), 0.2f32.ln(), 0.05f32.ln()], &[7, 7, 9]);
        assert!((n[0].exp() - 0.8).abs() < 1e-5 && (n[1].exp() - 0.8).abs() < 1e-5);
    }

    #[test]
    fn a_ready_scoring_yields_its_result_and_a_dropped_sender_is_an_error() {
        let scoring = Scoring::ready(Ok(Scores::default()));
        assert_eq!(scoring.blocking_wait(), Ok(Scores::default()));
        let (tx, scoring) = Scoring::channel();
        drop(tx);
        assert_eq!(scoring.blocking_wait(), Err(EngineError::WorkerGone));
    }
}
