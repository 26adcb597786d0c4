//! Moving models between machines without a network: `hearth export`, `hearth import` (a model
//! archive, or a GGUF file under a new name).

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use hearth_airgap::registry::{self, PullOptions};
use hearth_airgap::{archive, gguf_import};
use hearth_store::names::ModelName;
use hearth_store::Store;

/// Options of `hearth export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The model to export.
    model: String,
    /// The archive to write (a plain tar of Ollama's store layout).
    #[arg(short, long)]
    output: PathBuf,
    /// Model store [default: ~/.ollama/models].
    #[arg(long = "models-dir", env = "OLLAMA_MODELS", value_parser = crate::locations::path_or_empty())]
    models_dir: Option<PathBuf>,
}

/// Options of `hearth import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// A model archive written by `hearth export`, or a `.gguf` file (with `--name`).
    file: PathBuf,
    /// Name for a model imported from a `.gguf` file.
    #[arg(long)]
    name: Option<String>,
    /// Model store [default: ~/.ollama/models].
    #[arg(long = "models-dir", env = "OLLAMA_MODELS", value_parser = crate::locations::path_or_empty())]
    models_dir: Option<PathBuf>,
}

/// Options of `hearth pull`.
#[derive(Args, Debug)]
pub struct PullArgs {
    /// `host[:port]/namespace/model[:tag]`, e.g. `10.0.0.5:11435/library/smollm2:135m`, or
    /// `hf.co/user/repo[:quant]` (from the local Hugging Face cache, HF_HUB_CACHE / HF_HOME; else
    /// from the Hub or HF_ENDPOINT into that cache; HF_HUB_OFFLINE=1 forbids the network).
    model: String,
    /// Plain HTTP (and unverified TLS), for a hearth registry inside the airgap.
    #[arg(long)]
    insecure: bool,
    /// Model store [default: ~/.ollama/models].
    #[arg(long = "models-dir", env = "OLLAMA_MODELS", value_parser = crate::locations::path_or_empty())]
    models_dir: Option<PathBuf>,
}

/// Options of `hearth push`.
#[derive(Args, Debug)]
pub struct PushArgs {
    /// `host[:port]/namespace/model[:tag]`: a local model named for its target (`hearth cp` it first).
    model: String,
    /// Plain HTTP (and unverified TLS).
    #[arg(long)]
    insecure: bool,
    /// Model store [default: ~/.ollama/models].
    #[arg(long = "models-dir", env = "OLLAMA_MODELS", value_parser = crate::locations::path_or_empty())]
    models_dir: Option<PathBuf>,
}

/// Options of `hearth registry`.
#[derive(Args, Debug)]
pub struct RegistryArgs {
    /// Address to listen on (host:port).
    #[arg(long, default_value = "127.0.0.1:11435")]
    host: String,
    /// Also accept pushes (blob uploads are verified; manifests only when complete).
    #[arg(long)]
    writable: bool,
    /// Model store to serve [default: ~/.ollama/models].
    #[arg(long = "models-dir", env = "OLLAMA_MODELS", value_parser = crate::locations::path_or_empty())]
    models_dir: Option<PathBuf>,
}

fn parse_name(name: &str) -> anyhow::Result<ModelName> {
    ModelName::parse(name).with_context(|| format!("invalid model name {name:?}"))
}

/// `hearth export NAME -o FILE`.
pub fn export(args: ExportArgs) -> anyhow::Result<()> {
    let store = Store::new(crate::locations::models_dir(args.models_dir));
    let name = parse_name(&args.model)?;
    archive::export(&store, &name, &args.output)?;
    eprintln!("exported {name} to {}", args.output.display());
    Ok(())
}

/// `hearth import FILE [--name NAME]`.
pub fn import(args: ImportArgs) -> anyhow::Result<()> {
    let store = Store::new(crate::locations::models_dir(args.models_dir));
    let is_gguf = args
        .file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gguf"));
    match (is_gguf, args.name) {
        (true, Some(name)) => {
            let name = parse_name(&name)?;
            gguf_import::create_from_gguf(&store, &name, &args.file)?;
            eprintln!("created {name} from {}", args.file.display());
        }
        (true, None) => bail!("importing a .gguf file needs --name NAME"),
        (false, Some(_)) => bail!("--name applies to .gguf files only"),
        (false, None) => {
            for name in archive::import(&store, &args.file)? {
                eprintln!("imported {name}");
            }
        }
    }
    Ok(())
}

