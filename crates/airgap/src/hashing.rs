//! Copying while hashing: every byte that moves is counted into a sha256.

use std::io::{Read, Write};

use hearth_ollama_compat::store::Digest;
use indicatif::ProgressBar;
use sha2::{Digest as _, Sha256};

/// Copy everything from `r` to `w`, feeding a sha256 and a progress bar; returns the digest and
/// the number of bytes copied.
pub fn copy_hashing(
    r: &mut impl Read,
    w: &mut impl Write,
    pb: &ProgressBar,
) -> std::io::Result<(Digest, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        w.write_all(&buf[..n])?;
        total += n as u64;
        pb.inc(n as u64);
    }
    Ok((Digest::from_hasher(hasher), total))
}

/// The sha256 of a whole file.
pub fn sha256_file(path: &std::path::Path, pb: &ProgressBar) -> std::io::Result<Digest> {
    let mut f = std::fs::File::open(path)?;
    copy_hashing(&mut f, &mut std::io::sink(), pb).map(|(d, _)| d)
}
