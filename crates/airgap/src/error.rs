//! The one error type of the airgap crate: every variant says what was refused and why.

use hearth_store::StoreError;

/// Airgap failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AirgapError {
    /// Reading or writing a file failed.
    #[error("{context}: {err}")]
    Io {
        /// What was being done, with the path.
        context: String,
        /// The underlying error.
        err: std::io::Error,
    },
    /// Bytes did not hash to the digest they were announced under.
    #[error("sha256 mismatch for {what}: expected {expected}, got {got}")]
    DigestMismatch {
        /// What was checked.
        what: String,
        /// The announced digest.
        expected: String,
        /// What the bytes hash to.
        got: String,
    },
    /// Input that is refused: a malformed name, digest, archive or manifest.
    #[error("{0}")]
    Invalid(String),
    /// A model that is not where it was looked for.
    #[error("{0}")]
    NotFound(String),
    /// The model store refused something.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A registry request failed.
    #[error("{0}")]
    Http(String),
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, AirgapError>;

/// A `map_err` helper: an I/O error with what was being done.
pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> AirgapError {
    let context = context.into();
    move |err| AirgapError::Io { context, err }
}
