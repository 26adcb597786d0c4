//! Ollama's on-disk model store: `manifests/<host>/<namespace>/<model>/<tag>` and
//! `blobs/sha256-<hex>`. Every write goes to a temp file in the target directory, is fsynced and
//! renamed into place; a blob's digest is verified before it becomes visible.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use futures::{Stream, StreamExt};
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt;

use crate::digest::Digest;
use crate::manifest::Manifest;

use crate::names::ModelName;

/// Temp-file name prefixes of the store's writers: uploads, atomic writes, imports of files from
/// outside the store, and hard links made before they are renamed into place. A file whose name
/// starts with one of them is never a blob or a manifest, so the startup sweep may remove it.
pub const TEMP_PREFIXES: [&str; 4] = [UPLOAD_PREFIX, WRITE_PREFIX, IMPORT_PREFIX, LINK_PREFIX];
const UPLOAD_PREFIX: &str = ".upload-";
const WRITE_PREFIX: &str = ".tmp-";
/// Prefix of a blob being imported from a file outside the store (see [`TEMP_PREFIXES`]).
pub const IMPORT_PREFIX: &str = ".import-";
/// Prefix of a hard link to a blob before it is renamed into place (see [`TEMP_PREFIXES`]).
pub const LINK_PREFIX: &str = ".link-";

/// Store failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The uploaded bytes did not hash to the digest they were sent under.
    #[error("digest mismatch, expected \"{expected}\", got \"{got}\"")]
    DigestMismatch {
        /// The digest in the URL.
        expected: String,
        /// What the bytes hash to.
        got: String,
    },
    /// A manifest could not be parsed.
    #[error("invalid manifest {path}: {reason}")]
    BadManifest {
        /// The manifest file.
        path: PathBuf,
        /// The parse error.
        reason: String,
    },
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The upload body failed mid-way.
    #[error("reading the request body: {0}")]
    Body(String),
}

/// One manifest found in the store.
#[derive(Debug, Clone)]
pub struct StoredModel {
    /// The name the manifest's path spells.
    pub name: ModelName,
    /// The parsed manifest.
    pub manifest: Manifest,
    /// sha256 of the manifest bytes (what `/api/tags` calls `digest`).
    pub digest: String,
    /// Manifest mtime.
    pub modified: SystemTime,
}

