//! How an assistant turn ends in Anthropic's terms (`stop_reason`, `stop_sequence`) and the
//! model handle the answer needs for it.
//!
//! The native path reports `stop` both for an end-of-generation token and for a stop
//! sequence. The engine's final [`Completion`] carries the generated token ids (the end of
//! `context`), which include the stop sequence's tokens while the streamed text does not, so
//! the generated text is rebuilt from those ids with the model and searched for the stop
//! sequences: the engine stops at the first one it sees, so any occurrence means one ended the
//! turn, and the earliest is the one that did.

use std::sync::Arc;

use hearth_engine::{Completion, DoneReason};
use hearth_store::catalog::ModelRecord;
use hearth_store::names::ModelName;

use crate::backend::LoadedModel;
use crate::error::{ApiError, ApiResult};
use crate::scheduler::Lease;
use crate::state::SharedState;

/// Anthropic's end of a turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ending {
    /// `end_turn`, `max_tokens`, `stop_sequence`, `tool_use` or `model_context_window_exceeded`.
    pub stop_reason: &'static str,
    /// The stop sequence that ended the turn.
    pub stop_sequence: Option<String>,
}

/// What the turn's end depends on besides the completion.
pub struct Context {
    /// The stop sequences asked for.
    pub stops: Vec<String>,
    /// `max_tokens`.
    pub max_tokens: Option<i64>,
    /// The model, to read generated token ids back as text.
    pub model: Arc<dyn LoadedModel>,
    /// Held so the model stays loaded for the whole answer.
    pub _lease: Lease,
}

/// The record of a model name (already validated by the native path when it generated).
pub fn record_of(st: &SharedState, model: &str) -> ApiResult<ModelRecord> {
    let name = ModelName::parse(model).ok_or_else(|| ApiError::bad("invalid model name"))?;
    st.catalog
        .resolve(&name)?
        .ok_or_else(|| ApiError::NotFound(format!("model '{model}' not found")))
}

/// A lease on a record's model (loading it if needed).
pub async fn lease(st: &SharedState, record: &ModelRecord) -> ApiResult<Lease> {
    crate::routes::common::lease(st, record, None).await
}

impl Context {
    /// How the turn ended: tool calls first, then the engine's reason.
    pub fn ending(&self, c: &Completion, saw_calls: bool) -> Ending {
        let plain = |stop_reason| Ending {
            stop_reason,
            stop_sequence: None,
        };
        if saw_calls {
            return plain("tool_use");
        }
        match c.done_reason {
            DoneReason::Length => {
                let predicted = i64::from(c.eval_count);
                if self.max_tokens.is_some_and(|m| predicted < m) {
                    plain("model_context_window_exceeded")
                } else {
                    plain("max_tokens")
                }
            }
            DoneReason::Stop => match self.stop_sequence(c) {
                Some(s) => Ending {
                    stop_reason: "stop_sequence",
                    stop_sequence: Some(s),
                },
                None => plain("end_turn"),
            },
        }
    }

    /// The stop sequence found in the generated text, if any (the earliest; the longest
    /// of those starting there).
    fn stop_sequence(&self, c: &Completion) -> Option<String> {
        if self.stops.is_empty() {
            return None;
        }
        let generated = c.context.get(c.prompt_eval_count as usize..)?;
        let text = self.model.detokenize(generated);
        self.stops
            .iter()
            .filter(|s| !s.is_empty())
            .filter_map(|s| {
                text.find(s.as_str())
                    .map(|at| (at, std::cmp::Reverse(s.len()), s))
            })
            .min()
            .map(|(_, _, s)| s.clone())
    }
}
