//! Writing a bundle: the executable (without any payload it already carries), then each model
//! page-aligned and hashed as it is copied, then the manifest and footer; all into a temp file
//! renamed into place only when complete.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use hearth_engine::bundled;
use hearth_ollama_compat::names::ModelName;
use hearth_ollama_compat::store::{manifest::MEDIA_MODEL, Digest, Store};

use super::format::{align_up, footer, read_manifest, BundleManifest, Payload, VERSION};
use crate::error::{io, AirgapError, Result};
use crate::hashing::copy_hashing;
use crate::progress::bytes_bar;

/// A model to put into a bundle.
#[derive(Debug, Clone)]
pub struct Source {
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

/// Find the weights of a bundled model: the engine's bundled lookup first, then a store manifest
/// of the same name whose weights layer has the bundled digest. Only models in hearth's bundled
/// manifest can be bundled: the engine finds bundled weights by their file name.
pub fn resolve(name: &str, store: Option<&Store>) -> Result<Source> {
    let Some(m) = bundled::find(name) else {
        let known: Vec<&str> = bundled::all().iter().map(|m| m.name.as_str()).collect();
        return Err(AirgapError::NotFound(format!(
            "model '{name}' cannot be bundled: it is not one of hearth's bundled models ({})",
            known.join(", ")
        )));
    };
    let source = |path: PathBuf| Source {
        name: m.name.clone(),
        file: m.file.clone(),
        path,
        sha256: m.sha256.clone(),
        size: m.size,
    };
    let missing = match bundled::locate(m) {
        Ok(path) => return Ok(source(path)),
        Err(e) => e,
    };
    if let Some(store) = store {
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

/// Write `exe` plus `sources` to `out` (mode 0755). Each payload is hashed while copied and must
/// match its expected sha256 and size, else nothing is written.
pub fn write_bundle(exe: &Path, sources: &[Source], out: &Path) -> Result<BundleManifest> {
    let exe_size = match read_manifest(exe)? {
        Some((m, _)) => m.exe_size,
        None => std::fs::metadata(exe)
            .map_err(io(format!("reading {}", exe.display())))?
            .len(),
    };
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let ctx = format!("writing {}", out.display());
    let mut tmp = tempfile::Builder::new()
        .prefix(".hearth-bundle-")
        .tempfile_in(dir)
        .map_err(io(ctx.clone()))?;
    let total = exe_size + sources.iter().map(|s| s.size).sum::<u64>();
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
    let mut models: Vec<Payload> = Vec::new();
    for s in sources {
        if models.iter().any(|p| p.sha256 == s.sha256) {
            continue;
        }
        let offset = align_up(pos);
        let file = tmp.as_file_mut();
        file.seek(SeekFrom::Start(offset))
            .map_err(io(ctx.clone()))?;
        let mut r = File::open(&s.path).map_err(io(format!("reading {}", s.path.display())))?;
        let (digest, size) = copy_hashing(&mut r, file, &pb).map_err(io(ctx.clone()))?;
        if digest.hex() != s.sha256 || size != s.size {
            return Err(AirgapError::DigestMismatch {
                what: format!("{} ({})", s.name, s.path.display()),
                expected: format!("sha256:{} ({} bytes)", s.sha256, s.size),
                got: format!("{} ({size} bytes)", digest.wire()),
            });
        }
        models.push(Payload {
            name: s.name.clone(),
            file: s.file.clone(),
            offset,
            size,
            sha256: s.sha256.clone(),
        });
        pos = offset + size;
    }
    let manifest = BundleManifest {
        version: VERSION,
        exe_size,
        models,
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
