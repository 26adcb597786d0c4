//! Router unit tests of the Anthropic Messages API over the fake backend: every response
//! shape (message, event stream, token count) and every error in Anthropic's shape.

use axum::body::{Body, Bytes};
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};
use tower::ServiceExt;

use super::tests::{app, app_with, call, post, send, App};

fn body(extra: Value) -> Value {
    let mut b = json!({"model": "fake", "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}]});
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

fn weather_tool() -> Value {
    json!({"name": "get_weather", "description": "Weather of a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
            "required": ["city"]}})
}

/// An Anthropic error: its status, `error.type` and message.
async fn error(a: &App, uri: &str, b: Value) -> (StatusCode, String, String) {
    let (s, v) = post(a, uri, b).await;
    assert_eq!(v["type"], "error", "{v}");
    assert!(v["request_id"].as_str().unwrap().starts_with("req_"), "{v}");
    (
        s,
        v["error"]["type"].as_str().unwrap().to_owned(),
        v["error"]["message"].as_str().unwrap().to_owned(),
    )
}

/// `(event, data)` pairs of an event stream; each data's `type` is its event name.
fn events(b: &Bytes) -> Vec<(String, Value)> {
    let text = std::str::from_utf8(b).unwrap();
    text.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let mut lines = e.lines();
            let name = lines.next().unwrap().strip_prefix("event: ").unwrap();
            let data = lines.next().unwrap().strip_prefix("data: ").unwrap();
            assert!(lines.next().is_none(), "{e}");
            let v: Value = serde_json::from_str(data).unwrap();
            assert_eq!(v["type"], name, "{e}");
            (name.to_owned(), v)
        })
        .collect()
}

async fn stream(a: &App, b: Value) -> Vec<(String, Value)> {
    let (s, h, bytes) = call(a, Method::POST, "/v1/messages", Some(b)).await;
    assert_eq!(s, StatusCode::OK, "{bytes:?}");
    assert_eq!(h[header::CONTENT_TYPE], "text/event-stream");
    events(&bytes)
}

#[tokio::test]
async fn message_shape() {
    let a = app();
    let (s, h, b) = call(&a, Method::POST, "/v1/messages", Some(body(json!({})))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "application/json");
    assert!(h["request-id"].to_str().unwrap().starts_with("req_01"));
    let v: Value = serde_json::from_slice(&b).unwrap();
    let id = v["id"].as_str().unwrap();
    assert!(id.starts_with("msg_01") && id.len() == 28, "{v}");
    assert_eq!(
        v,
        json!({"id": id, "type": "message", "role": "assistant", "model": "fake",
            "content": [{"type": "text", "text": "Hello, world!"}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 7, "output_tokens": 4,
                "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}})
    );
    // max_tokens reached.
    let (s, v) = post(&a, "/v1/messages", body(json!({"max_tokens": 2}))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["content"][0]["text"], "Hello,");
    assert_eq!(v["stop_reason"], "max_tokens");
    assert_eq!(v["usage"]["output_tokens"], 2);
    // Everything optional at once, with Anthropic's headers: accepted.
    let all = body(json!({
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]},
                     {"role": "assistant", "content": [
                        {"type": "thinking", "thinking": "hmm", "signature": "x"},
                        {"type": "text", "text": "Hello"}]},
                     {"role": "user", "content": "again"}],
        "stop_sequences": ["\n\nHuman:"], "temperature": 0.2, "top_p": 0.9, "top_k": 20,
        "metadata": {"user_id": "u-1"}, "thinking": {"type": "enabled", "budget_tokens": 1024},
        "service_tier": "auto",
    }));
    let req = Request::post("/v1/messages")
        .header(header::CONTENT_TYPE, "application/json")
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "tools-2024-05-16")
        .body(Body::from(all.to_string()))
        .unwrap();
    let (s, _, b) = send(&a, req).await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(s, StatusCode::OK, "{v}");
    // No thinking block: the model has no thinking.
    assert_eq!(
        v["content"],
        json!([{"type": "text", "text": "Hello, world!"}])
    );
    // Structured output: the schema reaches the sampler as a grammar (the fake then emits JSON).
    let schema = json!({"type": "object", "properties": {"answer": {"type": "integer"}}});
    let b = body(json!({"output_config": {"effort": "low",
        "format": {"type": "json_schema", "schema": schema}}}));
    let (s, v) = post(&a, "/v1/messages", b).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["content"][0]["text"], "{\"answer\": 42}");
}

