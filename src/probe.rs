//! The load probe: before a model file that has never been loaded on this machine is loaded
//! in-process, the same binary loads it in a short-lived child (`hearth __probe-model FILE`:
//! a tiny context and one decode, under a timeout), so a file that aborts llama.cpp kills the
//! child, not the server. A crash there refuses the file (remembered by digest in the store's
//! [`record`]); a pass is remembered too, so later loads go in-process at once. The bundled
//! models (verified by sha256 against `models/manifest.json`) are trusted and never probed.

pub mod record;
pub mod serving;

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use futures::future::BoxFuture;
use hearth_engine::{Event, GenerateRequest, LoadConfig, Model};
use hearth_ollama_compat::backend::ModelProbe;

use record::ModelRecord;

/// Exit status of a probe whose file llama.cpp refused cleanly (an error, not a crash): the
/// in-process load then gives that error itself.
const CLEAN_FAILURE: i32 = 3;

/// Test seam, read only by `__probe-model`: a probe of a file whose name contains this value
/// aborts after loading it, as llama.cpp does on a hostile file.
pub const TEST_ABORT_ENV: &str = "HEARTH_PROBE_TEST_ABORT";

/// Digests of model files, and which of them are trusted.
#[derive(Debug, Default)]
pub struct ModelFiles {
    trusted: HashSet<String>,
    trusted_paths: HashMap<PathBuf, String>,
    trusted_dirs: Vec<PathBuf>,
    cache: Mutex<HashMap<PathBuf, String>>,
}

impl ModelFiles {
    /// The bundled models are trusted: their files were verified against the manifest's sha256.
    /// So is every file under `trusted_dirs` (a bundled executable's own store, verified against
    /// the digests its builder recorded when it was unpacked).
    pub fn new(
        builtin: &[hearth_store::catalog::BuiltinEntry],
        trusted_dirs: Vec<PathBuf>,
    ) -> Self {
        ModelFiles {
            trusted_dirs,
            trusted: builtin.iter().map(|b| b.sha256.clone()).collect(),
            trusted_paths: builtin
                .iter()
                .map(|b| (b.path.clone(), b.sha256.clone()))
                .collect(),
            cache: Mutex::default(),
        }
    }

    /// The sha256 hex of `path`: from a store blob's name (verified when it was written), else
    /// by hashing the file once. `None` when unreadable.
    pub fn digest(&self, path: &Path) -> Option<String> {
        if let Some(d) = self.trusted_paths.get(path) {
            return Some(d.clone());
        }
        let from_name = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("sha256-"))
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        if let Some(hex) = from_name {
            return Some(hex.to_ascii_lowercase());
        }
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(d) = cache.get(path) {
            return Some(d.clone());
        }
        let d = hearth_store::sha256_file(path, &mut |_| {})
            .ok()?
            .hex()
            .to_owned();
        cache.insert(path.to_owned(), d.clone());
        Some(d)
    }

    /// The digest of a file that is not one of the bundled models (`None` for those).
    pub fn untrusted_digest(&self, path: &Path) -> Option<String> {
        if self.trusted_dirs.iter().any(|d| path.starts_with(d)) {
            return None;
        }
        self.digest(path).filter(|d| !self.trusted.contains(d))
    }
}

/// The [`ModelProbe`] of `hearth serve`: refuses recorded bad files, passes recorded good ones
/// and the bundled models, and probes the rest in a child process.
#[derive(Debug)]
pub struct ChildProbe {
    /// The writable store (where the record lives).
    pub models_dir: PathBuf,
    /// Digests and trust.
    pub files: Arc<ModelFiles>,
    /// Fixed time limit for one probe (`None`: 60 s plus 30 s per GiB of file).
    pub timeout: Option<Duration>,
}

impl ModelProbe for ChildProbe {
    fn check(&self, path: &Path, config: &LoadConfig) -> BoxFuture<'static, Result<(), String>> {
        let (path, models_dir, files) = (
            path.to_owned(),
            self.models_dir.clone(),
            Arc::clone(&self.files),
        );
        let (threads, gpu_layers, timeout) = (config.threads, config.gpu_layers, self.timeout);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                check_file(&path, &models_dir, &files, threads, gpu_layers, timeout)
            })
            .await
            .unwrap_or_else(|e| Err(format!("the load probe failed: {e}")))
        })
    }
}

