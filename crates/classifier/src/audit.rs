//! The durable audit log: append-only JSON lines, flushed and synced per entry, readable after a
//! restart and queryable for blocked attempts.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::{AuditError, CapabilityToken};

/// Longest tool result kept in an entry (CapGuard's 200 characters).
pub const MAX_RESULT_CHARS: usize = 200;

/// What the enforcer did with a tool call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// Authorised (constraints held), before running.
    Granted,
    /// Refused: not granted or a constraint failed.
    Blocked,
    /// Ran successfully.
    Executed,
    /// Ran and failed.
    Failed,
}

/// One decision, with the full token it was made under (CapGuard's `AuditLogEntry`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// RFC 3339 UTC.
    pub timestamp: String,
    /// The token's request id.
    pub request_id: String,
    /// The tool called.
    pub tool_name: String,
    /// The decision.
    pub action: AuditAction,
    /// The token in force.
    pub capability_token: CapabilityToken,
    /// The call's arguments.
    pub parameters: serde_json::Value,
    /// The tool's result, cut to 200 characters.
    #[serde(default)]
    pub result: Option<String>,
    /// Why the call was blocked or failed.
    #[serde(default)]
    pub error: Option<String>,
    /// Set for calls outside the token: they may come from injected instructions.
    #[serde(default)]
    pub potential_attack: bool,
}

impl AuditEntry {
    /// An entry stamped now; `result` is truncated.
    pub fn new(
        token: &CapabilityToken,
        tool: &str,
        action: AuditAction,
        parameters: serde_json::Value,
        result: Option<&str>,
        error: Option<String>,
    ) -> Self {
        Self {
            timestamp: crate::time::now_rfc3339(),
            request_id: token.request_id.clone(),
            tool_name: tool.to_owned(),
            action,
            capability_token: token.clone(),
            parameters,
            result: result.map(|r| r.chars().take(MAX_RESULT_CHARS).collect()),
            error,
            potential_attack: action == AuditAction::Blocked && !token.is_granted(tool),
        }
    }
}

/// Where entries go: a JSONL file (durable) or memory only (tests, embedding).
#[derive(Debug)]
pub struct AuditLog {
    file: Option<(PathBuf, Mutex<File>)>,
    memory: Mutex<Vec<AuditEntry>>,
}

impl AuditLog {
    /// A log kept in memory only.
    pub fn in_memory() -> Self {
        Self {
            file: None,
            memory: Mutex::new(Vec::new()),
        }
    }

    /// Open (or create) an append-only JSONL log. Earlier entries stay and remain queryable.
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        let io = |source| AuditError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        Ok(Self {
            file: Some((path.to_owned(), Mutex::new(file))),
            memory: Mutex::new(Vec::new()),
        })
    }

    /// Append one entry; for a file log it is written, flushed and synced before this returns.
    pub fn record(&self, entry: AuditEntry) -> Result<(), AuditError> {
        if let Some((path, file)) = &self.file {
            let mut line = serde_json::to_vec(&entry).expect("audit entries serialise");
            line.push(b'\n');
            let mut f = file.lock().unwrap_or_else(|p| p.into_inner());
            let io = |source| AuditError::Io {
                path: path.clone(),
                source,
            };
            f.write_all(&line).map_err(io)?;
            f.flush().map_err(io)?;
            f.sync_data().map_err(io)?;
        } else {
            self.memory
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(entry);
        }
        Ok(())
    }

    /// Every entry, oldest first (read back from the file for a file log).
    pub fn entries(&self) -> Result<Vec<AuditEntry>, AuditError> {
        let Some((path, _)) = &self.file else {
            return Ok(self
                .memory
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone());
        };
        read_entries(path)
    }

    /// Entries whose call was blocked.
    pub fn blocked_attempts(&self) -> Result<Vec<AuditEntry>, AuditError> {
        Ok(self
            .entries()?
            .into_iter()
            .filter(|e| e.action == AuditAction::Blocked)
            .collect())
    }

    /// The file behind the log, if any.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_ref().map(|(p, _)| p.as_path())
    }
}

/// Read a JSONL audit log. A torn last line (a crash mid-write) is ignored; any other bad line is an error.
pub fn read_entries(path: &Path) -> Result<Vec<AuditEntry>, AuditError> {
    let io = |source| AuditError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let lines: Vec<String> = BufReader::new(file)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(io)?;
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(e) => out.push(e),
            Err(_) if i + 1 == lines.len() => {
                tracing::warn!(path = %path.display(), "ignoring a torn last audit line")
            }
            Err(e) => {
                return Err(AuditError::Corrupt {
                    path: path.to_owned(),
                    line: i + 1,
                    reason: e.to_string(),
                })
            }
        }
    }
    Ok(out)
}