/// `hearth pull NAME [--insecure]`: straight into the local store (no server needed), resuming
/// any earlier interrupted pull; `hf.co/…` names come from the Hugging Face cache or Hub.
pub fn pull(args: PullArgs) -> anyhow::Result<()> {
    let store = Store::new(crate::locations::models_dir(args.models_dir));
    let name = parse_name(&args.model)?;
    if hearth_airgap::hf::is_hf(&name) {
        return pull_hf(&store, &name);
    }
    let opts = PullOptions {
        insecure: args.insecure,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut bars = Bars::default();
    runtime.block_on(registry::pull(&store, &name, &opts, |v| {
        match v["digest"].as_str() {
            Some(d) if bars.update(d, &v) => {}
            _ => eprintln!("{}", v["status"].as_str().unwrap_or_default()),
        }
    }))?;
    Ok(())
}

/// `hearth pull hf.co/user/repo[:quant]`: from the local Hugging Face cache when it has the
/// model (no network), else from the Hub or `HF_ENDPOINT` into that cache first.
fn pull_hf(store: &Store, name: &ModelName) -> anyhow::Result<()> {
    let opts = crate::hf_env::options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut bars = Bars::default();
    let pulled = runtime.block_on(hearth_airgap::hf::pull(store, name, &opts, |v| {
        let status = v["status"].as_str().unwrap_or_default();
        if bars.update(status, &v) {
            return;
        }
        if status.starts_with("tokenizer check") || status == "success" {
            eprintln!("{status}")
        } else {
            tracing::debug!("{status}")
        }
    }))?;
    let from = match pulled.source {
        hearth_airgap::hf::Source::Cache => "the Hugging Face cache",
        hearth_airgap::hf::Source::Hub => "the Hugging Face Hub, via the cache",
    };
    eprintln!("imported {name} from {from} {}", opts.cache.display());
    Ok(())
}

/// `hearth registry`: serve the local store read-only over the registry protocol, so other
/// machines inside the airgap can `hearth pull --insecure HOST:PORT/ns/model:tag` (or
/// `ollama pull --insecure`). `hearth serve --registry` mounts the same read-only routes next to
/// the API; this one runs without the API and can accept pushes (`--writable`).
pub fn serve_registry(args: RegistryArgs) -> anyhow::Result<()> {
    let store = Store::new(crate::locations::models_dir(args.models_dir));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.host)
            .await
            .with_context(|| format!("cannot listen on {}", args.host))?;
        eprintln!(
            "hearth: {} registry on http://{} (models in {})",
            if args.writable {
                "writable"
            } else {
                "read-only"
            },
            listener.local_addr()?,
            store.root().display()
        );
        let mut app = registry::router(store.clone());
        if args.writable {
            app = app.merge(registry::upload::router(store));
        }
        registry::server::serve_router(
            listener,
            app,
            hearth_ollama_compat::server::shutdown_signal(),
        )
        .await
        .context("registry server failed")
    })
}

/// `hearth push NAME [--insecure]`: upload a local model to the registry its name points at.
pub fn push(args: PushArgs) -> anyhow::Result<()> {
    let store = Store::new(crate::locations::models_dir(args.models_dir));
    let name = parse_name(&args.model)?;
    let opts = PullOptions {
        insecure: args.insecure,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut bars = Bars::default();
    runtime.block_on(registry::push(&store, &name, &opts, |v| {
        match (v["digest"].as_str(), v["completed"].is_u64()) {
            (Some(d), true) if bars.update(d, &v) => {}
            (Some(_), false) => {}
            _ => eprintln!("{}", v["status"].as_str().unwrap_or_default()),
        }
    }))?;
    Ok(())
}

/// Byte bars for Ollama's progress objects (`{"status", "total", "completed"}`), one per key
/// (a digest, or the status for Hugging Face downloads); hidden off a terminal.
#[derive(Default)]
struct Bars(std::collections::HashMap<String, indicatif::ProgressBar>);

impl Bars {
    /// Move `key`'s bar to `v`'s `completed` of its `total`; `false` when `v` has no total.
    fn update(&mut self, key: &str, v: &serde_json::Value) -> bool {
        let Some(total) = v["total"].as_u64() else {
            return false;
        };
        let status = v["status"].as_str().unwrap_or_default();
        let pb = self
            .0
            .entry(key.to_owned())
            .or_insert_with(|| hearth_airgap::progress::bytes_bar(total, status));
        pb.set_position(v["completed"].as_u64().unwrap_or(0));
        if pb.position() >= total {
            pb.finish();
        }
        true
    }
}
