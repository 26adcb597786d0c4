//! Which model files the serving process is loading or running, kept in a small state file
//! (`hearth-state/serving-<pid>.json` in the store) so that the supervisor can tell which model
//! was at work when the process died. A [`TrackingLoader`] wraps the real loader: a file counts
//! as at work while it loads and while one of its generations or embeddings runs. The file is
//! rewritten only when the set of files at work changes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::StreamExt;
use hearth_engine::{
    ChatMessage, Embeddings, EngineError, GenerateRequest, Generation, LoadConfig, ScoreRequest,
    Scoring,
};
use hearth_ollama_compat::backend::{EventStream, LoadedFacts, LoadedModel, Loader};

use super::record::STATE_DIR;
use super::ModelFiles;

/// The state file of the serving process `pid`.
pub fn state_path(models_dir: &Path, pid: u32) -> PathBuf {
    models_dir
        .join(STATE_DIR)
        .join(format!("serving-{pid}.json"))
}

/// Read and remove the state file of a serving process that is gone: the digests it was
/// loading or running.
pub fn take(models_dir: &Path, pid: u32) -> Vec<String> {
    let path = state_path(models_dir, pid);
    let digests = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Vec<String>>(&b).ok())
        .unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    digests
}

/// The files at work in this process, mirrored to its state file.
#[derive(Debug)]
pub struct ServingState {
    path: PathBuf,
    at_work: Mutex<HashMap<String, usize>>,
}

impl ServingState {
    /// State of this process in the store `models_dir`.
    pub fn new(models_dir: &Path) -> Arc<Self> {
        let state = Arc::new(ServingState {
            path: state_path(models_dir, std::process::id()),
            at_work: Mutex::new(HashMap::new()),
        });
        // Nothing is written until a file is at work: a store (a bundle user's, say) that only
        // serves the built-in models is never touched.
        state
    }

    /// Count `digest` as at work until the guard drops.
    pub fn enter(self: &Arc<Self>, digest: &str) -> AtWork {
        let mut map = self.at_work.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(digest.to_owned()).or_insert(0);
        *n += 1;
        if *n == 1 {
            self.write(&map);
        }
        AtWork {
            state: Arc::clone(self),
            digest: digest.to_owned(),
        }
    }

    fn write(&self, map: &HashMap<String, usize>) {
        let digests: Vec<&String> = map
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(d, _)| d)
            .collect();
        if digests.is_empty() {
            match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    tracing::warn!(path = %self.path.display(), error = %e, "cannot clear the serving state");
                }
                _ => {}
            }
            return;
        }
        let bytes = serde_json::to_vec(&digests).unwrap_or_default();
        // Write and rename (no fsync: the file only has to outlive this process, not the machine).
        let tmp = self.path.with_extension("json.tmp");
        let written = self
            .path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&tmp, &bytes))
            .and_then(|()| std::fs::rename(&tmp, &self.path));
        if let Err(e) = written {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot write the serving state");
        }
    }
}

/// One loading or running use of a file; dropping it ends the use.
#[derive(Debug)]
pub struct AtWork {
    state: Arc<ServingState>,
    digest: String,
}

impl Drop for AtWork {
    fn drop(&mut self) {
        let mut map = self.state.at_work.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.digest) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.digest);
                self.state.write(&map);
            }
        }
    }
}

/// A loader that records which files are at work (the bundled models are never blamed).
pub struct TrackingLoader {
    /// The real loader.
    pub inner: Arc<dyn Loader>,
    /// Digests of files, and which are trusted.
    pub files: Arc<ModelFiles>,
    /// This process's state.
    pub state: Arc<ServingState>,
}

impl Loader for TrackingLoader {
    fn load(
        &self,
        path: &Path,
        config: LoadConfig,
    ) -> BoxFuture<'static, Result<Arc<dyn LoadedModel>, EngineError>> {
        let (inner, files, state) = (
            Arc::clone(&self.inner),
            Arc::clone(&self.files),
            Arc::clone(&self.state),
        );
        let path = path.to_owned();
        Box::pin(async move {
            let digest = {
                let (files, path) = (Arc::clone(&files), path.clone());
                tokio::task::spawn_blocking(move || files.untrusted_digest(&path))
                    .await
                    .ok()
                    .flatten()
            };
            let Some(digest) = digest else {
                return inner.load(&path, config).await;
            };
            let _loading = state.enter(&digest);
            let model = inner.load(&path, config).await?;
            Ok(Arc::new(TrackedModel {
                inner: model,
                digest,
                state,
            }) as Arc<dyn LoadedModel>)
        })
    }
}

/// A loaded model whose generations and embeddings count as work on its file.
struct TrackedModel {
    inner: Arc<dyn LoadedModel>,
    digest: String,
    state: Arc<ServingState>,
}

impl LoadedModel for TrackedModel {
    fn facts(&self) -> LoadedFacts {
        self.inner.facts()
    }

    fn generate(&self, request: GenerateRequest) -> Result<EventStream, EngineError> {
        let guard = self.state.enter(&self.digest);
        let stream = self.inner.generate(request)?;
        // The guard lives as long as the stream: dropping it (done or abandoned) ends the work.
        Ok(Box::pin(stream.map(move |event| {
            let _ = &guard;
            event
        })))
    }

