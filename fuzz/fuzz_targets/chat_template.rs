//! Fuzz target: chat templates from model files (`tokenizer.chat_template`), compiled and
//! rendered with a conversation that has tools and tool calls. Rendering runs on a thread with
//! tokio's default worker stack (2 MiB), as in the server, so deep recursion that would overflow
//! there is found here; fuel and the output cap must stop every loop (libFuzzer's -timeout and
//! -rss_limit_mb catch the rest).
#![no_main]

use hearth_template::{ChatMessage, ChatTemplate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(template) = ChatTemplate::new(src, "<s>", "</s>") else {
        return;
    };
    let messages = vec![
        ChatMessage {
            role: "system".into(),
            content: "You are terse.".into(),
            ..Default::default()
        },
        ChatMessage {
            role: "user".into(),
            content: "weather in {{ Paris }}?".into(),
            ..Default::default()
        },
        ChatMessage {
            role: "assistant".into(),
            content: String::new(),
            tool_calls: Some(vec![serde_json::json!({
                "type": "function",
                "function": {"name": "weather", "arguments": {"city": "Paris"}}
            })]),
            tool_name: None,
        },
        ChatMessage {
            role: "tool".into(),
            content: "{\"temp\": 21}".into(),
            tool_calls: None,
            tool_name: Some("weather".into()),
        },
    ];
    let tools = vec![serde_json::json!({
        "type": "function",
        "function": {"name": "weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
    })];
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let _ = template.render(&messages, Some(&tools), true);
        })
        .expect("spawn")
        .join()
        .expect("render thread panicked");
});
