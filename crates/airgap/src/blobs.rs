//! Verified blob writes from a blocking reader: temp file in `blobs/`, hashed while copied,
//! fsynced, renamed into place only when the digest matches.

use std::io::Read;

use hearth_store::{Digest, Store};
use indicatif::ProgressBar;

use crate::error::{io, AirgapError, Result};
use crate::hashing::copy_hashing;

/// Write `r` as blob `digest`; `false` when it already existed (then `r` is not read). With
/// `expected_len`, a short read is reported as truncation.
pub fn put_blob_reader(
    store: &Store,
    digest: &Digest,
    r: &mut impl Read,
    expected_len: Option<u64>,
    pb: &ProgressBar,
) -> Result<bool> {
    let target = store.blob_path(digest);
    if target.is_file() {
        return Ok(false);
    }
    let dir = target.parent().unwrap_or(store.root());
    let ctx = format!("writing {}", target.display());
    std::fs::create_dir_all(dir).map_err(io(ctx.clone()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(hearth_store::IMPORT_PREFIX)
        .tempfile_in(dir)
        .map_err(io(ctx.clone()))?;
    let (got, n) = copy_hashing(r, tmp.as_file_mut(), pb).map_err(io(ctx.clone()))?;
    if let Some(want) = expected_len.filter(|&want| want != n) {
        return Err(AirgapError::Invalid(format!(
            "truncated: blob {} ended after {n} of {want} bytes",
            digest.wire()
        )));
    }
    if &got != digest {
        return Err(AirgapError::DigestMismatch {
            what: format!("blob {}", digest.wire()),
            expected: digest.wire(),
            got: got.wire(),
        });
    }
    tmp.as_file().sync_all().map_err(io(ctx.clone()))?;
    tmp.persist(&target).map_err(|e| AirgapError::Io {
        context: ctx,
        err: e.error,
    })?;
    Ok(true)
}
