//! The hybrid classifier: rules first, the model only for the tools the rules are unsure about.
//!
//! Tools an explicit rule decided with certainty ≥ [`HybridConfig::rule_certainty`], and tools
//! whose word-overlap evidence is already decisive (≥ [`HybridConfig::lexical_certainty`]), keep
//! the rules' verdict. The rest go to the LLM in one batched pass, whose log-odds are combined
//! with the overlap prior (weight [`HybridConfig::prior_weight`]). When nothing is uncertain the
//! engine is not called at all.

use crate::classifier::{logit, sigmoid, token_confidence, BoxFuture, Classifier};
use crate::{CapabilityToken, LlmClassifier, RulesClassifier, ToolRegistry};

/// Settings of the hybrid classifier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HybridConfig {
    /// Certainty at which an explicit rule's verdict is final.
    pub rule_certainty: f64,
    /// Certainty at which the word-overlap verdict is final.
    pub lexical_certainty: f64,
    /// Weight of the overlap prior's log-odds added to the model's.
    pub prior_weight: f64,
}

impl Default for HybridConfig {
    fn default() -> Self {
        Self {
            rule_certainty: 0.9,
            lexical_certainty: 0.9,
            prior_weight: 1.0,
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
            let open: Vec<usize> = prior
                .iter()
                .enumerate()
                .filter(|(_, s)| {
                    let needed = if s.firm {
                        self.config.rule_certainty
                    } else {
                        self.config.lexical_certainty
                    };
                    s.certainty() < needed
                })
                .map(|(i, _)| i)
                .collect();
            let mut probs: Vec<f64> = prior.iter().map(|s| s.p).collect();
            let mut thresholds: Vec<f64> = vec![self.rules.grant_threshold(); registry.len()];
            match self.llm.score(registry, request, &open).await {
                Ok(scores) => {
                    for (&i, p_llm) in open.iter().zip(scores) {
                        probs[i] =
                            sigmoid(logit(p_llm) + self.config.prior_weight * logit(prior[i].p));
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
