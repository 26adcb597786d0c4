//! The `/api/classify` request shape and handler body, for the HTTP server to call.
//!
//! ```no_run
//! # async fn demo(model: hearth_engine::Model) -> Result<(), hearth_classifier::ApiError> {
//! let body = serde_json::json!({
//!     "model": "smollm2:135m",
//!     "tools": [{"name": "send_email", "description": "Send an email", "risk_level": 4}],
//!     "request": "Email bob@example.com the notes",
//! });
//! let request = hearth_classifier::ClassifyRequest::from_json(&body)?; // 400 on error
//! let token = hearth_classifier::classify(&request, &model).await;      // never fails
//! # Ok(()) }
//! ```

use std::str::FromStr;

use hearth_engine::Model;
use serde::{Deserialize, Serialize};

use crate::{
    ApiError, CapabilityToken, Classifier, HybridClassifier, LlmClassifier, RulesClassifier,
    ToolRegistry,
};

/// Which classifier answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Rules only (no engine call).
    Rules,
    /// The model for every tool.
    Llm,
    /// Rules, the model for the uncertain tools (default).
    #[default]
    Hybrid,
}

impl FromStr for Method {
    type Err = ApiError;
    fn from_str(s: &str) -> Result<Self, ApiError> {
        match s {
            "rules" | "rule-based" => Ok(Method::Rules),
            "llm" => Ok(Method::Llm),
            "hybrid" => Ok(Method::Hybrid),
            other => Err(ApiError::BadRequest(format!(
                "unknown method {other:?}: use \"rules\", \"llm\" or \"hybrid\""
            ))),
        }
    }
}

/// A validated `/api/classify` body.
#[derive(Debug, Clone)]
pub struct ClassifyRequest {
    /// The model name as sent (the server resolves and loads it).
    pub model: Option<String>,
    /// The validated tool registry.
    pub registry: ToolRegistry,
    /// The user request.
    pub request: String,
    /// The method.
    pub method: Method,
    /// Constraints to copy into the token, keyed by tool.
    pub constraints: std::collections::BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct Wire {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    tools: Option<serde_json::Value>,
    #[serde(default)]
    request: Option<String>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    constraints: std::collections::BTreeMap<String, serde_json::Value>,
}

impl ClassifyRequest {
    /// Validate a JSON body: `tools` must be a non-empty list with unique names and risk levels
    /// 1-5, `request` a non-empty string, `method` one of rules/llm/hybrid (default hybrid).
    /// Every error is an [`ApiError::BadRequest`] with a message fit for the client.
    pub fn from_json(body: &serde_json::Value) -> Result<Self, ApiError> {
        let wire: Wire = serde_json::from_value(body.clone())
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let tools = wire
            .tools
            .ok_or_else(|| ApiError::BadRequest("tools is required".into()))?;
        if !tools.is_array() {
            return Err(ApiError::BadRequest(
                "tools must be a list of tool definitions".into(),
            ));
        }
        let registry = ToolRegistry::from_json(&tools)?;
        let request = wire.request.unwrap_or_default();
        if request.trim().is_empty() {
            return Err(ApiError::BadRequest("request is required".into()));
        }
        let method = wire
            .method
            .as_deref()
            .map(Method::from_str)
            .transpose()?
            .unwrap_or_default();
        if let Some(unknown) = wire.constraints.keys().find(|k| !registry.contains(k)) {
            return Err(ApiError::BadRequest(format!(
                "constraints name unknown tool {unknown:?}"
            )));
        }
        Ok(Self {
            model: wire.model,
            registry,
            request,
            method,
            constraints: wire.constraints,
        })
    }
}

/// Classify a validated request with `model` (unused for `rules`). Never fails: engine errors
/// produce a deny-all token whose `classification_method` says why.
pub async fn classify(request: &ClassifyRequest, model: &Model) -> CapabilityToken {
    let mut token = match request.method {
        Method::Rules => {
            RulesClassifier::default().classify_now(&request.registry, &request.request)
        }
        Method::Llm => {
            let llm = labelled(model, request.model.as_deref());
            llm.classify(&request.registry, &request.request).await
        }
        Method::Hybrid => {
            let llm = labelled(model, request.model.as_deref());
            HybridClassifier::new(RulesClassifier::default(), llm)
                .classify(&request.registry, &request.request)
                .await
        }
    };
    token.constraints = request.constraints.clone();
    token
}

fn labelled(model: &Model, name: Option<&str>) -> LlmClassifier {
    let llm = LlmClassifier::new(model.clone());
    match name {
        Some(n) => llm.with_label(n),
        None => llm,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(body: serde_json::Value) -> String {
        match ClassifyRequest::from_json(&body) {
            Err(ApiError::BadRequest(m)) => m,
            Ok(_) => panic!("accepted {body}"),
        }
    }

    #[test]
    fn bad_tool_lists_are_400s_with_clear_messages() {
        assert_eq!(
            err(json!({"tools": [], "request": "x"})),
            "the tool list is empty"
        );
        assert!(
            err(json!({"tools": [{"name": "a"}, {"name": "a"}], "request": "x"}))
                .contains("duplicate tool name")
        );
        assert!(
            err(json!({"tools": [{"name": "a", "risk_level": 9}], "request": "x"}))
                .contains("risk_level")
        );
        assert!(err(json!({"request": "x"})).contains("tools is required"));
        assert!(err(json!({"tools": {"name": "a"}, "request": "x"})).contains("list"));
        assert!(err(json!({"tools": [{"name": "a"}]})).contains("request is required"));
        assert!(
            err(json!({"tools": [{"name": "a"}], "request": "x", "method": "magic"}))
                .contains("unknown method")
        );
    }

    #[test]
    fn good_requests_default_to_hybrid() {
        let r = ClassifyRequest::from_json(&json!({"model": "smollm2:135m", "tools": [{"name": "a", "risk_level": 2}], "request": "x"}))
            .unwrap();
        assert_eq!(r.method, Method::Hybrid);
        assert_eq!(r.registry.len(), 1);
    }
}
