//! Configuration from the environment: the tenant URL, CA bundle, redirect port and token
//! store. No secret is ever read from or written to configuration.

use std::path::PathBuf;

/// A configuration error: names the setting and gives an example value. Hosts print it
/// on one line and exit with status 2.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{setting}: {problem} (example: {setting}={example})")]
pub struct ConfigError {
    pub setting: &'static str,
    pub problem: String,
    pub example: &'static str,
}

impl ConfigError {
    pub fn new(setting: &'static str, problem: impl Into<String>, example: &'static str) -> Self {
        Self {
            setting,
            problem: problem.into(),
            example,
        }
    }
}

const BASE_URL_EXAMPLE: &str = "https://openam-mytenant.forgeblocks.com";

/// The scheme of the tenant's origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Https,
    /// Only for loopback hosts (the tenant simulator).
    Http,
}

/// A normalised tenant address: scheme, host and an optional explicit port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantUrl {
    scheme: Scheme,
    host: String,
    port: Option<u16>,
}

impl TenantUrl {
    /// Normalises `AIC_BASE_URL` as the reference does (trim; drop a leading `http://` or
    /// `https://`; cut at the first `/`, `?` or `#`), except that an explicit port is kept
    /// and `http://` is accepted only for loopback hosts.
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let err = |p: String| ConfigError::new("AIC_BASE_URL", p, BASE_URL_EXAMPLE);
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(err("is empty".into()));
        }
        let lower = trimmed.to_ascii_lowercase();
        let (scheme, rest) = if lower.starts_with("https://") {
            (Scheme::Https, &trimmed[8..])
        } else if lower.starts_with("http://") {
            (Scheme::Http, &trimmed[7..])
        } else if trimmed.contains("://") {
            return Err(err(format!(
                "'{trimmed}' has an unsupported scheme (use https://)"
            )));
        } else {
            (Scheme::Https, trimmed)
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err(err("must not contain user information ('@')".into()));
        }
        let (host, port) = split_host_port(authority).map_err(err)?;
        if host.is_empty() {
            return Err(err(format!("'{trimmed}' has no host name")));
        }
        let valid_host = if host.starts_with('[') {
            host.len() > 2
                && host.ends_with(']')
                && host[1..host.len() - 1]
                    .parse::<std::net::Ipv6Addr>()
                    .is_ok()
        } else {
            host.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        };
        if !valid_host {
            return Err(err(format!("'{host}' is not a valid host name")));
        }
        let url = Self {
            scheme,
            host: host.to_string(),
            port,
        };
        if scheme == Scheme::Http && !url.is_loopback() {
            return Err(err(format!(
                "http:// is allowed only for loopback hosts, not '{host}'; use https://"
            )));
        }
        Ok(url)
    }

    /// `host` or `host:port`: the tenant's identity (keychain account, tenant isolation).
    pub fn host_key(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.clone(),
        }
    }

    /// The host name alone (no port).
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> Option<u16> {
        self.port
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// `https://host[:port]`, no trailing slash.
    pub fn origin(&self) -> String {
        let scheme = match self.scheme {
            Scheme::Https => "https",
            Scheme::Http => "http",
        };
        format!("{scheme}://{}", self.host_key())
    }

    /// True for `localhost`, `127.0.0.0/8` and `[::1]`.
    pub fn is_loopback(&self) -> bool {
        let h = self.host.trim_start_matches('[').trim_end_matches(']');
        h.eq_ignore_ascii_case("localhost")
            || h.parse::<std::net::IpAddr>()
                .map(|ip| ip.is_loopback())
                .unwrap_or(false)
    }
}

fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if authority.starts_with('[') {
        match authority.find(']') {
            Some(end) => {
                let host = &authority[..=end];
                let rest = &authority[end + 1..];
                match rest.strip_prefix(':') {
                    Some(p) => (host, Some(p)),
                    None if rest.is_empty() => (host, None),
                    None => return Err(format!("'{authority}' is not a valid host")),
                }
            }
            None => return Err(format!("'{authority}' is not a valid host")),
        }
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(format!("'{p}' is not a valid port")),
        },
    };
    Ok((host, port))
}

/// Where the primary token is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenStoreKind {
    /// The OS keychain (Secret Service, macOS Keychain, Windows Credential Manager).
    Keychain,
    /// A 0600 JSON file (container mode).
    File(PathBuf),
    /// Process memory only.
    Memory,
}

/// How the admin logs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginMode {
    /// Authorization code + PKCE in the system browser.
    Pkce,
    /// Device authorization grant (headless, containers).
    DeviceCode,
}

