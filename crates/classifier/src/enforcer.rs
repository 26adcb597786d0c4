//! The enforcer: runs a tool call only if the token grants the tool and its constraints hold,
//! and writes every decision to the audit log before acting on it.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::audit::{AuditAction, AuditEntry, AuditLog};
use crate::{constraints, CapabilityToken, EnforceError, ToolRegistry};

/// A tool implementation: arguments in, a JSON result or an error message out.
pub type ToolFn = Box<dyn Fn(&Map<String, Value>) -> Result<Value, String> + Send + Sync>;

/// Guards tool execution with capability tokens (CapGuard's `CapabilityEnforcer`).
pub struct Enforcer {
    registry: ToolRegistry,
    implementations: HashMap<String, ToolFn>,
    audit: AuditLog,
}

impl std::fmt::Debug for Enforcer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enforcer")
            .field("tools", &self.registry.len())
            .field("audit", &self.audit)
            .finish()
    }
}

impl Enforcer {
    /// An enforcer over `registry` writing to `audit`.
    pub fn new(registry: ToolRegistry, audit: AuditLog) -> Self {
        Self {
            registry,
            implementations: HashMap::new(),
            audit,
        }
    }

    /// Attach the implementation of a registered tool.
    pub fn implement(
        &mut self,
        name: &str,
        f: impl Fn(&Map<String, Value>) -> Result<Value, String> + Send + Sync + 'static,
    ) -> Result<(), EnforceError> {
        if !self.registry.contains(name) {
            return Err(EnforceError::ToolNotFound(name.to_owned()));
        }
        self.implementations.insert(name.to_owned(), Box::new(f));
        Ok(())
    }

    /// The audit log.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Authorise a call without running it: logs `granted` or `blocked`.
    pub fn authorize(
        &self,
        tool: &str,
        token: &CapabilityToken,
        args: &Map<String, Value>,
    ) -> Result<(), EnforceError> {
        let params = Value::Object(args.clone());
        let refuse = |error: EnforceError| -> Result<(), EnforceError> {
            let entry = AuditEntry::new(
                token,
                tool,
                AuditAction::Blocked,
                params.clone(),
                None,
                Some(error.to_string()),
            );
            self.audit.record(entry)?;
            tracing::warn!(tool, request_id = %token.request_id, %error, "tool call blocked");
            Err(error)
        };
        if !token.is_granted(tool) {
            return refuse(EnforceError::PermissionDenied {
                tool: tool.to_owned(),
                request: token.user_request.clone(),
            });
        }
        if !self.registry.contains(tool) {
            return refuse(EnforceError::ToolNotFound(tool.to_owned()));
        }
        if let Some(constraint) = token.constraints.get(tool) {
            if let Err(reason) = constraints::check(constraint, args) {
                return refuse(EnforceError::ConstraintViolation {
                    tool: tool.to_owned(),
                    reason,
                });
            }
        }
        self.audit.record(AuditEntry::new(
            token,
            tool,
            AuditAction::Granted,
            params,
            None,
            None,
        ))?;
        Ok(())
    }

    /// Authorise and run a call; the outcome is logged as `executed` or `failed`.
    pub fn execute(
        &self,
        tool: &str,
        token: &CapabilityToken,
        args: &Map<String, Value>,
    ) -> Result<Value, EnforceError> {
        self.authorize(tool, token, args)?;
        let params = Value::Object(args.clone());
        let Some(f) = self.implementations.get(tool) else {
            let error = EnforceError::ToolNotFound(tool.to_owned());
            let entry = AuditEntry::new(
                token,
                tool,
                AuditAction::Failed,
                params,
                None,
                Some(error.to_string()),
            );
            self.audit.record(entry)?;
            return Err(error);
        };
        match f(args) {
            Ok(result) => {
                let text = result.to_string();
                let entry = AuditEntry::new(
                    token,
                    tool,
                    AuditAction::Executed,
                    params,
                    Some(&text),
                    None,
                );
                self.audit.record(entry)?;
                Ok(result)
            }
            Err(reason) => {
                let entry = AuditEntry::new(
                    token,
                    tool,
                    AuditAction::Failed,
                    params,
                    None,
                    Some(reason.clone()),
                );
                self.audit.record(entry)?;
                Err(EnforceError::ToolFailed {
                    tool: tool.to_owned(),
                    reason,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ToolDefinition;
    use serde_json::json;

    fn setup(audit: AuditLog) -> (Enforcer, CapabilityToken) {
        let registry = ToolRegistry::from_tools(vec![
            ToolDefinition::new("read_website", "", 2),
            ToolDefinition::new("send_email", "", 4),
        ])
        .unwrap();
        let mut token = CapabilityToken::new(
            &registry,
            "read x and email me",
            [("read_website".into(), true), ("send_email".into(), true)],
            1.0,
            "test",
        );
        token.constraints.insert(
            "send_email".into(),
            json!({"recipient_whitelist": ["me@example.com"]}),
        );
        let mut e = Enforcer::new(registry, audit);
        e.implement("read_website", |_| Ok(json!("page text")))
            .unwrap();
        e.implement("send_email", |a| Ok(json!({"sent_to": a["to"]})))
            .unwrap();
        (e, token)
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn blocks_ungranted_and_constraint_breaking_calls_and_logs_them() {
        let (e, mut token) = setup(AuditLog::in_memory());
        assert_eq!(
            e.execute("read_website", &token, &obj(json!({"url": "u"})))
                .unwrap(),
            json!("page text")
        );
        let err = e
            .execute("send_email", &token, &obj(json!({"to": "x@evil.example"})))
            .unwrap_err();
        assert!(matches!(err, EnforceError::ConstraintViolation { .. }));
        token.granted_tools.insert("send_email".into(), false);
        let err = e
            .execute("send_email", &token, &obj(json!({"to": "me@example.com"})))
            .unwrap_err();
        assert!(matches!(err, EnforceError::PermissionDenied { .. }));
        let err = e
            .execute("delete_file", &token, &obj(json!({})))
            .unwrap_err();
        assert!(matches!(err, EnforceError::PermissionDenied { .. }));
        let blocked = e.audit().blocked_attempts().unwrap();
        assert_eq!(blocked.len(), 3);
        assert!(
            !blocked[0].potential_attack,
            "a constraint failure on a granted tool"
        );
        assert!(blocked[1].potential_attack && blocked[2].potential_attack);
        let all = e.audit().entries().unwrap();
        assert_eq!(all[0].action, AuditAction::Granted);
        assert_eq!(all[1].action, AuditAction::Executed);
    }

    #[test]
    fn audit_log_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit").join("log.jsonl");
        {
            let (e, token) = setup(AuditLog::open(&path).unwrap());
            let _ = e.execute("send_email", &token, &obj(json!({"to": "x@evil.example"})));
            e.execute("read_website", &token, &obj(json!({"url": "u"})))
                .unwrap();
        }
        // A new process: reopen, append, and query both generations.
        let (e, mut token) = setup(AuditLog::open(&path).unwrap());
        token.granted_tools.insert("read_website".into(), false);
        let _ = e.execute("read_website", &token, &obj(json!({"url": "u"})));
        let blocked = e.audit().blocked_attempts().unwrap();
        assert_eq!(blocked.len(), 2);
        assert_eq!(blocked[0].tool_name, "send_email");
        assert_eq!(blocked[1].tool_name, "read_website");
        assert_eq!(e.audit().entries().unwrap().len(), 4);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 4, "one JSON line per decision");
    }
}
