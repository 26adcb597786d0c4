//! The `POST /api/classify` request body and its validation: JSON in, the classifier's plain
//! types (a [`ToolRegistry`], the request text, a [`Method`]) out, or a 400 whose message is fit
//! for the client; and [`run`], which classifies a validated request with a leased model (shared
//! by the route and the CapGuard shim on `/v1/chat/completions`, so neither depends on the other).

use std::collections::BTreeMap;
use std::str::FromStr;

use hearth_classifier::{Method, Policy, RulesClassifier, ToolRegistry};
use hearth_store::names::ModelName;
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;

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
    pub constraints: BTreeMap<String, serde_json::Value>,
    /// The rules' policy knobs (defaults where the body names none).
    pub policy: Policy,
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
    constraints: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    policy: Option<serde_json::Value>,
}

impl ClassifyRequest {
    /// Validate a JSON body: `tools` must be a non-empty list with unique names and risk levels
    /// 1-5, `request` a non-empty string, `method` one of rules/llm/hybrid (default rules), and
    /// `constraints` may only name listed tools, and `policy` (optional) holds only known knobs
    /// within their ranges. Every error is an [`ApiError::BadRequest`].
    pub fn from_json(body: &serde_json::Value) -> ApiResult<Self> {
        let wire: Wire =
            serde_json::from_value(body.clone()).map_err(|e| ApiError::bad(e.to_string()))?;
        let tools = wire
            .tools
            .ok_or_else(|| ApiError::bad("tools is required"))?;
        if !tools.is_array() {
            return Err(ApiError::bad("tools must be a list of tool definitions"));
        }
        let registry = ToolRegistry::from_json(&tools).map_err(|e| ApiError::bad(e.to_string()))?;
        let request = wire.request.unwrap_or_default();
        if request.trim().is_empty() {
            return Err(ApiError::bad("request is required"));
        }
        let method = wire
            .method
            .as_deref()
            .map(Method::from_str)
            .transpose()
            .map_err(|e| ApiError::bad(e.to_string()))?
            .unwrap_or_default();
        if let Some(unknown) = wire.constraints.keys().find(|k| !registry.contains(k)) {
            return Err(ApiError::bad(format!(
                "constraints name unknown tool {unknown:?}"
            )));
        }
        // Parsed apart from the body so that its errors say they are the policy's.
        let policy = match wire.policy {
            None => Policy::default(),
            Some(value) => {
                let policy: Policy = serde_json::from_value(value)
                    .map_err(|e| ApiError::bad(format!("policy: {e}")))?;
                policy
                    .validate()
                    .map_err(|e| ApiError::bad(e.to_string()))?;
                policy
            }
        };
        Ok(Self {
            model: wire.model,
            registry,
            request,
            method,
            constraints: wire.constraints,
            policy,
        })
    }
}

/// Classify a validated request: resolve its model (404 when unknown), lease it, classify.
pub async fn run(
    st: &SharedState,
    request: &ClassifyRequest,
) -> ApiResult<hearth_classifier::CapabilityToken> {
    let record = match request.model.as_deref() {
        None | Some("") if request.method == Method::Rules => None,
        None | Some("") => return Err(ApiError::bad("model is required")),
        Some(model) => {
            let not_found =
                || ApiError::NotFound(format!("model \"{model}\" not found, try pulling it first"));
            let name = ModelName::parse(model).ok_or_else(not_found)?;
            Some(st.catalog.resolve(&name)?.ok_or_else(not_found)?)
        }
    };
    let Some(record) = record.filter(|_| request.method != Method::Rules) else {
        let mut token = RulesClassifier::default()
            .with_policy(request.policy)
            .classify_now(&request.registry, &request.request);
        token.constraints = request.constraints.clone();
        return Ok(token);
    };
    let _ticket = st.scheduler.admit()?;
    let lease = crate::state::lease(st, &record, None).await?;
    let mut token = hearth_classifier::classify_with(
        request.method,
        request.policy,
        &request.registry,
        &request.request,
        lease.model().generator(),
        request.model.as_deref(),
    )
    .await;
    token.constraints = request.constraints.clone();
    if token.classification_method.contains("-error: ") {
        tracing::warn!(method = %token.classification_method, "classifier failed closed");
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(body: serde_json::Value) -> String {
        match ClassifyRequest::from_json(&body) {
            Err(ApiError::BadRequest(m)) => m,
            Err(e) => panic!("not a 400: {e}"),
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
        assert_eq!(err(json!({"request": "x"})), "tools is required");
        assert_eq!(
            err(json!({"tools": {"name": "a"}, "request": "x"})),
            "tools must be a list of tool definitions"
        );
        assert_eq!(
            err(json!({"tools": [{"name": "a"}]})),
            "request is required"
        );
        assert_eq!(
            err(json!({"tools": [{"name": "a"}], "request": "x", "method": "magic"})),
            "unknown method \"magic\": use \"rules\", \"llm\" or \"hybrid\""
        );
        assert_eq!(
            err(json!({"tools": [{"name": "a"}], "request": "x", "constraints": {"b": {}}})),
            "constraints name unknown tool \"b\""
        );
    }

    #[test]
    fn policies_are_optional_and_bad_knobs_are_400s() {
        let body = |policy: serde_json::Value| json!({"tools": [{"name": "a"}], "request": "x", "policy": policy});
        let r = ClassifyRequest::from_json(&body(json!({"fallback_max_risk": 0}))).unwrap();
        assert_eq!(r.policy.fallback_max_risk, 0);
        assert_eq!(
            r.policy.commanded_max_risk,
            Policy::default().commanded_max_risk
        );
        let r = ClassifyRequest::from_json(&body(serde_json::Value::Null)).unwrap();
        assert_eq!(r.policy, Policy::default());
        assert_eq!(
            err(body(json!({"explicit_ask_min_risk": 0}))),
            "policy explicit_ask_min_risk must be between 1 and 6, got 0"
        );
        assert_eq!(
            err(body(json!({"domain_write_max_risk": 6}))),
            "policy domain_write_max_risk must be between 0 and 5, got 6"
        );
        let r = ClassifyRequest::from_json(&body(json!({"domain_write_max_risk": 0}))).unwrap();
        assert_eq!(r.policy.domain_write_max_risk, 0);
        assert!(err(body(json!({"max_risk": 3}))).starts_with("policy: unknown field `max_risk`"));
        assert!(err(body(json!("strict"))).starts_with("policy: "));
    }

    #[test]
    fn good_requests_default_to_rules() {
        let r = ClassifyRequest::from_json(&json!({"model": "smollm2:135m", "tools": [{"name": "a", "risk_level": 2}], "request": "x"}))
            .unwrap();
        assert_eq!(r.method, Method::Rules);
        assert_eq!(r.registry.len(), 1);
        assert_eq!(r.model.as_deref(), Some("smollm2:135m"));
    }
}