/// Everything the core needs to know, read once at start.
#[derive(Debug, Clone)]
pub struct Config {
    pub tenant: TenantUrl,
    pub ca_file: Option<PathBuf>,
    pub redirect_port: u16,
    pub token_store: TokenStoreKind,
    /// `DOCKER_CONTAINER=true`: device-code login and the 28-tool set.
    pub container_mode: bool,
    /// `NODE_ENV=production`: upstream error bodies are not shown.
    pub sanitize_errors: bool,
    /// Directory of the JSONL audit log.
    pub log_dir: PathBuf,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `get` (tests inject a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let base = get("AIC_BASE_URL").unwrap_or_default();
        if base.trim().is_empty() {
            return Err(ConfigError::new(
                "AIC_BASE_URL",
                "is not set",
                BASE_URL_EXAMPLE,
            ));
        }
        let tenant = TenantUrl::parse(&base)?;
        let container_mode = get("DOCKER_CONTAINER").as_deref() == Some("true");

        let ca_file = match get("AIC_CA_FILE").filter(|s| !s.trim().is_empty()) {
            None => None,
            Some(p) => {
                let path = PathBuf::from(p.trim());
                let pem = std::fs::read(&path).map_err(|e| {
                    ConfigError::new(
                        "AIC_CA_FILE",
                        format!("cannot read '{}': {e}", path.display()),
                        "/etc/ssl/certs/my-tenant-ca.pem",
                    )
                })?;
                if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
                    return Err(ConfigError::new(
                        "AIC_CA_FILE",
                        format!("'{}' holds no PEM certificate", path.display()),
                        "/etc/ssl/certs/my-tenant-ca.pem",
                    ));
                }
                Some(path)
            }
        };

        let redirect_port = match get("AIC_REDIRECT_PORT").filter(|s| !s.trim().is_empty()) {
            None => 3000,
            Some(p) => match p.trim().parse::<u16>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(ConfigError::new(
                        "AIC_REDIRECT_PORT",
                        format!("'{p}' is not a port number from 1 to 65535"),
                        "3000",
                    ))
                }
            },
        };

        let token_file = || -> Result<PathBuf, ConfigError> {
            if let Some(p) = get("AIC_TOKEN_FILE").filter(|s| !s.trim().is_empty()) {
                return Ok(PathBuf::from(p));
            }
            default_token_file(container_mode)
        };
        let token_store = match get("AIC_TOKEN_STORE")
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .as_deref()
        {
            None if container_mode => TokenStoreKind::File(token_file()?),
            None | Some("keychain") => TokenStoreKind::Keychain,
            Some("file") => TokenStoreKind::File(token_file()?),
            Some("memory") => TokenStoreKind::Memory,
            Some(other) => {
                return Err(ConfigError::new(
                    "AIC_TOKEN_STORE",
                    format!("'{other}' is not one of keychain, file, memory"),
                    "keychain",
                ))
            }
        };

        let log_dir = get("AIC_LOG_DIR")
            .filter(|s| !s.trim().is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(default_log_dir);

        Ok(Self {
            tenant,
            ca_file,
            redirect_port,
            token_store,
            container_mode,
            sanitize_errors: get("NODE_ENV").as_deref() == Some("production"),
            log_dir,
        })
    }

    pub fn login_mode(&self) -> LoginMode {
        if self.container_mode {
            LoginMode::DeviceCode
        } else {
            LoginMode::Pkce
        }
    }
}

/// The application's name in OS directories and the keychain.
pub const APP_DIR_NAME: &str = "aic-mcp-desktop";

fn default_token_file(container_mode: bool) -> Result<PathBuf, ConfigError> {
    token_file_in(
        container_mode,
        std::path::Path::new("/app/tokens"),
        dirs::runtime_dir(),
        dirs::state_dir(),
    )
}

/// The token file when `AIC_TOKEN_FILE` is not set: `<app_tokens>/token.json` in a container
/// that mounts that folder, else `<runtime or state folder>/aic-mcp-desktop/token.json`.
/// Never the shared temporary folder (another user could create the folder first): without a
/// runtime or state folder, `AIC_TOKEN_FILE` must be set.
fn token_file_in(
    container_mode: bool,
    app_tokens: &std::path::Path,
    runtime: Option<PathBuf>,
    state: Option<PathBuf>,
) -> Result<PathBuf, ConfigError> {
    if container_mode && app_tokens.is_dir() {
        return Ok(app_tokens.join("token.json"));
    }
    let folder = runtime.or(state).ok_or_else(|| {
        ConfigError::new(
            "AIC_TOKEN_FILE",
            "is not set, and there is no runtime or state folder to keep the token in \
             (XDG_RUNTIME_DIR, XDG_STATE_HOME or HOME); set it to a file in a folder only \
             this user can write",
            "/app/tokens/token.json",
        )
    })?;
    Ok(folder.join(APP_DIR_NAME).join("token.json"))
}

