//! Panic containment for the inference thread.
//!
//! The thread's whole life runs under `catch_unwind`. When anything on it panics (llama-cpp-2's
//! `expect`s on values a model file supplies, a bug of ours), the panic is caught, the model is
//! marked failed in its [`Health`], every request it holds (in a slot, queued, embedding, or
//! still in the command channel) is answered with [`EngineError::Panicked`], and the thread
//! ends, freeing its contexts. The [`Model`](crate::Model) handle then refuses new work with
//! the same error and reports itself dead, so its owner can unload it and load it again.

use std::any::Any;
use std::sync::{mpsc, OnceLock};

use super::Worker;
use crate::job::Command;
use crate::{EngineError, Event};

/// Whether a model's inference thread has panicked, shared by the thread and its handle.
#[derive(Debug, Default)]
pub(crate) struct Health {
    panic: OnceLock<String>,
}

impl Health {
    /// The panic's message, once the thread has panicked.
    pub(crate) fn panicked(&self) -> Option<&str> {
        self.panic.get().map(String::as_str)
    }

    /// The error for requests to a thread that is gone: [`EngineError::Panicked`] after a panic.
    pub(crate) fn gone(&self) -> EngineError {
        match self.panicked() {
            Some(message) => EngineError::Panicked(message.to_owned()),
            None => EngineError::WorkerGone,
        }
    }

    fn record(&self, message: String) {
        let _ = self.panic.set(message);
    }
}

/// Longest panic message passed on to clients.
const MAX_MESSAGE: usize = 300;

/// The text of a panic payload (`panic!` with a literal or a formatted message), cut short.
pub(crate) fn message(payload: &(dyn Any + Send)) -> String {
    let text = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown cause".to_owned()
    };
    match text.char_indices().nth(MAX_MESSAGE) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

/// After a caught panic: record it, answer the load still waiting (if any), every request the
/// worker holds and every command still queued, all with [`EngineError::Panicked`].
pub(super) fn fail_everything(
    health: &Health,
    payload: &(dyn Any + Send),
    worker: Option<&mut Worker<'_>>,
    commands: &mpsc::Receiver<Command>,
    ready: &mpsc::SyncSender<Result<u32, EngineError>>,
) {
    let text = message(payload);
    tracing::error!(panic = %text, "the inference thread panicked; failing its requests");
    health.record(text);
    let error = health.gone();
    // Harmless when the load has already been answered: nobody reads it.
    let _ = ready.try_send(Err(error.clone()));
    if let Some(worker) = worker {
        worker.fail_all(&error);
    }
    while let Ok(command) = commands.try_recv() {
        command.fail(&error);
    }
}

impl Worker<'_> {
    /// Answer every request in a slot, queued or embedding with `error`.
    fn fail_all(&mut self, error: &EngineError) {
        for slot in &mut self.slots {
            if let Some(active) = slot.active.take() {
                let _ = active.job.events.send(Event::Error(error.clone()));
            }
        }
        for job in self.queue.drain(..) {
            let _ = job.events.send(Event::Error(error.clone()));
        }
        self.embeds.fail_all(error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_come_from_either_payload_kind() {
        let literal = std::panic::catch_unwind(|| panic!("n_ctx_train fits into an u32"));
        assert_eq!(
            message(literal.unwrap_err().as_ref()),
            "n_ctx_train fits into an u32"
        );
        let formatted = std::panic::catch_unwind(|| panic!("invalid logit index {}", 7));
        assert_eq!(
            message(formatted.unwrap_err().as_ref()),
            "invalid logit index 7"
        );
        let long = "é".repeat(1000);
        let cut = message(&long);
        assert!(cut.ends_with('…') && cut.chars().count() == MAX_MESSAGE + 1);
    }

    /// The bundled SmolLM2 model (a missing model fails the test).
    fn model_path() -> std::path::PathBuf {
        let models = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models"));
        let m =
            hearth_store::builtin::find("smollm2:135m").expect("smollm2:135m is in the fetch list");
        hearth_store::builtin::locate(m, &[models])
            .unwrap_or_else(|e| panic!("the bundled model is required for this test: {e}"))
    }

    fn config() -> crate::LoadConfig {
        crate::LoadConfig {
            num_ctx: 512,
            parallel: 2,
            ..crate::LoadConfig::default()
        }
    }

    fn request(n: i32) -> crate::GenerateRequest {
        crate::GenerateRequest::new("Once upon a time").with_options(crate::SamplingOptions {
            temperature: 0.0,
            num_predict: n,
            ..crate::SamplingOptions::default()
        })
    }

    /// A panic on the inference thread fails the generation it was running, a queued
    /// embedding and every later request with `Panicked`; the handle reports itself dead, and a
    /// new load of the same file serves again.
    #[test]
    fn a_panic_fails_every_request_and_a_reload_serves() {
        let model = crate::Model::load(&model_path(), config()).expect("load smollm2");
        assert!(model.is_alive());
        let mut running = model.generate(request(400)).unwrap();
        assert!(
            matches!(running.blocking_next(), Some(Event::Token { .. })),
            "the generation is under way"
        );
        let inputs: Vec<String> = (0..400).map(|i| format!("sentence number {i}")).collect();
        let embedding = model.embed(&inputs, true).unwrap();
        model.send_command(Command::Panic("injected test panic"));
        let end = loop {
            match running.blocking_next() {
                Some(Event::Token { .. }) => continue,
                other => break other,
            }
        };
        let expected = EngineError::Panicked("injected test panic".into());
        assert_eq!(end, Some(Event::Error(expected.clone())));
        assert_eq!(embedding.blocking_recv(), Ok(Err(expected.clone())));
        assert!(!model.is_alive());
        assert_eq!(model.generate(request(4)).unwrap_err(), expected);
        assert_eq!(model.embed(&inputs[..1], true).unwrap_err(), expected);
        assert!(expected
            .to_string()
            .starts_with("the model's inference thread panicked: injected"));

        let again = crate::Model::load(&model_path(), config()).expect("reload smollm2");
        let mut generation = again.generate(request(8)).unwrap();
        let done = loop {
            match generation.blocking_next() {
                Some(Event::Token { .. }) => continue,
                other => break other,
            }
        };
        assert!(matches!(done, Some(Event::Done(_))), "{done:?}");
        assert!(again.is_alive());
    }

    #[test]
    fn health_names_the_panic() {
        let health = Health::default();
        assert_eq!(health.gone(), EngineError::WorkerGone);
        health.record("boom".into());
        health.record("later".into());
        assert_eq!(health.gone(), EngineError::Panicked("boom".into()));
    }
}
