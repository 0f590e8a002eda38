//! The desktop app's settings file (`<OS config dir>/aic-mcp-desktop/settings.json`): the
//! tenant profiles (a name, the tenant URL, a colour, the production mark and what
//! assistants may do there), which one is active, the redirect port, the opt-in HTTP
//! endpoint, notifications and the approval timeout. Never a secret. Environment variables
//! (`AIC_BASE_URL`, `AIC_REDIRECT_PORT`, …) win over the file, so the headless server and
//! the app read a tenant the same way.
//!
//! A file from before profiles (one `tenant_url` and its mode, switches and production mark
//! at the top level) reads as one profile named after the tenant's host, with nothing lost;
//! the host writes it back in the new form on start.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::atomic::{self, AtomicError};
use crate::config::{Config, ConfigError, TenantUrl, APP_DIR_NAME};
use crate::policy::{Mode, Rules, Switches, DEFAULT_APPROVAL_TIMEOUT};

/// One tenant the admin works on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Profile {
    /// How the window, the tray and assistants' configurations name it (`dev`,
    /// `acme-prod`, a host name): letters, digits, `.`, `-` and `_`, at most 64.
    pub name: String,
    /// The tenant's origin; empty: the built-in demo tenant.
    pub tenant_url: String,
    /// `#rrggbb`: the profile's badge, rows and tray tooltip.
    pub colour: String,
    /// A production tenant: a red badge, and read only unless the admin lifts it for a
    /// while.
    pub production: bool,
    /// How much an assistant may change without asking; `None` is the host's default
    /// (the desktop asks before changes, the headless server allows all) or, on a
    /// production tenant, read only.
    pub mode: Option<Mode>,
    /// Tools and tool families turned off (`deleteJourney`, `themes`).
    pub disabled_tools: Vec<String>,
}

/// The colours new profiles take in turn.
pub const PROFILE_COLOURS: [&str; 6] = [
    "#2563eb", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#db2777",
];

/// The longest profile name.
pub const MAX_PROFILE_NAME: usize = 64;

impl Default for Profile {
    fn default() -> Self {
        Self {
            name: String::new(),
            tenant_url: String::new(),
            colour: PROFILE_COLOURS[0].into(),
            production: false,
            mode: None,
            disabled_tools: Vec::new(),
        }
    }
}

impl Profile {
    /// A profile for `tenant_url`, named after its host (`openam-acme.forgeblocks.com`);
    /// `demo` for the built-in demo tenant.
    pub fn for_tenant(tenant_url: &str) -> Self {
        let name = TenantUrl::parse(tenant_url.trim())
            .map(|u| u.host().to_string())
            .unwrap_or_else(|_| "demo".into());
        Self {
            name,
            tenant_url: tenant_url.trim().to_string(),
            ..Self::default()
        }
    }

    /// Whether it names the built-in demo tenant.
    pub fn is_demo(&self) -> bool {
        self.tenant_url.trim().is_empty()
    }

    fn validated(mut self) -> Result<Self, SettingsError> {
        self.name = self.name.trim().to_string();
        profile_name_rule(&self.name).map_err(|m| SettingsError::Invalid {
            field: "profile name",
            message: m,
        })?;
        let name = self.name.clone();
        let invalid = |field: &'static str, message: String| SettingsError::Invalid {
            field,
            message: format!("profile {name:?}: {message}"),
        };
        let tenant = self.tenant_url.trim();
        self.tenant_url = if tenant.is_empty() {
            String::new()
        } else {
            TenantUrl::parse(tenant)
                .map_err(|e| invalid("tenant URL", e.problem.clone()))?
                .origin()
        };
        let colour = self.colour.trim().to_ascii_lowercase();
        let hex = colour.strip_prefix('#').unwrap_or("");
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid(
                "colour",
                format!("{:?} is not a colour like #2563eb", self.colour),
            ));
        }
        self.colour = colour;
        let off = Switches::new(&self.disabled_tools).map_err(|m| invalid("tools", m))?;
        self.disabled_tools = off.names().map(str::to_string).collect();
        Ok(self)
    }
}

/// A profile name: 1 to 64 letters, digits, `.`, `-` or `_`, starting with a letter or
/// digit (it becomes a file name and part of an assistant's server name).
pub fn profile_name_rule(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_PROFILE_NAME
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a profile name: use 1 to {MAX_PROFILE_NAME} letters, digits, '.', '-' or '_', starting with a letter or digit (for example acme-dev)"
        ))
    }
}

