//! JSON schema to GBNF, through llama.cpp's own converter, for callers that compose grammars
//! (the HTTP layer wraps tool schemas in a tool-call envelope).

use crate::error::EngineError;

/// The GBNF for `schema`, with `root` as its start rule.
pub fn json_schema_gbnf(schema: &serde_json::Value) -> Result<String, EngineError> {
    let text = serde_json::to_string(schema).map_err(|e| EngineError::Grammar(e.to_string()))?;
    llama_cpp_2::json_schema_to_grammar(&text)
        .map_err(|e| EngineError::Grammar(format!("unsupported JSON schema: {e}")))
}