/// A store rooted at `OLLAMA_MODELS`.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// A store at `root` (directories are created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Store { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn manifests(&self) -> PathBuf {
        self.root.join("manifests")
    }

    fn blobs(&self) -> PathBuf {
        self.root.join("blobs")
    }

    /// Where a blob lives.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.blobs().join(digest.file_name())
    }

    /// Whether a blob exists.
    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// Stream an upload into `blobs/`, hashing as it goes; the file appears only when the digest
    /// matches. Returns `false` when the blob already existed (nothing is read then).
    pub async fn put_blob_stream<S, E>(
        &self,
        digest: &Digest,
        mut body: S,
    ) -> Result<bool, StoreError>
    where
        S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        if self.has_blob(digest) {
            return Ok(false);
        }
        let dir = self.blobs();
        tokio::fs::create_dir_all(&dir).await?;
        let tmp = tempfile::Builder::new()
            .prefix(UPLOAD_PREFIX)
            .tempfile_in(&dir)?;
        let (file, tmp_path) = tmp.into_parts();
        let mut file = tokio::fs::File::from_std(file);
        let mut hasher = Sha256::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| StoreError::Body(e.to_string()))?;
            hasher.update(&chunk);
            file.write_all(&chunk).await?;
        }
        file.sync_all().await?;
        drop(file);
        let got = Digest::from_hasher(hasher);
        if &got != digest {
            return Err(StoreError::DigestMismatch {
                expected: digest.wire(),
                got: got.wire(),
            });
        }
        tmp_path
            .persist(self.blob_path(digest))
            .map_err(|e| StoreError::Io(e.error))?;
        Ok(true)
    }

    /// Store small bytes as a blob (template, system, params, config layers).
    pub fn put_blob_bytes(&self, bytes: &[u8]) -> Result<Digest, StoreError> {
        let digest = Digest::of(bytes);
        if !self.has_blob(&digest) {
            atomic_write(&self.blob_path(&digest), bytes)?;
        }
        Ok(digest)
    }

    /// Read a small blob as text.
    pub fn read_blob_string(&self, digest: &str) -> Option<String> {
        let d = Digest::parse(digest)?;
        std::fs::read_to_string(self.blob_path(&d)).ok()
    }

    /// The manifest path for a name, matching existing directories case-insensitively.
    fn manifest_path(&self, name: &ModelName) -> PathBuf {
        let mut path = self.manifests();
        for part in name.manifest_parts() {
            let exact = path.join(part);
            if exact.exists() {
                path = exact;
                continue;
            }
            let found = std::fs::read_dir(&path).ok().and_then(|entries| {
                entries
                    .flatten()
                    .map(|e| e.file_name())
                    .find(|n| n.to_string_lossy().eq_ignore_ascii_case(part))
            });
            path = path.join(found.unwrap_or_else(|| part.into()));
        }
        path
    }

    /// Read the manifest for a name.
    pub fn get(&self, name: &ModelName) -> Result<Option<StoredModel>, StoreError> {
        let path = self.manifest_path(name);
        if !path.is_file() {
            return Ok(None);
        }
        let stored = read_manifest(&path, name.clone())?;
        Ok(Some(stored))
    }

    /// Every manifest, exactly four directory levels below `manifests/`.
    pub fn list(&self) -> Vec<StoredModel> {
        self.scan().0
    }

    /// Remove what interrupted writes left behind: temp files ([`TEMP_PREFIXES`]) in
    /// `blobs/` and under `manifests/` not modified for `idle` (a live transfer writes
    /// continuously, so its file stays young). A resumable pull's `sha256-<hex>-partial` file is
    /// kept for resuming, unless its blob is complete already (nothing is left to resume) or its
    /// name is not a digest's. Returns the files removed and the bytes freed.
    pub fn sweep_temp_files(&self, idle: std::time::Duration) -> (usize, u64) {
        fn walk(dir: &Path, idle: std::time::Duration, out: &mut (usize, u64)) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(meta) = entry.metadata() else { continue };
                if meta.is_dir() {
                    walk(&path, idle, out);
                    continue;
                }
                let name = entry.file_name();
                let name = name.to_string_lossy();
                let temp = TEMP_PREFIXES.iter().any(|p| name.starts_with(p))
                    || name.strip_suffix("-partial").is_some_and(|blob| {
                        let hex = blob.strip_prefix("sha256-").unwrap_or("");
                        let digest = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
                        !digest || path.with_file_name(blob).is_file()
                    });
                let old = meta
                    .modified()
                    .ok()
                    .and_then(|m| m.elapsed().ok())
                    .is_some_and(|age| age >= idle);
                if temp && old && std::fs::remove_file(&path).is_ok() {
                    out.0 += 1;
                    out.1 += meta.len();
                }
            }
        }
        let mut out = (0, 0);
        walk(&self.blobs(), idle, &mut out);
        walk(&self.manifests(), idle, &mut out);
        out
    }

    /// Remove every `sha256-<hex>` blob that no manifest references (Ollama does this at startup
    /// unless `OLLAMA_NOPRUNE`). Nothing is removed when a manifest could not be read, since its
    /// blobs would look unreferenced. Returns how many blobs were removed.
    pub fn prune_unreferenced(&self) -> usize {
        let (manifests, unreadable) = self.scan();
        if unreadable > 0 {
            tracing::warn!(
                unreadable,
                "not pruning blobs: some manifests could not be read"
            );
            return 0;
        }
        let referenced: std::collections::HashSet<String> = manifests
            .iter()
            .flat_map(|m| m.manifest.digests().map(str::to_owned).collect::<Vec<_>>())
            .filter_map(|d| Digest::parse(&d).map(|d| d.file_name()))
            .collect();
        let Ok(entries) = std::fs::read_dir(self.blobs()) else {
            return 0;
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_blob = Digest::parse(&name).is_some_and(|d| d.file_name() == name);
            if is_blob && !referenced.contains(&name) && entry.path().is_file() {
                match std::fs::remove_file(entry.path()) {
                    Ok(()) => removed += 1,
                    Err(e) => tracing::warn!(blob = %name, error = %e, "cannot prune blob"),
                }
            }
        }
        removed
    }

    /// Every readable manifest, and how many could not be read.
    fn scan(&self) -> (Vec<StoredModel>, usize) {
        let mut unreadable = 0;
        let mut out = Vec::new();
        let mut stack = vec![(self.manifests(), Vec::<String>::new())];
        while let Some((dir, parts)) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let file_name = entry.file_name().to_string_lossy().into_owned();
                if file_name.starts_with('.') {
                    continue;
                }
                let mut next = parts.clone();
                next.push(file_name);
                let path = entry.path();
                if next.len() < 4 && path.is_dir() {
                    stack.push((path, next));
                } else if next.len() == 4 && path.is_file() {
                    let Some(name) = ModelName::parse(&format!(
                        "{}/{}/{}:{}",
                        next[0], next[1], next[2], next[3]
                    )) else {
                        continue;
                    };
                    match read_manifest(&path, name) {
                        Ok(m) => out.push(m),
                        Err(e) => {
                            unreadable += 1;
                            tracing::warn!(error = %e, "skipping manifest");
                        }
                    }
                }
            }
        }
        (out, unreadable)
    }

    /// Write a manifest under a name (atomically), returning its digest.
    pub fn put_manifest(
        &self,
        name: &ModelName,
        manifest: &Manifest,
    ) -> Result<String, StoreError> {
        let bytes = serde_json::to_vec(manifest).map_err(std::io::Error::other)?;
        let path = self.manifest_path(name);
        atomic_write(&path, &bytes)?;
        Ok(Digest::of(&bytes).hex().to_owned())
    }

    /// Copy a manifest byte for byte; blobs are shared. `false` when the source does not exist.
    pub fn copy(&self, from: &ModelName, to: &ModelName) -> Result<bool, StoreError> {
        let src = self.manifest_path(from);
        if !src.is_file() {
            return Ok(false);
        }
        let bytes = std::fs::read(&src)?;
        atomic_write(&self.manifest_path(to), &bytes)?;
        Ok(true)
    }

    /// Delete a manifest, prune empty directories and the blobs no other manifest references.
    /// `false` when it did not exist.
    pub fn delete(&self, name: &ModelName) -> Result<bool, StoreError> {
        let Some(stored) = self.get(name)? else {
            return Ok(false);
        };
        let path = self.manifest_path(name);
        std::fs::remove_file(&path)?;
        let mut dir = path.parent().map(Path::to_path_buf);
        let top = self.manifests();
        while let Some(d) = dir {
            if d == top || std::fs::remove_dir(&d).is_err() {
                break;
            }
            dir = d.parent().map(Path::to_path_buf);
        }
        self.prune(stored.manifest.digests().map(str::to_owned).collect());
        Ok(true)
    }

    /// Remove the given blobs unless a remaining manifest references them.
    pub fn prune(&self, candidates: Vec<String>) {
        let referenced: std::collections::HashSet<String> = self
            .list()
            .iter()
            .flat_map(|m| m.manifest.digests().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        for d in candidates {
            if referenced.contains(&d) {
                continue;
            }
            if let Some(digest) = Digest::parse(&d) {
                let _ = std::fs::remove_file(self.blob_path(&digest));
            }
        }
    }
}