    fn embed(
        &self,
        inputs: Vec<String>,
        truncate: bool,
    ) -> BoxFuture<'static, Result<Embeddings, EngineError>> {
        let guard = self.state.enter(&self.digest);
        let work = self.inner.embed(inputs, truncate);
        Box::pin(async move {
            let out = work.await;
            drop(guard);
            out
        })
    }

    fn render_chat(
        &self,
        messages: &[ChatMessage],
        tools: Option<&[serde_json::Value]>,
        add_generation_prompt: bool,
    ) -> Result<String, EngineError> {
        self.inner
            .render_chat(messages, tools, add_generation_prompt)
    }

    fn tokenize(&self, text: &str) -> Vec<i32> {
        self.inner.tokenize(text)
    }

    fn detokenize(&self, tokens: &[i32]) -> String {
        self.inner.detokenize(tokens)
    }

    fn generator(&self) -> Arc<dyn hearth_engine::Generator> {
        Arc::new(TrackedGenerator {
            inner: self.inner.generator(),
            digest: self.digest.clone(),
            state: Arc::clone(&self.state),
        })
    }

    fn prompt_cache(&self) -> hearth_engine::PromptCacheStats {
        self.inner.prompt_cache()
    }
}

/// The classifier's view of a tracked model: its generations and scoring passes count as work
/// on the file too, so a crash during `/api/classify` is blamed on the model that ran.
struct TrackedGenerator {
    inner: Arc<dyn hearth_engine::Generator>,
    digest: String,
    state: Arc<ServingState>,
}

impl hearth_engine::Generator for TrackedGenerator {
    fn render_chat(
        &self,
        messages: &[ChatMessage],
        tools: Option<&[serde_json::Value]>,
        add_generation_prompt: bool,
    ) -> Result<String, EngineError> {
        self.inner
            .render_chat(messages, tools, add_generation_prompt)
    }

    fn generate(&self, request: GenerateRequest) -> Result<Generation, EngineError> {
        let guard = self.state.enter(&self.digest);
        let mut inner = self.inner.generate(request)?;
        // Relay the events while holding the guard; a dropped receiver drops the inner
        // generation, which cancels it.
        let (tx, outer) = Generation::channel();
        std::thread::Builder::new()
            .name("classify-relay".into())
            .spawn(move || {
                let _guard = guard;
                while let Some(event) = inner.blocking_next() {
                    if !tx.send(event) {
                        break;
                    }
                }
            })
            .map_err(|e| {
                EngineError::InvalidRequest(format!("cannot start a relay thread: {e}"))
            })?;
        Ok(outer)
    }

    fn score_continuations(&self, request: ScoreRequest) -> Result<Scoring, EngineError> {
        let _guard = self.state.enter(&self.digest);
        self.inner.score_continuations(request)
    }

    fn can_score(&self) -> bool {
        self.inner.can_score()
    }

    fn model_name(&self) -> String {
        self.inner.model_name()
    }

    fn label(&self) -> String {
        self.inner.label()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_file_lists_files_at_work() {
        let dir = tempfile::tempdir().unwrap();
        let state = ServingState::new(dir.path());
        let pid = std::process::id();
        let read = || -> Vec<String> {
            std::fs::read(state_path(dir.path(), pid))
                .map(|b| serde_json::from_slice(&b).unwrap())
                .unwrap_or_default()
        };
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing is written before a file is at work"
        );
        let a = state.enter("aa");
        let a2 = state.enter("aa");
        assert_eq!(read(), vec!["aa".to_owned()]);
        drop(a);
        assert_eq!(read(), vec!["aa".to_owned()], "one use is still running");
        drop(a2);
        assert!(read().is_empty());
        assert!(
            !state_path(dir.path(), pid).exists(),
            "an idle process has no file"
        );
        let _b = state.enter("bb");
        assert_eq!(take(dir.path(), pid), vec!["bb".to_owned()]);
        assert!(!state_path(dir.path(), pid).exists());
    }

    /// A generator that streams the events it is given, one per `release`.
    struct Paced(std::sync::Mutex<Option<hearth_engine::GenerationSender>>);

    impl hearth_engine::Generator for Paced {
        fn render_chat(
            &self,
            _: &[ChatMessage],
            _: Option<&[serde_json::Value]>,
            _: bool,
        ) -> Result<String, EngineError> {
            Ok(String::new())
        }

        fn generate(&self, _: GenerateRequest) -> Result<Generation, EngineError> {
            let (tx, generation) = Generation::channel();
            *self.0.lock().unwrap() = Some(tx);
            Ok(generation)
        }

        fn model_name(&self) -> String {
            "paced".into()
        }

        fn label(&self) -> String {
            "paced".into()
        }
    }

    #[test]
    fn classifier_generations_count_as_work_until_they_end() {
        let dir = tempfile::tempdir().unwrap();
        let state = ServingState::new(dir.path());
        let paced = Arc::new(Paced(std::sync::Mutex::new(None)));
        let generator = TrackedGenerator {
            inner: paced.clone(),
            digest: "cc".into(),
            state: Arc::clone(&state),
        };
        let at_work = || std::fs::read(state_path(dir.path(), std::process::id())).is_ok();
        let mut generation =
            hearth_engine::Generator::generate(&generator, GenerateRequest::new("hi")).unwrap();
        assert!(at_work(), "the file is at work while the generation runs");
        let tx = paced.0.lock().unwrap().take().unwrap();
        assert!(tx.send(hearth_engine::Event::Token {
            text: "x".into(),
            logprobs: Vec::new(),
        }));
        assert!(matches!(
            generation.blocking_next(),
            Some(hearth_engine::Event::Token { .. })
        ));
        assert!(at_work());
        drop(tx);
        assert!(generation.blocking_next().is_none());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while at_work() {
            assert!(
                std::time::Instant::now() < deadline,
                "still at work after the end"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}