/// What the Settings view edits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// The tenants, in the order the admin keeps them. None: the built-in demo tenant.
    pub profiles: Vec<Profile>,
    /// The profile new sessions get (its name; empty: the first).
    pub active_profile: String,
    pub redirect_port: u16,
    pub http_enabled: bool,
    pub http_port: u16,
    pub notifications: bool,
    /// Seconds the admin has to answer an approval before the call is denied.
    pub approval_timeout_secs: u64,
}

/// The file as written, before profiles and after: the old top-level tenant fields are
/// read (and turned into a profile), never written.
#[derive(Deserialize)]
#[serde(default)]
struct SettingsFile {
    profiles: Vec<Profile>,
    active_profile: String,
    redirect_port: u16,
    http_enabled: bool,
    http_port: u16,
    notifications: bool,
    approval_timeout_secs: u64,
    tenant_url: Option<String>,
    mode: Option<Mode>,
    disabled_tools: Option<Vec<String>>,
    production: Option<bool>,
}

impl Default for SettingsFile {
    fn default() -> Self {
        let d = Settings::default();
        Self {
            profiles: d.profiles,
            active_profile: d.active_profile,
            redirect_port: d.redirect_port,
            http_enabled: d.http_enabled,
            http_port: d.http_port,
            notifications: d.notifications,
            approval_timeout_secs: d.approval_timeout_secs,
            tenant_url: None,
            mode: None,
            disabled_tools: None,
            production: None,
        }
    }
}

impl SettingsFile {
    /// The settings, and whether the file was in the old form (one tenant at the top).
    fn into_settings(self) -> (Settings, bool) {
        let legacy = self.tenant_url.is_some()
            || self.mode.is_some()
            || self.disabled_tools.is_some()
            || self.production.is_some();
        let mut profiles = self.profiles;
        let mut active = self.active_profile;
        if legacy && profiles.is_empty() {
            let tenant = self.tenant_url.unwrap_or_default();
            let guarded = self.mode.is_some()
                || self.production == Some(true)
                || self.disabled_tools.as_ref().is_some_and(|d| !d.is_empty());
            // A demo-only file keeps its guard settings as a demo profile.
            if !tenant.trim().is_empty() || guarded {
                let p = Profile {
                    production: self.production.unwrap_or(false),
                    mode: self.mode,
                    disabled_tools: self.disabled_tools.unwrap_or_default(),
                    ..Profile::for_tenant(&tenant)
                };
                active = p.name.clone();
                profiles.push(p);
            }
        }
        (
            Settings {
                profiles,
                active_profile: active,
                redirect_port: self.redirect_port,
                http_enabled: self.http_enabled,
                http_port: self.http_port,
                notifications: self.notifications,
                approval_timeout_secs: self.approval_timeout_secs,
            },
            legacy,
        )
    }
}

impl<'de> Deserialize<'de> for Settings {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        SettingsFile::deserialize(d).map(|f| f.into_settings().0)
    }
}

/// The shortest and longest approval timeout a setting may ask for.
pub const APPROVAL_TIMEOUT_SECS: std::ops::RangeInclusive<u64> = 10..=3600;

impl Default for Settings {
    fn default() -> Self {
        Self {
            profiles: Vec::new(),
            active_profile: String::new(),
            redirect_port: 3000,
            http_enabled: false,
            http_port: 8765,
            notifications: true,
            approval_timeout_secs: DEFAULT_APPROVAL_TIMEOUT.as_secs(),
        }
    }
}

/// A rejected setting, named so the UI can point at the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("settings file {path}: {detail}")]
    Io { path: String, detail: String },
}

