//! Writing a bundle: the executable (without any payload it already carries), then each payload
//! page-aligned and hashed as it is copied (hearth's bundled models, then the blobs of store
//! models, each digest once), then the manifest and footer; all into a temp file renamed into
//! place only when complete.

use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use hearth_store::builtin;
use hearth_store::names::ModelName;
use hearth_store::{manifest::MEDIA_MODEL, Digest, Manifest, Store};

use super::format::{
    align_up, footer, read_manifest, BlobPayload, BundleManifest, Payload, StoreModel, VERSION,
};
use crate::archive::check_complete;
use crate::error::{io, AirgapError, Result};
use crate::hashing::copy_hashing;
use crate::progress::bytes_bar;

/// A model to put into a bundle.
#[derive(Debug, Clone)]
pub enum Source {
    /// One of hearth's built-in models (`models/manifest.json`).
    Builtin(BuiltinSource),
    /// A model of an Ollama-layout store, with its manifest and every blob.
    Store(StoreSource),
}

/// The weights of one of hearth's built-in models.
#[derive(Debug, Clone)]
pub struct BuiltinSource {
    /// Canonical name.
    pub name: String,
    /// File name the engine looks the weights up by.
    pub file: String,
    /// Where the weights are now.
    pub path: PathBuf,
    /// Expected sha256 (lower-case hex).
    pub sha256: String,
    /// Expected size.
    pub size: u64,
}

/// A store model: its manifest bytes (kept exactly, so its digest stays) and its blobs.
#[derive(Debug, Clone)]
pub struct StoreSource {
    /// The name, as the store spells it.
    pub name: ModelName,
    /// The root of the store it comes from.
    pub store: PathBuf,
    /// The manifest file's bytes.
    pub manifest: Vec<u8>,
    /// Every blob the manifest names (config included), each digest once.
    pub blobs: Vec<BlobSource>,
}

/// One blob of a store model.
#[derive(Debug, Clone)]
pub struct BlobSource {
    /// Its sha256 (lower-case hex), which the bytes must hash to.
    pub sha256: String,
    /// Its size, as the manifest states it.
    pub size: u64,
    /// Where it is now.
    pub path: PathBuf,
}

impl Source {
    /// The model's name as listings show it.
    pub fn name(&self) -> String {
        match self {
            Source::Builtin(b) => b.name.clone(),
            Source::Store(s) => s.name.display(),
        }
    }
}

/// Find a model to bundle: one of hearth's built-in models first (its weights in `builtin_dirs`,
/// else a manifest of the same name in `stores` whose weights layer has the built-in digest),
/// else a manifest in the first of `stores` that has one, with every blob it names present at
/// its stated size. The error for an unknown name lists what can be bundled.
pub fn resolve(name: &str, stores: &[Store], builtin_dirs: &[PathBuf]) -> Result<Source> {
    if let Some(m) = builtin::find(name) {
        return resolve_builtin(m, name, stores, builtin_dirs).map(Source::Builtin);
    }
    let parsed = ModelName::parse(name)
        .ok_or_else(|| AirgapError::Invalid(format!("invalid model name {name:?}")))?;
    for store in stores {
        if let Some(found) = resolve_stored(store, &parsed)? {
            return Ok(Source::Store(found));
        }
    }
    Err(AirgapError::NotFound(unknown_model(name, stores)))
}

fn resolve_builtin(
    m: &'static builtin::BuiltinModel,
    name: &str,
    stores: &[Store],
    builtin_dirs: &[PathBuf],
) -> Result<BuiltinSource> {
    let source = |path: PathBuf| BuiltinSource {
        name: m.name.clone(),
        file: m.file.clone(),
        path,
        sha256: m.sha256.clone(),
        size: m.size,
    };
    let missing = match builtin::locate(m, builtin_dirs) {
        Ok(path) => return Ok(source(path)),
        Err(e) => e,
    };
    for store in stores {
        let blob = ModelName::parse(name)
            .and_then(|n| store.get(&n).ok().flatten())
            .and_then(|s| s.manifest.layer(MEDIA_MODEL).cloned())
            .and_then(|l| Digest::parse(&l.digest))
            .filter(|d| d.hex() == m.sha256)
            .map(|d| store.blob_path(&d))
            .filter(|p| p.is_file());
        if let Some(path) = blob {
            return Ok(source(path));
        }
    }
    Err(AirgapError::NotFound(missing.to_string()))
}

