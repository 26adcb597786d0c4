//! The Anthropic Messages API: `POST /v1/messages` and `POST /v1/messages/count_tokens`,
//! translated onto the native chat, with Anthropic's error objects. The request body and
//! response pieces are in [`wire`], the mapping onto the native chat in [`convert`], the end of
//! a turn in [`turn`], the event stream in [`stream`].

pub mod convert;
pub mod count_tokens;
pub mod error;
pub mod messages;
pub mod stream;
pub mod turn;
pub mod wire;

pub use count_tokens::handler as count_tokens;
pub use messages::handler as messages;
