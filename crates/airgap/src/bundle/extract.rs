//! Startup of a bundled executable: extract each payload once into the cache, content-addressed
//! and verified, and point the engine's bundled-model lookup at a folder of links to them.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use hearth_ollama_compat::store::hex;

use super::format::{read_manifest, Payload};
use crate::error::{io, AirgapError, Result};
use crate::hashing::copy_hashing;
use crate::progress::bytes_bar;

/// What a bundled executable made available.
#[derive(Debug, Clone)]
pub struct Activated {
    /// The folder `HEARTH_BUNDLED_DIR` now names.
    pub dir: PathBuf,
    /// The model names it carries.
    pub models: Vec<String>,
}

/// If the running executable is a bundle, extract its models (once) and set
/// `HEARTH_BUNDLED_DIR`; `None` for a plain executable (only its last 64 bytes are read).
/// Call first thing in `main`, before any thread is started.
pub fn activate() -> Result<Option<Activated>> {
    let exe = std::env::current_exe().map_err(io("locating the running executable"))?;
    if read_manifest(&exe)?.is_none() {
        return Ok(None);
    }
    let cache = crate::cache::cache_dir()?;
    let activated = activate_from(&exe, &cache)?;
    if let Some(a) = &activated {
        std::env::set_var(hearth_engine::bundled::DIR_ENV, &a.dir);
    }
    Ok(activated)
}

/// Extract the payloads of the bundle at `exe` into `cache` (`blobs/sha256-<hex>` plus
/// `bundles/<id>/<file>` links) without touching the environment.
pub fn activate_from(exe: &Path, cache: &Path) -> Result<Option<Activated>> {
    let Some((manifest, id)) = read_manifest(exe)? else {
        return Ok(None);
    };
    let blobs = cache.join("blobs");
    let view = cache.join("bundles").join(&hex(&id)[..16]);
    for dir in [&blobs, &view] {
        std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    }
    for p in &manifest.models {
        let blob = extract_one(exe, p, &blobs)?;
        link(&blob, &view.join(&p.file))?;
    }
    Ok(Some(Activated {
        dir: view,
        models: manifest.models.iter().map(|p| p.name.clone()).collect(),
    }))
}

