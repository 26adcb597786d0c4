//! `hearth bundle`: write one executable that carries its models, and the startup hook that
//! makes a bundled executable serve them with nothing else installed.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use hearth_airgap::{bundle, cache};
use hearth_store::Store;

/// Options of `hearth bundle`.
#[derive(Args, Debug)]
pub struct BundleArgs {
    /// A model to carry (repeatable): one of hearth's bundled models (`smollm2:135m`), else any
    /// model of the store (`--models-dir`), with its manifest and every layer.
    #[arg(long = "model", required = true)]
    models: Vec<String>,
    /// The executable to write.
    #[arg(short, long)]
    output: PathBuf,
    /// Model store the models are taken from [default: ~/.ollama/models].
    #[arg(long = "models-dir", env = "OLLAMA_MODELS", value_parser = crate::locations::path_or_empty())]
    models_dir: Option<PathBuf>,
}

/// Write the bundle.
pub fn run(args: BundleArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("locating the running executable")?;
    // The store, then any read-only ones (a bundle's own models can be bundled again).
    let stores: Vec<Store> = std::iter::once(crate::locations::models_dir(args.models_dir))
        .chain(crate::locations::read_only_stores())
        .map(Store::new)
        .collect();
    let builtin_dirs = crate::locations::builtin_dirs();
    let sources = args
        .models
        .iter()
        .map(|name| bundle::resolve(name, &stores, &builtin_dirs))
        .collect::<Result<Vec<_>, _>>()?;
    let manifest = bundle::write_bundle(&exe, &sources, &args.output)?;
    for m in &manifest.models {
        eprintln!("bundled {} (sha256:{}, {} bytes)", m.name, m.sha256, m.size);
    }
    for s in &sources {
        if let bundle::Source::Store(m) = s {
            let size: u64 = m.blobs.iter().map(|b| b.size).sum();
            eprintln!(
                "bundled {} from {} ({} layers, {size} bytes)",
                m.name.display(),
                m.store.display(),
                m.blobs.len()
            );
        }
    }
    eprintln!("wrote {}", args.output.display());
    Ok(())
}

/// First thing in `main`: when this executable is a bundle, unpack its models (once) and point
/// the built-in model lookup and the read-only stores at them ([`crate::locations`]). A plain
/// executable costs one 64-byte read.
pub fn activate() -> anyhow::Result<()> {
    let activated =
        bundle::activate(&cache_roots().candidates()).context("starting the bundled executable")?;
    if let Some(a) = &activated {
        tracing::debug!(dir = %a.dir.display(), models = ?a.models, store_models = ?a.store_models, "bundled models ready");
    }
    crate::locations::set_activated(activated);
    Ok(())
}

/// Where a bundle's models may be unpacked, from the environment: `HEARTH_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/hearth`, else `$HOME/.cache/hearth`, else the temp dir.
fn cache_roots() -> cache::CacheRoots {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    cache::CacheRoots {
        explicit: var(cache::CACHE_ENV),
        xdg_cache_home: var("XDG_CACHE_HOME"),
        home: var("HOME"),
        user: std::env::var("USER").ok(),
        temp_dir: std::env::temp_dir(),
    }
}