/// The manifest of `name` in `store` (matched case-insensitively, as the store spells it) with
/// its blobs; `None` when the store has no such model.
fn resolve_stored(store: &Store, name: &ModelName) -> Result<Option<StoreSource>> {
    let Some(stored) = store.list().into_iter().find(|s| s.name.matches(name)) else {
        return Ok(None);
    };
    let mut path = store.root().join("manifests");
    for part in stored.name.manifest_parts() {
        path.push(part);
    }
    let bytes = std::fs::read(&path).map_err(io(format!("reading {}", path.display())))?;
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| AirgapError::Invalid(format!("manifest of {}: {e}", stored.name.display())))?;
    if manifest.layer(MEDIA_MODEL).is_none() {
        return Err(AirgapError::Invalid(format!(
            "model {} has no weights layer ({MEDIA_MODEL}); nothing to serve",
            stored.name.display()
        )));
    }
    check_complete(store, &stored.name, &manifest)?;
    let mut seen = HashSet::new();
    let mut blobs = Vec::new();
    for layer in std::iter::once(&manifest.config).chain(&manifest.layers) {
        // check_complete parsed every digest already.
        let Some(d) = Digest::parse(&layer.digest) else {
            continue;
        };
        if seen.insert(d.hex().to_owned()) {
            blobs.push(BlobSource {
                sha256: d.hex().to_owned(),
                size: layer.size,
                path: store.blob_path(&d),
            });
        }
    }
    Ok(Some(StoreSource {
        name: stored.name,
        store: store.root().to_owned(),
        manifest: bytes,
        blobs,
    }))
}

/// "cannot be bundled", with every name that can be.
fn unknown_model(name: &str, stores: &[Store]) -> String {
    const SHOWN: usize = 30;
    let builtin: Vec<&str> = builtin::all().iter().map(|m| m.name.as_str()).collect();
    let mut stored: Vec<String> = stores
        .iter()
        .flat_map(|s| s.list())
        .map(|s| s.name.display())
        .collect();
    stored.sort();
    stored.dedup();
    let roots: Vec<String> = stores
        .iter()
        .map(|s| s.root().display().to_string())
        .collect();
    let in_store = match stored.len() {
        0 => "it has no models".to_owned(),
        n if n > SHOWN => format!(
            "it has {}, and {} more",
            stored[..SHOWN].join(", "),
            n - SHOWN
        ),
        _ => format!("it has {}", stored.join(", ")),
    };
    format!(
        "model '{name}' cannot be bundled: it is neither one of hearth's bundled models ({}) nor \
         in the model store {} ({in_store}; choose it with --models-dir or OLLAMA_MODELS)",
        builtin.join(", "),
        roots.join(", ")
    )
}

/// One payload to append.
struct Planned<'a> {
    sha256: &'a str,
    size: u64,
    path: &'a Path,
    what: String,
}

