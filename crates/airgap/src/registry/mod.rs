//! The registry protocol Ollama speaks (Docker distribution v2: manifests by tag, blobs by
//! digest): a read-only [`server`] for the local store (with opt-in [`upload`] routes), a
//! [`pull`] client with resumable, verified downloads and Ollama's progress lines, [`push`], and
//! [`client::AirgapRegistry`], which plugs both into `hearth serve`'s `/api/pull` and `/api/push`.

pub mod client;
pub mod pull;
pub mod push;
pub mod server;
pub mod upload;

pub use client::AirgapRegistry;
pub use pull::{pull, PullOptions};
pub use push::push;
pub use server::router;
