//! sha256 digests in Ollama's two spellings: `sha256:<hex>` on the wire, `sha256-<hex>` on disk.

use sha2::{Digest as _, Sha256};

/// A validated sha256 digest (lower-case hex).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Digest(String);

impl Digest {
    /// Parse `sha256:<hex>` or `sha256-<hex>` (64 hex digits).
    pub fn parse(s: &str) -> Option<Digest> {
        let hex = s
            .strip_prefix("sha256:")
            .or_else(|| s.strip_prefix("sha256-"))?;
        (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Digest(hex.to_ascii_lowercase()))
    }

    /// The digest of some bytes.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(hex(&Sha256::digest(bytes)))
    }

    /// From a finished hasher.
    pub fn from_hasher(h: Sha256) -> Digest {
        Digest(hex(&h.finalize()))
    }

    /// The 64 hex digits.
    pub fn hex(&self) -> &str {
        &self.0
    }

    /// `sha256:<hex>`.
    pub fn wire(&self) -> String {
        format!("sha256:{}", self.0)
    }

    /// `sha256-<hex>`, the blob file name.
    pub fn file_name(&self) -> String {
        format!("sha256-{}", self.0)
    }
}

/// Copy everything from `r` to `w`, feeding a sha256; `on_bytes` hears the length of every chunk
/// (a progress bar's `inc`). Returns the digest and the number of bytes copied.
pub fn copy_hashing(
    r: &mut impl std::io::Read,
    w: &mut impl std::io::Write,
    on_bytes: &mut dyn FnMut(u64),
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
        on_bytes(n as u64);
    }
    Ok((Digest::from_hasher(hasher), total))
}

/// The sha256 of a whole file, reading it once in 1 MiB chunks; `on_bytes` as in
/// [`copy_hashing`].
pub fn sha256_file(
    path: &std::path::Path,
    on_bytes: &mut dyn FnMut(u64),
) -> std::io::Result<Digest> {
    let mut f = std::fs::File::open(path)?;
    copy_hashing(&mut f, &mut std::io::sink(), on_bytes).map(|(d, _)| d)
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_parse() {
        let d = Digest::of(b"abc");
        assert_eq!(
            d.hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Digest::parse(&d.wire()), Some(d.clone()));
        assert_eq!(Digest::parse(&d.file_name()), Some(d));
        assert_eq!(Digest::parse("sha256:abc"), None);
        assert_eq!(
            Digest::parse("md5:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            None
        );
    }
}
