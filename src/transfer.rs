//! Moving models between machines without a network: `hearth export`, `hearth import` (a model
//! archive, or a GGUF file under a new name).

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use hearth_airgap::{archive, gguf_import};
use hearth_ollama_compat::names::ModelName;
use hearth_ollama_compat::store::Store;

/// Options of `hearth export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The model to export.
    model: String,
    /// The archive to write (a plain tar of Ollama's store layout).
    #[arg(short, long)]
    output: PathBuf,
    /// Model store [default: ~/.ollama/models].
    #[arg(long = "models-dir", env = "OLLAMA_MODELS")]
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
    #[arg(long = "models-dir", env = "OLLAMA_MODELS")]
    models_dir: Option<PathBuf>,
}

/// The model store: the flag or `OLLAMA_MODELS`, else Ollama's `~/.ollama/models`.
pub fn models_dir(flag: Option<PathBuf>) -> PathBuf {
    flag.filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
            home.join(".ollama").join("models")
        })
}

fn parse_name(name: &str) -> anyhow::Result<ModelName> {
    ModelName::parse(name).with_context(|| format!("invalid model name {name:?}"))
}

/// `hearth export NAME -o FILE`.
pub fn export(args: ExportArgs) -> anyhow::Result<()> {
    let store = Store::new(models_dir(args.models_dir));
    let name = parse_name(&args.model)?;
    archive::export(&store, &name, &args.output)?;
    eprintln!("exported {name} to {}", args.output.display());
    Ok(())
}

/// `hearth import FILE [--name NAME]`.
pub fn import(args: ImportArgs) -> anyhow::Result<()> {
    let store = Store::new(models_dir(args.models_dir));
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
