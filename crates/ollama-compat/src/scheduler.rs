//! Loaded models: load on first use, keep each for its keep_alive after the last request,
//! evict the least recently used beyond `max_loaded`, and bound pending requests (503 beyond).
//!
//! Lock order: `load_lock` (async, held while loading) before `state` (sync, never held across
//! an `.await`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Local};
use hearth_engine::{FlashAttention, LoadConfig};

use crate::backend::{LoadedModel, Loader, ModelProbe};
use crate::error::ApiError;
use crate::keep_alive::KeepAlive;

/// Scheduler limits.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// Default keep_alive (`OLLAMA_KEEP_ALIVE`).
    pub keep_alive: KeepAlive,
    /// Most models resident at once.
    pub max_loaded: usize,
    /// Requests allowed to wait beyond the running ones before 503.
    pub max_queue: usize,
    /// Parallel sequences per model.
    pub num_parallel: u32,
    /// Default context length per sequence.
    pub num_ctx: u32,
    /// Decode threads (`None`: physical cores).
    pub threads: Option<u32>,
    /// Upper bound for each model's KV cache in bytes (`None`: no cap); contexts shrink to fit.
    pub kv_budget_bytes: Option<u64>,
    /// Host memory per model for prompt states whose slot went to another conversation (0: off).
    pub cache_ram_bytes: u64,
    /// Flash attention (`OLLAMA_FLASH_ATTENTION`).
    pub flash_attention: FlashAttention,
    /// Asked before each in-process load; a refusal becomes the request's 400 (`None`: load
    /// every file directly).
    pub probe: Option<Arc<dyn ModelProbe>>,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            keep_alive: KeepAlive::DEFAULT,
            max_loaded: 3,
            max_queue: 512,
            num_parallel: 4,
            num_ctx: 4096,
            threads: None,
            kv_budget_bytes: LoadConfig::default().kv_budget_bytes,
            cache_ram_bytes: LoadConfig::default().cache_ram_bytes,
            flash_attention: FlashAttention::default(),
            probe: None,
        }
    }
}

/// A model in memory, as `/api/ps` shows it.
#[derive(Debug, Clone)]
pub struct RunnerStatus {
    /// Display name of the model that loaded it.
    pub name: String,
    /// Weights file.
    pub path: PathBuf,
    /// When it unloads.
    pub expires_at: DateTime<Local>,
    /// Context length per sequence.
    pub context_length: u32,
    /// Bytes of weights.
    pub size: u64,
    /// Prefix reuse and the host-memory prompt cache.
    pub prompt_cache: hearth_engine::PromptCacheStats,
    /// Requests holding it now (generating, embedding or waiting for a slot).
    pub busy: usize,
}

struct Runner {
    /// Unique per load: a lease of an earlier load of the same file (evicted while busy) must not
    /// touch this one.
    id: u64,
    name: String,
    model: Arc<dyn LoadedModel>,
    refs: usize,
    keep_alive: KeepAlive,
    expires_at: DateTime<Local>,
    last_used: Instant,
    epoch: u64,
}

#[derive(Default)]
struct State {
    runners: HashMap<PathBuf, Runner>,
    epoch: u64,
    next_id: u64,
}

/// The scheduler.
pub struct Scheduler {
    loader: Arc<dyn Loader>,
    config: SchedulerConfig,
    state: Arc<Mutex<State>>,
    load_lock: tokio::sync::Mutex<()>,
    in_flight: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("config", &self.config)
            .finish()
    }
}

/// A ticket for one queued or running request; dropping it frees the queue place.
#[derive(Debug)]
pub struct Ticket(Arc<AtomicUsize>);

impl Drop for Ticket {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A loaded model held by one request; the keep_alive timer starts when the last lease drops.
pub struct Lease {
    model: Arc<dyn LoadedModel>,
    path: PathBuf,
    /// The [`Runner::id`] leased.
    runner: u64,
    state: Arc<Mutex<State>>,
    /// Time spent loading the model for this request (zero when it was resident).
    pub load_duration: Duration,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("path", &self.path)
            .field("runner", &self.runner)
            .finish()
    }
}

