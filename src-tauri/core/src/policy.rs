//! `core::policy`: what the admin allows an assistant to do. One pure function,
//! [`decide`], turns the mode, a tool's annotations and the switches into allow / ask /
//! refuse; [`Policy`] holds the rules in force (shared by every run of the core, changed
//! live from Settings) and tells the MCP sessions when the tool list changed.
//!
//! The tools never know the policy exists: a refused call is answered before its body is
//! built, so it sends no request.

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::tools::{Hints, Registry};

/// How much an assistant may change without asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Only tools annotated `readOnlyHint: true` are listed and callable.
    ReadOnly,
    /// Every call of a tool that is not read-only waits for the admin's approval.
    Ask,
    /// Only calls of tools that may destroy data (`destructiveHint` not `false`) wait.
    AskDestructive,
    /// Every tool runs without asking (the reference server's behaviour).
    #[default]
    Full,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::ReadOnly, Mode::Ask, Mode::AskDestructive, Mode::Full];

    /// The value of `AIC_MODE` and of the settings file.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ReadOnly => "read-only",
            Mode::Ask => "ask",
            Mode::AskDestructive => "ask-destructive",
            Mode::Full => "full",
        }
    }

    /// What the window calls it.
    pub fn label(self) -> &'static str {
        match self {
            Mode::ReadOnly => "Read only",
            Mode::Ask => "Ask before changes",
            Mode::AskDestructive => "Ask before destructive changes",
            Mode::Full => "Allow all",
        }
    }

    pub fn parse(raw: &str) -> Result<Mode, String> {
        let v = raw.trim();
        Mode::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(v))
            .ok_or_else(|| {
                format!("{v:?} is not a mode; use read-only, ask, ask-destructive or full")
            })
    }
}

/// Tools and tool families the admin turned off, by name (`deleteJourney`, `themes`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Switches(BTreeSet<String>);

impl Switches {
    /// Checks every name against the catalogue (tools of every mode, and families).
    pub fn new<I, S>(names: I) -> Result<Self, String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut off = BTreeSet::new();
        for name in names {
            let name = name.as_ref().trim();
            if name.is_empty() {
                continue;
            }
            if !is_known(name) {
                return Err(format!(
                    "{name:?} is neither a tool nor a tool family (families: {})",
                    FAMILIES.join(", ")
                ));
            }
            off.insert(name.to_string());
        }
        Ok(Self(off))
    }

    /// `AIC_DISABLE_TOOLS`: names separated by commas.
    pub fn parse_list(raw: &str) -> Result<Self, String> {
        Self::new(raw.split(','))
    }

    /// The switch that turns this tool off: its own name, else its family's.
    pub fn turned_off_by(&self, tool: &str, family: &str) -> Option<&str> {
        self.0
            .get(tool)
            .or_else(|| self.0.get(family))
            .map(String::as_str)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The tool families, as `AIC_DISABLE_TOOLS` and the Tools section name them.
pub const FAMILIES: [&str; 8] = [
    "managedObjects",
    "logs",
    "themes",
    "esv",
    "features",
    "journeys",
    "scripts",
    "applications",
];

/// Every tool of the full catalogue with its family, in the catalogue's order.
pub fn catalogue() -> &'static [(&'static str, &'static str)] {
    static NAMES: OnceLock<Vec<(&'static str, &'static str)>> = OnceLock::new();
    NAMES.get_or_init(|| {
        Registry::new(false)
            .tools()
            .iter()
            .map(|t| (t.name, t.family))
            .collect()
    })
}

fn is_known(name: &str) -> bool {
    FAMILIES.contains(&name) || catalogue().iter().any(|(t, _)| *t == name)
}

/// Why a call is refused without asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The tool, or its family, is switched off.
    TurnedOff { switch: String },
    /// The tenant is in read-only mode and the tool changes it.
    ReadOnly,
}

impl Refusal {
    /// The `isError` text the assistant reads.
    pub fn message(&self, tool: &str) -> String {
        match self {
            Refusal::TurnedOff { switch } if switch == tool => {
                format!("{tool} is turned off in AIC MCP Desktop. Nothing was sent to the tenant.")
            }
            Refusal::TurnedOff { switch } => format!(
                "{tool} is turned off in AIC MCP Desktop (the {switch} tools are off). Nothing was sent to the tenant."
            ),
            Refusal::ReadOnly => format!(
                "{tool} changes the tenant, and AIC MCP Desktop is in read-only mode for this tenant. Nothing was sent to the tenant."
            ),
        }
    }
}

/// What happens to a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Runs only once the admin approved it.
    Ask,
    Refuse(Refusal),
}

/// A tool that only reads (`readOnlyHint: true`).
pub fn is_read_only(hints: Hints) -> bool {
    hints.read_only == Some(true)
}

/// A tool that may destroy data: not read-only, and not declared `destructiveHint: false`
/// (MCP's default for a missing hint is destructive).
pub fn is_destructive(hints: Hints) -> bool {
    !is_read_only(hints) && hints.destructive != Some(false)
}