/// The probe's decision for one file: refused when recorded bad, passed when trusted or recorded
/// good, else probed in a child and the outcome recorded. `hearth serve` asks it before each
/// load; the verbs that load a model in-process (`run`, `classify`) ask it too, so a hostile
/// file gives them an error instead of aborting the command.
///
/// # Errors
/// Why the file is refused, with what to do next.
pub fn check_file(
    path: &Path,
    models_dir: &Path,
    files: &ModelFiles,
    threads: Option<u32>,
    gpu_layers: u32,
    timeout: Option<Duration>,
) -> Result<(), String> {
    let Some(digest) = files.untrusted_digest(path) else {
        return Ok(());
    };
    let record = ModelRecord::load(models_dir);
    if let Some(why) = record.refusal(&digest) {
        return Err(why);
    }
    if record.passed.contains(&digest) {
        return Ok(());
    }
    let limit = timeout.unwrap_or_else(|| default_timeout(path));
    match probe_in_child(path, threads, gpu_layers, limit) {
        Outcome::Passed(took) => {
            tracing::info!(digest, ?took, "model file passed the load probe");
            ModelRecord::update(models_dir, |r| r.passed.insert(digest));
            Ok(())
        }
        Outcome::Clean => Ok(()),
        Outcome::Crashed(why) => {
            tracing::error!(digest, path = %path.display(), "{why}");
            ModelRecord::update(models_dir, |r| r.bad.insert(digest.clone(), why.clone()));
            Err(format!(
                "{why}; model sha256:{digest} is refused {}",
                record::HOW_TO_CLEAR
            ))
        }
        Outcome::TimedOut => Err(format!(
            "probing the model file took longer than {}s (set HEARTH_PROBE_TIMEOUT \
             to allow more)",
            limit.as_secs()
        )),
        Outcome::NotRun(e) => {
            // Without the probe the load goes on in-process, as with --no-model-probe.
            tracing::warn!(error = %e, "cannot run the load probe; loading in-process");
            Ok(())
        }
    }
}

/// [`check_file`] for a CLI verb about to load `path` in-process: the writable store's record,
/// the bundled models and a bundle's own store trusted, the default time limit.
///
/// # Errors
/// As [`check_file`].
pub fn check_before_cli_load(path: &Path, threads: Option<u32>) -> Result<(), String> {
    // The same switches as `hearth serve --no-model-probe` / `--probe-timeout`.
    let off = std::env::var("HEARTH_NO_MODEL_PROBE").is_ok_and(|v| {
        !matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "" | "0" | "false" | "no" | "off"
        )
    });
    if off {
        return Ok(());
    }
    let timeout = std::env::var("HEARTH_PROBE_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .map(Duration::from_secs);
    let files = ModelFiles::new(
        &crate::locations::builtin_entries(),
        crate::locations::bundle_store().into_iter().collect(),
    );
    let models_dir = crate::locations::models_dir_from_env();
    check_file(path, &models_dir, &files, threads, 0, timeout)
}

/// Put the probe into `config` (`probe`: `None` = off, else its fixed time limit, if any) and
/// return the loader `serve` uses: a supervised child also records which files are at work.
pub fn install(
    config: &mut hearth_ollama_compat::ServerConfig,
    builtin: &[hearth_store::catalog::BuiltinEntry],
    probe: Option<Option<Duration>>,
    supervised: bool,
) -> Arc<dyn hearth_ollama_compat::backend::Loader> {
    let files = Arc::new(ModelFiles::new(
        builtin,
        crate::locations::bundle_store().into_iter().collect(),
    ));
    if let Some(timeout) = probe {
        config.scheduler.probe = Some(Arc::new(ChildProbe {
            models_dir: config.models_dir.clone(),
            files: Arc::clone(&files),
            timeout,
        }));
    }
    let engine = Arc::new(hearth_ollama_compat::backend::EngineLoader);
    if !supervised {
        return engine;
    }
    Arc::new(serving::TrackingLoader {
        inner: engine,
        files,
        state: serving::ServingState::new(&config.models_dir),
    })
}

fn default_timeout(path: &Path) -> Duration {
    let gib = std::fs::metadata(path).map_or(0, |m| m.len()) >> 30;
    Duration::from_secs(60 + 30 * gib)
}

enum Outcome {
    Passed(Duration),
    Clean,
    Crashed(String),
    TimedOut,
    NotRun(std::io::Error),
}

/// This executable (`/proc/self/exe` even when the file was replaced since it started).
pub fn self_exe() -> PathBuf {
    let proc = PathBuf::from("/proc/self/exe");
    if proc.exists() {
        return proc;
    }
    std::env::current_exe().unwrap_or_else(|_| PathBuf::from("hearth"))
}

