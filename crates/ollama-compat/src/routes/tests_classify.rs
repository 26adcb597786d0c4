//! Router tests of `POST /api/classify` without sockets: every 400 and 404, the rules method
//! (which needs no model) answering a well-formed token, and the llm/hybrid methods reaching the
//! fake model through the generation seam. The real-model test is in `tests/real_model.rs`.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::tests::{app, error_of, post};

fn tools() -> Value {
    json!([
        {"name": "read_website", "description": "Fetch a web page by URL", "risk_level": 2},
        {"name": "send_email", "description": "Send an email to a recipient", "risk_level": 4}
    ])
}

#[tokio::test]
async fn bad_tool_lists_are_400() {
    let a = app();
    let cases = [
        (
            json!({"model": "fake", "tools": [], "request": "x"}),
            "empty",
        ),
        (
            json!({"model": "fake", "tools": [{"name": "a"}, {"name": "a"}], "request": "x"}),
            "duplicate tool name",
        ),
        (
            json!({"model": "fake", "tools": [{"name": "a", "risk_level": 9}], "request": "x"}),
            "risk_level",
        ),
        (
            json!({"model": "fake", "tools": [{"name": "a", "risk_level": "high"}], "request": "x"}),
            "",
        ),
        (
            json!({"model": "fake", "request": "x"}),
            "tools is required",
        ),
        (
            json!({"model": "fake", "tools": {"name": "a"}, "request": "x"}),
            "list",
        ),
        (
            json!({"model": "fake", "tools": tools()}),
            "request is required",
        ),
        (
            json!({"model": "fake", "tools": tools(), "request": "x", "method": "magic"}),
            "unknown method",
        ),
        (
            json!({"tools": tools(), "request": "x", "method": "hybrid"}),
            "model is required",
        ),
        (json!(["not", "an", "object"]), "JSON object"),
    ];
    for (body, needle) in cases {
        let (s, v) = post(&a, "/api/classify", body.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body} -> {v}");
        assert!(
            !error_of(&v).is_empty() && error_of(&v).contains(needle),
            "{body} -> {v}"
        );
    }
}

#[tokio::test]
async fn malformed_bodies_and_unknown_models() {
    let a = app();
    let (s, _, b) = super::tests::call(&a, axum::http::Method::POST, "/api/classify", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        serde_json::from_slice::<Value>(&b).unwrap()["error"],
        "missing request body"
    );
    let (s, v) = post(
        &a,
        "/api/classify",
        json!({"model": "nope:1b", "tools": tools(), "request": "x"}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert!(error_of(&v).contains("not found"), "{v}");
}

#[tokio::test]
async fn rules_method_needs_no_model() {
    let a = app();
    let (s, v) = post(
        &a,
        "/api/classify",
        json!({"tools": tools(), "request": "Summarize https://example.com/news", "method": "rules",
               "constraints": {"send_email": {"recipient_whitelist": ["me@example.com"]}}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["granted_tools"]["read_website"], true, "{v}");
    assert_eq!(v["granted_tools"]["send_email"], false, "{v}");
    assert_eq!(v["classification_method"], "rule-based", "{v}");
    assert_eq!(
        v["constraints"]["send_email"]["recipient_whitelist"][0],
        "me@example.com"
    );
    assert_eq!(v["user_request"], "Summarize https://example.com/news");
    assert_eq!(
        a.stats.loads.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "rules never load a model"
    );
}

#[tokio::test]
async fn model_methods_classify_through_the_generation_seam() {
    let a = app();
    // The fake answers every yes/no question "yes" at P = 0.9: over both thresholds.
    let (s, v) = post(
        &a,
        "/api/classify",
        json!({"model": "fake", "tools": tools(), "request": "x", "method": "llm",
               "constraints": {"send_email": {"recipient_whitelist": ["me@example.com"]}}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["classification_method"], "llm-fake", "{v}");
    assert_eq!(v["granted_tools"]["read_website"], true, "{v}");
    assert_eq!(v["granted_tools"]["send_email"], true, "{v}");
    assert_eq!(
        v["constraints"]["send_email"]["recipient_whitelist"][0],
        "me@example.com"
    );
    assert_eq!(a.stats.loads.load(std::sync::atomic::Ordering::SeqCst), 1);

    // The default method is the rules: no model is needed.
    let (s, v) = post(
        &a,
        "/api/classify",
        json!({"tools": tools(), "request": "Summarize https://example.com/news"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["classification_method"], "rule-based", "{v}");
    assert_eq!(v["granted_tools"]["read_website"], true, "{v}");

    // The hybrid keeps the rules' firm verdicts for this request: the model is not consulted.
    let (s, v) = post(
        &a,
        "/api/classify",
        json!({"model": "fake", "tools": tools(), "request": "Summarize https://example.com/news",
               "method": "hybrid"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["classification_method"], "hybrid-llm-fake (rules only)",
        "{v}"
    );
    assert_eq!(v["granted_tools"]["read_website"], true, "{v}");
    assert_eq!(v["granted_tools"]["send_email"], false, "{v}");
}

#[tokio::test]
async fn generator_failures_fail_closed() {
    let a = app();
    let (s, v) = post(
        &a,
        "/api/classify",
        json!({"model": "fake", "tools": tools(), "request": "FAIL please", "method": "llm"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["granted_tools"]["read_website"], false, "{v}");
    assert_eq!(v["granted_tools"]["send_email"], false, "{v}");
    assert_eq!(v["confidence"], 0.0, "{v}");
    assert!(
        v["classification_method"]
            .as_str()
            .unwrap()
            .starts_with("llm-fake-error: engine:"),
        "{v}"
    );
}

#[tokio::test]
async fn capguard_prompts_on_v1_are_classified() {
    let a = app();
    let user = "Available Tools:\n- read_website (risk=2): Fetch a page [params: url]\n\nUser Request: \"Summarize https://example.com\"\n\nAnalyze the request and return JSON";
    let body = |model: &str| {
        json!({"model": model, "response_format": {"type": "json_object"}, "messages": [
            {"role": "system", "content": "You are a security-focused intent classifier for CapGuard."},
            {"role": "user", "content": user}]})
    };
    let (s, v) = post(&a, "/v1/chat/completions", body("nope:1b")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(v["error"]["type"], "not_found_error", "{v}");
    // The fake model answers through the generation seam, in CapGuard's shape.
    let (s, v) = post(&a, "/v1/chat/completions", body("fake")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let content: Value =
        serde_json::from_str(v["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(content["granted_tools"]["read_website"], true, "{content}");
    assert!(content["reasoning"]
        .as_str()
        .unwrap()
        .contains("hybrid-llm-fake"));
}