impl Lease {
    /// The model.
    pub fn model(&self) -> &Arc<dyn LoadedModel> {
        &self.model
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.epoch += 1;
        let epoch = st.epoch;
        // The runner may be gone (evicted, unloaded) or replaced by a later load of the file.
        let runner = self.runner;
        let Some(r) = st.runners.get_mut(&self.path).filter(|r| r.id == runner) else {
            return;
        };
        r.refs = r.refs.saturating_sub(1);
        if !r.model.alive() {
            // Its inference thread died: unload it now, whoever else still holds it.
            tracing::warn!(path = %self.path.display(), "model's inference thread died; unloading");
            let removed = st.runners.remove(&self.path);
            drop(st);
            drop(removed);
            return;
        }
        if r.refs > 0 {
            return;
        }
        r.epoch = epoch;
        r.last_used = Instant::now();
        match r.keep_alive {
            KeepAlive::Forever => {}
            KeepAlive::For(d) if d.is_zero() => {
                let removed = st.runners.remove(&self.path);
                drop(st);
                drop(removed);
            }
            KeepAlive::For(d) => {
                r.expires_at = expiry(r.keep_alive);
                let (state, path) = (Arc::clone(&self.state), self.path.clone());
                if let Ok(handle) = tokio::runtime::Handle::try_current() {
                    handle.spawn(async move {
                        tokio::time::sleep(d).await;
                        let removed = {
                            let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
                            let idle = st
                                .runners
                                .get(&path)
                                .is_some_and(|r| r.id == runner && r.refs == 0 && r.epoch == epoch);
                            if idle {
                                st.runners.remove(&path)
                            } else {
                                None
                            }
                        };
                        if removed.is_some() {
                            tracing::info!(path = %path.display(), "keep_alive expired; unloading");
                        }
                    });
                }
            }
        }
    }
}

fn expiry(k: KeepAlive) -> DateTime<Local> {
    match k {
        KeepAlive::For(d) => {
            Local::now() + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
        }
        // Go's max duration, about 292 years, as Ollama reports a model kept forever.
        KeepAlive::Forever => Local::now() + chrono::Duration::nanoseconds(i64::MAX),
    }
}