fn read_manifest(path: &Path, name: ModelName) -> Result<StoredModel, StoreError> {
    let bytes = std::fs::read(path)?;
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| StoreError::BadManifest {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    let modified = std::fs::metadata(path)?
        .modified()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    Ok(StoredModel {
        name,
        manifest,
        digest: Digest::of(&bytes).hex().to_owned(),
        modified,
    })
}

/// Write a file atomically: temp file in the same directory, fsync, rename.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("path has no parent"))?;
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(WRITE_PREFIX)
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| StoreError::Io(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{self, Layer};

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::new(dir.path());
        (dir, s)
    }

    fn model(store: &Store, name: &str, weights: &[u8]) -> Manifest {
        let w = store.put_blob_bytes(weights).unwrap();
        let c = store.put_blob_bytes(b"{}").unwrap();
        let m = Manifest::new(
            Layer {
                media_type: manifest::MEDIA_CONFIG.into(),
                digest: c.wire(),
                size: 2,
                from: None,
            },
            vec![Layer {
                media_type: manifest::MEDIA_MODEL.into(),
                digest: w.wire(),
                size: weights.len() as u64,
                from: None,
            }],
        );
        store
            .put_manifest(&ModelName::parse(name).unwrap(), &m)
            .unwrap();
        m
    }

    #[test]
    fn list_copy_delete_prune() {
        let (_d, s) = store();
        let m = model(&s, "a:1", b"weights");
        assert_eq!(s.list().len(), 1);
        assert!(s
            .copy(
                &ModelName::parse("A:1").unwrap(),
                &ModelName::parse("ns/b").unwrap()
            )
            .unwrap());
        assert_eq!(s.list().len(), 2);
        let w = Digest::parse(&m.layers[0].digest).unwrap();
        assert!(s.delete(&ModelName::parse("a:1").unwrap()).unwrap());
        assert!(s.has_blob(&w), "still referenced by the copy");
        assert!(s.delete(&ModelName::parse("ns/b").unwrap()).unwrap());
        assert!(!s.has_blob(&w), "pruned");
        assert!(!s.delete(&ModelName::parse("ns/b").unwrap()).unwrap());
        assert!(!s.root().join("manifests/registry.ollama.ai").exists());
    }

    #[test]
    fn startup_prune_removes_only_unreferenced_blobs() {
        let (_d, s) = store();
        let m = model(&s, "a:1", b"weights");
        let orphan = s.put_blob_bytes(b"orphan").unwrap();
        let other = s.root().join("blobs/sha256-notadigest-partial");
        std::fs::write(&other, b"x").unwrap();
        assert_eq!(s.prune_unreferenced(), 1);
        assert!(!s.has_blob(&orphan));
        assert!(s.has_blob(&Digest::parse(&m.layers[0].digest).unwrap()));
        assert!(other.exists(), "only sha256-<hex> files are blobs");
        // An unreadable manifest stops pruning: its blobs would look unreferenced.
        let orphan = s.put_blob_bytes(b"orphan").unwrap();
        let bad = s
            .root()
            .join("manifests/registry.ollama.ai/library/broken/latest");
        std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
        std::fs::write(&bad, b"{not json").unwrap();
        assert_eq!(s.prune_unreferenced(), 0);
        assert!(s.has_blob(&orphan));
    }

    #[test]
    fn sweeping_removes_old_temp_files_and_keeps_partial_pulls() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let blobs = dir.path().join("blobs");
        let manifests = dir.path().join("manifests/registry.ollama.ai/library/m");
        std::fs::create_dir_all(&blobs).unwrap();
        std::fs::create_dir_all(&manifests).unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        let write = |path: PathBuf, len: usize, aged: bool| {
            std::fs::write(&path, vec![0u8; len]).unwrap();
            if aged {
                let f = std::fs::File::options().write(true).open(&path).unwrap();
                f.set_modified(old).unwrap();
            }
            path
        };
        let killed_upload = write(blobs.join(".upload-abc"), 1000, true);
        let killed_manifest = write(manifests.join(".tmp-xyz"), 10, true);
        let live_upload = write(blobs.join(".upload-live"), 5, false);
        let partial = write(
            blobs.join(format!("sha256-{}-partial", "a".repeat(64))),
            7,
            true,
        );
        let blob = write(blobs.join(format!("sha256-{}", "b".repeat(64))), 3, true);
        let (files, bytes) = store.sweep_temp_files(std::time::Duration::from_secs(600));
        assert_eq!((files, bytes), (2, 1010));
        assert!(!killed_upload.exists() && !killed_manifest.exists());
        assert!(live_upload.exists() && partial.exists() && blob.exists());
        // Every writer's temp files are swept: an interrupted import and a hard link too.
        let import = write(blobs.join(format!("{IMPORT_PREFIX}x")), 20, true);
        let link = write(
            blobs.join(format!("{LINK_PREFIX}{}", "d".repeat(64))),
            4,
            true,
        );
        assert_eq!(
            store.sweep_temp_files(std::time::Duration::from_secs(600)),
            (2, 24)
        );
        assert!(!import.exists() && !link.exists());
        // A partial file whose blob is complete has nothing left to resume; junk named like a
        // partial file goes too; the resumable one stays.
        let done = "e".repeat(64);
        write(blobs.join(format!("sha256-{done}")), 9, true);
        let stale = write(blobs.join(format!("sha256-{done}-partial")), 8, true);
        let junk = write(blobs.join("sha256-nothex-partial"), 6, true);
        assert_eq!(
            store.sweep_temp_files(std::time::Duration::from_secs(600)),
            (2, 14)
        );
        assert!(!stale.exists() && !junk.exists() && partial.exists());
    }

    #[tokio::test]
    async fn uploads_are_verified() {
        let (_d, s) = store();
        let good = Digest::of(b"hello");
        let body = futures::stream::iter(vec![
            Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"hel")),
            Ok(bytes::Bytes::from_static(b"lo")),
        ]);
        assert!(s.put_blob_stream(&good, body).await.unwrap());
        let again = futures::stream::iter(Vec::<Result<bytes::Bytes, std::io::Error>>::new());
        assert!(!s.put_blob_stream(&good, again).await.unwrap());
        let bad = Digest::of(b"other");
        let body = futures::stream::iter(vec![Ok::<_, std::io::Error>(bytes::Bytes::from_static(
            b"hello",
        ))]);
        let err = s.put_blob_stream(&bad, body).await.unwrap_err();
        assert!(err
            .to_string()
            .starts_with("digest mismatch, expected \"sha256:"));
        assert!(!s.has_blob(&bad));
        let leftovers = std::fs::read_dir(s.root().join("blobs")).unwrap().count();
        assert_eq!(leftovers, 1, "no temp files left behind");
    }
}