/// Write `exe` plus `sources` to `out` (mode 0755). Each payload is hashed while copied and must
/// match its expected sha256 and size, else nothing is written. A digest is carried once, however
/// many models use it.
pub fn write_bundle(exe: &Path, sources: &[Source], out: &Path) -> Result<BundleManifest> {
    let exe_size = match read_manifest(exe)? {
        Some((m, _)) => m.exe_size,
        None => std::fs::metadata(exe)
            .map_err(io(format!("reading {}", exe.display())))?
            .len(),
    };
    // hearth's bundled models first (the engine finds them by file name), then store blobs.
    let mut seen: HashSet<&str> = HashSet::new();
    let mut models: Vec<(&BuiltinSource, Planned)> = Vec::new();
    for s in sources {
        if let Source::Builtin(b) = s {
            if seen.insert(&b.sha256) {
                let what = format!("{} ({})", b.name, b.path.display());
                let plan = Planned {
                    sha256: &b.sha256,
                    size: b.size,
                    path: &b.path,
                    what,
                };
                models.push((b, plan));
            }
        }
    }
    let mut store: Vec<StoreModel> = Vec::new();
    let mut store_names: Vec<&ModelName> = Vec::new();
    let mut blobs: Vec<Planned> = Vec::new();
    for s in sources {
        let Source::Store(m) = s else { continue };
        if store_names.iter().any(|n| n.matches(&m.name)) {
            continue;
        }
        store_names.push(&m.name);
        let manifest = String::from_utf8(m.manifest.clone()).map_err(|_| {
            AirgapError::Invalid(format!("manifest of {} is not UTF-8", m.name.display()))
        })?;
        store.push(StoreModel {
            name: m.name.full(),
            manifest,
        });
        for b in &m.blobs {
            if seen.insert(&b.sha256) {
                blobs.push(Planned {
                    sha256: &b.sha256,
                    size: b.size,
                    path: &b.path,
                    what: format!(
                        "blob sha256:{} of model {} ({})",
                        b.sha256,
                        m.name.display(),
                        b.path.display()
                    ),
                });
            }
        }
    }

    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let ctx = format!("writing {}", out.display());
    let mut tmp = tempfile::Builder::new()
        .prefix(".hearth-bundle-")
        .tempfile_in(dir)
        .map_err(io(ctx.clone()))?;
    let total = exe_size
        + models.iter().map(|(_, p)| p.size).sum::<u64>()
        + blobs.iter().map(|p| p.size).sum::<u64>();
    let pb = bytes_bar(total, "bundling");
    let mut src = File::open(exe).map_err(io(format!("reading {}", exe.display())))?;
    let (_, n) = copy_hashing(&mut (&mut src).take(exe_size), tmp.as_file_mut(), &pb)
        .map_err(io(ctx.clone()))?;
    if n != exe_size {
        return Err(AirgapError::Invalid(format!(
            "{} changed while it was being read",
            exe.display()
        )));
    }
    let mut pos = exe_size;
    let mut append = |plan: &Planned| -> Result<u64> {
        let offset = align_up(pos);
        let file = tmp.as_file_mut();
        file.seek(SeekFrom::Start(offset))
            .map_err(io(ctx.clone()))?;
        let mut r =
            File::open(plan.path).map_err(io(format!("reading {}", plan.path.display())))?;
        let (digest, size) =
            copy_hashing(&mut (&mut r).take(plan.size + 1), file, &pb).map_err(io(ctx.clone()))?;
        if digest.hex() != plan.sha256 || size != plan.size {
            return Err(AirgapError::DigestMismatch {
                what: plan.what.clone(),
                expected: format!("sha256:{} ({} bytes)", plan.sha256, plan.size),
                got: format!("{} ({size} bytes)", digest.wire()),
            });
        }
        pos = offset + size;
        Ok(offset)
    };
    let mut model_payloads = Vec::with_capacity(models.len());
    for (b, plan) in &models {
        let offset = append(plan)?;
        model_payloads.push(Payload {
            name: b.name.clone(),
            file: b.file.clone(),
            offset,
            size: b.size,
            sha256: b.sha256.clone(),
        });
    }
    let mut blob_payloads = Vec::with_capacity(blobs.len());
    for plan in &blobs {
        let offset = append(plan)?;
        blob_payloads.push(BlobPayload {
            sha256: plan.sha256.to_owned(),
            offset,
            size: plan.size,
        });
    }
    let manifest = BundleManifest {
        version: VERSION,
        exe_size,
        models: model_payloads,
        store,
        blobs: blob_payloads,
    };
    let bytes = serde_json::to_vec(&manifest).map_err(|e| AirgapError::Invalid(e.to_string()))?;
    let file = tmp.as_file_mut();
    file.seek(SeekFrom::Start(pos)).map_err(io(ctx.clone()))?;
    file.write_all(&bytes)
        .and_then(|_| file.write_all(&footer(&bytes, pos)))
        .and_then(|_| file.sync_all())
        .map_err(io(ctx.clone()))?;
    pb.finish_and_clear();
    set_executable(tmp.as_file()).map_err(io(ctx.clone()))?;
    tmp.persist(out).map_err(|e| AirgapError::Io {
        context: ctx,
        err: e.error,
    })?;
    Ok(manifest)
}

#[cfg(unix)]
fn set_executable(f: &File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn set_executable(_: &File) -> std::io::Result<()> {
    Ok(())
}
