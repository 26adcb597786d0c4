//! The on-disk record of model files by digest, in the store (`hearth-state/models.json`):
//! which passed the load probe (loaded in-process from then on without probing), which are
//! refused (their probe crashed, or they crashed the serving process [`CRASH_LIMIT`] times) and
//! how often each crashed it. Written atomically; an operator clears the refusals with
//! `hearth serve --clear-bad-models` or by deleting the file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Crashes of the serving process while a model was loading or running after which it is refused.
pub const CRASH_LIMIT: u32 = 2;

/// Folder of hearth's own state inside the store (never scanned as manifests or blobs).
pub const STATE_DIR: &str = "hearth-state";
const FILE: &str = "models.json";

/// How an operator clears a refusal (no absolute paths: clients read this).
pub const HOW_TO_CLEAR: &str = "until an operator clears it (`hearth serve --clear-bad-models`, \
     or delete hearth-state/models.json in the model store)";

/// Serialises read-change-write cycles within this process.
static LOCK: Mutex<()> = Mutex::new(());

/// What is known about model files, by sha256 hex digest.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ModelRecord {
    /// Files whose probe passed.
    #[serde(default)]
    pub passed: BTreeSet<String>,
    /// Crashes of the serving process while each file was loading or running.
    #[serde(default)]
    pub crashes: BTreeMap<String, u32>,
    /// Refused files and why.
    #[serde(default)]
    pub bad: BTreeMap<String, String>,
}

impl ModelRecord {
    /// The record's file in the store `models_dir`.
    pub fn path(models_dir: &Path) -> PathBuf {
        models_dir.join(STATE_DIR).join(FILE)
    }

    /// Read the record (an absent or unreadable one is empty; the latter is logged).
    pub fn load(models_dir: &Path) -> Self {
        let path = Self::path(models_dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), error = %e, "unreadable model record; starting afresh");
                ModelRecord::default()
            }),
            Err(_) => ModelRecord::default(),
        }
    }

    fn save(&self, models_dir: &Path) {
        let path = Self::path(models_dir);
        let bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        if let Err(e) = hearth_store::atomic_write(&path, &bytes) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write the model record");
        }
    }

    /// Read the record, change it with `f` and write it back (under a process-wide lock).
    pub fn update<R>(models_dir: &Path, f: impl FnOnce(&mut ModelRecord) -> R) -> R {
        let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let mut record = Self::load(models_dir);
        let out = f(&mut record);
        record.save(models_dir);
        out
    }

    /// Why `digest` is refused, as the text a client gets, or `None` when it may be loaded.
    pub fn refusal(&self, digest: &str) -> Option<String> {
        self.bad
            .get(digest)
            .map(|why| format!("{why}; model sha256:{digest} is refused {HOW_TO_CLEAR}"))
    }

    /// Count a crash of the serving process while `digest` was loading or running; at
    /// [`CRASH_LIMIT`] the file becomes refused. Returns the count.
    pub fn crashed(&mut self, digest: &str, why: &str) -> u32 {
        let count = self.crashes.entry(digest.to_owned()).or_insert(0);
        *count += 1;
        let count = *count;
        if count >= CRASH_LIMIT {
            self.passed.remove(digest);
            self.bad.insert(
                digest.to_owned(),
                format!("model file crashed the server {count} times (last: {why})"),
            );
        }
        count
    }

    /// Forget every refusal and crash count. Returns how many files were refused.
    pub fn clear_bad(models_dir: &Path) -> usize {
        Self::update(models_dir, |r| {
            let n = r.bad.len();
            r.bad.clear();
            r.crashes.clear();
            n
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_crashes_refuse_a_file_until_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let d = "ab".repeat(32);
        ModelRecord::update(dir.path(), |r| r.passed.insert(d.clone()));
        assert_eq!(
            ModelRecord::update(dir.path(), |r| r.crashed(&d, "SIGABRT")),
            1
        );
        assert!(ModelRecord::load(dir.path()).refusal(&d).is_none());
        assert_eq!(
            ModelRecord::update(dir.path(), |r| r.crashed(&d, "SIGSEGV")),
            2
        );
        let record = ModelRecord::load(dir.path());
        let why = record.refusal(&d).unwrap();
        assert!(
            why.contains("crashed the server 2 times (last: SIGSEGV)"),
            "{why}"
        );
        assert!(why.contains("--clear-bad-models"), "{why}");
        assert!(
            !record.passed.contains(&d),
            "a refused file must be probed again once cleared"
        );
        assert_eq!(ModelRecord::clear_bad(dir.path()), 1);
        let record = ModelRecord::load(dir.path());
        assert!(record.refusal(&d).is_none() && record.crashes.is_empty());
    }

    #[test]
    fn a_corrupt_record_reads_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = ModelRecord::path(dir.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"{not json").unwrap();
        assert!(ModelRecord::load(dir.path()).bad.is_empty());
    }
}
