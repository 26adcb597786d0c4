//! Model archives for removable media: a plain tar of Ollama's own layout
//! (`manifests/<host>/<ns>/<model>/<tag>` then `blobs/sha256-<hex>`), so `tar xf` into
//! `~/.ollama/models` also works. Import checks every path and digest, writes blobs verified and
//! atomically, writes the manifest last, and removes what it wrote when anything fails.

use std::fs::File;
use std::io::Read;
use std::path::{Component, Path};

use hearth_store::manifest as mt;
use hearth_store::names::ModelName;
use hearth_store::{Digest, Manifest, Store};
use indicatif::ProgressBar;

use crate::blobs::put_blob_reader;
use crate::error::{io, AirgapError, Result};
use crate::progress::bytes_bar;

const MAX_MANIFEST: u64 = 1 << 20;

/// Write model `name` from `store` to the tar file `out` (atomically: temp file, then rename).
pub fn export(store: &Store, name: &ModelName, out: &Path) -> Result<()> {
    let stored = store
        .get(name)?
        .ok_or_else(|| AirgapError::NotFound(format!("model '{name}' not found")))?;
    let manifest_path = format!("manifests/{}", name.manifest_parts().join("/"));
    let manifest_bytes =
        serde_json::to_vec(&stored.manifest).map_err(|e| AirgapError::Invalid(e.to_string()))?;
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let ctx = format!("writing {}", out.display());
    let tmp = tempfile::Builder::new()
        .prefix(".hearth-export-")
        .tempfile_in(dir)
        .map_err(io(ctx.clone()))?;
    let pb = bytes_bar(stored.manifest.total_size(), "exporting");
    let mut tar = tar::Builder::new(tmp);
    append(
        &mut tar,
        &manifest_path,
        manifest_bytes.len() as u64,
        &manifest_bytes[..],
    )?;
    let mut seen = Vec::new();
    for d in stored.manifest.digests() {
        let digest = Digest::parse(d)
            .ok_or_else(|| AirgapError::Invalid(format!("manifest of {name}: bad digest {d:?}")))?;
        if seen.contains(&digest) {
            continue;
        }
        let path = store.blob_path(&digest);
        let f = File::open(&path).map_err(io(format!(
            "model {name} is incomplete: blob {}",
            path.display()
        )))?;
        let len = f.metadata().map_err(io(ctx.clone()))?.len();
        append(
            &mut tar,
            &format!("blobs/{}", digest.file_name()),
            len,
            pb.wrap_read(f),
        )?;
        seen.push(digest);
    }
    let tmp = tar.into_inner().map_err(io(ctx.clone()))?;
    tmp.as_file().sync_all().map_err(io(ctx.clone()))?;
    tmp.persist(out).map_err(|e| AirgapError::Io {
        context: ctx,
        err: e.error,
    })?;
    pb.finish_and_clear();
    Ok(())
}

fn append(
    tar: &mut tar::Builder<tempfile::NamedTempFile>,
    path: &str,
    len: u64,
    data: impl Read,
) -> Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_size(len);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut h, path, data)
        .map_err(io(format!("writing archive entry {path}")))
}

/// Import every model in the archive at `path` into `store`; returns their names. On any error
/// the blobs this call wrote are removed and no manifest is written.
pub fn import(store: &Store, path: &Path) -> Result<Vec<ModelName>> {
    let file = File::open(path).map_err(io(format!("opening {}", path.display())))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let pb = bytes_bar(len, "importing");
    let mut written = Vec::new();
    let result = import_entries(store, pb.wrap_read(file), &pb, &mut written);
    pb.finish_and_clear();
    match result {
        Ok(names) => Ok(names),
        Err(e) => {
            for d in &written {
                let _ = std::fs::remove_file(store.blob_path(d));
            }
            Err(match e {
                AirgapError::Io { context, err }
                    if err.kind() == std::io::ErrorKind::UnexpectedEof =>
                {
                    AirgapError::Invalid(format!(
                        "{}: truncated archive ({context}: {err})",
                        path.display()
                    ))
                }
                other => other,
            })
        }
    }
}

