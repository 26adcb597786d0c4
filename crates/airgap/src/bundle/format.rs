//! The bundle layout on disk: manifest, footer, alignment, and the checks that keep a damaged
//! or hostile bundle from being trusted.
//!
//! Version 2 adds store models (an Ollama manifest, byte for byte, plus every blob it names,
//! each a payload by sha256); version 1 bundles (hearth's bundled models only) are still read.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use hearth_store::names::ModelName;
use hearth_store::{Digest, Manifest};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::{io, AirgapError, Result};

/// The last 8 bytes of every bundle.
pub const MAGIC: [u8; 8] = *b"HRTHBND1";
/// Footer size: sha256 of the manifest (32), manifest offset (8), manifest length (8), format
/// version (4), reserved (4), magic (8); integers little-endian.
pub const FOOTER_LEN: u64 = 64;
/// Payload alignment (a page), so the weights could be mapped straight from the executable.
pub const ALIGN: u64 = 4096;
/// The format version written (2: store models); versions [`MIN_VERSION`]..=`VERSION` are read.
pub const VERSION: u32 = 2;
/// The oldest format version still read (1: hearth's bundled models only).
pub const MIN_VERSION: u32 = 1;
const MAX_MANIFEST: u64 = 1 << 20;

/// What a bundle carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleManifest {
    /// Format version.
    pub version: u32,
    /// Length of the executable before the first payload (bundling a bundle keeps only this).
    pub exe_size: u64,
    /// hearth's bundled models (`models/manifest.json`), found by the engine by file name.
    pub models: Vec<Payload>,
    /// Models from an Ollama-layout store, served read-only under their own names (version 2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub store: Vec<StoreModel>,
    /// The blobs of [`BundleManifest::store`] not already carried in [`BundleManifest::models`],
    /// one per digest (version 2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blobs: Vec<BlobPayload>,
}

/// A model carried with its store manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreModel {
    /// Full name, `host/namespace/model:tag`.
    pub name: String,
    /// The manifest JSON exactly as it was in the store (its sha256 is the model's digest).
    pub manifest: String,
}

/// One appended store blob (config, weights, template, system, params, licence…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobPayload {
    /// Lower-case hex sha256 of the blob.
    pub sha256: String,
    /// Byte offset in the bundle (a multiple of [`ALIGN`]).
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
}

/// Where the bytes of one digest are in a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Located {
    /// Byte offset in the bundle.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
}

impl BundleManifest {
    /// Every payload (bundled models and store blobs) by lower-case hex sha256.
    pub fn payloads(&self) -> HashMap<String, Located> {
        let models = self.models.iter().map(|p| (&p.sha256, p.offset, p.size));
        let blobs = self.blobs.iter().map(|b| (&b.sha256, b.offset, b.size));
        models
            .chain(blobs)
            .map(|(sha, offset, size)| (sha.to_ascii_lowercase(), Located { offset, size }))
            .collect()
    }
}

impl StoreModel {
    /// The parsed name and manifest (checked when the bundle was read).
    pub fn parse(&self) -> Option<(ModelName, Manifest)> {
        let name = ModelName::parse(&self.name)?;
        let manifest = serde_json::from_str(&self.manifest).ok()?;
        Some((name, manifest))
    }
}

/// One appended model file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    /// Canonical model name (`smollm2:135m`).
    pub name: String,
    /// File name the engine looks for (`smollm2-135m.gguf`).
    pub file: String,
    /// Byte offset in the bundle (a multiple of [`ALIGN`]).
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
    /// Lower-case hex sha256 of the payload.
    pub sha256: String,
}

/// Round `n` up to a multiple of [`ALIGN`].
pub fn align_up(n: u64) -> u64 {
    n.div_ceil(ALIGN) * ALIGN
}

/// Encode the footer for a manifest written at `offset`.
pub fn footer(manifest: &[u8], offset: u64) -> [u8; FOOTER_LEN as usize] {
    let mut f = [0u8; FOOTER_LEN as usize];
    f[..32].copy_from_slice(&Sha256::digest(manifest));
    f[32..40].copy_from_slice(&offset.to_le_bytes());
    f[40..48].copy_from_slice(&(manifest.len() as u64).to_le_bytes());
    f[48..52].copy_from_slice(&VERSION.to_le_bytes());
    f[56..64].copy_from_slice(&MAGIC);
    f
}