impl Settings {
    /// Checks every field; returns the normalised settings (tenant URLs as their origins,
    /// the active profile named).
    pub fn validated(mut self) -> Result<Self, SettingsError> {
        let mut profiles = Vec::with_capacity(self.profiles.len());
        for p in self.profiles {
            let p = p.validated()?;
            let clash = |q: &Profile| {
                if q.name.eq_ignore_ascii_case(&p.name) {
                    Some(format!("two profiles are named {:?}", p.name))
                } else if !p.is_demo() && q.tenant_url == p.tenant_url {
                    Some(format!(
                        "profiles {:?} and {:?} are the same tenant ({}); one sign-in serves one profile",
                        q.name, p.name, p.tenant_url
                    ))
                } else {
                    None
                }
            };
            if let Some(message) = profiles.iter().find_map(clash) {
                return Err(SettingsError::Invalid {
                    field: "profiles",
                    message,
                });
            }
            profiles.push(p);
        }
        self.profiles = profiles;
        let active = self.active_profile.trim().to_string();
        self.active_profile = if active.is_empty() {
            self.profiles
                .first()
                .map(|p| p.name.clone())
                .unwrap_or_default()
        } else {
            self.profiles
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(&active))
                .map(|p| p.name.clone())
                .ok_or_else(|| SettingsError::Invalid {
                    field: "active profile",
                    message: format!("{active:?} is not one of the profiles"),
                })?
        };
        for (field, port) in [
            ("redirect port", self.redirect_port),
            ("HTTP port", self.http_port),
        ] {
            if port < 1024 {
                return Err(SettingsError::Invalid {
                    field,
                    message: format!("{port} is not a port from 1024 to 65535"),
                });
            }
        }
        if !APPROVAL_TIMEOUT_SECS.contains(&self.approval_timeout_secs) {
            return Err(SettingsError::Invalid {
                field: "approval timeout",
                message: format!(
                    "{} seconds is not from {} to {} seconds",
                    self.approval_timeout_secs,
                    APPROVAL_TIMEOUT_SECS.start(),
                    APPROVAL_TIMEOUT_SECS.end()
                ),
            });
        }
        if self.http_enabled && self.http_port == self.redirect_port {
            return Err(SettingsError::Invalid {
                field: "HTTP port",
                message: "must differ from the redirect port".into(),
            });
        }
        Ok(self)
    }

    /// The profile new sessions get: the active one, else the first; `None` when there
    /// is none (the demo tenant).
    pub fn active(&self) -> Option<&Profile> {
        self.profile(&self.active_profile)
            .or_else(|| self.profiles.first())
    }

    /// The profile named `name` (any case).
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The profile a host serves: the one named (`--profile`), else the active one. An
    /// unknown name is an error listing the known ones.
    pub fn select(&self, name: Option<&str>) -> Result<Option<&Profile>, ConfigError> {
        let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
            return Ok(self.active());
        };
        self.profile(name).map(Some).ok_or_else(|| {
            let known: Vec<&str> = self.profiles.iter().map(|p| p.name.as_str()).collect();
            let problem = if known.is_empty() {
                format!("there is no profile {name:?}: the settings file has no profiles")
            } else {
                format!(
                    "there is no profile {name:?}; the profiles are: {}",
                    known.join(", ")
                )
            };
            ConfigError::new("--profile", problem, "acme-dev")
        })
    }

    /// The default settings file.
    pub fn default_path() -> PathBuf {
        dirs::config_dir()
            .unwrap_or_else(std::env::temp_dir)
            .join(APP_DIR_NAME)
            .join("settings.json")
    }

    /// Reads the file; a missing file is the defaults; a broken one is an error (the app
    /// says so and keeps the defaults rather than overwriting the user's file).
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        Self::load_noting_old_form(path).map(|(s, _)| s)
    }

    /// [`Settings::load`], and whether the file is in the form from before profiles (the
    /// host then saves it in the new form).
    pub fn load_noting_old_form(path: &Path) -> Result<(Self, bool), SettingsError> {
        let io = |e: &dyn std::fmt::Display| SettingsError::Io {
            path: path.display().to_string(),
            detail: e.to_string(),
        };
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str::<SettingsFile>(&text)
                .map(SettingsFile::into_settings)
                .map_err(|e| io(&e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((Self::default(), false)),
            Err(e) => Err(io(&e)),
        }
    }

    /// Validates, then replaces the file atomically ([`crate::atomic`]: mode 0600, missing
    /// folders created 0700). Nothing is written when a field is invalid.
    pub fn save(&self, path: &Path) -> Result<Self, SettingsError> {
        let valid = self.clone().validated()?;
        let io = |e: &dyn std::fmt::Display| SettingsError::Io {
            path: path.display().to_string(),
            detail: e.to_string(),
        };
        let mut text = serde_json::to_string_pretty(&valid).map_err(|e| io(&e))?;
        text.push('\n');
        let options = atomic::Options::private().create_dirs(0o700);
        atomic::write(path, text.as_bytes(), options).map_err(|e| match e {
            // The folder's path is not the file's: keep the whole message.
            AtomicError::CreateDir { .. } => io(&e),
            other => io(other.io()),
        })?;
        Ok(valid)
    }

    /// The rules in force for `profile`: `AIC_MODE`, `AIC_DISABLE_TOOLS` and
    /// `AIC_APPROVAL_TIMEOUT` (seconds) win over the settings; with no mode anywhere,
    /// `default_mode` (read only on a production tenant). An unknown mode or tool name is
    /// an error naming it.
    pub fn rules(
        &self,
        profile: Option<&Profile>,
        env: impl Fn(&str) -> Option<String>,
        default_mode: Mode,
    ) -> Result<Rules, ConfigError> {
        let set = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        let production = profile.is_some_and(|p| p.production);
        let mode = match set("AIC_MODE") {
            Some(v) => Mode::parse(&v).map_err(|p| ConfigError::new("AIC_MODE", p, "ask"))?,
            None if production => Mode::ReadOnly,
            None => profile.and_then(|p| p.mode).unwrap_or(default_mode),
        };
        let none = Vec::new();
        let disabled = profile.map(|p| &p.disabled_tools).unwrap_or(&none);
        let off = match set("AIC_DISABLE_TOOLS") {
            Some(v) => Switches::parse_list(&v)
                .map_err(|p| ConfigError::new("AIC_DISABLE_TOOLS", p, "deleteJourney,themes"))?,
            None => Switches::new(disabled).map_err(|p| {
                ConfigError::new("disabledTools (settings file)", p, "[\"deleteJourney\"]")
            })?,
        };
        let approval_timeout = match set("AIC_APPROVAL_TIMEOUT") {
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|s| APPROVAL_TIMEOUT_SECS.contains(s))
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    ConfigError::new(
                        "AIC_APPROVAL_TIMEOUT",
                        format!(
                            "{v:?} is not a number of seconds from {} to {}",
                            APPROVAL_TIMEOUT_SECS.start(),
                            APPROVAL_TIMEOUT_SECS.end()
                        ),
                        "120",
                    )
                })?,
            None => Duration::from_secs(self.approval_timeout_secs),
        };
        Ok(Rules {
            mode,
            off,
            approval_timeout,
        })
    }

    /// The core configuration of `profile`: the environment first, then the settings.
    /// `None` when no tenant is configured anywhere (the app then offers the demo tenant).
    pub fn to_config(
        &self,
        profile: Option<&Profile>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Config>, ConfigError> {
        let env_tenant = env("AIC_BASE_URL").filter(|s| !s.trim().is_empty());
        let tenant = profile.map(|p| p.tenant_url.clone()).unwrap_or_default();
        if env_tenant.is_none() && tenant.trim().is_empty() {
            return Ok(None);
        }
        let port = self.redirect_port.to_string();
        Config::from_lookup(|k| match k {
            "AIC_BASE_URL" => env_tenant.clone().or_else(|| Some(tenant.clone())),
            "AIC_REDIRECT_PORT" => env(k)
                .filter(|s| !s.trim().is_empty())
                .or_else(|| Some(port.clone())),
            other => env(other),
        })
        .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(profiles: Vec<Profile>) -> Settings {
        Settings {
            profiles,
            ..Settings::default()
        }
    }

    fn profile(name: &str, url: &str) -> Profile {
        Profile {
            name: name.into(),
            tenant_url: url.into(),
            ..Profile::default()
        }
    }

    #[test]
    fn validation_names_the_field_and_normalises_the_tenant() {
        let s = with(vec![profile(
            "acme",
            " https://openam-acme.forgeblocks.com/am/XUI/ ",
        )]);
        let v = s.validated().expect("valid");
        assert_eq!(
            v.profiles[0].tenant_url,
            "https://openam-acme.forgeblocks.com"
        );
        assert_eq!(v.active_profile, "acme", "the first is active");
        let bad = with(vec![profile("acme", "ftp://x")])
            .validated()
            .expect_err("bad url");
        assert!(
            bad.to_string()
                .starts_with("tenant URL: profile \"acme\": "),
            "{bad}"
        );
        let bad = Settings {
            redirect_port: 80,
            ..Settings::default()
        }
        .validated()
        .expect_err("low port");
        assert_eq!(
            bad.to_string(),
            "redirect port: 80 is not a port from 1024 to 65535"
        );
        let bad = Settings {
            http_enabled: true,
            http_port: 3000,
            ..Settings::default()
        }
        .validated()
        .expect_err("same port");
        assert!(bad.to_string().starts_with("HTTP port: "));
    }

    #[test]
    fn profiles_are_named_uniquely_one_per_tenant_and_the_active_one_exists() {
        let dev = profile("dev", "https://openam-dev.forgeblocks.com");
        let prod = profile("prod", "https://openam-prod.forgeblocks.com");
        for (bad, field, says) in [
            (
                with(vec![
                    dev.clone(),
                    Profile {
                        name: "DEV".into(),
                        ..prod.clone()
                    },
                ]),
                "profiles",
                "two profiles are named",
            ),
            (
                with(vec![
                    dev.clone(),
                    Profile {
                        name: "other".into(),
                        ..dev.clone()
                    },
                ]),
                "profiles",
                "are the same tenant",
            ),
            (
                with(vec![Profile {
                    name: "a b".into(),
                    ..dev.clone()
                }]),
                "profile name",
                "is not a profile name",
            ),
            (
                with(vec![Profile {
                    name: "-x".into(),
                    ..dev.clone()
                }]),
                "profile name",
                "is not a profile name",
            ),
            (
                with(vec![Profile {
                    name: "x".repeat(65),
                    ..dev.clone()
                }]),
                "profile name",
                "is not a profile name",
            ),
            (
                with(vec![Profile {
                    colour: "red".into(),
                    ..dev.clone()
                }]),
                "colour",
                "is not a colour",
            ),
            (
                with(vec![Profile {
                    disabled_tools: vec!["nope".into()],
                    ..dev.clone()
                }]),
                "tools",
                "nope",
            ),
            (
                Settings {
                    active_profile: "staging".into(),
                    ..with(vec![dev.clone()])
                },
                "active profile",
                "\"staging\" is not one of the profiles",
            ),
        ] {
            match bad.validated() {
                Err(SettingsError::Invalid { field: f, message }) => {
                    assert_eq!(f, field, "{message}");
                    assert!(message.contains(says), "{message}");
                }
                other => panic!("{field}: {other:?}"),
            }
        }
        // Two demo profiles are fine (no sign-in to share); the active one is matched in
        // any case and stored as named.
        let ok = Settings {
            active_profile: "PROD".into(),
            ..with(vec![dev, prod, profile("demo", ""), profile("demo2", "")])
        }
        .validated()
        .expect("valid");
        assert_eq!(ok.active_profile, "prod");
        assert_eq!(ok.active().map(|p| p.name.as_str()), Some("prod"));
    }

    #[test]
    fn select_picks_the_named_or_the_active_profile_and_lists_the_known_ones() {
        let s = Settings {
            active_profile: "prod".into(),
            ..with(vec![
                profile("dev", "https://openam-dev.forgeblocks.com"),
                profile("prod", "https://openam-prod.forgeblocks.com"),
            ])
        };
        let name = |n: Option<&str>| s.select(n).expect("known").map(|p| p.name.clone());
        assert_eq!(name(None).as_deref(), Some("prod"));
        assert_eq!(name(Some("Dev")).as_deref(), Some("dev"));
        let e = s.select(Some("staging")).expect_err("unknown");
        assert_eq!(e.setting, "--profile");
        assert_eq!(
            e.problem,
            "there is no profile \"staging\"; the profiles are: dev, prod"
        );
        let e = Settings::default().select(Some("dev")).expect_err("none");
        assert!(e.problem.contains("has no profiles"), "{}", e.problem);
        assert!(Settings::default().select(None).expect("ok").is_none());
    }

    #[test]
    fn a_file_from_before_profiles_becomes_one_profile_named_after_its_host() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("settings.json");
        std::fs::write(
            &path,
            r#"{"tenant_url": "https://openam-acme.forgeblocks.com", "redirect_port": 3100,
                "http_enabled": true, "http_port": 8800, "notifications": false,
                "mode": "ask-destructive", "disabled_tools": ["deleteJourney", "themes"],
                "approval_timeout_secs": 300, "production": true}"#,
        )
        .expect("write");
        let (s, old) = Settings::load_noting_old_form(&path).expect("load");
        assert!(old);
        assert_eq!(
            s,
            Settings {
                profiles: vec![Profile {
                    name: "openam-acme.forgeblocks.com".into(),
                    tenant_url: "https://openam-acme.forgeblocks.com".into(),
                    colour: PROFILE_COLOURS[0].into(),
                    production: true,
                    mode: Some(Mode::AskDestructive),
                    disabled_tools: vec!["deleteJourney".into(), "themes".into()],
                }],
                active_profile: "openam-acme.forgeblocks.com".into(),
                redirect_port: 3100,
                http_enabled: true,
                http_port: 8800,
                notifications: false,
                approval_timeout_secs: 300,
            }
        );
        // Saved in the new form, it reads back the same and is no longer old.
        s.save(&path).expect("save");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(!text.contains("\"tenant_url\": \"https") || text.contains("\"profiles\""));
        let (again, old) = Settings::load_noting_old_form(&path).expect("load");
        assert!(!old);
        assert_eq!(again, s);
        // The old default file (demo tenant, nothing guarded) has no profile; a demo file
        // with guard settings keeps them as a demo profile.
        std::fs::write(&path, r#"{"tenant_url": "", "notifications": true}"#).expect("write");
        let (s, old) = Settings::load_noting_old_form(&path).expect("load");
        assert!(old && s.profiles.is_empty() && s.active().is_none());
        std::fs::write(&path, r#"{"tenant_url": "", "mode": "read-only"}"#).expect("write");
        let s = Settings::load(&path).expect("load");
        assert_eq!(s.profiles.len(), 1);
        assert!(s.profiles[0].is_demo() && s.profiles[0].name == "demo");
        assert_eq!(s.profiles[0].mode, Some(Mode::ReadOnly));
    }

    #[test]
    fn save_then_load_round_trips_and_invalid_writes_nothing() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("cfg").join("settings.json");
        assert_eq!(Settings::load(&path).expect("missing"), Settings::default());
        let s = Settings {
            http_enabled: true,
            active_profile: "acme".into(),
            ..with(vec![profile("acme", "https://openam-acme.forgeblocks.com")])
        };
        s.save(&path).expect("save");
        assert_eq!(Settings::load(&path).expect("load"), s);
        let before = std::fs::read(&path).expect("read");
        let bad = with(vec![profile("acme", "not a url")]);
        assert!(bad.save(&path).is_err());
        assert_eq!(std::fs::read(&path).expect("read"), before);
        std::fs::write(&path, "{ nope").expect("write");
        assert!(matches!(
            Settings::load(&path),
            Err(SettingsError::Io { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn save_never_writes_through_a_link_planted_at_the_old_temporary_name() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("cfg");
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let victim = tmp.path().join("victim");
        std::fs::write(&victim, "keep me").expect("write");
        // The name the settings were once staged under, predictable to anyone.
        std::os::unix::fs::symlink(&victim, dir.join(".settings.json.tmp")).expect("symlink");
        let path = dir.join("settings.json");
        Settings::default().save(&path).expect("save");
        assert_eq!(std::fs::read(&victim).expect("read"), b"keep me");
        let meta = std::fs::symlink_metadata(&path).expect("meta");
        assert!(
            meta.is_file(),
            "settings.json is a file, not the planted link"
        );
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(Settings::load(&path).expect("load"), Settings::default());
        let dir_mode = std::fs::metadata(&dir).expect("meta").permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o755, "an existing folder keeps its mode");
    }

    #[test]
    fn environment_wins_and_no_tenant_means_demo() {
        let s = Settings::default();
        assert!(s.to_config(None, |_| None).expect("ok").is_none());
        let s = Settings {
            redirect_port: 4000,
            ..with(vec![profile("file", "https://openam-file.forgeblocks.com")])
        };
        let c = s
            .to_config(s.active(), |_| None)
            .expect("ok")
            .expect("config");
        assert_eq!(c.tenant.origin(), "https://openam-file.forgeblocks.com");
        assert_eq!(c.redirect_port, 4000);
        let c = s
            .to_config(s.active(), |k| {
                (k == "AIC_BASE_URL").then(|| "https://openam-env.forgeblocks.com".into())
            })
            .expect("ok")
            .expect("config");
        assert_eq!(c.tenant.origin(), "https://openam-env.forgeblocks.com");
    }
}