/// The OS log directory of the app (`~/.local/state/aic-mcp-desktop/logs` on Linux).
pub fn default_log_dir() -> PathBuf {
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .unwrap_or_else(std::env::temp_dir)
        .join(APP_DIR_NAME)
        .join("logs")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn base_url_is_normalised_keeping_the_port() {
        let u = TenantUrl::parse("  https://t.forgeblocks.com:8443/admin?x#y ").expect("valid");
        assert_eq!(u.host_key(), "t.forgeblocks.com:8443");
        assert_eq!(u.origin(), "https://t.forgeblocks.com:8443");
        let u = TenantUrl::parse("openam-x.forgeblocks.com/am/XUI").expect("valid");
        assert_eq!(u.origin(), "https://openam-x.forgeblocks.com");
        assert_eq!(u.host(), "openam-x.forgeblocks.com");
        let u = TenantUrl::parse("HTTPS://T.example.com").expect("valid");
        assert_eq!(u.host(), "T.example.com", "no case folding");
    }

    #[test]
    fn http_only_for_loopback() {
        assert!(TenantUrl::parse("http://127.0.0.1:8080").is_ok());
        assert!(TenantUrl::parse("http://localhost:1").is_ok());
        assert!(TenantUrl::parse("http://[::1]:9000").is_ok());
        let e = TenantUrl::parse("http://tenant.example.com").expect_err("rejected");
        assert!(e.to_string().contains("only for loopback"), "{e}");
    }

    #[test]
    fn bad_urls_are_rejected_with_the_setting_and_an_example() {
        for bad in [
            "",
            "   ",
            "ftp://x",
            "https://",
            "https://a b",
            "https://u@h",
            "h:0",
            "h:99999",
        ] {
            let e = TenantUrl::parse(bad).expect_err(bad);
            let s = e.to_string();
            assert!(s.starts_with("AIC_BASE_URL: "), "{s}");
            assert!(s.contains("example: AIC_BASE_URL=https://"), "{s}");
        }
    }

    #[test]
    fn missing_base_url_is_a_clear_error() {
        let e = cfg(&[]).expect_err("missing");
        assert_eq!(e.setting, "AIC_BASE_URL");
        assert!(e.to_string().contains("is not set"));
    }

    #[test]
    fn defaults_and_modes() {
        let c = cfg(&[("AIC_BASE_URL", "t.example.com")]).expect("ok");
        assert_eq!(c.redirect_port, 3000);
        assert_eq!(c.token_store, TokenStoreKind::Keychain);
        assert_eq!(c.login_mode(), LoginMode::Pkce);
        assert!(!c.sanitize_errors);
        let c = cfg(&[
            ("AIC_BASE_URL", "t.example.com"),
            ("DOCKER_CONTAINER", "true"),
            ("AIC_TOKEN_FILE", "/tmp/x/token.json"),
            ("NODE_ENV", "production"),
        ])
        .expect("ok");
        assert_eq!(
            c.token_store,
            TokenStoreKind::File("/tmp/x/token.json".into())
        );
        assert_eq!(c.login_mode(), LoginMode::DeviceCode);
        assert!(c.sanitize_errors);
        let c = cfg(&[
            ("AIC_BASE_URL", "t.example.com"),
            ("AIC_TOKEN_STORE", "memory"),
        ])
        .expect("ok");
        assert_eq!(c.token_store, TokenStoreKind::Memory);
    }

    #[test]
    fn the_token_file_never_falls_back_to_the_temp_folder() {
        let none = std::path::Path::new("/nonexistent/app/tokens");
        let e = token_file_in(true, none, None, None).expect_err("no folder");
        assert_eq!(e.setting, "AIC_TOKEN_FILE");
        assert!(
            e.to_string()
                .starts_with("AIC_TOKEN_FILE: is not set, and there is no runtime or state folder"),
            "{e}"
        );
        assert_eq!(
            token_file_in(true, none, Some("/run/user/7".into()), Some("/s".into())),
            Ok(PathBuf::from("/run/user/7/aic-mcp-desktop/token.json"))
        );
        assert_eq!(
            token_file_in(false, none, None, Some("/home/u/.local/state".into())),
            Ok(PathBuf::from(
                "/home/u/.local/state/aic-mcp-desktop/token.json"
            ))
        );
        // A container that mounts the tokens folder uses it; outside container mode it is
        // not looked at.
        let mounted = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            token_file_in(true, mounted.path(), None, None),
            Ok(mounted.path().join("token.json"))
        );
        assert!(token_file_in(false, mounted.path(), None, None).is_err());
    }

    #[test]
    fn invalid_settings_name_themselves() {
        let e = cfg(&[
            ("AIC_BASE_URL", "t.example.com"),
            ("AIC_REDIRECT_PORT", "abc"),
        ])
        .expect_err("bad");
        assert_eq!(e.setting, "AIC_REDIRECT_PORT");
        let e = cfg(&[
            ("AIC_BASE_URL", "t.example.com"),
            ("AIC_TOKEN_STORE", "vault"),
        ])
        .expect_err("bad");
        assert_eq!(e.setting, "AIC_TOKEN_STORE");
        let e = cfg(&[
            ("AIC_BASE_URL", "t.example.com"),
            ("AIC_CA_FILE", "/nonexistent/ca.pem"),
        ])
        .expect_err("bad");
        assert_eq!(e.setting, "AIC_CA_FILE");
    }
}
