//! The desktop app's settings file (`<OS config dir>/aic-mcp-desktop/settings.json`):
//! tenant URL, redirect port, the opt-in HTTP endpoint and notifications. Never a secret.
//! Environment variables (`AIC_BASE_URL`, `AIC_REDIRECT_PORT`, …) win over the file, so the
//! headless server and the app read a tenant the same way.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::atomic::{self, AtomicError};
use crate::config::{Config, ConfigError, TenantUrl, APP_DIR_NAME};
use crate::policy::{Mode, Rules, Switches, DEFAULT_APPROVAL_TIMEOUT};

/// What the Settings view edits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Empty: the built-in demo tenant.
    pub tenant_url: String,
    pub redirect_port: u16,
    pub http_enabled: bool,
    pub http_port: u16,
    pub notifications: bool,
    /// How much an assistant may change without asking; `None` is the host's default
    /// (the desktop asks before changes, the headless server allows all) or, on a
    /// production tenant, read only.
    pub mode: Option<Mode>,
    /// Tools and tool families turned off (`deleteJourney`, `themes`).
    pub disabled_tools: Vec<String>,
    /// Seconds the admin has to answer an approval before the call is denied.
    pub approval_timeout_secs: u64,
    /// A production tenant: a red badge, and read only unless the admin lifts it for a
    /// while.
    pub production: bool,
}

/// The shortest and longest approval timeout a setting may ask for.
pub const APPROVAL_TIMEOUT_SECS: std::ops::RangeInclusive<u64> = 10..=3600;

impl Default for Settings {
    fn default() -> Self {
        Self {
            tenant_url: String::new(),
            redirect_port: 3000,
            http_enabled: false,
            http_port: 8765,
            notifications: true,
            mode: None,
            disabled_tools: Vec::new(),
            approval_timeout_secs: DEFAULT_APPROVAL_TIMEOUT.as_secs(),
            production: false,
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
    /// Checks every field; returns the normalised settings (tenant URL as its origin).
    pub fn validated(mut self) -> Result<Self, SettingsError> {
        let tenant = self.tenant_url.trim();
        if tenant.is_empty() {
            self.tenant_url = String::new();
        } else {
            let url = TenantUrl::parse(tenant).map_err(|e| SettingsError::Invalid {
                field: "tenant URL",
                message: e.problem.clone(),
            })?;
            self.tenant_url = url.origin();
        }
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
        let off =
            Switches::new(&self.disabled_tools).map_err(|message| SettingsError::Invalid {
                field: "tools",
                message,
            })?;
        self.disabled_tools = off.names().map(str::to_string).collect();
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
        let io = |e: &dyn std::fmt::Display| SettingsError::Io {
            path: path.display().to_string(),
            detail: e.to_string(),
        };
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| io(&e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
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

    /// The rules in force: `AIC_MODE`, `AIC_DISABLE_TOOLS` and `AIC_APPROVAL_TIMEOUT`
    /// (seconds) win over these settings; with no mode anywhere, `default_mode` (read only
    /// on a production tenant). An unknown mode or tool name is an error naming it.
    pub fn rules(
        &self,
        env: impl Fn(&str) -> Option<String>,
        default_mode: Mode,
    ) -> Result<Rules, ConfigError> {
        let set = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        let mode = match set("AIC_MODE") {
            Some(v) => Mode::parse(&v).map_err(|p| ConfigError::new("AIC_MODE", p, "ask"))?,
            None if self.production => Mode::ReadOnly,
            None => self.mode.unwrap_or(default_mode),
        };
        let off = match set("AIC_DISABLE_TOOLS") {
            Some(v) => Switches::parse_list(&v)
                .map_err(|p| ConfigError::new("AIC_DISABLE_TOOLS", p, "deleteJourney,themes"))?,
            None => Switches::new(&self.disabled_tools).map_err(|p| {
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

    /// The core configuration: the environment first, then these settings. `None` when
    /// no tenant is configured anywhere (the app then offers the demo tenant).
    pub fn to_config(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Config>, ConfigError> {
        let env_tenant = env("AIC_BASE_URL").filter(|s| !s.trim().is_empty());
        if env_tenant.is_none() && self.tenant_url.trim().is_empty() {
            return Ok(None);
        }
        let tenant = self.tenant_url.clone();
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

    #[test]
    fn validation_names_the_field_and_normalises_the_tenant() {
        let s = Settings {
            tenant_url: " https://openam-acme.forgeblocks.com/am/XUI/ ".into(),
            ..Settings::default()
        };
        assert_eq!(
            s.validated().expect("valid").tenant_url,
            "https://openam-acme.forgeblocks.com"
        );
        let bad = Settings {
            tenant_url: "ftp://x".into(),
            ..Settings::default()
        }
        .validated()
        .expect_err("bad url");
        assert!(bad.to_string().starts_with("tenant URL: "), "{bad}");
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
    fn save_then_load_round_trips_and_invalid_writes_nothing() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("cfg").join("settings.json");
        assert_eq!(Settings::load(&path).expect("missing"), Settings::default());
        let s = Settings {
            tenant_url: "https://openam-acme.forgeblocks.com".into(),
            http_enabled: true,
            ..Settings::default()
        };
        s.save(&path).expect("save");
        assert_eq!(Settings::load(&path).expect("load"), s);
        let before = std::fs::read(&path).expect("read");
        let bad = Settings {
            tenant_url: "not a url".into(),
            ..Settings::default()
        };
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
        assert!(s.to_config(|_| None).expect("ok").is_none());
        let s = Settings {
            tenant_url: "https://openam-file.forgeblocks.com".into(),
            redirect_port: 4000,
            ..Settings::default()
        };
        let c = s.to_config(|_| None).expect("ok").expect("config");
        assert_eq!(c.tenant.origin(), "https://openam-file.forgeblocks.com");
        assert_eq!(c.redirect_port, 4000);
        let c = s
            .to_config(|k| {
                (k == "AIC_BASE_URL").then(|| "https://openam-env.forgeblocks.com".into())
            })
            .expect("ok")
            .expect("config");
        assert_eq!(c.tenant.origin(), "https://openam-env.forgeblocks.com");
    }
}
