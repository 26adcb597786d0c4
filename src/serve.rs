//! `hearth serve`: the Ollama-compatible server, configured by Ollama's environment variables
//! (each with a matching flag).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use hearth_airgap::registry::AirgapRegistry;
use hearth_ollama_compat::keep_alive::KeepAlive;
use hearth_ollama_compat::{config, server, ServerConfig};

/// Options of `hearth serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on: host, host:port, :port or a URL.
    #[arg(long, env = "OLLAMA_HOST", default_value = "127.0.0.1:11434")]
    host: String,
    /// Model store directory (Ollama's layout) [default: ~/.ollama/models]. `--models` is an
    /// older spelling of the same flag.
    #[arg(long = "models-dir", alias = "models", env = "OLLAMA_MODELS", value_parser = crate::locations::path_or_empty())]
    models_dir: Option<PathBuf>,
    /// How long models stay loaded after a request (Go duration or seconds; negative = forever).
    #[arg(long, env = "OLLAMA_KEEP_ALIVE", default_value = "5m")]
    keep_alive: String,
    /// Parallel sequences per model (0 = 4).
    #[arg(long, env = "OLLAMA_NUM_PARALLEL", default_value_t = 0)]
    num_parallel: u32,
    /// Most models loaded at once (0 = 3).
    #[arg(long, env = "OLLAMA_MAX_LOADED_MODELS", default_value_t = 0)]
    max_loaded_models: usize,
    /// Pending requests allowed beyond the running ones before answering 503.
    #[arg(long, env = "OLLAMA_MAX_QUEUE", default_value_t = 512)]
    max_queue: usize,
    /// Extra allowed CORS origins, comma-separated (wildcards allowed).
    #[arg(long, env = "OLLAMA_ORIGINS", default_value = "")]
    origins: String,
    /// Default context length per sequence (0 = 4096).
    #[arg(long, env = "OLLAMA_CONTEXT_LENGTH", default_value_t = 0)]
    context_length: u32,
    /// Keep unreferenced blobs at startup (by default they are removed, as Ollama does).
    #[arg(long, env = "OLLAMA_NOPRUNE", value_parser = clap::builder::FalseyValueParser::new())]
    noprune: bool,
    /// Decode threads (default: physical cores).
    #[arg(long, env = "HEARTH_THREADS")]
    threads: Option<u32>,
    /// Require `Authorization: Bearer <key>` with the key read from this file.
    #[arg(long)]
    api_key_file: Option<PathBuf>,
    /// Require `Authorization: Bearer <key>` with this key.
    #[arg(long, env = "HEARTH_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Largest request body in bytes (blob uploads excepted).
    #[arg(long, env = "HEARTH_BODY_LIMIT", default_value_t = 64 << 20)]
    body_limit: usize,
    /// Most bytes of KV cache per loaded model (all its parallel sequences together), as bytes
    /// or with a unit (`512MiB`, `2GiB`, `1.5GB`). Contexts shrink to fit; 0 = no cap.
    #[arg(long, env = "HEARTH_KV_BUDGET", default_value = "1GiB", value_parser = parse_size)]
    kv_budget: u64,
    /// Host memory per loaded model for the prompt cache: when a slot goes to another
    /// conversation, the old one's KV state is kept here and restored when it comes back
    /// (llama-server's --cache-ram). Same units as --kv-budget; 0 = off.
    #[arg(long, env = "HEARTH_CACHE_RAM", default_value = "1GiB", value_parser = parse_size)]
    cache_ram: u64,
    /// Also serve the model store read-only over the registry protocol under /v2/ on the same
    /// port, so other machines inside the airgap can `hearth pull --insecure
    /// HOST:PORT/library/MODEL:TAG` (or `ollama pull --insecure …`) from this one. Off by
    /// default; the Host check (loopback binds) and --api-key apply to /v2/ as to the API.
    #[arg(long, env = "HEARTH_REGISTRY", value_parser = clap::builder::FalseyValueParser::new())]
    registry: bool,
    /// Run the server in this process, without the supervisor that restarts it when it dies.
    #[arg(long, env = "HEARTH_NO_SUPERVISOR", value_parser = clap::builder::FalseyValueParser::new())]
    no_supervisor: bool,
    /// Forget which model files are refused for crashing llama.cpp (the record in the store's
    /// hearth-state/models.json), then serve.
    #[arg(long)]
    clear_bad_models: bool,
    /// Load never-seen model files in-process at once, without probing them in a child process.
    #[arg(long, env = "HEARTH_NO_MODEL_PROBE", value_parser = clap::builder::FalseyValueParser::new())]
    no_model_probe: bool,
    /// Time limit in seconds for probing one model file (default: 60 plus 30 per GiB).
    #[arg(long, env = "HEARTH_PROBE_TIMEOUT")]
    probe_timeout: Option<u64>,
    /// Flash attention: `1` on, `0` off, `auto` (default) is llama.cpp's choice. On the CPU,
    /// `0` makes warm agent turns after a long cached prefix faster and short chats slower.
    #[arg(long, env = "OLLAMA_FLASH_ATTENTION", default_value = "auto", value_parser = hearth_engine::FlashAttention::parse)]
    flash_attention: hearth_engine::FlashAttention,
    /// Do not serve the built-in web UI under /ui/.
    #[arg(long, env = "HEARTH_NO_UI", value_parser = clap::builder::FalseyValueParser::new())]
    no_ui: bool,
}