#[tokio::test]
async fn tool_use_and_results() {
    let a = app();
    let b = body(json!({"tools": [weather_tool()],
        "messages": [{"role": "user", "content": "TOOL: weather in Tokyo?"}]}));
    let (s, v) = post(&a, "/v1/messages", b).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["stop_reason"], "tool_use", "{v}");
    let content = v["content"].as_array().unwrap();
    assert_eq!(content.len(), 1, "{v}");
    let call = &content[0];
    assert_eq!(call["type"], "tool_use");
    assert!(call["id"].as_str().unwrap().starts_with("toolu_01"));
    assert_eq!(call["name"], "get_weather");
    assert_eq!(call["input"], json!({"city": "Tokyo"}));
    // The round trip: the call and its results (a string, blocks, an error) go back in.
    let id = call["id"].as_str().unwrap();
    let back = body(json!({"tools": [weather_tool()], "messages": [
        {"role": "user", "content": "weather in Tokyo?"},
        {"role": "assistant", "content": [{"type": "text", "text": "Checking."}, call.clone()]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": id, "content": "sunny"},
            {"type": "tool_result", "tool_use_id": id,
                "content": [{"type": "text", "text": "22C"}]},
            {"type": "tool_result", "tool_use_id": id, "content": "timeout", "is_error": true},
            {"type": "text", "text": "And tomorrow?"}]}]}));
    let (s, v) = post(&a, "/v1/messages", back.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["stop_reason"], "end_turn");
    // What the model saw: tool messages first, the error said as one.
    let (s, v) = post(&a, "/v1/messages/count_tokens", back).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["input_tokens"].as_u64().unwrap() > 0);
    // Every tool_choice is accepted and mapped; a bad one is a 400.
    for tc in [
        json!({"type": "auto"}),
        json!({"type": "any"}),
        json!({"type": "tool", "name": "get_weather"}),
        json!({"type": "none"}),
        json!({"type": "any", "disable_parallel_tool_use": true}),
    ] {
        let b = body(json!({"tools": [weather_tool()], "tool_choice": tc}));
        let (s, v) = post(&a, "/v1/messages", b).await;
        assert_eq!(s, StatusCode::OK, "{tc}: {v}");
    }
    // tool_choice none: the model is not shown the tools, nor is its output parsed for calls.
    let b = body(
        json!({"tools": [weather_tool()], "tool_choice": {"type": "none"},
        "messages": [{"role": "user", "content": "TOOL"}]}),
    );
    let (_, v) = post(&a, "/v1/messages", b).await;
    assert_eq!(v["content"][0]["type"], "text", "{v}");
    for (tc, needle) in [
        (json!({"type": "tool", "name": "nope"}), "tool_choice.name"),
        (json!({"type": "tool"}), "tool_choice.name: Field required"),
        (json!({"type": "sometimes"}), "tool_choice.type"),
        (json!({}), "tool_choice.type: Field required"),
        (
            json!({"type": "auto", "disable_parallel_tool_use": "yes"}),
            "disable_parallel_tool_use",
        ),
    ] {
        let b = body(json!({"tools": [weather_tool()], "tool_choice": tc}));
        let (s, kind, msg) = error(&a, "/v1/messages", b).await;
        assert_eq!(
            (s, kind.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_request_error")
        );
        assert!(msg.contains(needle), "{msg}");
    }
    let (s, _, msg) = error(
        &a,
        "/v1/messages",
        body(json!({"tool_choice": {"type": "any"}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(msg.contains("tools"), "{msg}");
}

#[tokio::test]
async fn event_stream() {
    let a = app();
    let ev = stream(&a, body(json!({"stream": true}))).await;
    let names: Vec<&str> = ev.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "ping",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let start = &ev[0].1["message"];
    assert!(start["id"].as_str().unwrap().starts_with("msg_01"));
    assert_eq!(start["content"], json!([]));
    assert_eq!(start["stop_reason"], Value::Null);
    // The prompt's exact count, as count_tokens gives it.
    let (_, counted) = post(&a, "/v1/messages/count_tokens", body(json!({}))).await;
    assert_eq!(start["usage"]["input_tokens"], counted["input_tokens"]);
    assert_eq!(
        ev[2].1,
        json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}})
    );
    let text: String = ev[3..7]
        .iter()
        .map(|(_, d)| {
            assert_eq!(d["index"], 0);
            assert_eq!(d["delta"]["type"], "text_delta");
            d["delta"]["text"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(text, "Hello, world!");
    assert_eq!(ev[7].1, json!({"type": "content_block_stop", "index": 0}));
    assert_eq!(
        ev[8].1,
        json!({"type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": null},
            "usage": {"input_tokens": 7, "output_tokens": 4,
                "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}})
    );
    // A tool call: a tool_use block whose input comes as input_json_delta.
    let b = body(json!({"stream": true, "tools": [weather_tool()],
        "messages": [{"role": "user", "content": "TOOL"}]}));
    let ev = stream(&a, b).await;
    let names: Vec<&str> = ev.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "ping",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let block = &ev[2].1["content_block"];
    assert_eq!(block["type"], "tool_use");
    assert_eq!(block["name"], "get_weather");
    assert_eq!(block["input"], json!({}));
    assert!(block["id"].as_str().unwrap().starts_with("toolu_01"));
    let delta = &ev[3].1["delta"];
    assert_eq!(delta["type"], "input_json_delta");
    let input: Value = serde_json::from_str(delta["partial_json"].as_str().unwrap()).unwrap();
    assert_eq!(input, json!({"city": "Tokyo"}));
    assert_eq!(ev[5].1["delta"]["stop_reason"], "tool_use");
}

#[tokio::test]
async fn count_tokens_is_the_rendered_prompt() {
    let a = app();
    // The fake renders `role: content` lines and tokenizes to bytes, with no BOS.
    let (s, h, b) = call(
        &a,
        Method::POST,
        "/v1/messages/count_tokens",
        Some(json!({"model": "fake", "system": "S",
            "messages": [{"role": "user", "content": "Hi"}]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "application/json");
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(
        v,
        json!({"input_tokens": "system: S\nuser: Hi\nassistant:".len()})
    );
    let (_, v) = post(
        &a,
        "/v1/messages/count_tokens",
        json!({"model": "fake", "system": [{"type": "text", "text": "S"}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "H"},
                {"type": "text", "text": "i"}]}]}),
    )
    .await;
    assert_eq!(v["input_tokens"], "system: S\nuser: Hi\nassistant:".len());
    for (b, status, kind) in [
        (
            json!({"model": "nope", "messages": [{"role": "user", "content": "x"}]}),
            StatusCode::NOT_FOUND,
            "not_found_error",
        ),
        (
            json!({"model": "fake"}),
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}]}),
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
        ),
    ] {
        let (s, k, _) = error(&a, "/v1/messages/count_tokens", b).await;
        assert_eq!((s, k.as_str()), (status, kind));
    }
}

/// `tool_choice: none` hides the tools from the counted prompt, as it does from the turn's.
#[tokio::test]
async fn count_tokens_leaves_out_tools_hidden_by_tool_choice_none() {
    let a = app();
    let mut counts = Vec::new();
    for extra in [
        json!({}),
        json!({"tools": [weather_tool()]}),
        json!({"tools": [weather_tool()], "tool_choice": {"type": "none"}}),
    ] {
        let (s, v) = post(&a, "/v1/messages/count_tokens", body(extra)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        counts.push(v["input_tokens"].as_u64().unwrap());
    }
    assert!(counts[1] > counts[0], "the tools are counted: {counts:?}");
    assert_eq!(
        counts[2], counts[0],
        "tool_choice none still counts the tools: {counts:?}"
    );
}

#[tokio::test]
async fn request_errors_are_anthropic_errors() {
    let a = app();
    let bad = StatusCode::BAD_REQUEST;
    for (b, needle) in [
        (
            json!({"model": "fake", "messages": [{"role": "user", "content": "x"}]}),
            "max_tokens: Field required",
        ),
        (body(json!({"max_tokens": 0})), "max_tokens"),
        (body(json!({"max_tokens": "ten"})), "max_tokens"),
        (body(json!({"messages": []})), "at least one message"),
        (body(json!({"messages": "hi"})), "messages"),
        (
            body(json!({"messages": [{"role": "system", "content": "x"}]})),
            "messages.0.role",
        ),
        (
            body(json!({"messages": [{"role": "user"}]})),
            "messages.0.content: Field required",
        ),
        (
            body(json!({"messages": [{"role": "user", "content": 5}]})),
            "messages.0.content",
        ),
        (
            body(json!({"messages": [{"role": "user", "content": [{"type": "text"}]}]})),
            "messages.0.content.0.text",
        ),
        (
            body(
                json!({"messages": [{"role": "user", "content": [{"type": "document",
            "source": {}}]}]}),
            ),
            "'document' is not supported",
        ),
        (
            body(
                json!({"messages": [{"role": "user", "content": [{"type": "image", "source":
            {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}]}]}),
            ),
            "does not support vision",
        ),
        (
            body(
                json!({"messages": [{"role": "user", "content": [{"type": "image", "source":
            {"type": "url", "url": "https://x/y.png"}}]}]}),
            ),
            "base64",
        ),
        (
            body(
                json!({"messages": [{"role": "assistant", "content": [{"type": "tool_use",
            "name": "f", "input": {}}]}]}),
            ),
            "messages.0.content.0.id",
        ),
        (
            body(
                json!({"messages": [{"role": "user", "content": [{"type": "tool_use",
            "id": "toolu_1", "name": "f", "input": {}}]}]}),
            ),
            "only allowed in assistant",
        ),
        (
            body(
                json!({"messages": [{"role": "user", "content": [{"type": "tool_result",
            "content": "x"}]}]}),
            ),
            "tool_use_id",
        ),
        (body(json!({"system": 5})), "system"),
        (body(json!({"system": [{"type": "image"}]})), "system.0"),
        (
            body(json!({"tools": [{"name": "f"}]})),
            "tools.0.input_schema",
        ),
        (
            body(json!({"tools": [{"input_schema": {"type": "object"}}]})),
            "tools.0.name",
        ),
        (
            body(json!({"tools": [{"type": "web_search_20250305", "name": "web_search"}]})),
            "not supported",
        ),
        (
            body(json!({"thinking": {"type": "sometimes"}})),
            "thinking.type",
        ),
        (
            body(json!({"thinking": {"type": "enabled"}})),
            "budget_tokens",
        ),
        (body(json!({"stop_sequences": "STOP"})), "stop_sequences"),
        (body(json!({"temperature": "hot"})), "temperature"),
        (body(json!({"stream": "yes"})), "stream"),
        (body(json!({"model": ""})), "model"),
        (
            body(json!({"output_config": {"format": {"type": "xml"}}})),
            "output_config.format.type",
        ),
        (
            body(json!({"output_config": {"format": {"type": "json_schema"}}})),
            "output_config.format.schema",
        ),
    ] {
        let (s, kind, msg) = error(&a, "/v1/messages", b.clone()).await;
        assert_eq!(
            (s, kind.as_str()),
            (bad, "invalid_request_error"),
            "{b}: {msg}"
        );
        assert!(msg.contains(needle), "{b}: {msg}");
    }
    let (s, kind, msg) = error(&a, "/v1/messages", body(json!({"model": "nope"}))).await;
    assert_eq!(
        (s, kind.as_str()),
        (StatusCode::NOT_FOUND, "not_found_error")
    );
    assert!(msg.contains("nope"), "{msg}");
    // Bodies that are not JSON objects at all.
    for raw in ["", "{not json", "[1, 2]", "null"] {
        let req = Request::post("/v1/messages")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(raw))
            .unwrap();
        let (s, _, b) = send(&a, req).await;
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(s, bad, "{raw:?}: {v}");
        assert_eq!(v["error"]["type"], "invalid_request_error", "{raw:?}: {v}");
    }
}

#[tokio::test]
async fn guards_answer_in_anthropic_shape() {
    let k = app_with(|c| c.api_key = Some("s3cret".into()));
    let (s, kind, _) = error(&k, "/v1/messages", body(json!({}))).await;
    assert_eq!(
        (s, kind.as_str()),
        (StatusCode::UNAUTHORIZED, "authentication_error")
    );
    let (s, kind, _) = error(&k, "/v1/messages/count_tokens", body(json!({}))).await;
    assert_eq!(
        (s, kind.as_str()),
        (StatusCode::UNAUTHORIZED, "authentication_error")
    );
    for (name, value) in [("x-api-key", "s3cret"), ("authorization", "Bearer s3cret")] {
        let req = Request::post("/v1/messages")
            .header(header::CONTENT_TYPE, "application/json")
            .header(name, value)
            .body(Body::from(body(json!({})).to_string()))
            .unwrap();
        assert_eq!(send(&k, req).await.0, StatusCode::OK, "{name}");
    }
    let wrong = Request::post("/v1/messages")
        .header("x-api-key", "guess")
        .body(Body::from(body(json!({})).to_string()))
        .unwrap();
    assert_eq!(send(&k, wrong).await.0, StatusCode::UNAUTHORIZED);
    // x-api-key works on the other routes too; their 401 keeps the native shape.
    let native = Request::get("/api/tags")
        .header("x-api-key", "s3cret")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&k, native).await.0, StatusCode::OK);
    let (_, _, b) = call(&k, Method::GET, "/api/tags", None).await;
    assert_eq!(
        serde_json::from_slice::<Value>(&b).unwrap(),
        json!({"error": "unauthorized"})
    );

    // Browsers may send Anthropic's headers.
    let a = app();
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/v1/messages")
        .header(header::ORIGIN, "http://localhost:3000")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "x-api-key,anthropic-version,anthropic-beta,content-type",
        )
        .body(Body::empty())
        .unwrap();
    let (s, h, _) = send(&a, preflight).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let allowed = h[header::ACCESS_CONTROL_ALLOW_HEADERS].to_str().unwrap();
    assert!(
        allowed.contains("x-api-key") && allowed.contains("anthropic-version"),
        "{allowed}"
    );

    // The body limit: declared or found while reading.
    let small = app_with(|c| c.body_limit = 1024);
    let big = body(json!({"system": "x".repeat(4096)})).to_string();
    let declared = Request::post("/v1/messages")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, big.len())
        .body(Body::from(big.clone()))
        .unwrap();
    let chunks = futures::stream::iter(
        big.into_bytes()
            .chunks(512)
            .map(|c| Ok::<_, std::io::Error>(Bytes::from(c.to_vec())))
            .collect::<Vec<_>>(),
    );
    let streamed = Request::post("/v1/messages/count_tokens")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(chunks))
        .unwrap();
    for req in [declared, streamed] {
        let (s, _, b) = send(&small, req).await;
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
        assert_eq!(v["type"], "error", "{v}");
        assert_eq!(v["error"]["type"], "request_too_large", "{v}");
    }
}

