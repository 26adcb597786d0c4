//! The Anthropic body extractor: the native decoder's checks (empty body, malformed JSON, wrong
//! field types, the body limit), answered in Anthropic's error shape.

use axum::extract::{FromRequest, Request};
use axum::response::Response;
use serde::de::DeserializeOwned;

use crate::http::OJson;

/// A JSON request body whose rejection is an Anthropic error response.
#[derive(Debug)]
pub struct AJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AJson<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        OJson::<T>::from_request(req, state)
            .await
            .map(|OJson(t)| AJson(t))
            .map_err(crate::error::ApiError::into_anthropic)
    }
}
