//! Probabilities of a binary answer read from the engine's top log-probabilities at one position,
//! or from the log-probabilities of named candidate tokens ([`candidate_probability`]).

use hearth_engine::Logprobs;

/// Spellings of the two answers scored after a scored-mode continuation (`Needed:`), yes-like
/// first: [`candidate_probability`] sums each answer's spellings.
pub const YES_NO_CANDIDATES: [&str; 8] = [" yes", " Yes", "yes", "Yes", " no", " No", "no", "No"];

/// How many of [`YES_NO_CANDIDATES`] are the first answer.
pub const YES_CANDIDATES: usize = 4;

/// Below this total probability of both answers the model answered something else: the answer
/// is unreadable rather than a coin toss.
pub const MIN_ANSWER_MASS: f64 = 1e-6;

/// P(first answer) / P(either) from candidates' full-vocabulary log-probabilities at one
/// position: `log_probs[i]` for candidate `i`, tokenized as `tokens[i]`; candidates
/// `..n_first` spell the first answer, the rest the second. A candidate counts only when it is
/// one token, and each token once. `None` when no usable candidate spells one of the answers or
/// both together have less than [`MIN_ANSWER_MASS`].
pub fn candidate_probability(
    log_probs: &[f32],
    tokens: &[Vec<i32>],
    n_first: usize,
) -> Option<f64> {
    let mut mass = [0.0f64; 2];
    let mut usable = [false; 2];
    let mut seen = std::collections::HashSet::new();
    for (i, (&lp, t)) in log_probs.iter().zip(tokens).enumerate() {
        let [id] = t.as_slice() else {
            continue;
        };
        if !seen.insert(*id) {
            continue;
        }
        let k = usize::from(i >= n_first);
        usable[k] = true;
        mass[k] += f64::from(lp).exp();
    }
    let total = mass[0] + mass[1];
    (usable == [true, true] && total >= MIN_ANSWER_MASS).then(|| mass[0] / total)
}

/// P(first answer) / (P(first) + P(second)) at a position whose token starts after `prefix`
/// (text of the token already fixed before the answer, usually empty). A candidate token counts
/// for an answer when, after `prefix`, it is a non-empty prefix of the answer or starts with it;
/// comparison ignores case and leading spaces. An answer absent from the top list is bounded by
/// the least likely listed token. `None` when neither answer is visible.
pub fn binary_probability(lp: &Logprobs, prefix: &str, first: &str, second: &str) -> Option<f64> {
    let mut mass = [0.0f64; 2];
    let mut seen = [false; 2];
    let mut floor = f64::INFINITY;
    let candidates = std::iter::once(&lp.sampled).chain(lp.top_logprobs.iter());
    let mut counted = std::collections::HashSet::new();
    for t in candidates {
        if !counted.insert(t.bytes.clone()) {
            continue;
        }
        let p = f64::from(t.logprob).exp();
        floor = floor.min(p);
        let Some(rest) = t.token.strip_prefix(prefix) else {
            continue;
        };
        let rest = rest.trim_start().to_lowercase();
        if rest.is_empty() {
            continue;
        }
        for (k, answer) in [first, second].iter().enumerate() {
            if answer.starts_with(rest.as_str()) || rest.starts_with(answer) {
                mass[k] += p;
                seen[k] = true;
                break;
            }
        }
    }
    match seen {
        [false, false] => None,
        [true, false] => Some(mass[0] / (mass[0] + floor.min(mass[0]))),
        [false, true] => Some(floor.min(mass[1]) / (floor.min(mass[1]) + mass[1])),
        [true, true] => Some(mass[0] / (mass[0] + mass[1])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_engine::TokenLogprob;

    fn tl(token: &str, p: f64) -> TokenLogprob {
        TokenLogprob {
            token: token.to_owned(),
            logprob: p.ln() as f32,
            bytes: token.as_bytes().to_vec(),
        }
    }

    fn lps(sampled: (&str, f64), top: &[(&str, f64)]) -> Logprobs {
        Logprobs {
            sampled: tl(sampled.0, sampled.1),
            top_logprobs: top.iter().map(|&(t, p)| tl(t, p)).collect(),
        }
    }

    #[test]
    fn yes_and_no_mass_is_summed_over_spellings() {
        let lp = lps(
            ("yes", 0.3),
            &[
                ("yes", 0.3),
                ("Yes", 0.3),
                ("The", 0.2),
                ("no", 0.1),
                (" No", 0.1),
            ],
        );
        let p = binary_probability(&lp, "", "yes", "no").unwrap();
        assert!((p - 0.75).abs() < 1e-4, "{p}");
    }

    #[test]
    fn missing_answer_is_bounded_by_the_least_likely_token() {
        let lp = lps(("no", 0.8), &[("no", 0.8), ("The", 0.1), ("A", 0.05)]);
        let p = binary_probability(&lp, "", "yes", "no").unwrap();
        assert!((p - 0.05 / 0.85).abs() < 1e-4, "{p}");
        let none = lps(("The", 0.8), &[("The", 0.8)]);
        assert_eq!(binary_probability(&none, "", "yes", "no"), None);
    }

    #[test]
    fn candidate_mass_is_summed_per_answer_over_single_tokens() {
        let ln = |p: f64| p.ln() as f32;
        let tokens = vec![vec![1], vec![2], vec![3], vec![4, 5]];
        // yes: 0.3 + 0.1; no: 0.2 (the two-token spelling does not count).
        let lps = [ln(0.3), ln(0.1), ln(0.2), ln(0.3)];
        let p = candidate_probability(&lps, &tokens, 2).unwrap();
        assert!((p - 0.4 / 0.6).abs() < 1e-6, "{p}");
        // A token named twice counts once.
        let twice = vec![vec![1], vec![1], vec![3]];
        let p = candidate_probability(&[ln(0.3), ln(0.3), ln(0.1)], &twice, 2).unwrap();
        assert!((p - 0.75).abs() < 1e-6, "{p}");
        // Something else entirely was the answer, or one answer cannot be spelled.
        assert_eq!(
            candidate_probability(&[-30.0, -30.0, -30.0], &tokens[..3], 2),
            None
        );
        assert_eq!(
            candidate_probability(&[ln(0.5), ln(0.5)], &[vec![1], vec![4, 5]], 1),
            None
        );
    }

    #[test]
    fn straddling_tokens_use_the_fixed_prefix() {
        let lp = lps((":true", 0.6), &[(":true", 0.6), (":f", 0.2), ("x", 0.2)]);
        let p = binary_probability(&lp, ":", "true", "false").unwrap();
        assert!((p - 0.75).abs() < 1e-4, "{p}");
    }
}