#[tokio::test]
async fn a_full_queue_is_overloaded_and_metrics_count_the_routes() {
    let a = app_with(|c| {
        c.scheduler.max_queue = 0;
        c.scheduler.num_parallel = 1;
        c.scheduler.max_loaded = 1;
    });
    let slow = body(json!({"stream": true, "messages": [{"role": "user", "content": "SLOW"}]}));
    let first = a
        .router
        .clone()
        .oneshot(
            Request::post("/v1/messages")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(slow.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let (s, kind, _) = error(&a, "/v1/messages", body(json!({}))).await;
    assert_eq!((s.as_u16(), kind.as_str()), (529, "overloaded_error"));
    let (s, kind, _) = error(&a, "/v1/messages/count_tokens", body(json!({}))).await;
    assert_eq!((s.as_u16(), kind.as_str()), (529, "overloaded_error"));
    drop(first);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let (s, _) = post(&a, "/v1/messages", body(json!({}))).await;
    assert_eq!(s, StatusCode::OK, "the queue place was freed");
    post(&a, "/v1/messages/count_tokens", body(json!({}))).await;
    let (_, _, b) = call(&a, Method::GET, "/metrics", None).await;
    let text = String::from_utf8(b.to_vec()).unwrap();
    for line in [
        "hearth_http_requests_total{endpoint=\"/v1/messages\",status=\"200\"} 2",
        "hearth_http_requests_total{endpoint=\"/v1/messages\",status=\"529\"} 1",
        "hearth_http_requests_total{endpoint=\"/v1/messages/count_tokens\",status=\"200\"} 1",
    ] {
        assert!(text.contains(line), "{line} missing from {text}");
    }
}
