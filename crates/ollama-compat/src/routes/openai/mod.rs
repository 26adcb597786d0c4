//! The OpenAI-compatible layer: `/v1/chat/completions`, `/v1/completions`, `/v1/models`,
//! `/v1/models/{model}`, `/v1/embeddings`, `/v1/responses`, translated onto the native handlers, with OpenAI
//! error objects. One module per endpoint; the request bodies and shared pieces are in [`wire`].

pub mod chat;
pub mod completions;
pub mod embeddings;
pub mod models;
pub mod responses;
pub mod wire;

pub use chat::chat_completions;
pub use completions::completions;
pub use embeddings::embeddings;
pub use models::{get_model, list_models};
