//! The hybrid classifier: rules first, the model only for the tools the rules are unsure about.
//!
//! Tools an explicit rule decided keep the rules' verdict when its certainty reaches
//! [`HybridConfig::rule_certainty`]; tools judged by word overlap keep it unless their probability
//! falls in [`HybridConfig::uncertain`], the band around the rules' grant threshold. The rest go
//! to the LLM in one batched pass. Its calibrated log-odds, weighted by
//! [`HybridConfig::llm_weight`], are added to the rules' log-odds relative to their threshold, and
//! the LLM classifier's thresholds (stricter for risky tools) decide. When nothing is uncertain
//! the engine is not called at all.

use crate::classifier::{logit, sigmoid, token_confidence, BoxFuture, Classifier};
use crate::{CapabilityToken, LlmClassifier, RulesClassifier, ToolRegistry};

/// Settings of the hybrid classifier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HybridConfig {
    /// Certainty at which an explicit rule's verdict is final.
    pub rule_certainty: f64,
    /// Word-overlap probabilities in `[low, high)` are sent to the model.
    pub uncertain: (f64, f64),
    /// Weight of the model's calibrated log-odds.
    pub llm_weight: f64,
}

impl Default for HybridConfig {
    fn default() -> Self {
        Self {
            rule_certainty: 0.9,
            uncertain: (0.1, 0.45),
            llm_weight: 0.5,
        }
    }
}

/// Rules, then the LLM for what the rules leave open.
#[derive(Debug, Clone)]
pub struct HybridClassifier {
    rules: RulesClassifier,
    llm: LlmClassifier,
    config: HybridConfig,
}

impl HybridClassifier {
    /// Combine a rules and an LLM classifier with default thresholds.
    pub fn new(rules: RulesClassifier, llm: LlmClassifier) -> Self {
        Self {
            rules,
            llm,
            config: HybridConfig::default(),
        }
    }

    /// Replace the settings.
    #[must_use]
    pub fn with_config(mut self, config: HybridConfig) -> Self {
        self.config = config;
        self
    }
}

impl Classifier for HybridClassifier {
    fn method(&self) -> String {
        format!("hybrid-{}", self.llm.method())
    }

    fn classify<'a>(
        &'a self,
        registry: &'a ToolRegistry,
        request: &'a str,
    ) -> BoxFuture<'a, CapabilityToken> {
        Box::pin(async move {
            let prior = self.rules.score(registry, request);
            let (low, high) = self.config.uncertain;
            let open: Vec<usize> = prior
                .iter()
                .enumerate()
                .filter(|(_, s)| {
                    if s.firm {
                        s.certainty() < self.config.rule_certainty
                    } else {
                        (low..high).contains(&s.p)
                    }
                })
                .map(|(i, _)| i)
                .collect();
            let mut probs: Vec<f64> = prior.iter().map(|s| s.p).collect();
            let mut thresholds: Vec<f64> = vec![self.rules.grant_threshold(); registry.len()];
            match self.llm.score(registry, request, &open).await {
                Ok(scores) => {
                    let offset = logit(self.rules.grant_threshold());
                    for (&i, p_llm) in open.iter().zip(scores) {
                        let x = logit(prior[i].p) - offset + self.config.llm_weight * logit(p_llm);
                        probs[i] = sigmoid(x);
                        thresholds[i] = self.llm.config().threshold_for(&registry.tools()[i]);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "hybrid: LLM failed; denying every tool");
                    return CapabilityToken::deny_all(
                        registry,
                        request,
                        &self.method(),
                        &e.to_string(),
                    );
                }
            }
            let grants = registry
                .names()
                .zip(probs.iter().zip(&thresholds))
                .map(|(n, (&p, &t))| (n.to_owned(), p >= t));
            let method = if open.is_empty() {
                format!("{} (rules only)", self.method())
            } else {
                self.method()
            };
            let mut token = CapabilityToken::new(
                registry,
                request,
                grants,
                token_confidence(probs.iter().copied()),
                method,
            );
            token.scores = registry.names().map(str::to_owned).zip(probs).collect();
            token
        })
    }
}
