//! The HTTP error type: one enum, one explicit status match, Ollama's `{"error": "..."}` body.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hearth_engine::EngineError;

/// Every failure an endpoint can answer with. The message is what the client sees, so it uses
/// Ollama's exact texts (ollama-api.md §1.13); internal causes are logged, never leaked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 400: malformed body, invalid field, capability missing.
    #[error("{0}")]
    BadRequest(String),
    /// 404: unknown model, blob or route.
    #[error("{0}")]
    NotFound(String),
    /// 401: the optional API key is set and the request lacks it.
    #[error("unauthorized")]
    Unauthorized,
    /// 503: the pending-request queue is full.
    #[error("server busy, please try again.  maximum pending requests exceeded")]
    Busy,
    /// 413: the body is larger than the configured limit.
    #[error("{0}")]
    TooLarge(String),
    /// 500: an option had the wrong type (Ollama answers 500 for this).
    #[error("{0}")]
    Option(String),
    /// 500: the engine or the store failed. The text is shown to the client as it is: build it
    /// with [`ApiError::internal`] (or [`ApiError::internal_as`]) when the cause may carry
    /// internal details such as file paths, so that the cause is logged and the client gets a
    /// generic text with a reference to the log line.
    #[error("{0}")]
    Internal(String),
}

/// Shorthand for endpoint results.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Option(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Build a 400 error.
    pub fn bad(msg: impl Into<String>) -> Self {
        ApiError::BadRequest(msg.into())
    }

    /// Build a 500 error whose cause is logged, never sent: the client reads
    /// `internal server error (reference …; see the server log)`.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::internal_as("internal server error", cause)
    }

    /// Build a 500 error with a public summary (say, `failed to load model x`) while the cause
    /// is logged with a reference the client text repeats, so an operator can find it.
    pub fn internal_as(summary: &str, cause: impl std::fmt::Display) -> Self {
        let reference = format!("{:08x}", fastrand::u32(..));
        tracing::error!(error = %cause, %reference, "{summary}");
        ApiError::Internal(format!(
            "{summary} (reference {reference}; see the server log)"
        ))
    }

    /// The OpenAI error `type` for this status.
    pub fn openai_type(&self) -> &'static str {
        match self.status() {
            StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE => "invalid_request_error",
            StatusCode::NOT_FOUND => "not_found_error",
            _ => "api_error",
        }
    }

    /// This error as an OpenAI-style response (`/v1/*`).
    pub fn into_openai(self) -> Response {
        let body = serde_json::json!({"error": {
            "message": self.to_string(), "type": self.openai_type(), "param": null, "code": null}});
        let mut resp = (self.status(), body.to_string()).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp
    }

    /// The Anthropic status and error `type` for this error (`/v1/messages`): a full queue is
    /// Anthropic's 529 `overloaded_error`, and a wrongly typed option is the client's 400.
    pub fn anthropic_kind(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Busy => (
                StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                "overloaded_error",
            ),
            ApiError::Option(_) => (StatusCode::BAD_REQUEST, "invalid_request_error"),
            other => {
                let status = other.status();
                let kind = match status {
                    StatusCode::BAD_REQUEST => "invalid_request_error",
                    StatusCode::UNAUTHORIZED => "authentication_error",
                    StatusCode::FORBIDDEN => "permission_error",
                    StatusCode::NOT_FOUND => "not_found_error",
                    StatusCode::PAYLOAD_TOO_LARGE => "request_too_large",
                    StatusCode::TOO_MANY_REQUESTS => "rate_limit_error",
                    _ => "api_error",
                };
                (status, kind)
            }
        }
    }

    /// This error as an Anthropic-style response (`/v1/messages*`): `{"type": "error",
    /// "error": {"type", "message"}, "request_id"}`, with the id also in `request-id`.
    pub fn into_anthropic(self) -> Response {
        let (status, kind) = self.anthropic_kind();
        let request_id = anthropic_request_id();
        let body = serde_json::json!({"type": "error",
            "error": {"type": kind, "message": self.to_string()}, "request_id": request_id});
        let mut resp = (status, body.to_string()).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            h.insert("request-id", v);
        }
        resp
    }
}

/// A fresh Anthropic-style request id: `req_01` and 22 alphanumerics.
pub fn anthropic_request_id() -> String {
    let tail: String = (0..22).map(|_| fastrand::alphanumeric()).collect();
    format!("req_01{tail}")
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::ContextOverflow { .. } => {
                ApiError::BadRequest("the input length exceeds the context length".into())
            }
            EngineError::Grammar(m) => ApiError::BadRequest(format!(
                "invalid format: {m}; expected \"json\" or a valid JSON Schema object"
            )),
            EngineError::InvalidRequest(m) => ApiError::BadRequest(m),
            EngineError::Embedding(_) => ApiError::BadRequest(e.to_string()),
            // No paths nor internals in these texts: the client may read them.
            EngineError::Template(_) | EngineError::WorkerGone => ApiError::Internal(e.to_string()),
            // The scheduler drops a model whose thread died: the next request loads it again.
            EngineError::Panicked(_) => ApiError::Internal(format!(
                "{e}; the model has been unloaded, retry to reload it"
            )),
            EngineError::InvalidGguf { .. } | EngineError::Io { .. } | EngineError::Load { .. } => {
                ApiError::internal_as("the model could not be loaded", e)
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<hearth_store::StoreError> for ApiError {
    fn from(e: hearth_store::StoreError) -> Self {
        use hearth_store::StoreError;
        match e {
            // The client's own mistakes, in texts without paths.
            StoreError::DigestMismatch { .. } | StoreError::Body(_) => {
                ApiError::Internal(e.to_string())
            }
            other => ApiError::internal_as("model store error", other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Built here rather than with `crate::http`, which depends on this module.
        let body = serde_json::json!({ "error": self.to_string() }).to_string();
        let mut resp = (self.status(), body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_ollama() {
        assert_eq!(ApiError::Busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(ApiError::Busy.to_string().contains("try again.  maximum"));
        assert_eq!(
            ApiError::Option("x".into()).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        let e: ApiError = EngineError::ContextOverflow {
            tokens: 9,
            context: 4,
        }
        .into();
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert!(e.to_string().contains("context length"));
    }

    #[test]
    fn internal_causes_are_logged_not_sent() {
        let e = ApiError::internal("open /home/me/.ollama/models/blobs/sha256-1: denied");
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let text = e.to_string();
        assert!(
            text.starts_with("internal server error (reference "),
            "{text}"
        );
        assert!(!text.contains("/home"), "{text}");
        let e: ApiError = EngineError::Load {
            path: "/secret/m.gguf".into(),
            reason: "bad".into(),
        }
        .into();
        assert!(e.to_string().starts_with("the model could not be loaded"));
        assert!(!e.to_string().contains("/secret"));
        let e: ApiError = hearth_store::StoreError::Io(std::io::Error::other("/secret/x")).into();
        assert!(e.to_string().starts_with("model store error (reference "));
        let e: ApiError = EngineError::InvalidRequest("num_ctx must be positive".into()).into();
        assert_eq!(
            (e.status(), e.to_string()),
            (StatusCode::BAD_REQUEST, "num_ctx must be positive".into())
        );
    }

    #[test]
    fn responses_are_ollama_json() {
        let resp = ApiError::bad("nope").into_response();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            "application/json; charset=utf-8"
        );
    }
}