/// The manifest of the bundle at `path`, or `None` when it is a plain executable (only the last
/// 64 bytes are read then). A file that ends in the magic but is damaged is an error.
pub fn read_manifest(path: &Path) -> Result<Option<(BundleManifest, [u8; 32])>> {
    let ctx = || format!("reading bundle {}", path.display());
    let mut file = File::open(path).map_err(io(ctx()))?;
    let len = file.metadata().map_err(io(ctx()))?.len();
    if len < FOOTER_LEN {
        return Ok(None);
    }
    let mut f = [0u8; FOOTER_LEN as usize];
    file.seek(SeekFrom::Start(len - FOOTER_LEN))
        .and_then(|_| file.read_exact(&mut f))
        .map_err(io(ctx()))?;
    if f[56..64] != MAGIC {
        return Ok(None);
    }
    let bad = |why: &str| AirgapError::Invalid(format!("damaged bundle {}: {why}", path.display()));
    let u64_at = |i: usize| u64::from_le_bytes(f[i..i + 8].try_into().unwrap_or_default());
    let (offset, mlen) = (u64_at(32), u64_at(40));
    let version = u32::from_le_bytes(f[48..52].try_into().unwrap_or_default());
    if !(MIN_VERSION..=VERSION).contains(&version) {
        return Err(bad(&format!(
            "format version {version}, this hearth reads versions {MIN_VERSION} to {VERSION} \
             (a newer hearth wrote it: bundle the models again with this one)"
        )));
    }
    if mlen > MAX_MANIFEST || offset.checked_add(mlen) != Some(len - FOOTER_LEN) {
        return Err(bad(
            "manifest offsets do not match the file size (truncated?)",
        ));
    }
    let mut bytes = vec![0u8; mlen as usize];
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_exact(&mut bytes))
        .map_err(io(ctx()))?;
    let digest: [u8; 32] = Sha256::digest(&bytes).into();
    if digest[..] != f[..32] {
        return Err(bad("manifest checksum mismatch"));
    }
    let m: BundleManifest = serde_json::from_slice(&bytes)
        .map_err(|e| bad(&format!("manifest is not valid JSON: {e}")))?;
    if m.version != version {
        return Err(bad(&format!(
            "manifest says format version {}, the footer {version}",
            m.version
        )));
    }
    check(&m, offset).map_err(|why| bad(&why))?;
    Ok(Some((m, digest)))
}

/// Structural checks: aligned, in bounds, non-overlapping payloads with safe file names and
/// digests; store models with valid names and manifests whose every blob is carried.
fn check(m: &BundleManifest, manifest_offset: u64) -> std::result::Result<(), String> {
    if m.version < 2 && !(m.store.is_empty() && m.blobs.is_empty()) {
        return Err(format!(
            "format version {} carries no store models",
            m.version
        ));
    }
    let mut spans: Vec<(u64, u64, String)> = Vec::new();
    for p in &m.models {
        if !safe_file_name(&p.file) {
            return Err(format!("unsafe payload file name {:?}", p.file));
        }
        if !is_sha256_hex(&p.sha256) {
            return Err(format!("bad sha256 for {}", p.name));
        }
        spans.push((p.offset, p.size, p.name.clone()));
    }
    for b in &m.blobs {
        if !is_sha256_hex(&b.sha256) {
            return Err(format!("bad blob digest {:?}", b.sha256));
        }
        spans.push((b.offset, b.size, format!("blob sha256:{}", b.sha256)));
    }
    spans.sort_by_key(|s| s.0);
    let mut end = m.exe_size;
    for (offset, size, what) in spans {
        let stop = offset.checked_add(size).ok_or("payload size overflows")?;
        if offset % ALIGN != 0 || offset < end || stop > manifest_offset {
            return Err(format!("payload {what} is out of place"));
        }
        end = stop;
    }
    let mut seen: Vec<&str> = Vec::new();
    for b in &m.blobs {
        let sha = b.sha256.as_str();
        if seen.iter().any(|s| s.eq_ignore_ascii_case(sha))
            || m.models.iter().any(|p| p.sha256.eq_ignore_ascii_case(sha))
        {
            return Err(format!("blob sha256:{sha} is carried twice"));
        }
        seen.push(sha);
    }
    let payloads = m.payloads();
    let mut names: Vec<ModelName> = Vec::new();
    for s in &m.store {
        let name = ModelName::parse(&s.name)
            .filter(|n| n.full() == s.name)
            .ok_or_else(|| format!("unsafe store model name {:?}", s.name))?;
        if names.iter().any(|n| n.matches(&name)) {
            return Err(format!("store model {} is carried twice", s.name));
        }
        names.push(name);
        let manifest: Manifest = serde_json::from_str(&s.manifest)
            .map_err(|e| format!("manifest of {} is not valid: {e}", s.name))?;
        if manifest.layers.is_empty() {
            return Err(format!("manifest of {} has no layers", s.name));
        }
        for layer in std::iter::once(&manifest.config).chain(&manifest.layers) {
            let digest = Digest::parse(&layer.digest)
                .filter(|d| d.wire() == layer.digest)
                .ok_or_else(|| format!("manifest of {}: bad digest {:?}", s.name, layer.digest))?;
            match payloads.get(digest.hex()) {
                Some(at) if at.size == layer.size => {}
                Some(at) => {
                    return Err(format!(
                        "manifest of {}: blob {} is {} bytes in the bundle, the manifest says {}",
                        s.name, layer.digest, at.size, layer.size
                    ))
                }
                None => {
                    return Err(format!(
                        "manifest of {}: blob {} is not in the bundle",
                        s.name, layer.digest
                    ))
                }
            }
        }
    }
    Ok(())
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A plain file name: no separators, no `..`, no leading dot, printable ASCII.
pub fn safe_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_and_names() {
        assert_eq!(align_up(0), 0);
        assert_eq!(align_up(1), ALIGN);
        assert_eq!(align_up(ALIGN), ALIGN);
        assert!(safe_file_name("smollm2-135m.gguf"));
        for bad in ["", "../x", "a/b", ".hidden", "x\0y", "a b"] {
            assert!(!safe_file_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn plain_files_are_not_bundles() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("exe");
        std::fs::write(&p, vec![7u8; 100]).unwrap();
        assert!(read_manifest(&p).unwrap().is_none());
        std::fs::write(&p, b"x").unwrap();
        assert!(read_manifest(&p).unwrap().is_none());
    }
}
