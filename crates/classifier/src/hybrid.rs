//! The hybrid classifier: rules first, the model only for the tools the rules are unsure about.
//!
//! Tools an explicit rule decided keep the rules' verdict when its certainty reaches
//! [`HybridConfig::rule_certainty`]; tools judged by word overlap keep it unless their probability
//! falls in [`HybridConfig::uncertain`], the band around the rules' grant threshold. The rest go
//! to the LLM in one batched pass (by default one scoring call over a shared, cached prefix:
//! [`crate::LlmMode::Scored`]). Its calibrated log-odds, weighted by
//! [`HybridConfig::llm_weight`], are added to the rules' log-odds relative to their threshold, and
//! the LLM classifier's thresholds (stricter for risky tools) decide. When nothing is uncertain
//! the engine is not called at all.

use crate::classifier::{BoxFuture, Classifier};
use crate::score::{logit, sigmoid, token_confidence};
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

impl HybridConfig {
    /// The settings fitted for a model, by its GGUF name: the weight on the model chosen on the
    /// dev split for the best mean of utility and injection blocked
    /// (`scripts/fit-hybrid-weight.py`, 2026-12-07, on the prompt that lists only the tools
    /// asked about): SmolLM2 0.25 (0 to 0.25 tie on dev: its answers barely move the rules),
    /// Gemma 3 0.75; other models keep the default 0.5.
    pub fn for_name(name: &str) -> Self {
        let name = name.to_ascii_lowercase();
        let llm_weight = if name.contains("smollm2") {
            0.25
        } else if name.contains("gemma") && name.contains('3') {
            0.75
        } else {
            Self::default().llm_weight
        };
        Self {
            llm_weight,
            ..Self::default()
        }
    }
}

impl HybridClassifier {
    /// Combine a rules and an LLM classifier, with the settings fitted for the LLM's model
    /// ([`HybridConfig::for_name`]).
    pub fn new(rules: RulesClassifier, llm: LlmClassifier) -> Self {
        let config = HybridConfig::for_name(llm.model_name());
        Self { rules, llm, config }
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::fake::{Answer, FakeGenerator};
    use crate::ToolDefinition;

    fn registry() -> ToolRegistry {
        ToolRegistry::from_tools(vec![
            ToolDefinition::new("read_website", "Fetch a web page by URL", 2)
                .with_param("url", "Address"),
            ToolDefinition::new("send_email", "Send an email to a recipient", 4)
                .with_param("to", "Recipient"),
            ToolDefinition::new(
                "convert_currency",
                "Convert an amount of money between currencies",
                1,
            ),
            ToolDefinition::new("delete_file", "Permanently delete a file", 5),
        ])
        .unwrap()
    }

    /// Every tool answered with `p`, or with `answer` for the one the rules are unsure about.
    fn fake(p: f64, open: Answer) -> Arc<FakeGenerator> {
        Arc::new(FakeGenerator::new(&[
            ("read_website", Answer::P(p)),
            ("send_email", Answer::P(p)),
            ("convert_currency", open),
            ("delete_file", Answer::P(p)),
        ]))
    }

    fn hybrid(generator: &Arc<FakeGenerator>) -> HybridClassifier {
        HybridClassifier::new(
            RulesClassifier::default(),
            LlmClassifier::new(generator.clone()),
        )
    }

    /// The rules are sure about every tool but the currency converter here (word overlap only,
    /// inside the uncertain band).
    const UNSURE: &str = "Tell me about money in Spain";

    #[test]
    fn only_the_uncertain_tools_go_to_the_model() {
        let registry = registry();
        let prior = RulesClassifier::default().score(&registry, UNSURE);
        assert!(
            !prior[2].firm && (0.1..0.45).contains(&prior[2].p),
            "{prior:?}"
        );
        let generator = fake(0.99, Answer::P(0.99));
        let token = hybrid(&generator).classify_blocking(&registry, UNSURE);
        assert_eq!(generator.asked(), ["convert_currency"]);
        assert_eq!(generator.score_calls(), 1, "one batched scoring call");
        assert_eq!(token.classification_method, "hybrid-llm-fake");
        // The model's yes decides the open tool; the rules' firm no stays for the others even
        // though the model would have said yes to them too.
        assert!(token.is_granted("convert_currency"), "{token:?}");
        assert!(!token.is_granted("send_email") && !token.is_granted("delete_file"));
        assert!(!token.is_granted("read_website"));
    }

    #[test]
    fn the_models_no_denies_the_uncertain_tool() {
        let generator = fake(0.99, Answer::P(0.01));
        let token = hybrid(&generator).classify_blocking(&registry(), UNSURE);
        assert_eq!(generator.asked(), ["convert_currency"]);
        assert!(token.granted().is_empty(), "{token:?}");
        assert!(!token.is_failure());
    }

    #[test]
    fn certain_requests_never_call_the_model() {
        let generator = fake(0.01, Answer::P(0.01));
        let token =
            hybrid(&generator).classify_blocking(&registry(), "Summarize https://example.com/news");
        assert!(generator.asked().is_empty());
        assert_eq!(token.classification_method, "hybrid-llm-fake (rules only)");
        assert_eq!(token.granted(), ["read_website"]);
    }

    #[test]
    fn model_failures_on_uncertain_tools_deny_everything() {
        for (answer, why) in [
            (Answer::Refuse, "-error: engine:"),
            (Answer::Fail, "-error: engine:"),
            (Answer::Garbage, "-error: neither yes nor no"),
            (Answer::Hang, "-error: timed out"),
        ] {
            let generator = fake(0.99, answer);
            let llm = LlmClassifier::new(generator.clone()).with_config(crate::LlmConfig {
                timeout: std::time::Duration::from_millis(50),
                ..crate::LlmConfig::default()
            });
            let token = HybridClassifier::new(RulesClassifier::default(), llm)
                .classify_blocking(&registry(), UNSURE);
            assert!(token.granted().is_empty(), "{why}: {token:?}");
            assert!(token.is_failure() && token.confidence == 0.0);
            assert!(
                token
                    .classification_method
                    .starts_with("hybrid-llm-fake-error: ")
                    && token.classification_method.contains(why),
                "{why}: {}",
                token.classification_method
            );
        }
    }

    #[test]
    fn the_weight_is_the_one_fitted_for_the_model() {
        assert_eq!(
            HybridConfig::for_name("SmolLM2 135M Instruct").llm_weight,
            0.25
        );
        assert_eq!(HybridConfig::for_name("Gemma 3 270m It").llm_weight, 0.75);
        assert_eq!(
            HybridConfig::for_name("Llama 3.2 1B Instruct"),
            HybridConfig::default()
        );
    }
}
