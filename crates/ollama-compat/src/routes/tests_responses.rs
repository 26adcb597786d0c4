//! Router unit tests of `POST /v1/responses` over the fake backend: every shape and every error.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};

use super::tests::{app, app_with, call, post, send};

const URI: &str = "/v1/responses";

fn tools() -> Value {
    json!([{"type": "function", "name": "get_weather", "description": "Weather of a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}])
}

/// The SSE events of a streamed answer: (event line, data object).
async fn events(a: &super::tests::App, body: Value) -> Vec<(String, Value)> {
    let (s, h, b) = call(a, Method::POST, URI, Some(body)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(h[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let text = String::from_utf8(b.to_vec()).unwrap();
    assert!(!text.contains("[DONE]"));
    text.split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            let (ev, data) = e.split_once('\n').unwrap();
            let ev = ev.strip_prefix("event: ").unwrap().to_owned();
            let data: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
            assert_eq!(data["type"], ev.as_str());
            (ev, data)
        })
        .collect()
}

fn kinds(evs: &[(String, Value)]) -> Vec<&str> {
    evs.iter().map(|(k, _)| k.as_str()).collect()
}

#[tokio::test]
async fn text_response_object() {
    let a = app();
    let (s, h, b) = call(
        &a,
        Method::POST,
        URI,
        Some(
            json!({"model": "fake", "input": "hi", "instructions": "Be nice.",
                    "metadata": {"k": "v"}, "user": "u1", "temperature": 0.5}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "application/json");
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert!(v["id"].as_str().unwrap().starts_with("resp_"));
    assert_eq!(v["object"], "response");
    assert_eq!(v["status"], "completed");
    assert!(v["created_at"].as_i64().unwrap() > 0);
    assert_eq!(v["model"], "fake");
    assert_eq!(v["incomplete_details"], Value::Null);
    assert_eq!(v["error"], Value::Null);
    let item = &v["output"][0];
    assert_eq!(v["output"].as_array().unwrap().len(), 1);
    assert!(item["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(
        (&item["type"], &item["status"], &item["role"]),
        (&json!("message"), &json!("completed"), &json!("assistant"))
    );
    assert_eq!(
        item["content"],
        json!([{"type": "output_text", "annotations": [], "logprobs": [], "text": "Hello, world!"}])
    );
    assert_eq!(
        v["usage"],
        json!({"input_tokens": 7, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
               "output_tokens": 4, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 11})
    );
    // The echo.
    assert_eq!(v["instructions"], "Be nice.");
    assert_eq!(v["metadata"], json!({"k": "v"}));
    assert_eq!(v["user"], "u1");
    assert_eq!(v["temperature"], 0.5);
    assert_eq!(v["top_p"], 1.0);
    assert_eq!(v["tool_choice"], "auto");
    assert_eq!(v["tools"], json!([]));
    assert_eq!(v["parallel_tool_calls"], true);
    assert_eq!(
        v["text"],
        json!({"format": {"type": "text"}, "verbosity": "medium"})
    );
    assert_eq!(v["truncation"], "disabled");
    assert_eq!(v["store"], true);
    assert_eq!(v["previous_response_id"], Value::Null);
}

#[tokio::test]
async fn max_output_tokens_is_incomplete() {
    let a = app();
    let (s, v) = post(
        &a,
        URI,
        json!({"model": "fake", "input": "hi", "max_output_tokens": 2}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["status"], "incomplete");
    assert_eq!(
        v["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    assert_eq!(v["output"][0]["status"], "incomplete");
    assert_eq!(v["output"][0]["content"][0]["text"], "Hello,");
    assert_eq!(v["max_output_tokens"], 2);
    let evs = events(
        &a,
        json!({"model": "fake", "input": "hi", "max_output_tokens": 2, "stream": true}),
    )
    .await;
    let (last, data) = evs.last().unwrap();
    assert_eq!(last, "response.incomplete");
    assert_eq!(
        data["response"]["incomplete_details"]["reason"],
        "max_output_tokens"
    );
}

#[tokio::test]
async fn text_stream_events_in_order() {
    let a = app();
    let evs = events(
        &a,
        json!({"model": "fake", "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}], "stream": true}),
    )
    .await;
    assert_eq!(
        kinds(&evs),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let seq: Vec<u64> = evs
        .iter()
        .map(|(_, d)| d["sequence_number"].as_u64().unwrap())
        .collect();
    assert_eq!(seq, (0..evs.len() as u64).collect::<Vec<_>>());
    let created = &evs[0].1["response"];
    assert_eq!(
        (&created["status"], &created["output"]),
        (&json!("in_progress"), &json!([]))
    );
    assert_eq!(created["usage"], Value::Null);
    let id = created["id"].clone();
    assert!(evs
        .iter()
        .filter(|(k, _)| k.starts_with("response.") && k.matches('.').count() == 1)
        .all(|(_, d)| d["response"]["id"] == id));
    let added = &evs[2].1;
    assert_eq!(added["output_index"], 0);
    assert_eq!(added["item"]["status"], "in_progress");
    assert_eq!(added["item"]["content"], json!([]));
    let item_id = added["item"]["id"].clone();
    let deltas: String = evs
        .iter()
        .filter(|(k, _)| k == "response.output_text.delta")
        .map(|(_, d)| {
            assert_eq!((&d["item_id"], &d["content_index"]), (&item_id, &json!(0)));
            d["delta"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(deltas, "Hello, world!");
    assert_eq!(evs[8].1["text"], "Hello, world!");
    assert_eq!(evs[9].1["part"]["text"], "Hello, world!");
    assert_eq!(evs[10].1["item"]["status"], "completed");
    let done = &evs[11].1["response"];
    assert_eq!(done["status"], "completed");
    assert_eq!(done["output"][0]["content"][0]["text"], "Hello, world!");
    assert_eq!(done["usage"]["output_tokens"], 4);
}

#[tokio::test]
async fn function_calls_and_their_round_trip() {
    let a = app();
    let (s, v) = post(
        &a,
        URI,
        json!({"model": "fake", "input": "TOOL", "tools": tools(), "tool_choice": "auto"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let out = v["output"].as_array().unwrap();
    assert_eq!(out.len(), 1, "{v}");
    let fc = &out[0];
    assert_eq!(
        (&fc["type"], &fc["status"]),
        (&json!("function_call"), &json!("completed"))
    );
    assert!(fc["id"].as_str().unwrap().starts_with("fc_"));
    assert!(fc["call_id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(fc["name"], "get_weather");
    let args: Value = serde_json::from_str(fc["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"city": "Tokyo"}));
    assert_eq!(
        v["tools"][0],
        json!({"type": "function", "name": "get_weather", "description": "Weather of a city",
               "parameters": tools()[0]["parameters"], "strict": true})
    );
    // Streamed: added, arguments delta and done, item done.
    let evs = events(
        &a,
        json!({"model": "fake", "input": "TOOL", "tools": tools(), "stream": true}),
    )
    .await;
    assert_eq!(
        kinds(&evs),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    assert_eq!(evs[2].1["item"]["arguments"], "");
    assert_eq!(evs[2].1["item"]["status"], "in_progress");
    let fc_id = evs[2].1["item"]["id"].clone();
    assert_eq!(evs[3].1["item_id"], fc_id);
    assert_eq!(evs[3].1["delta"], evs[4].1["arguments"]);
    assert_eq!(evs[5].1["item"]["arguments"], evs[4].1["arguments"]);
    // The round trip: the call and its output go back as input items.
    let call_id = fc["call_id"].as_str().unwrap();
    let (s, v) = post(
        &a,
        URI,
        json!({"model": "fake", "tools": tools(), "input": [
            {"role": "user", "content": "Weather in Tokyo?"},
            {"type": "function_call", "call_id": call_id, "name": "get_weather", "arguments": "{\"city\":\"Tokyo\"}"},
            {"type": "function_call_output", "call_id": call_id, "output": "18C and sunny"},
        ]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["output"][0]["content"][0]["text"], "Hello, world!");
}

#[tokio::test]
async fn tool_choice_and_text_format_mapping() {
    let a = app();
    for (choice, echo) in [
        (json!("required"), json!("required")),
        (
            json!({"type": "function", "name": "get_weather"}),
            json!({"type": "function", "name": "get_weather"}),
        ),
        (json!("none"), json!("none")),
        (
            json!({"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "get_weather"}]}),
            json!({"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "get_weather"}]}),
        ),
    ] {
        let (s, v) = post(
            &a,
            URI,
            json!({"model": "fake", "input": "TOOL", "tools": tools(), "tool_choice": choice, "parallel_tool_calls": false}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{choice}: {v}");
        assert_eq!(v["tool_choice"], echo);
        assert_eq!(v["parallel_tool_calls"], false);
    }
    let schema = json!({"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]});
    let (s, v) = post(
        &a,
        URI,
        json!({"model": "fake", "input": "x", "text": {"format": {"type": "json_schema", "name": "a", "schema": schema, "strict": true}}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let text = v["output"][0]["content"][0]["text"].as_str().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(text).unwrap(),
        json!({"answer": 42})
    );
    assert_eq!(v["text"]["format"]["type"], "json_schema");
    assert_eq!(v["text"]["format"]["name"], "a");
    assert_eq!(v["text"]["format"]["strict"], true);
    let (_, v) = post(
        &a,
        URI,
        json!({"model": "fake", "input": "x", "text": {"format": {"type": "json_object"}}}),
    )
    .await;
    serde_json::from_str::<Value>(v["output"][0]["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(v["text"]["format"], json!({"type": "json_object"}));
}

#[tokio::test]
async fn logprobs_when_included() {
    let a = app();
    let (_, v) = post(
        &a,
        URI,
        json!({"model": "fake", "input": "hi", "top_logprobs": 2, "include": ["message.output_text.logprobs"]}),
    )
    .await;
    let lp = v["output"][0]["content"][0]["logprobs"].as_array().unwrap();
    assert_eq!(lp.len(), 4, "{v}");
    assert_eq!(lp[0]["token"], "Hello");
    assert_eq!(lp[0]["logprob"], -0.5);
    assert_eq!(lp[0]["bytes"], json!(b"Hello".to_vec()));
    assert_eq!(v["top_logprobs"], 2);
    let evs = events(
        &a,
        json!({"model": "fake", "input": "hi", "stream": true, "include": ["message.output_text.logprobs"]}),
    )
    .await;
    let delta = evs
        .iter()
        .find(|(k, _)| k == "response.output_text.delta")
        .unwrap();
    assert_eq!(delta.1["logprobs"][0]["token"], "Hello");
    let (_, v) = post(
        &a,
        URI,
        json!({"model": "fake", "input": "hi", "top_logprobs": 2}),
    )
    .await;
    assert_eq!(v["output"][0]["content"][0]["logprobs"], json!([]));
}

#[tokio::test]
async fn previous_response_id_continues_and_store_false_is_not_kept() {
    let a = app();
    let (_, first) = post(
        &a,
        URI,
        json!({"model": "fake", "input": "My name is Ann.", "instructions": "SYS-ONE"}),
    )
    .await;
    let id = first["id"].as_str().unwrap();
    // The follow-up sees the first turn: "TOOL" in the earlier input makes the fake call a tool.
    let (_, tool_turn) = post(
        &a,
        URI,
        json!({"model": "fake", "input": "TOOL", "tools": tools()}),
    )
    .await;
    let (s, v) = post(
        &a,
        URI,
        json!({"model": "fake", "previous_response_id": tool_turn["id"], "tools": tools(), "input": [
            {"type": "function_call_output", "call_id": tool_turn["output"][0]["call_id"], "output": "18C"}]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["previous_response_id"], tool_turn["id"]);
    // The earlier "TOOL" input is in the prompt again, so the fake calls again: history was used.
    assert_eq!(v["output"][0]["type"], "function_call", "{v}");
    let (s, v) = post(
        &a,
        URI,
        json!({"model": "fake", "previous_response_id": id, "input": "And?"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["instructions"],
        Value::Null,
        "instructions are not carried over"
    );
    // A response with store:false is not kept.
    let (_, unstored) = post(
        &a,
        URI,
        json!({"model": "fake", "input": "x", "store": false}),
    )
    .await;
    assert_eq!(unstored["store"], false);
    let uid = unstored["id"].as_str().unwrap();
    let (s, v) = post(
        &a,
        URI,
        json!({"model": "fake", "previous_response_id": uid, "input": "y"}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        v["error"],
        json!({"message": format!("Previous response with id '{uid}' not found."),
               "type": "invalid_request_error", "param": "previous_response_id",
               "code": "previous_response_not_found"})
    );
    // Streamed responses are kept too.
    let evs = events(
        &a,
        json!({"model": "fake", "input": "TOOL", "tools": tools(), "stream": true}),
    )
    .await;
    let sid = evs.last().unwrap().1["response"]["id"].clone();
    let (s, v) = post(
        &a,
        URI,
        json!({"model": "fake", "previous_response_id": sid, "tools": tools(), "input": "again"}),
    )
    .await;
    assert_eq!(
        (s, &v["output"][0]["type"]),
        (StatusCode::OK, &json!("function_call"))
    );
}

#[tokio::test]
async fn the_store_is_bounded() {
    let a = app_with(|c| c.responses_max = 1);
    let (_, first) = post(&a, URI, json!({"model": "fake", "input": "a"})).await;
    let (_, second) = post(&a, URI, json!({"model": "fake", "input": "b"})).await;
    let (s, _) = post(
        &a,
        URI,
        json!({"model": "fake", "input": "c", "previous_response_id": first["id"]}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "the oldest went first");
    let (s, _) = post(
        &a,
        URI,
        json!({"model": "fake", "input": "c", "previous_response_id": second["id"]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let a = app_with(|c| c.responses_ttl = std::time::Duration::ZERO);
    let (_, first) = post(&a, URI, json!({"model": "fake", "input": "a"})).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let (s, _) = post(
        &a,
        URI,
        json!({"model": "fake", "input": "c", "previous_response_id": first["id"]}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "expired");
}

#[tokio::test]
async fn errors_are_openai_objects() {
    let a = app();
    let cases = [
        (
            json!({"input": "x"}),
            "Missing required parameter: 'model'.",
        ),
        (
            json!({"model": "fake"}),
            "Missing required parameter: 'input'.",
        ),
        (
            json!({"model": "fake", "input": []}),
            "Invalid 'input': empty array.",
        ),
        (json!({"model": "fake", "input": 7}), "Invalid 'input'"),
        (
            json!({"model": "fake", "input": [{"role": "robot", "content": "x"}]}),
            "Invalid value for 'input[0].role'",
        ),
        (
            json!({"model": "fake", "input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{x"}]}),
            "not a JSON string",
        ),
        (
            json!({"model": "fake", "input": [{"type": "function_call_output", "output": "x"}]}),
            "'input[0].call_id'",
        ),
        (
            json!({"model": "fake", "input": "x", "tools": [{"type": "web_search"}]}),
            "only 'function' tools",
        ),
        (
            json!({"model": "fake", "input": "x", "tools": [{"type": "function"}]}),
            "'tools[0].name'",
        ),
        (
            json!({"model": "fake", "input": "x", "tool_choice": "required"}),
            "must be specified with 'tools'",
        ),
        (
            json!({"model": "fake", "input": "x", "tools": tools(), "tool_choice": {"type": "function", "name": "nope"}}),
            "not found in 'tools'",
        ),
        (
            json!({"model": "fake", "input": "x", "tools": tools(), "tool_choice": "sometimes"}),
            "Invalid value for 'tool_choice'",
        ),
        (
            json!({"model": "fake", "input": "x", "text": {"format": {"type": "json_schema", "schema": {}}}}),
            "'text.format.name'",
        ),
        (
            json!({"model": "fake", "input": "x", "text": {"format": {"type": "json_schema", "name": "n"}}}),
            "'text.format.schema'",
        ),
        (
            json!({"model": "fake", "input": "x", "text": {"format": {"type": "yaml"}}}),
            "'text.format.type'",
        ),
        (
            json!({"model": "fake", "input": "x", "temperature": 3}),
            "Invalid 'temperature'",
        ),
        (
            json!({"model": "fake", "input": "x", "top_p": -1}),
            "Invalid 'top_p'",
        ),
        (
            json!({"model": "fake", "input": "x", "max_output_tokens": 0}),
            "Invalid 'max_output_tokens'",
        ),
        (
            json!({"model": "fake", "input": "x", "top_logprobs": 21}),
            "Invalid 'top_logprobs'",
        ),
        (
            json!({"model": "fake", "input": "x", "include": ["everything"]}),
            "Invalid value: 'everything'",
        ),
        (
            json!({"model": "fake", "input": "x", "truncation": "sometimes"}),
            "Invalid value: 'sometimes'",
        ),
        (
            json!({"model": "fake", "input": "x", "metadata": {"k": 1}}),
            "Invalid 'metadata'",
        ),
        (
            json!({"model": "fake", "input": "x", "background": true}),
            "background",
        ),
        (
            json!({"model": "fake", "input": "x", "conversation": "conv_1"}),
            "'conversation'",
        ),
        (
            json!({"model": "fake", "input": "x", "temperature": "hot"}),
            "invalid type",
        ),
        (
            json!({"model": "fake", "input": "x", "previous_response_id": "resp_nope"}),
            "Previous response with id 'resp_nope' not found.",
        ),
    ];
    for (body, want) in cases {
        let (s, v) = post(&a, URI, body.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert_eq!(v["error"]["type"], "invalid_request_error", "{body}: {v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(want), "{body}: {msg}");
    }
    // Not JSON, and an empty body.
    for raw in ["{not json", ""] {
        let req = Request::post(URI)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(raw))
            .unwrap();
        let (s, _, b) = send(&a, req).await;
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
    }
    // An unknown model is a 404 in the same shape.
    let (s, v) = post(&a, URI, json!({"model": "nope", "input": "x"})).await;
    assert_eq!(
        (s, &v["error"]["type"]),
        (StatusCode::NOT_FOUND, &json!("not_found_error"))
    );
    let (s, _, _) = call(&a, Method::GET, URI, None).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn guards_limits_and_metrics_cover_the_route() {
    let k = app_with(|c| c.api_key = Some("s3cret".into()));
    let (s, _) = post(&k, URI, json!({"model": "fake", "input": "x"})).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let req = Request::post(URI)
        .header(header::AUTHORIZATION, "Bearer s3cret")
        .body(Body::from(
            json!({"model": "fake", "input": "x"}).to_string(),
        ))
        .unwrap();
    assert_eq!(send(&k, req).await.0, StatusCode::OK);
    let a = app();
    let req = Request::post(URI)
        .header(header::HOST, "evil.com")
        .body(Body::from(
            json!({"model": "fake", "input": "x"}).to_string(),
        ))
        .unwrap();
    assert_eq!(send(&a, req).await.0, StatusCode::FORBIDDEN);
    let small = app_with(|c| c.body_limit = 256);
    let body = json!({"model": "fake", "input": "x".repeat(1024)}).to_string();
    let req = Request::post(URI)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body))
        .unwrap();
    let (s, _, b) = send(&small, req).await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(
        (s, &v["error"]["type"]),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            &json!("invalid_request_error")
        )
    );
    let busy = app_with(|c| {
        c.scheduler.max_queue = 0;
        c.scheduler.num_parallel = 1;
        c.scheduler.max_loaded = 1;
    });
    let first = tower::ServiceExt::oneshot(
        busy.router.clone(),
        Request::post(URI)
            .body(Body::from(
                json!({"model": "fake", "input": "SLOW", "stream": true}).to_string(),
            ))
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let (s, v) = post(&busy, URI, json!({"model": "fake", "input": "x"})).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(v["error"]["type"], "api_error");
    drop(first);
    post(&a, URI, json!({"model": "fake", "input": "x"})).await;
    let (_, _, b) = call(&a, Method::GET, "/metrics", None).await;
    let text = String::from_utf8(b.to_vec()).unwrap();
    assert!(
        text.contains("hearth_http_requests_total{endpoint=\"/v1/responses\",status=\"200\"} 1"),
        "{text}"
    );
}
