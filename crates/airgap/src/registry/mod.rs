//! The registry protocol Ollama speaks (Docker distribution v2: manifests by tag, blobs by
//! digest): a read-only [`server`] for the local store, and a [`pull`] client with resumable,
//! verified downloads and Ollama's progress lines.

pub mod api;
pub mod pull;
pub mod server;

pub use pull::{pull, PullOptions};
pub use server::router;
