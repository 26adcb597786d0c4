//! The capability policy's knobs as command-line flags, shared by `hearth classify` and
//! `hearth eval-classifier` (the library takes them as a [`Policy`] value).

use anyhow::Result;
use clap::Args;
use hearth_classifier::Policy;

/// Flags for the rules' policy knobs; each defaults to [`Policy::default`]'s value.
#[derive(Args, Debug, Clone)]
pub struct PolicyArgs {
    /// Side-effect tools at or above this risk are granted only when the user's own words ask
    /// for their effect (1-6; 6: no tool needs an ask)
    #[arg(long, value_name = "RISK", help_heading = "Policy", default_value_t = Policy::default().explicit_ask_min_risk)]
    pub explicit_ask_min_risk: i64,
    /// Highest risk of a read tool granted by inference: its object named, a prerequisite of a
    /// granted tool, a date for relative dates (0-5)
    #[arg(long, value_name = "RISK", help_heading = "Policy", default_value_t = Policy::default().inferred_read_max_risk)]
    pub inferred_read_max_risk: i64,
    /// Read tools at or below this risk are granted once a task uses an agent-sized registry or
    /// asks it for information (0-5; 0: off)
    #[arg(long, value_name = "RISK", help_heading = "Policy", default_value_t = Policy::default().domain_read_max_risk)]
    pub domain_read_max_risk: i64,
    /// The size from which a registry counts as one domain's toolset
    #[arg(long, value_name = "TOOLS", help_heading = "Policy", default_value_t = Policy::default().domain_min_tools)]
    pub domain_min_tools: usize,
    /// Highest risk of the one side-effect tool of an object the user commands in a verb no
    /// effect table knows ("give Priya the notice") (0-5; 0: off)
    #[arg(long, value_name = "RISK", help_heading = "Policy", default_value_t = Policy::default().commanded_max_risk)]
    pub commanded_max_risk: i64,
    /// Highest risk of the side-effect tool a command goes to when no other rule gave it one
    /// (0-5; 0: off)
    #[arg(long, value_name = "RISK", help_heading = "Policy", default_value_t = Policy::default().fallback_max_risk)]
    pub fallback_max_risk: i64,
    /// In an agent-sized registry, a command (not a question or lookup) grants every
    /// side-effect tool at or below this risk whose effect it does not refuse (0-5; 0: off)
    #[arg(long, value_name = "RISK", help_heading = "Policy", default_value_t = Policy::default().domain_write_max_risk)]
    pub domain_write_max_risk: i64,
}

impl PolicyArgs {
    /// The policy these flags give, checked.
    pub fn policy(&self) -> Result<Policy> {
        let p = Policy {
            explicit_ask_min_risk: self.explicit_ask_min_risk,
            inferred_read_max_risk: self.inferred_read_max_risk,
            domain_read_max_risk: self.domain_read_max_risk,
            domain_min_tools: self.domain_min_tools,
            commanded_max_risk: self.commanded_max_risk,
            fallback_max_risk: self.fallback_max_risk,
            domain_write_max_risk: self.domain_write_max_risk,
            ..Policy::default()
        };
        p.validate()
            .map_err(|e| anyhow::anyhow!("{e} (see `hearth classify --help`, Policy)"))?;
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        policy: PolicyArgs,
    }

    fn parse(flags: &[&str]) -> PolicyArgs {
        Cli::parse_from(std::iter::once("hearth").chain(flags.iter().copied())).policy
    }

    #[test]
    fn flags_override_only_what_they_name_and_bad_values_are_refused() {
        let p = parse(&["--commanded-max-risk", "0"]).policy().unwrap();
        assert_eq!(p.commanded_max_risk, 0);
        assert_eq!(p.fallback_max_risk, Policy::default().fallback_max_risk);
        assert_eq!(parse(&[]).policy().unwrap(), Policy::default());
        let e = parse(&["--explicit-ask-min-risk", "9"])
            .policy()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("explicit_ask_min_risk must be between 1 and 6, got 9"),
            "{e}"
        );
    }
}
