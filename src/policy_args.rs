//! The capability policy's knobs as command-line flags, shared by `hearth classify` and
//! `hearth eval-classifier` (the library takes them as a [`Policy`] value).

use anyhow::Result;
use clap::Args;
use hearth_classifier::Policy;

/// Flags that override the rules' policy knobs; an absent flag keeps the knob's default.
#[derive(Args, Debug, Clone, Default)]
pub struct PolicyArgs {
    /// Side-effect tools at or above this risk are granted only when the user's own words ask
    /// for their effect (1-6; 6: no tool needs an ask) [default: 3]
    #[arg(long, value_name = "RISK", help_heading = "Policy")]
    pub explicit_ask_min_risk: Option<i64>,
    /// Highest risk of a read tool granted by inference: its object named, a prerequisite of a
    /// granted tool, a date for relative dates (0-5) [default: 2]
    #[arg(long, value_name = "RISK", help_heading = "Policy")]
    pub inferred_read_max_risk: Option<i64>,
    /// Read tools at or below this risk are granted once a task uses an agent-sized registry or
    /// asks it for information (0-5; 0: off) [default: 1]
    #[arg(long, value_name = "RISK", help_heading = "Policy")]
    pub domain_read_max_risk: Option<i64>,
    /// The size from which a registry counts as one domain's toolset [default: 8]
    #[arg(long, value_name = "TOOLS", help_heading = "Policy")]
    pub domain_min_tools: Option<usize>,
    /// Highest risk of the one side-effect tool of an object the user commands in a verb no
    /// effect table knows ("give Priya the notice") (0-5; 0: off) [default: 4]
    #[arg(long, value_name = "RISK", help_heading = "Policy")]
    pub commanded_max_risk: Option<i64>,
    /// Highest risk of the side-effect tool a command goes to when no other rule gave it one
    /// (0-5; 0: off) [default: 3]
    #[arg(long, value_name = "RISK", help_heading = "Policy")]
    pub fallback_max_risk: Option<i64>,
}

impl PolicyArgs {
    /// The policy: defaults with the given flags applied, checked.
    pub fn policy(&self) -> Result<Policy> {
        let mut p = Policy::default();
        if let Some(v) = self.explicit_ask_min_risk {
            p.explicit_ask_min_risk = v;
        }
        if let Some(v) = self.inferred_read_max_risk {
            p.inferred_read_max_risk = v;
        }
        if let Some(v) = self.domain_read_max_risk {
            p.domain_read_max_risk = v;
        }
        if let Some(v) = self.domain_min_tools {
            p.domain_min_tools = v;
        }
        if let Some(v) = self.commanded_max_risk {
            p.commanded_max_risk = v;
        }
        if let Some(v) = self.fallback_max_risk {
            p.fallback_max_risk = v;
        }
        p.validate()
            .map_err(|e| anyhow::anyhow!("{e} (see `hearth classify --help`, Policy)"))?;
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_only_what_they_name_and_bad_values_are_refused() {
        let args = PolicyArgs {
            commanded_max_risk: Some(0),
            ..PolicyArgs::default()
        };
        let p = args.policy().unwrap();
        assert_eq!(p.commanded_max_risk, 0);
        assert_eq!(p.fallback_max_risk, Policy::default().fallback_max_risk);
        assert_eq!(PolicyArgs::default().policy().unwrap(), Policy::default());
        let bad = PolicyArgs {
            explicit_ask_min_risk: Some(9),
            ..PolicyArgs::default()
        };
        let e = bad.policy().unwrap_err().to_string();
        assert!(
            e.contains("explicit_ask_min_risk must be between 1 and 6, got 9"),
            "{e}"
        );
    }
}
