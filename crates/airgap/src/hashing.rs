//! Copying while hashing: every byte that moves is counted into a sha256.

use std::io::{Read, Write};

use hearth_store::Digest;
use indicatif::ProgressBar;

/// Copy everything from `r` to `w`, feeding a sha256 and a progress bar; returns the digest and
/// the number of bytes copied.
pub fn copy_hashing(
    r: &mut impl Read,
    w: &mut impl Write,
    pb: &ProgressBar,
) -> std::io::Result<(Digest, u64)> {
    hearth_store::copy_hashing(r, w, &mut |n| pb.inc(n))
}

/// The sha256 of a whole file, with a progress bar.
pub fn sha256_file(path: &std::path::Path, pb: &ProgressBar) -> std::io::Result<Digest> {
    hearth_store::sha256_file(path, &mut |n| pb.inc(n))
}
