//! Per-request sampling: an Ollama-options sampler chain, an optional grammar checked with
//! llama.cpp's fast path (sample first, re-sample under the grammar only when rejected), and
//! log-probabilities from the raw logits.

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use llama_cpp_2::token::LlamaToken;

use crate::{EngineError, SamplingOptions};

/// The sampling state of one generation (not `Send`: lives on the inference thread).
pub(crate) struct SlotSampler {
    chain: LlamaSampler,
    grammar: Option<LlamaSampler>,
    penalties: bool,
    /// Plain greedy decoding: an argmax over the logits, without copying them into a candidate array.
    argmax: bool,
}

impl SlotSampler {
    pub(crate) fn new(
        model: &LlamaModel,
        options: &SamplingOptions,
        grammar: Option<&str>,
        n_ctx: u32,
    ) -> Result<Self, EngineError> {
        let mut chain = Vec::new();
        let last_n = match options.repeat_last_n {
            n if n < 0 => n_ctx as i32,
            n => n,
        };
        let penalties = last_n > 0
            && (options.repeat_penalty != 1.0
                || options.frequency_penalty != 0.0
                || options.presence_penalty != 0.0);
        if penalties {
            chain.push(LlamaSampler::penalties(
                model.n_vocab(),
                last_n,
                options.repeat_penalty,
                options.frequency_penalty,
                options.presence_penalty,
            ));
        }
        if options.temperature <= 0.0 {
            chain.push(LlamaSampler::greedy());
        } else {
            if options.top_k > 0 {
                chain.push(LlamaSampler::top_k(options.top_k));
            }
            if options.typical_p > 0.0 && options.typical_p < 1.0 {
                chain.push(LlamaSampler::typical(options.typical_p, 1));
            }
            if options.top_p > 0.0 && options.top_p < 1.0 {
                chain.push(LlamaSampler::top_p(options.top_p, 1));
            }
            if options.min_p > 0.0 {
                chain.push(LlamaSampler::min_p(options.min_p, 1));
            }
            chain.push(LlamaSampler::temp(options.temperature));
            chain.push(LlamaSampler::dist(seed(options.seed)));
        }
        let grammar = grammar
            .map(|g| {
                LlamaSampler::grammar(model, g, "root")
                    .map_err(|e| EngineError::Grammar(e.to_string()))
            })
            .transpose()?;
        let argmax = options.temperature <= 0.0 && !penalties && grammar.is_none();
        Ok(Self {
            chain: LlamaSampler::chain_simple(chain),
            grammar,
            penalties,
            argmax,
        })
    }

    /// Feed prompt tokens to the repetition penalties (they count toward repeats, as in llama.cpp's server).
    pub(crate) fn accept_prompt(&mut self, tokens: &[LlamaToken]) {
        if self.penalties {
            self.chain.accept_many(tokens);
        }
    }

    /// Sample the token for batch index `idx` and accept it into every sampler exactly once.
    pub(crate) fn sample(&mut self, ctx: &LlamaContext<'_>, idx: i32) -> LlamaToken {
        if self.argmax {
            return argmax(ctx.get_logits_ith(idx));
        }
        let mut candidates = ctx.token_data_array_ith(idx);
        self.chain.apply(&mut candidates);
        let mut token = candidates.selected_token().unwrap_or(LlamaToken(0));
        if let Some(grammar) = &mut self.grammar {
            let mut single =
                LlamaTokenDataArray::new(vec![LlamaTokenData::new(token, 1.0, 0.0)], false);
            grammar.apply(&mut single);
            if single.data[0].logit() == f32::NEG_INFINITY {
                let mut candidates = ctx.token_data_array_ith(idx);
                grammar.apply(&mut candidates);
                self.chain.apply(&mut candidates);
                token = candidates.selected_token().unwrap_or(token);
            }
            grammar.accept(token);
        }
        self.chain.accept(token);
        token
    }
}

/// The most likely token (the first one on ties, as llama.cpp's greedy sampler).
fn argmax(logits: &[f32]) -> LlamaToken {
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    LlamaToken(best as i32)
}

/// A concrete seed: the requested one, or a random one when negative.
fn seed(requested: i64) -> u32 {
    if requested >= 0 {
        return requested as u32;
    }
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish() as u32
}

/// Log-softmax of `token` and the `top_n` most likely tokens (descending) from raw logits.
pub(crate) fn logprobs(
    logits: &[f32],
    token: LlamaToken,
    top_n: usize,
) -> (f32, Vec<(LlamaToken, f32)>) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = logits.iter().map(|&l| (l - max).exp()).sum();
    let lse = max + sum.ln();
    let of = |t: usize| logits[t] - lse;
    let sampled = logits
        .get(token.0 as usize)
        .map_or(f32::NEG_INFINITY, |_| of(token.0 as usize));
    let mut top: Vec<(usize, f32)> = Vec::with_capacity(top_n + 1);
    if top_n > 0 {
        for (i, &l) in logits.iter().enumerate() {
            if top.len() < top_n || l > top[top.len() - 1].1 {
                let at = top.partition_point(|&(_, x)| x >= l);
                top.insert(at, (i, l));
                top.truncate(top_n);
            }
        }
    }
    (
        sampled,
        top.into_iter()
            .map(|(i, _)| (LlamaToken(i as i32), of(i)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logprobs_are_normalised_and_sorted() {
        let logits = [1.0, 3.0, 2.0, 0.5];
        let (lp, top) = logprobs(&logits, LlamaToken(2), 2);
        let total: f32 = logits.iter().map(|&l| (l - 3.0f32).exp()).sum();
        assert!((lp - (2.0 - 3.0 - total.ln())).abs() < 1e-5);
        assert_eq!(
            top.iter().map(|t| t.0).collect::<Vec<_>>(),
            vec![LlamaToken(1), LlamaToken(2)]
        );
        assert!(top[0].1 <= 0.0 && top[0].1 > top[1].1);
    }

    #[test]
    fn argmax_prefers_the_first_maximum() {
        assert_eq!(argmax(&[0.5, 2.0, 2.0, -1.0]), LlamaToken(1));
    }

    #[test]
    fn fixed_seeds_are_kept_and_random_ones_vary() {
        assert_eq!(seed(42), 42);
        let a: Vec<u32> = (0..4).map(|_| seed(-1)).collect();
        assert!(a.windows(2).any(|w| w[0] != w[1]));
    }
}