impl ServeArgs {
    fn config(self) -> anyhow::Result<ServerConfig> {
        let bind = config::bind_addr(&self.host)
            .with_context(|| format!("OLLAMA_HOST {:?}", self.host))?;
        let mut cfg = ServerConfig::new(crate::locations::models_dir(self.models_dir));
        cfg.read_only_models = crate::locations::read_only_stores();
        cfg.hostname = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty());
        cfg.bind = bind;
        cfg.scheduler.keep_alive = KeepAlive::parse_env(&self.keep_alive)
            .map_err(anyhow::Error::msg)
            .context("OLLAMA_KEEP_ALIVE")?;
        if self.num_parallel > 0 {
            cfg.scheduler.num_parallel = self.num_parallel;
        }
        if self.max_loaded_models > 0 {
            cfg.scheduler.max_loaded = self.max_loaded_models;
        }
        cfg.scheduler.max_queue = self.max_queue;
        if self.context_length > 0 {
            cfg.scheduler.num_ctx = self.context_length;
        }
        cfg.scheduler.threads = self.threads;
        cfg.origins = config::parse_origins(&self.origins);
        cfg.body_limit = self.body_limit;
        cfg.scheduler.kv_budget_bytes = (self.kv_budget > 0).then_some(self.kv_budget);
        cfg.scheduler.cache_ram_bytes = self.cache_ram;
        cfg.scheduler.flash_attention = self.flash_attention;
        cfg.prune = !self.noprune;
        cfg.ui = !self.no_ui;
        // /api/pull and /api/push speak the registry protocol (hearth-airgap's client).
        cfg.registry_client = Some(Arc::new(AirgapRegistry {
            hf: crate::hf_env::options(),
        }));
        if self.registry {
            let store = hearth_store::Store::new(&cfg.models_dir);
            cfg.extra_routes = Some(hearth_airgap::registry::router(store));
        }
        cfg.api_key = match (self.api_key_file, self.api_key) {
            (Some(file), _) => {
                let key = std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?;
                Some(key.trim().to_owned()).filter(|k| !k.is_empty())
            }
            (None, key) => key.filter(|k| !k.is_empty()),
        };
        Ok(cfg)
    }
}

/// A byte size: a plain number, or one with a decimal (`KB`, `MB`, `GB`) or binary (`KiB`,
/// `MiB`, `GiB`) unit, case-insensitive.
fn parse_size(value: &str) -> Result<u64, String> {
    let v = value.trim();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{value:?} is not a size (try 1GiB, 512MiB or a number of bytes)"))?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" | "k" => 1e3,
        "mb" | "m" => 1e6,
        "gb" | "g" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "unknown size unit {other:?} in {value:?} (use KiB, MiB, GiB, KB, MB or GB)"
            ))
        }
    };
    Ok((number * scale).round() as u64)
}

/// Run the server until Ctrl-C or SIGTERM.
pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let (supervise, clear_bad) = (!args.no_supervisor, args.clear_bad_models);
    let probe =
        (!args.no_model_probe).then(|| args.probe_timeout.map(std::time::Duration::from_secs));
    let mut config = args.config()?;
    let child = crate::supervisor::is_child();
    if clear_bad && !child {
        let n = crate::probe::record::ModelRecord::clear_bad(&config.models_dir);
        eprintln!("hearth: cleared the record of {n} refused model file(s)");
    }
    if supervise && !child {
        return crate::supervisor::run(config.bind, config.models_dir.clone());
    }
    let builtin = crate::locations::builtin_entries();
    let loader = crate::probe::install(&mut config, &builtin, probe, child);
    let inherited = crate::supervisor::inherited_listener()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let bind = config.bind;
        let listener = match inherited {
            Some(socket) => tokio::net::TcpListener::from_std(socket)?,
            None => tokio::net::TcpListener::bind(bind)
                .await
                .with_context(|| format!("cannot listen on {bind}"))?,
        };
        eprintln!(
            "hearth: Ollama API on http://{bind} (models in {})",
            config.models_dir.display()
        );
        if config.ui {
            eprintln!("hearth: web UI on http://{bind}/ui/");
        }
        if config.extra_routes.is_some() {
            eprintln!("hearth: read-only registry on http://{bind}/v2/ (pull with --insecure)");
            if config.api_key.is_some() {
                tracing::warn!(
                    "the registry routes need the API key too; registry clients do not send it"
                );
            }
        }
        server::serve_on(listener, config, loader, builtin, server::shutdown_signal())
            .await
            .context("server failed")
    })
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("512mib"), Ok(512 << 20));
        assert_eq!(parse_size("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("0"), Ok(0));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("2 parsecs").is_err());
    }
}