fn import_entries(
    store: &Store,
    r: impl Read,
    pb: &ProgressBar,
    written: &mut Vec<Digest>,
) -> Result<Vec<ModelName>> {
    let bad = |why: String| AirgapError::Invalid(format!("refusing archive: {why}"));
    let mut archive = tar::Archive::new(r);
    let mut manifests: Vec<(ModelName, Manifest)> = Vec::new();
    let damaged = |e: std::io::Error| bad(format!("truncated or damaged archive: {e}"));
    let entries = archive.entries().map_err(damaged)?;
    for entry in entries {
        let mut entry = entry.map_err(damaged)?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            return Err(bad(format!("{raw:?} is not a regular file")));
        }
        let parts = safe_parts(&raw).ok_or_else(|| bad(format!("unsafe path {raw:?}")))?;
        let size = entry.header().size().map_err(damaged)?;
        match parts.as_slice() {
            ["blobs", file] => {
                let digest = Digest::parse(file)
                    .ok_or_else(|| bad(format!("{raw:?} is not a sha256 blob name")))?;
                if put_blob_reader(store, &digest, &mut entry, Some(size), pb)? {
                    written.push(digest);
                }
            }
            ["manifests", host, ns, model, tag] => {
                let name = ModelName::parse(&format!("{host}/{ns}/{model}:{tag}"))
                    .ok_or_else(|| bad(format!("{raw:?} is not a valid model name")))?;
                if size > MAX_MANIFEST {
                    return Err(bad(format!("manifest {raw:?} is too large")));
                }
                let mut bytes = Vec::new();
                entry
                    .read_to_end(&mut bytes)
                    .map_err(io(format!("reading {raw}")))?;
                let m: Manifest = serde_json::from_slice(&bytes)
                    .map_err(|e| bad(format!("manifest {raw:?}: {e}")))?;
                manifests.push((name, m));
            }
            _ => return Err(bad(format!("unexpected entry {raw:?}"))),
        }
    }
    if manifests.is_empty() {
        return Err(bad("no model manifest in it".into()));
    }
    for (name, m) in &manifests {
        check_complete(store, name, m)?;
        // Weights llama.cpp would abort on are refused before any manifest names them (the
        // caller removes the blobs this import wrote).
        for layer in m.layers.iter().filter(|l| l.media_type == mt::MEDIA_MODEL) {
            if let Some(d) = Digest::parse(&layer.digest) {
                crate::gguf_import::check_model_blob(
                    &store.blob_path(&d),
                    &format!("model {name}: weights {}", layer.digest),
                )?;
            }
        }
    }
    for (name, m) in &manifests {
        store.put_manifest(name, m)?;
    }
    Ok(manifests.into_iter().map(|(n, _)| n).collect())
}

/// Every layer of `m` is in the store with the size the manifest states.
pub fn check_complete(store: &Store, name: &ModelName, m: &Manifest) -> Result<()> {
    for layer in std::iter::once(&m.config).chain(&m.layers) {
        let digest = Digest::parse(&layer.digest).ok_or_else(|| {
            AirgapError::Invalid(format!("manifest of {name}: bad digest {:?}", layer.digest))
        })?;
        let len = std::fs::metadata(store.blob_path(&digest)).map(|m| m.len());
        match len {
            Ok(n) if n == layer.size => {}
            Ok(n) => {
                return Err(AirgapError::Invalid(format!(
                    "model {name}: blob {} is {n} bytes, manifest says {}",
                    layer.digest, layer.size
                )))
            }
            Err(_) => {
                return Err(AirgapError::Invalid(format!(
                    "model {name}: blob {} is missing (truncated archive?)",
                    layer.digest
                )))
            }
        }
    }
    Ok(())
}

/// The components of a relative path made only of plain names.
fn safe_parts(raw: &str) -> Option<Vec<&str>> {
    let path = Path::new(raw);
    if !path.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    let parts: Vec<&str> = raw.split('/').filter(|p| !p.is_empty()).collect();
    let ok = parts
        .iter()
        .all(|p| *p != ".." && *p != "." && !p.contains('\\'));
    ok.then_some(parts)
}
