//! Small HTTP helpers: Ollama's JSON body extractor and JSON responses with its exact content type.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::ApiError;

/// What a client is told when its body crossed the limit while it was being read.
pub const TOO_LARGE: &str =
    "request body too large; send less, or raise the server's limit (HEARTH_BODY_LIMIT)";

/// A JSON request body decoded like Ollama does: an empty body is `missing request body`,
/// malformed JSON or a wrong field type is a 400 carrying the decoder's message.
#[derive(Debug)]
pub struct OJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge(TOO_LARGE.into())
            } else {
                ApiError::bad(e.body_text())
            }
        })?;
        decode(&bytes).map(OJson)
    }
}

/// Decode a request body with Ollama's error texts.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad("missing request body"));
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad(e.to_string()))
}

/// `application/json; charset=utf-8`, as Ollama's native endpoints answer.
pub fn json_with_status<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => {
            let mut resp = (status, body).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            resp
        }
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// A 200 JSON response with Ollama's content type.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Response {
    json_with_status(StatusCode::OK, value)
}

/// A 200 JSON response with OpenAI's content type (`application/json`, no charset).
pub fn openai_json<T: Serialize + ?Sized>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => {
            let mut resp = body.into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            resp
        }
        Err(e) => ApiError::internal(e).into_openai(),
    }
}
