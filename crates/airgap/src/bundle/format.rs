//! The bundle layout on disk: manifest, footer, alignment, and the checks that keep a damaged
//! or hostile bundle from being trusted.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

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
/// The format version written and accepted.
pub const VERSION: u32 = 1;
const MAX_MANIFEST: u64 = 1 << 20;

/// What a bundle carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleManifest {
    /// Format version.
    pub version: u32,
    /// Length of the executable before the first payload (bundling a bundle keeps only this).
    pub exe_size: u64,
    /// The payloads, in file order.
    pub models: Vec<Payload>,
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
    if version != VERSION {
        return Err(bad(&format!(
            "format version {version}, expected {VERSION}"
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
    check(&m, offset).map_err(|why| bad(&why))?;
    Ok(Some((m, digest)))
}

/// Structural checks: aligned, in bounds, non-overlapping payloads with safe file names.
fn check(m: &BundleManifest, manifest_offset: u64) -> std::result::Result<(), String> {
    let mut end = m.exe_size;
    for p in &m.models {
        if !safe_file_name(&p.file) {
            return Err(format!("unsafe payload file name {:?}", p.file));
        }
        if p.sha256.len() != 64 || !p.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("bad sha256 for {}", p.name));
        }
        let stop = p
            .offset
            .checked_add(p.size)
            .ok_or("payload size overflows")?;
        if p.offset % ALIGN != 0 || p.offset < end || stop > manifest_offset {
            return Err(format!("payload {} is out of place", p.name));
        }
        end = stop;
    }
    Ok(())
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
