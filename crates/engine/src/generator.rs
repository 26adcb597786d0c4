//! The generation seam: what in-process users of a model (the capability classifier, the HTTP
//! server's `/api/classify`) need from it, as one object-safe trait.
//!
//! [`Model`] implements [`Generator`]; tests implement it with scripted answers, producing the
//! engine's own [`Generation`] handle from [`Generation::channel`] or [`Generation::from_events`].
//!
//! ```
//! use hearth_engine::{Completion, DoneReason, Event, Generation};
//! let (tx, mut generation) = Generation::channel();
//! assert!(tx.send(Event::Token { text: "yes".into(), logprobs: Vec::new() }));
//! drop(tx); // a closed sender ends the stream
//! assert!(matches!(generation.blocking_next(), Some(Event::Token { .. })));
//! assert!(generation.blocking_next().is_none());
//! ```

use tokio::sync::mpsc as tokio_mpsc;

use crate::{ChatMessage, EngineError, Event, GenerateRequest, Generation, Model};
use crate::{ScoreRequest, Scoring};

/// A model that renders chats and generates text: the one seam between the engine and its
/// in-process users. Object-safe, so users hold `Arc<dyn Generator>`.
pub trait Generator: Send + Sync {
    /// Render a conversation with the model's chat template (see [`Model::render_chat`]).
    fn render_chat(
        &self,
        messages: &[ChatMessage],
        tools: Option<&[serde_json::Value]>,
        add_generation_prompt: bool,
    ) -> Result<String, EngineError>;

    /// Start a generation (see [`Model::generate`]): request errors are returned here, decoding
    /// failures arrive as [`Event::Error`].
    fn generate(&self, request: GenerateRequest) -> Result<Generation, EngineError>;

    /// Score short continuations of one prefix in one batched pass (see
    /// [`Model::score_continuations`]). Generators that cannot (the default) refuse with
    /// [`EngineError::InvalidRequest`] and say so in [`Generator::can_score`].
    fn score_continuations(&self, request: ScoreRequest) -> Result<Scoring, EngineError> {
        let _ = request;
        Err(EngineError::InvalidRequest(
            "this generator cannot score continuations".into(),
        ))
    }

    /// Whether [`Generator::score_continuations`] is implemented (callers pick another path
    /// when it is not).
    fn can_score(&self) -> bool {
        false
    }

    /// The model's name: the GGUF's `general.name`, or the file path when it has none
    /// (model-specific calibrations are chosen by it).
    fn model_name(&self) -> String;

    /// A short label for the model (the GGUF file's stem), e.g. for `classification_method`.
    fn label(&self) -> String;
}

impl Generator for Model {
    fn render_chat(
        &self,
        messages: &[ChatMessage],
        tools: Option<&[serde_json::Value]>,
        add_generation_prompt: bool,
    ) -> Result<String, EngineError> {
        Model::render_chat(self, messages, tools, add_generation_prompt)
    }

    fn generate(&self, request: GenerateRequest) -> Result<Generation, EngineError> {
        Model::generate(self, request)
    }

    fn score_continuations(&self, request: ScoreRequest) -> Result<Scoring, EngineError> {
        Model::score_continuations(self, request)
    }

    fn can_score(&self) -> bool {
        true
    }

    fn model_name(&self) -> String {
        let info = self.info();
        info.gguf
            .get_str("general.name")
            .map(str::to_owned)
            .unwrap_or_else(|| info.path.to_string_lossy().into_owned())
    }

    fn label(&self) -> String {
        self.info()
            .path
            .file_stem()
            .map_or_else(|| "model".to_owned(), |s| s.to_string_lossy().into_owned())
    }
}

/// The sending half of a [`Generation`] made by [`Generation::channel`]: whoever produces the
/// events (a fake generator, an adapter) sends them here. Dropping it ends the stream.
#[derive(Debug, Clone)]
pub struct GenerationSender {
    tx: tokio_mpsc::UnboundedSender<Event>,
}

impl GenerationSender {
    /// Send one event; `false` when the [`Generation`] was dropped (the reader cancelled).
    pub fn send(&self, event: Event) -> bool {
        self.tx.send(event).is_ok()
    }

    /// Whether the [`Generation`] was dropped, so further events would be discarded.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

impl Generation {
    /// A generation fed by hand: events sent on the returned [`GenerationSender`] are read from
    /// the [`Generation`] in order; once every sender is dropped, [`Generation::next`] returns
    /// `None`. For [`Generator`] implementations other than [`Model`] (fakes in tests).
    pub fn channel() -> (GenerationSender, Generation) {
        let (tx, rx) = tokio_mpsc::unbounded_channel();
        (GenerationSender { tx }, Generation { rx })
    }

    /// A generation that yields exactly `events`, in order, and then ends.
    pub fn from_events(events: impl IntoIterator<Item = Event>) -> Generation {
        let (tx, generation) = Generation::channel();
        for event in events {
            tx.send(event);
        }
        generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripted_generations_yield_their_events_then_end() {
        let done = Event::Error(EngineError::WorkerGone);
        let mut g = Generation::from_events([
            Event::Token {
                text: "no".into(),
                logprobs: Vec::new(),
            },
            done.clone(),
        ]);
        assert!(matches!(g.blocking_next(), Some(Event::Token { text, .. }) if text == "no"));
        assert_eq!(g.blocking_next(), Some(done));
        assert_eq!(g.blocking_next(), None);
    }

    #[test]
    fn a_dropped_generation_closes_its_sender() {
        let (tx, g) = Generation::channel();
        assert!(!tx.is_closed());
        drop(g);
        assert!(tx.is_closed());
        assert!(!tx.send(Event::Error(EngineError::WorkerGone)));
    }
}