fn probe_in_child(path: &Path, threads: Option<u32>, gpu_layers: u32, limit: Duration) -> Outcome {
    let started = Instant::now();
    let mut cmd = Command::new(self_exe());
    cmd.arg("__probe-model")
        .arg(path)
        .arg("--gpu-layers")
        .arg(gpu_layers.to_string())
        // ggml would run gdb for a backtrace on abort; the probe only needs the message.
        .env("GGML_NO_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(t) = threads {
        cmd.arg("--threads").arg(t.to_string());
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Outcome::NotRun(e),
    };
    let mut stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.read_to_end(&mut buf);
        }
        buf
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Outcome::TimedOut;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Outcome::NotRun(e),
        }
    };
    let tail = stderr_tail(&reader.join().unwrap_or_default());
    let with_tail = |what: String| {
        if tail.is_empty() {
            what
        } else {
            format!("{what}: {tail}")
        }
    };
    match (status.code(), status.signal()) {
        (Some(0), _) => Outcome::Passed(started.elapsed()),
        (Some(CLEAN_FAILURE), _) => Outcome::Clean,
        (_, Some(sig)) => Outcome::Crashed(with_tail(format!(
            "model file aborts llama.cpp (killed by {})",
            signal_name(sig)
        ))),
        (code, None) => Outcome::Crashed(with_tail(format!(
            "model file crashes the model loader (exit status {})",
            code.unwrap_or(-1)
        ))),
    }
}

/// `SIGABRT`, `SIGSEGV`, … for a signal number.
pub fn signal_name(sig: i32) -> String {
    nix::sys::signal::Signal::try_from(sig)
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|_| format!("signal {sig}"))
}

/// The last lines of a crashed probe's stderr, short, with directories dropped from paths.
fn stderr_tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let tail = lines[lines.len().saturating_sub(3)..]
        .iter()
        .map(|l| {
            l.split(' ')
                .map(|w| {
                    if w.contains('/') {
                        w.rsplit('/').next().unwrap_or(w)
                    } else {
                        w
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join(" | ");
    tail.chars().take(400).collect()
}

/// Options of the hidden `hearth __probe-model`.
#[derive(Args, Debug)]
pub struct ProbeArgs {
    /// The GGUF file.
    path: PathBuf,
    /// Decode threads.
    #[arg(long)]
    threads: Option<u32>,
    /// Layers offloaded to a GPU backend.
    #[arg(long, default_value_t = u32::MAX)]
    gpu_layers: u32,
}

/// `hearth __probe-model FILE`: load with a tiny context, decode one token, exit 0. A clean
/// load or decode error exits [`CLEAN_FAILURE`]; a crash is the caller's finding.
pub fn run(args: ProbeArgs) -> anyhow::Result<()> {
    let config = LoadConfig {
        num_ctx: 128,
        parallel: 1,
        threads: args.threads,
        batch_size: 128,
        kv_budget_bytes: None,
        cache_ram_bytes: 0,
        gpu_layers: args.gpu_layers,
        ..LoadConfig::default()
    };
    let model = Model::load(&args.path, config).unwrap_or_else(|e| clean_failure(e));
    let abort_on = std::env::var(TEST_ABORT_ENV).unwrap_or_default();
    if !abort_on.is_empty() && args.path.to_string_lossy().contains(&abort_on) {
        eprintln!("{TEST_ABORT_ENV}: aborting as llama.cpp would on this file");
        std::process::abort();
    }
    let mut request = GenerateRequest::new("Hello");
    request.options.num_predict = 1;
    request.options.temperature = 0.0;
    let mut stream = model.generate(request).unwrap_or_else(|e| clean_failure(e));
    while let Some(event) = stream.blocking_next() {
        match event {
            Event::Token { .. } => {}
            Event::Done(_) => break,
            Event::Error(e) => clean_failure(e),
        }
    }
    Ok(())
}

fn clean_failure(e: impl std::fmt::Display) -> ! {
    eprintln!("{e}");
    std::process::exit(CLEAN_FAILURE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_is_short_and_without_directories() {
        let err = b"noise\n\n/root/src/ggml.c:123: GGML_ASSERT(eps >= 0.0f) failed\nlast line\n";
        assert_eq!(
            stderr_tail(err),
            "noise | ggml.c:123: GGML_ASSERT(eps >= 0.0f) failed | last line"
        );
        assert_eq!(signal_name(6), "SIGABRT");
    }

    #[test]
    fn store_blobs_are_named_by_their_digest() {
        let files = ModelFiles::default();
        let hex = "Ab".repeat(32);
        let path = PathBuf::from(format!("/nowhere/blobs/sha256-{hex}"));
        assert_eq!(files.digest(&path), Some(hex.to_ascii_lowercase()));
        assert_eq!(files.digest(Path::new("/nowhere/x.gguf")), None);
    }
}