impl Scheduler {
    /// A scheduler loading through `loader`.
    pub fn new(loader: Arc<dyn Loader>, config: SchedulerConfig) -> Self {
        Scheduler {
            loader,
            config,
            state: Arc::new(Mutex::new(State::default())),
            load_lock: tokio::sync::Mutex::new(()),
            in_flight: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The limits in force.
    pub fn config(&self) -> &SchedulerConfig {
        &self.config
    }

    /// Requests queued or running now.
    pub fn queue_depth(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Take a place in the queue, or fail at once with 503 when it is full.
    pub fn admit(&self) -> Result<Ticket, ApiError> {
        let limit = self.config.max_queue
            + (self.config.num_parallel as usize * self.config.max_loaded.max(1));
        let prev = self.in_flight.fetch_add(1, Ordering::AcqRel);
        let ticket = Ticket(Arc::clone(&self.in_flight));
        if prev >= limit {
            return Err(ApiError::Busy);
        }
        Ok(ticket)
    }

    /// Get a loaded model, loading it (and evicting the least recently used) when needed.
    /// `num_ctx` overrides the default context (a Modelfile `num_ctx` parameter).
    pub async fn acquire(
        &self,
        name: &str,
        path: &std::path::Path,
        keep_alive: Option<KeepAlive>,
        num_ctx: Option<u32>,
    ) -> Result<Lease, ApiError> {
        if let Some(lease) = self.attach(path, keep_alive) {
            return Ok(lease);
        }
        let _loading = self.load_lock.lock().await;
        if let Some(lease) = self.attach(path, keep_alive) {
            return Ok(lease);
        }
        self.evict_for_one_more();
        let started = Instant::now();
        let config = LoadConfig {
            num_ctx: num_ctx.unwrap_or(self.config.num_ctx).max(4),
            parallel: self.config.num_parallel.max(1),
            threads: self.config.threads,
            kv_budget_bytes: self.config.kv_budget_bytes,
            cache_ram_bytes: self.config.cache_ram_bytes,
            flash_attention: self.config.flash_attention,
            ..LoadConfig::default()
        };
        if let Some(probe) = &self.config.probe {
            probe
                .check(path, &config)
                .await
                .map_err(ApiError::BadRequest)?;
        }
        tracing::info!(model = name, path = %path.display(), "loading model");
        let model = self
            .loader
            .load(path, config)
            .await
            .map_err(|e| ApiError::internal_as(&format!("failed to load model {name}"), e))?;
        let keep_alive = keep_alive.unwrap_or(self.config.keep_alive);
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.next_id += 1;
        let id = st.next_id;
        st.runners.insert(
            path.to_owned(),
            Runner {
                id,
                name: name.to_owned(),
                model: Arc::clone(&model),
                refs: 1,
                keep_alive,
                expires_at: expiry(keep_alive),
                last_used: Instant::now(),
                epoch: 0,
            },
        );
        Ok(Lease {
            model,
            path: path.to_owned(),
            runner: id,
            state: Arc::clone(&self.state),
            load_duration: started.elapsed(),
        })
    }

    fn attach(&self, path: &std::path::Path, keep_alive: Option<KeepAlive>) -> Option<Lease> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.runners.get(path).is_some_and(|r| !r.model.alive()) {
            // A model whose inference thread died is never handed out: load it again.
            let dead = st.runners.remove(path);
            drop(st);
            tracing::warn!(path = %path.display(), "model's inference thread died; reloading");
            drop(dead);
            return None;
        }
        let r = st.runners.get_mut(path)?;
        r.refs += 1;
        r.last_used = Instant::now();
        if let Some(k) = keep_alive {
            r.keep_alive = k;
        }
        r.expires_at = expiry(r.keep_alive);
        Some(Lease {
            model: Arc::clone(&r.model),
            path: path.to_owned(),
            runner: r.id,
            state: Arc::clone(&self.state),
            load_duration: Duration::ZERO,
        })
    }

    fn evict_for_one_more(&self) {
        let mut evicted = Vec::new();
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while st.runners.len() >= self.config.max_loaded.max(1) {
            // Idle runners first, then the least recently used; running requests keep their clone.
            let victim = st
                .runners
                .iter()
                .min_by_key(|(_, r)| (r.refs > 0, r.last_used))
                .map(|(p, _)| p.clone());
            let Some(victim) = victim else { break };
            tracing::info!(path = %victim.display(), "evicting model");
            evicted.extend(st.runners.remove(&victim));
        }
        drop(st);
        drop(evicted);
    }

    /// Unload a model now (keep_alive 0 with an empty prompt). Returns whether it was loaded.
    pub fn unload(&self, path: &std::path::Path) -> bool {
        let removed = self
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .runners
            .remove(path);
        removed.is_some()
    }

    /// Loaded models, latest expiry first.
    pub fn status(&self) -> Vec<RunnerStatus> {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<RunnerStatus> = st
            .runners
            .iter()
            .map(|(path, r)| {
                let facts = r.model.facts();
                RunnerStatus {
                    name: r.name.clone(),
                    path: path.clone(),
                    expires_at: r.expires_at,
                    context_length: facts.context_length,
                    size: facts.size_bytes,
                    prompt_cache: r.model.prompt_cache(),
                    busy: r.refs,
                }
            })
            .collect();
        out.sort_by_key(|r| std::cmp::Reverse(r.expires_at));
        out
    }

    /// Drop every loaded model (shutdown).
    pub fn unload_all(&self) {
        let all = std::mem::take(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()).runners);
        drop(all);
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::fake::FakeLoader;

    fn scheduler(max_loaded: usize) -> (Scheduler, FakeLoader) {
        let config = SchedulerConfig {
            max_loaded,
            ..SchedulerConfig::default()
        };
        let loader = FakeLoader::default();
        (Scheduler::new(Arc::new(loader.clone()), config), loader)
    }

    fn loaded(s: &Scheduler) -> Vec<PathBuf> {
        s.status().into_iter().map(|r| r.path).collect()
    }

    /// Refuses one file by name.
    #[derive(Debug)]
    struct RefuseBad;

    impl ModelProbe for RefuseBad {
        fn check(
            &self,
            path: &Path,
            _: &LoadConfig,
        ) -> futures::future::BoxFuture<'static, Result<(), String>> {
            let bad = path.ends_with("bad.gguf");
            Box::pin(async move {
                if bad {
                    Err("model file aborts llama.cpp".into())
                } else {
                    Ok(())
                }
            })
        }
    }

    /// The probe is asked before a load: a refusal is the request's 400 and nothing is loaded.
    #[tokio::test]
    async fn a_refused_file_is_never_loaded() {
        let config = SchedulerConfig {
            probe: Some(Arc::new(RefuseBad)),
            ..SchedulerConfig::default()
        };
        let loader = FakeLoader::default();
        let s = Scheduler::new(Arc::new(loader.clone()), config);
        match s.acquire("bad", Path::new("/m/bad.gguf"), None, None).await {
            Err(ApiError::BadRequest(m)) => assert_eq!(m, "model file aborts llama.cpp"),
            other => panic!("expected a 400, got {other:?}"),
        }
        assert_eq!(loader.0.loads.load(Ordering::SeqCst), 0);
        s.acquire("good", Path::new("/m/good.gguf"), None, None)
            .await
            .unwrap();
        assert_eq!(loader.0.loads.load(Ordering::SeqCst), 1);
    }

    /// A lease of a model evicted while busy must not release a later load of the same file.
    #[tokio::test]
    async fn a_stale_lease_leaves_a_reloaded_runner_alone() {
        let (s, loader) = scheduler(1);
        let (a, b) = (Path::new("/m/a.gguf"), Path::new("/m/b.gguf"));
        let old = s.acquire("a", a, None, None).await.unwrap();
        // Loading b evicts a, busy as it is; loading a again evicts the idle b.
        drop(s.acquire("b", b, None, None).await.unwrap());
        let zero = Some(KeepAlive::For(Duration::ZERO));
        let new = s.acquire("a", a, zero, None).await.unwrap();
        assert_eq!(loader.0.loads.load(Ordering::SeqCst), 3, "a, b, a again");
        drop(old);
        assert_eq!(
            loaded(&s),
            vec![a.to_owned()],
            "the new runner is still in use"
        );
        let again = s.acquire("a", a, zero, None).await.unwrap();
        assert_eq!(
            again.load_duration,
            Duration::ZERO,
            "attached, not reloaded"
        );
        drop(new);
        assert_eq!(loaded(&s), vec![a.to_owned()], "one lease is left");
        drop(again);
        assert!(
            loaded(&s).is_empty(),
            "keep_alive 0 unloads after the last lease"
        );
    }
}