/// `blobs/sha256-<hex>`, written from the payload unless a file of the right size is there
/// (it was verified before it was renamed into place).
fn extract_one(exe: &Path, p: &Payload, blobs: &Path) -> Result<PathBuf> {
    let target = blobs.join(format!("sha256-{}", p.sha256.to_ascii_lowercase()));
    if std::fs::metadata(&target).is_ok_and(|m| m.is_file() && m.len() == p.size) {
        return Ok(target);
    }
    let ctx = format!("extracting {} to {}", p.name, target.display());
    let mut src = File::open(exe).map_err(io(ctx.clone()))?;
    src.seek(SeekFrom::Start(p.offset))
        .map_err(io(ctx.clone()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".extract-")
        .tempfile_in(blobs)
        .map_err(io(ctx.clone()))?;
    let pb = bytes_bar(p.size, &format!("unpacking {}", p.name));
    let (digest, size) =
        copy_hashing(&mut src.take(p.size), tmp.as_file_mut(), &pb).map_err(io(ctx.clone()))?;
    pb.finish_and_clear();
    if size != p.size || !digest.hex().eq_ignore_ascii_case(&p.sha256) {
        return Err(AirgapError::DigestMismatch {
            what: format!("bundled model {} in {}", p.name, exe.display()),
            expected: format!("sha256:{} ({} bytes)", p.sha256, p.size),
            got: format!("{} ({size} bytes)", digest.wire()),
        });
    }
    tmp.as_file().sync_all().map_err(io(ctx.clone()))?;
    tmp.persist(&target).map_err(|e| AirgapError::Io {
        context: ctx,
        err: e.error,
    })?;
    Ok(target)
}

/// Make `link` a symlink to `target`, atomically (temp name, then rename over).
fn link(target: &Path, link: &Path) -> Result<()> {
    if std::fs::read_link(link).is_ok_and(|t| t == target) {
        return Ok(());
    }
    let ctx = format!("linking {} to {}", link.display(), target.display());
    let tmp = link.with_file_name(format!(".link-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    symlink(target, &tmp)
        .and_then(|_| std::fs::rename(&tmp, link))
        .map_err(io(ctx))
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::fs::copy(target, link).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::super::{write_bundle, Source};
    use super::*;

    fn fake(dir: &Path, payload: &[u8], sha: Option<&str>) -> (PathBuf, Source) {
        let exe = dir.join("exe");
        std::fs::write(&exe, b"\x7fELF not really an executable").unwrap();
        let w = dir.join("w.gguf");
        std::fs::write(&w, payload).unwrap();
        let digest = hearth_ollama_compat::store::Digest::of(payload);
        let src = Source {
            name: "tiny:1".into(),
            file: "tiny.gguf".into(),
            path: w,
            sha256: sha.map_or_else(|| digest.hex().to_owned(), str::to_owned),
            size: payload.len() as u64,
        };
        (exe, src)
    }

    #[test]
    fn round_trip_extracts_once_and_rebundles() {
        let d = tempfile::tempdir().unwrap();
        let (exe, src) = fake(d.path(), b"GGUF weights", None);
        let out = d.path().join("bundle");
        let m = write_bundle(&exe, std::slice::from_ref(&src), &out).unwrap();
        assert_eq!(m.models[0].offset % super::super::ALIGN, 0);
        let cache = d.path().join("cache");
        let a = activate_from(&out, &cache).unwrap().unwrap();
        let linked = a.dir.join("tiny.gguf");
        assert_eq!(std::fs::read(&linked).unwrap(), b"GGUF weights");
        let blob = std::fs::read_link(&linked).unwrap();
        let before = std::fs::metadata(&blob).unwrap().modified().unwrap();
        activate_from(&out, &cache).unwrap().unwrap();
        assert_eq!(
            std::fs::metadata(&blob).unwrap().modified().unwrap(),
            before
        );
        // Bundling a bundle keeps only the executable part.
        let again = d.path().join("again");
        let m2 = write_bundle(&out, &[src], &again).unwrap();
        assert_eq!(m2.exe_size, m.exe_size);
        assert_eq!(std::fs::read(&again).unwrap(), std::fs::read(&out).unwrap());
        assert!(activate_from(&exe, &cache).unwrap().is_none());
    }

    #[test]
    fn wrong_digest_is_refused_at_bundle_time() {
        let d = tempfile::tempdir().unwrap();
        let (exe, src) = fake(d.path(), b"weights", Some(&"0".repeat(64)));
        let out = d.path().join("bundle");
        let err = write_bundle(&exe, &[src], &out).unwrap_err().to_string();
        assert!(err.contains("sha256 mismatch"), "{err}");
        assert!(!out.exists());
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            2,
            "no temp left"
        );
    }

    #[test]
    fn corrupted_payload_is_never_used() {
        let d = tempfile::tempdir().unwrap();
        let (exe, src) = fake(d.path(), b"weights!", None);
        let out = d.path().join("bundle");
        let m = write_bundle(&exe, &[src], &out).unwrap();
        let mut bytes = std::fs::read(&out).unwrap();
        bytes[m.models[0].offset as usize] ^= 0xff;
        std::fs::write(&out, &bytes).unwrap();
        let cache = d.path().join("cache");
        let err = activate_from(&out, &cache).unwrap_err().to_string();
        assert!(err.contains("sha256 mismatch"), "{err}");
        assert_eq!(std::fs::read_dir(cache.join("blobs")).unwrap().count(), 0);
        // Truncation is caught by the footer check.
        std::fs::write(&out, &bytes[..bytes.len() - 10]).unwrap();
        assert!(activate_from(&out, &cache).unwrap().is_none());
        let mut cut = bytes.clone();
        cut.drain(100..200);
        std::fs::write(&out, &cut).unwrap();
        let err = activate_from(&out, &cache).unwrap_err().to_string();
        assert!(err.contains("damaged bundle"), "{err}");
    }
}
