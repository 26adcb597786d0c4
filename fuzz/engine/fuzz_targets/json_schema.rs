//! Fuzz target: a tool's or response format's JSON schema, converted to a GBNF grammar by
//! llama.cpp's converter (`hearth_engine::json_schema_gbnf`), as `tool_choice` and structured
//! output do with schemas from requests. It must return a grammar or an error, never abort.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(schema) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = hearth_engine::json_schema_gbnf(&schema);
    }
});