/// The policy: mode × annotations × switches → allow / ask / refuse. A switch wins over
/// the mode; a read-only tool is never asked about.
pub fn decide(mode: Mode, tool: &str, family: &str, hints: Hints, off: &Switches) -> Decision {
    if let Some(switch) = off.turned_off_by(tool, family) {
        return Decision::Refuse(Refusal::TurnedOff {
            switch: switch.to_string(),
        });
    }
    if is_read_only(hints) {
        return Decision::Allow;
    }
    match mode {
        Mode::ReadOnly => Decision::Refuse(Refusal::ReadOnly),
        Mode::Ask => Decision::Ask,
        Mode::AskDestructive if is_destructive(hints) => Decision::Ask,
        Mode::AskDestructive | Mode::Full => Decision::Allow,
    }
}

/// How long the admin has to answer before a waiting call is denied.
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(120);

/// The rules in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub mode: Mode,
    pub off: Switches,
    /// No answer within this time is a denial.
    pub approval_timeout: Duration,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            mode: Mode::Full,
            off: Switches::default(),
            approval_timeout: DEFAULT_APPROVAL_TIMEOUT,
        }
    }
}

impl Rules {
    pub fn decide(&self, tool: &str, family: &str, hints: Hints) -> Decision {
        decide(self.mode, tool, family, hints, &self.off)
    }
}

/// The rules in force, shared by every run of the core; sessions watch it to send
/// `notifications/tools/list_changed`.
#[derive(Debug)]
pub struct Policy {
    rules: watch::Sender<Rules>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            rules: watch::Sender::new(Rules::default()),
        }
    }
}

impl Policy {
    pub fn new(rules: Rules) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self {
            rules: watch::Sender::new(rules),
        })
    }

    pub fn rules(&self) -> Rules {
        self.rules.borrow().clone()
    }

    pub fn decide(&self, tool: &str, family: &str, hints: Hints) -> Decision {
        self.rules.borrow().decide(tool, family, hints)
    }

    /// Puts new rules in force. Returns whether the tool list may have changed (the mode
    /// or a switch did), in which case the sessions were told.
    pub fn set(&self, rules: Rules) -> bool {
        let mut listed_changed = false;
        self.rules.send_if_modified(|r| {
            if *r == rules {
                return false;
            }
            listed_changed = r.mode != rules.mode || r.off != rules.off;
            *r = rules;
            true
        });
        listed_changed
    }

    /// Fires on every change of the rules.
    pub fn subscribe(&self) -> watch::Receiver<Rules> {
        self.rules.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_from_their_setting_values_and_nothing_else() {
        for m in Mode::ALL {
            assert_eq!(Mode::parse(m.as_str()), Ok(m));
            assert_eq!(
                serde_json::to_value(m).expect("json"),
                serde_json::json!(m.as_str())
            );
        }
        assert_eq!(Mode::parse(" Read-Only "), Ok(Mode::ReadOnly));
        let e = Mode::parse("readonly").expect_err("unknown");
        assert!(e.contains("read-only, ask, ask-destructive or full"), "{e}");
    }

    #[test]
    fn switches_accept_tools_and_families_and_name_an_unknown_one() {
        let s = Switches::parse_list("deleteJourney, themes,").expect("known");
        assert_eq!(s.names().collect::<Vec<_>>(), ["deleteJourney", "themes"]);
        assert_eq!(
            s.turned_off_by("deleteJourney", "journeys"),
            Some("deleteJourney")
        );
        assert_eq!(s.turned_off_by("updateTheme", "themes"), Some("themes"));
        assert_eq!(s.turned_off_by("getJourney", "journeys"), None);
        let e = Switches::parse_list("deleteJourney,deleteJourneys").expect_err("unknown");
        assert!(e.starts_with("\"deleteJourneys\" is neither"), "{e}");
    }

    #[test]
    fn every_tool_has_a_known_family() {
        assert_eq!(catalogue().len(), 52);
        for (tool, family) in catalogue() {
            assert!(FAMILIES.contains(family), "{tool}: {family}");
        }
        for f in FAMILIES {
            assert!(catalogue().iter().any(|(_, fam)| *fam == f), "{f} is empty");
        }
    }

    #[test]
    fn setting_rules_reports_whether_the_list_may_have_changed() {
        let p = Policy::new(Rules::default());
        let rx = p.subscribe();
        assert!(!p.set(Rules::default()), "same rules");
        assert!(!rx.has_changed().expect("open"));
        let longer = Rules {
            approval_timeout: Duration::from_secs(300),
            ..Rules::default()
        };
        assert!(!p.set(longer.clone()), "only the timeout changed");
        assert!(p.set(Rules {
            mode: Mode::ReadOnly,
            ..longer
        }));
        assert!(rx.has_changed().expect("open"));
        assert_eq!(p.rules().mode, Mode::ReadOnly);
    }
}
