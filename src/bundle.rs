//! `hearth bundle`: write one executable that carries its models, and the startup hook that
//! makes a bundled executable serve them with nothing else installed.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use hearth_airgap::bundle;
use hearth_ollama_compat::store::Store;

/// Options of `hearth bundle`.
#[derive(Args, Debug)]
pub struct BundleArgs {
    /// A model to carry (repeatable), e.g. `--model smollm2:135m`.
    #[arg(long = "model", required = true)]
    models: Vec<String>,
    /// The executable to write.
    #[arg(short, long)]
    output: PathBuf,
    /// Model store searched when the weights are not next to hearth [default: ~/.ollama/models].
    #[arg(long = "models-dir", env = "OLLAMA_MODELS")]
    models_dir: Option<PathBuf>,
}

/// Write the bundle.
pub fn run(args: BundleArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("locating the running executable")?;
    let store = Store::new(crate::transfer::models_dir(args.models_dir));
    let sources = args
        .models
        .iter()
        .map(|name| bundle::resolve(name, Some(&store)))
        .collect::<Result<Vec<_>, _>>()?;
    let manifest = bundle::write_bundle(&exe, &sources, &args.output)?;
    for m in &manifest.models {
        eprintln!("bundled {} (sha256:{}, {} bytes)", m.name, m.sha256, m.size);
    }
    eprintln!("wrote {}", args.output.display());
    Ok(())
}

/// First thing in `main`: when this executable is a bundle, unpack its models (once) and point
/// the bundled-model lookup at them. A plain executable costs one 64-byte read.
pub fn activate() -> anyhow::Result<()> {
    if let Some(a) = bundle::activate().context("starting the bundled executable")? {
        tracing::debug!(dir = %a.dir.display(), models = ?a.models, "bundled models ready");
    }
    Ok(())
}
