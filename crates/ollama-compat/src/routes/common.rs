//! Pieces shared by the generating endpoints: model leases, load/unload replies, error lines.

use std::time::Instant;

use futures::stream::BoxStream;
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::infer::Piece;
use crate::keep_alive::KeepAlive;
use crate::state::SharedState;
use hearth_store::catalog::ModelRecord;

/// A started generation.
pub struct Prepared {
    /// Its pieces.
    pub pieces: BoxStream<'static, Piece>,
    /// Nanoseconds spent loading the model.
    pub load_ns: u64,
    /// When the request arrived.
    pub started: Instant,
}

/// One NDJSON line: a chunk, or a mid-stream `{"error": ...}`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Line<T> {
    /// A chunk.
    Ok(T),
    /// The error that ends the stream.
    Err {
        /// Its message.
        error: String,
    },
}

impl<T> From<Result<T, String>> for Line<T> {
    fn from(r: Result<T, String>) -> Self {
        match r {
            Ok(t) => Line::Ok(t),
            Err(error) => Line::Err { error },
        }
    }
}

/// `top_logprobs` must be within 0..=20.
pub fn check_top_logprobs(n: i64) -> ApiResult<()> {
    if (0..=20).contains(&n) {
        Ok(())
    } else {
        Err(ApiError::bad("top_logprobs must be between 0 and 20"))
    }
}

pub use crate::state::lease;

/// The empty-prompt shortcut: unload with keep_alive 0, else load. Returns the done_reason.
pub async fn load_or_unload(
    st: &SharedState,
    record: &ModelRecord,
    keep_alive: Option<KeepAlive>,
) -> ApiResult<&'static str> {
    if keep_alive.is_some_and(|k| k.is_zero()) {
        st.scheduler.unload(&record.model_path);
        return Ok("unload");
    }
    let _ticket = st.scheduler.admit()?;
    drop(lease(st, record, keep_alive).await?);
    Ok("load")
}
