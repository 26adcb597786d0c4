//! Typed errors of the classifier crate, one enum per operation whose callers branch on the cause.

use std::path::PathBuf;

/// A tool list that cannot form a registry.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// No tools at all: nothing could ever be granted.
    #[error("the tool list is empty")]
    Empty,
    /// Two tools share a name, so a grant would be ambiguous.
    #[error("duplicate tool name {0:?}")]
    DuplicateName(String),
    /// A name that is empty, too long or holds control characters or quotes.
    #[error("invalid tool name {name:?}: {reason}")]
    InvalidName {
        /// The offending name.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// `risk_level` outside 1..=5.
    #[error("tool {name:?}: risk_level must be between 1 and 5, got {risk}")]
    InvalidRisk {
        /// The tool.
        name: String,
        /// The value given.
        risk: i64,
    },
    /// The tool list is not the expected JSON shape.
    #[error("invalid tool definition: {0}")]
    Malformed(String),
    /// A lookup for a tool that is not registered.
    #[error("tool {0:?} is not registered")]
    NotFound(String),
}

/// A policy knob outside its range ([`crate::Policy::validate`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("policy {knob} must be {range}, got {value}")]
pub struct PolicyError {
    /// The knob's field name (`explicit_ask_min_risk`, ...).
    pub knob: &'static str,
    /// The value given.
    pub value: String,
    /// The allowed values, in words ("between 0 and 5", "at least 1").
    pub range: String,
}

/// Why the enforcer refused or failed a tool call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnforceError {
    /// The capability token does not grant the tool: a potential attack.
    #[error("permission denied: tool {tool:?} is not granted for the request {request:?}")]
    PermissionDenied {
        /// The tool that was called.
        tool: String,
        /// The user request the token was issued for.
        request: String,
    },
    /// The tool is granted but an argument breaks one of the token's constraints.
    #[error("constraint violated for tool {tool:?}: {reason}")]
    ConstraintViolation {
        /// The tool that was called.
        tool: String,
        /// Which constraint and which value.
        reason: String,
    },
    /// The tool is not in the registry or has no implementation.
    #[error("tool {0:?} is not registered or has no implementation")]
    ToolNotFound(String),
    /// The tool ran and reported a failure.
    #[error("tool {tool:?} failed: {reason}")]
    ToolFailed {
        /// The tool.
        tool: String,
        /// Its error message.
        reason: String,
    },
    /// The decision could not be written to the audit log, so the call was not made.
    #[error("audit log: {0}")]
    Audit(#[from] AuditError),
}

/// Failures of the durable audit log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The log file could not be opened, written or read.
    #[error("{path}: {source}")]
    Io {
        /// The log file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A line of the log is not a valid entry.
    #[error("{path}:{line}: not an audit entry: {reason}")]
    Corrupt {
        /// The log file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The parse error.
        reason: String,
    },
}

/// Problems with a rules file or pattern.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RulesError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The rules file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not the rules JSON shape.
    #[error("rules file: {0}")]
    Parse(String),
    /// A pattern is not a valid regular expression.
    #[error("rule pattern {pattern:?}: {reason}")]
    Pattern {
        /// The pattern.
        pattern: String,
        /// The regex error.
        reason: String,
    },
}

/// Problems loading the evaluation set.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevsetError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The dev set file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A line is not a dev set item.
    #[error("{path}:{line}: {reason}")]
    Parse {
        /// The dev set file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The parse or validation error.
        reason: String,
    },
}

/// A classification method name that is not `rules` (or `rule-based`), `llm` or `hybrid`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown method {0:?}: use \"rules\", \"llm\" or \"hybrid\"")]
pub struct UnknownMethod(pub String);
