//! Classification by method name: [`Method`] picks rules, the LLM or the hybrid, and [`classify`]
//! runs it over a [`Generator`] (for callers such as servers, which validate their own
//! request bodies and turn them into these plain types).
//!
//! ```no_run
//! # async fn demo(model: hearth_engine::Model) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use hearth_classifier::{classify, Method, ToolDefinition, ToolRegistry};
//! let registry = ToolRegistry::from_tools(vec![ToolDefinition::new("send_email", "Send an email", 4)])?;
//! let method: Method = "hybrid".parse()?;
//! let token = classify(method, &registry, "Email bob@example.com the notes", Arc::new(model), None).await; // never fails
//! # Ok(()) }
//! ```

use std::str::FromStr;
use std::sync::Arc;

use hearth_engine::Generator;
use serde::{Deserialize, Serialize};

use crate::{
    CapabilityToken, Classifier, HybridClassifier, LlmClassifier, Policy, RulesClassifier,
    ToolRegistry, UnknownMethod,
};

/// Which classifier answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Rules only (no engine call; the default: on the frozen test split the hybrid does not
    /// improve on them).
    #[default]
    Rules,
    /// The model for every tool.
    Llm,
    /// Rules, the model for the uncertain tools.
    Hybrid,
}

impl FromStr for Method {
    type Err = UnknownMethod;
    /// `rules` (or `rule-based`), `llm` or `hybrid`.
    fn from_str(s: &str) -> Result<Self, UnknownMethod> {
        match s {
            "rules" | "rule-based" => Ok(Method::Rules),
            "llm" => Ok(Method::Llm),
            "hybrid" => Ok(Method::Hybrid),
            other => Err(UnknownMethod(other.to_owned())),
        }
    }
}

/// Classify `request` against `registry` with `method`, the model behind `generator` answering
/// for `llm` and `hybrid` (unused for `rules`). `label` names the model in
/// `classification_method` (default: the generator's [`Generator::label`]). Never fails: engine
/// errors produce a deny-all token whose `classification_method` says why.
pub async fn classify(
    method: Method,
    registry: &ToolRegistry,
    request: &str,
    generator: Arc<dyn Generator>,
    label: Option<&str>,
) -> CapabilityToken {
    classify_with(
        method,
        Policy::default(),
        registry,
        request,
        generator,
        label,
    )
    .await
}

/// [`classify`] with the rules' [`Policy`] given (the rules and the hybrid's rules stage apply
/// it; the `llm` method alone has no policy). Validate a policy from outside first
/// ([`Policy::validate`]).
pub async fn classify_with(
    method: Method,
    policy: Policy,
    registry: &ToolRegistry,
    request: &str,
    generator: Arc<dyn Generator>,
    label: Option<&str>,
) -> CapabilityToken {
    let rules = || RulesClassifier::default().with_policy(policy);
    let labelled = || {
        let llm = LlmClassifier::new(generator);
        match label {
            Some(n) => llm.with_label(n),
            None => llm,
        }
    };
    match method {
        Method::Rules => rules().classify_now(registry, request),
        Method::Llm => labelled().classify(registry, request).await,
        Method::Hybrid => {
            HybridClassifier::new(rules(), labelled())
                .classify(registry, request)
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_names_parse_and_unknown_ones_are_named() {
        assert_eq!("rules".parse(), Ok(Method::Rules));
        assert_eq!("rule-based".parse(), Ok(Method::Rules));
        assert_eq!("llm".parse(), Ok(Method::Llm));
        assert_eq!("hybrid".parse(), Ok(Method::Hybrid));
        assert_eq!(Method::default(), Method::Rules);
        let e = "magic".parse::<Method>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown method \"magic\": use \"rules\", \"llm\" or \"hybrid\""
        );
    }
}
