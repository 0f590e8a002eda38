//! "Connect an assistant": registers this app's MCP server with the AI assistants installed
//! for the current user, by editing each assistant's per-user configuration file.
//!
//! The entry uses stdio, so no secret is ever written. By default it is named `aic` and runs
//! `<aic-mcp-server> connect`, which reaches the app's active profile. For one tenant profile
//! ([`Assistants::with_profile`]) it is named `aic-<profile>` and runs `<aic-mcp-server>
//! connect --profile <profile>`, which reaches that profile only: an assistant can hold one
//! entry per profile (`aic-dev`, `aic-prod`, ...), so the model sees separate servers. The
//! command is the absolute, canonical path of the server binary ([`server_command`]); the
//! entry's `env` carries `AIC_MCP_SOCKET` (the app's main socket, beside which `--profile`
//! finds the profile's own) only when the app's socket is not the one `connect` finds by
//! default. A profile name must pass [`crate::settings::profile_name_rule`]. Codex starts
//! only servers named with letters, digits, `-` and `_`, so for a profile whose name holds a
//! `.` Codex shows as unsupported and nothing is written to it.
//!
//! Supported assistants: Claude Desktop, Claude Code (user scope), Cursor, VS Code, Codex
//! and Gemini CLI. Not on Windows yet: the local socket that `connect` reaches is Unix-only,
//! so every assistant shows as unsupported there and nothing is written.
//!
//! Editing is deliberately careful:
//! - an assistant whose per-user folder is missing is "not detected" and never touched; a
//!   missing file inside an existing folder is created;
//! - files are read as raw bytes and parsed tolerantly (JSON with comments and trailing
//!   commas; TOML through `toml_edit`); a parse error or an unexpected shape aborts with
//!   nothing written;
//! - the change is minimal: only our member (`aic`, or `aic-<profile>`) is inserted or
//!   replaced; every other byte (keys, order, comments, indentation, newlines, BOM, and the
//!   entries of other profiles) stays as it was;
//! - [`Assistants::preview`] shows a unified diff and returns a token (the SHA-256 of the
//!   bytes it saw); [`Assistants::apply`] writes only if the file still has those bytes, so
//!   the preview is the user's consent for exactly that change;
//! - the previous file is backed up beside it (`<file>.aic-bak-<UTC time>`, same
//!   permissions, the last three kept); the new file replaces the old one atomically
//!   ([`crate::atomic`]: a new file with a random name beside it, the original's permissions
//!   or 0600 for a new file, synced, renamed over it); symlinks are followed (the link's
//!   target is written and the link kept); the result is read back and checked.
//!
//! The parts: `locate` finds each assistant's file (per platform, `CODEX_HOME`, the
//! Microsoft Store install of Claude Desktop); `entry` is what we write and what to
//! restart; `jsonc` parses JSON with comments keeping byte positions; `json` and
//! `toml` plan the minimal edit of each format; `files` reads, backs up and replaces
//! files safely.

mod entry;
mod files;
mod json;
mod jsonc;
mod locate;
#[cfg(test)]
mod tests;
mod toml;

use std::fs;
use std::io;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use entry::server_command;
use files::{
    backup_path, file_mode, prune_backups, read_optional, token_of, utc_stamp, write_atomic,
    write_backup,
};
use json::plan_json;
use locate::{Location, Platform};
use toml::plan_toml;

/// The name of our server entry in every assistant's configuration; a profile's entry is
/// named `aic-<profile>`.
pub const ENTRY_NAME: &str = "aic";

/// The preview token of a file that does not exist yet.
pub const ABSENT_TOKEN: &str = "absent";

/// The mode of a configuration file we create (an existing file keeps its own).
const NEW_FILE_MODE: u32 = 0o600;

/// How many backups of one configuration file are kept.
const KEEP_BACKUPS: usize = 3;

/// The server binary's file name on this platform.
const SERVER_BINARY: &str = if cfg!(windows) {
    "aic-mcp-server.exe"
} else {
    "aic-mcp-server"
};

/// The arguments after the server binary (a profile's entry adds `--profile <name>`).
const SERVER_ARGS: [&str; 1] = ["connect"];

/// One of the supported assistants. Serialised as `"claude_desktop"`, `"claude_code"`,
/// `"cursor"`, `"vscode"`, `"codex"` or `"gemini"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientId {
    ClaudeDesktop,
    ClaudeCode,
    Cursor,
    Vscode,
    Codex,
    Gemini,
}

impl ClientId {
    /// Every assistant, in the order the UI lists them.
    pub const ALL: [ClientId; 6] = [
        ClientId::ClaudeDesktop,
        ClientId::ClaudeCode,
        ClientId::Cursor,
        ClientId::Vscode,
        ClientId::Codex,
        ClientId::Gemini,
    ];

    /// The wire id, e.g. `"claude_desktop"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientId::ClaudeDesktop => "claude_desktop",
            ClientId::ClaudeCode => "claude_code",
            ClientId::Cursor => "cursor",
            ClientId::Vscode => "vscode",
            ClientId::Codex => "codex",
            ClientId::Gemini => "gemini",
        }
    }

    /// The display name, e.g. `"Claude Desktop"`.
    pub fn name(self) -> &'static str {
        match self {
            ClientId::ClaudeDesktop => "Claude Desktop",
            ClientId::ClaudeCode => "Claude Code",
            ClientId::Cursor => "Cursor",
            ClientId::Vscode => "VS Code",
            ClientId::Codex => "Codex",
            ClientId::Gemini => "Gemini CLI",
        }
    }

    fn format(self) -> Format {
        match self {
            ClientId::Vscode => Format::Json { servers: "servers" },
            ClientId::Codex => Format::Toml,
            _ => Format::Json {
                servers: "mcpServers",
            },
        }
    }
}

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ClientId {
    type Err = AssistantError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ClientId::ALL
            .into_iter()
            .find(|id| id.as_str() == s)
            .ok_or_else(|| AssistantError::UnknownAssistant(s.to_string()))
    }
}

/// Where our entry stands in one assistant's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    /// The assistant's per-user folder does not exist.
    NotDetected,
    /// The file (or our entry in it) does not exist yet.
    Absent,
    /// The file holds exactly our entry.
    Installed,
    /// The file holds an entry of our name (`aic` or `aic-<profile>`) with other content;
    /// applying replaces it.
    Different,
    /// The file cannot be read or parsed; `problem` says why. Nothing can be applied.
    Invalid,
    /// Assistants cannot connect on this platform yet, or this assistant cannot use this
    /// profile's entry; `problem` says why. Nothing can be applied.
    Unsupported,
}

/// One row of the "Connect an assistant" view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssistantView {
    pub id: ClientId,
    /// Display name, e.g. "Claude Desktop".
    pub name: String,
    /// The configuration file (absolute path).
    pub path: String,
    /// Whether the assistant's per-user folder exists.
    pub detected: bool,
    /// The name of the entry `state` and `entry` are about: `aic`, or `aic-<profile>`.
    pub entry_name: String,
    pub state: EntryState,
    /// The exact text of the entry we add, in the file's format.
    pub entry: String,
    /// What to restart afterwards, and gotchas.
    pub note: String,
    /// Why the file cannot be used (state `invalid`), or why the entry could not work here
    /// (state `unsupported`).
    pub problem: Option<String>,
}

/// What [`Assistants::apply`] would change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    pub id: ClientId,
    /// The configuration file (absolute path).
    pub path: String,
    /// Unified diff of the change; empty when already installed.
    pub diff: String,
    /// Where the current file will be backed up (the time stamp is taken when applying).
    pub backup_path: Option<String>,
    /// The file does not exist yet and will be created.
    pub creates_file: bool,
    /// Pass this to [`Assistants::apply`]: it stands for exactly the file content previewed.
    pub token: String,
    pub already_installed: bool,
}

/// The outcome of [`Assistants::apply`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyResult {
    /// The configuration file (absolute path).
    pub path: String,
    /// The backup of the previous content, if a file was replaced.
    pub backup_path: Option<String>,
    /// A sentence for the user: what was done and what to restart.
    pub message: String,
}

/// Why an assistant could not be previewed or configured. The message is meant for the user.
#[derive(Debug, thiserror::Error)]
pub enum AssistantError {
    #[error("unknown assistant \"{0}\"")]
    UnknownAssistant(String),
    /// The profile name fails [`crate::settings::profile_name_rule`] (the message says why).
    #[error("{0}; nothing was changed")]
    InvalidProfile(String),
    #[error("{name} is not installed here (no {folder} folder)")]
    NotDetected { name: &'static str, folder: String },
    #[error("{path} is not valid {format}{}: {reason}; nothing was changed", at(*.line, *.column))]
    InvalidFile {
        path: String,
        format: &'static str,
        line: Option<usize>,
        column: Option<usize>,
        reason: String,
    },
    #[error("{path}: {reason}; nothing was changed")]
    Unsupported { path: String, reason: String },
    #[error("{path} changed since the preview; nothing was changed. Review the new preview and try again")]
    FileChanged { path: String },
    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{path} was written but does not read back as expected: {reason}")]
    Verify { path: String, reason: String },
    #[error("{UNSUPPORTED_REASON}; nothing was changed")]
    PlatformUnsupported,
    #[error(
        "cannot find {SERVER_BINARY}: it is neither beside this app ({beside}) nor in an \
         absolute folder on PATH. Reinstall AIC MCP Desktop, which installs it beside the app"
    )]
    ServerNotFound { beside: String },
}

/// Why assistants cannot be connected on Windows yet.
pub const UNSUPPORTED_REASON: &str = "Connecting assistants is not available on Windows yet: \
     the local socket that `aic-mcp-server connect` reaches is not built there, so an entry \
     could not work";

fn at(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" at line {l}, column {c}"),
        (Some(l), None) => format!(" at line {l}"),
        _ => String::new(),
    }
}

impl AssistantError {
    /// The IPC error code: `"FileChanged"` for a stale preview token, `"Io"` for file
    /// system failures (and a missing server binary), `"PlatformUnsupported"` where
    /// assistants cannot connect yet (Windows), `"AssistantConflict"` for everything about
    /// the assistant, its file or the entry asked for (not installed, unparseable,
    /// unexpected shape, unknown id, a bad profile name, a name the assistant refuses).
    pub fn code(&self) -> &'static str {
        match self {
            AssistantError::FileChanged { .. } => "FileChanged",
            AssistantError::PlatformUnsupported => "PlatformUnsupported",
            AssistantError::Io { .. }
            | AssistantError::Verify { .. }
            | AssistantError::ServerNotFound { .. } => "Io",
            AssistantError::UnknownAssistant(_)
            | AssistantError::InvalidProfile(_)
            | AssistantError::NotDetected { .. }
            | AssistantError::InvalidFile { .. }
            | AssistantError::Unsupported { .. } => "AssistantConflict",
        }
    }
}

/// Environment values that move configuration folders. Injected so that tests (and hosts)
/// control them; [`AssistantsEnv::from_process`] reads the real environment. Empty values
/// count as unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssistantsEnv {
    /// `CODEX_HOME`: Codex's folder (default `~/.codex`).
    pub codex_home: Option<PathBuf>,
    /// `XDG_CONFIG_HOME` (Linux; default `~/.config`).
    pub xdg_config_home: Option<PathBuf>,
    /// `APPDATA` (Windows; default `~\AppData\Roaming`).
    pub appdata: Option<PathBuf>,
    /// `LOCALAPPDATA` (Windows; default `~\AppData\Local`).
    pub local_appdata: Option<PathBuf>,
    /// `XDG_RUNTIME_DIR`: where `aic-mcp-server connect` looks for the socket by default.
    pub xdg_runtime_dir: Option<PathBuf>,
}

impl AssistantsEnv {
    pub fn from_process() -> Self {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Self {
            codex_home: var("CODEX_HOME"),
            xdg_config_home: var("XDG_CONFIG_HOME"),
            appdata: var("APPDATA"),
            local_appdata: var("LOCALAPPDATA"),
            xdg_runtime_dir: var("XDG_RUNTIME_DIR"),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Format {
    /// JSON with comments; `servers` is the top-level key holding the server map.
    Json {
        servers: &'static str,
    },
    Toml,
}

/// The "Connect an assistant" engine: finds the assistants' configuration files under a
/// home directory and adds our server entry to them.
#[derive(Debug, Clone)]
pub struct Assistants {
    home: PathBuf,
    env: AssistantsEnv,
    server_command: PathBuf,
    /// The socket the app serves; `None`: the default (no `AIC_MCP_SOCKET` in the entry).
    socket: Option<PathBuf>,
    /// The profile whose entry this engine adds; `None`: the `aic` entry (active profile).
    /// Always a name that passes [`crate::settings::profile_name_rule`].
    profile: Option<String>,
    platform: Platform,
}

impl Assistants {
    /// `home` is the user's home directory; `server_command` the absolute path of the
    /// `aic-mcp-server` binary (see [`server_command`]). No environment overrides (see
    /// [`Assistants::with_env`]) and the default socket (see [`Assistants::with_socket`]).
    pub fn new(home: impl Into<PathBuf>, server_command: impl Into<PathBuf>) -> Self {
        Self {
            home: home.into(),
            env: AssistantsEnv::default(),
            server_command: server_command.into(),
            socket: None,
            profile: None,
            platform: Platform::current(),
        }
    }

    /// The socket the app serves. When it is not where `aic-mcp-server connect` looks by
    /// default (`$XDG_RUNTIME_DIR/aic-mcp-desktop/mcp.sock`, or the per-user temp folder; see
    /// [`crate::mcp::socket::default_socket_path_from`]), the entry's `env` carries
    /// `AIC_MCP_SOCKET` with its absolute path.
    pub fn with_socket(mut self, socket: impl Into<PathBuf>) -> Self {
        let socket = socket.into();
        self.socket = Some(std::path::absolute(&socket).unwrap_or(socket));
        self
    }

    /// Which entry this engine lists, previews and applies: `None` the `aic` entry (`connect`,
    /// the app's active profile), `Some(name)` the profile's own entry `aic-<name>`
    /// (`connect --profile <name>`). Refuses a name that fails
    /// [`crate::settings::profile_name_rule`] with [`AssistantError::InvalidProfile`].
    pub fn with_profile(mut self, profile: Option<&str>) -> Result<Self, AssistantError> {
        if let Some(name) = profile {
            crate::settings::profile_name_rule(name).map_err(AssistantError::InvalidProfile)?;
        }
        self.profile = profile.map(str::to_string);
        Ok(self)
    }

    /// The profile whose entry this engine handles (`None`: the `aic` entry).
    pub fn profile(&self) -> Option<&str> {
        self.profile.as_deref()
    }

    /// The name of the entry this engine handles: `aic`, or `aic-<profile>`.
    pub fn entry_name(&self) -> String {
        match &self.profile {
            None => ENTRY_NAME.to_string(),
            Some(name) => format!("{ENTRY_NAME}-{name}"),
        }
    }

    /// Replaces the environment overrides (`CODEX_HOME`, `XDG_CONFIG_HOME`, ...).
    pub fn with_env(mut self, env: AssistantsEnv) -> Self {
        self.env = env;
        self
    }

    /// The real home directory and environment of this process.
    pub fn from_env(server_command: impl Into<PathBuf>) -> Result<Self, AssistantError> {
        let home = dirs::home_dir().ok_or_else(|| AssistantError::Io {
            action: "find",
            path: "the home directory".into(),
            source: io::Error::new(io::ErrorKind::NotFound, "no home directory is set"),
        })?;
        Ok(Self::new(home, server_command).with_env(AssistantsEnv::from_process()))
    }

    /// What the desktop uses: the real home directory and environment, the server binary
    /// found by [`server_command`], and the socket the app serves.
    pub fn for_current_user(socket: impl Into<PathBuf>) -> Result<Self, AssistantError> {
        let command = match server_command() {
            Ok(command) => command,
            // Nothing is written where the socket is not built; the views only say so.
            Err(_) if !Platform::current().has_local_socket() => PathBuf::from(SERVER_BINARY),
            Err(e) => return Err(e),
        };
        Ok(Self::from_env(command)?.with_socket(socket))
    }

    /// The state of every assistant. Never fails: problems show as state `invalid` (or
    /// `unsupported`: all of them on Windows; Codex for a profile name it cannot start).
    pub fn list(&self) -> Vec<AssistantView> {
        ClientId::ALL.into_iter().map(|id| self.view(id)).collect()
    }

    /// The state of one assistant.
    pub fn view(&self, id: ClientId) -> AssistantView {
        let loc = self.locate(id);
        let detected = self.is_detected(id, &loc);
        let (state, problem) = if !self.platform.has_local_socket() {
            (
                EntryState::Unsupported,
                Some(UNSUPPORTED_REASON.to_string()),
            )
        } else if !detected {
            (EntryState::NotDetected, None)
        } else if let Some(reason) = self.refused_name(id) {
            (EntryState::Unsupported, Some(reason))
        } else {
            match self.analyse(id, &loc) {
                Ok(a) => (a.state, None),
                Err(e) => (EntryState::Invalid, Some(e.to_string())),
            }
        };
        AssistantView {
            id,
            name: id.name().to_string(),
            path: loc.file.display().to_string(),
            detected,
            entry_name: self.entry_name(),
            state,
            entry: self.entry_text(id),
            note: self.note(id, &loc),
            problem,
        }
    }

    /// What applying would change, and the token that consents to exactly that change.
    pub fn preview(&self, id: ClientId) -> Result<Preview, AssistantError> {
        self.require_supported()?;
        let loc = self.locate(id);
        self.require_detected(id, &loc)?;
        self.require_usable_name(id, &loc)?;
        let a = self.analyse(id, &loc)?;
        let shown = self.shown(&loc.file);
        let already_installed = a.state == EntryState::Installed;
        let diff = if already_installed {
            String::new()
        } else {
            let old = a
                .original
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            let old_name = if a.original.is_some() {
                shown.as_str()
            } else {
                "/dev/null"
            };
            similar::TextDiff::from_lines(old.as_ref(), a.new_text.as_str())
                .unified_diff()
                .context_radius(3)
                .header(old_name, &shown)
                .to_string()
        };
        let backup_path = match (&a.original, already_installed) {
            (Some(_), false) => Some(backup_path(&loc.file, &utc_stamp()).display().to_string()),
            _ => None,
        };
        Ok(Preview {
            id,
            path: loc.file.display().to_string(),
            diff,
            backup_path,
            creates_file: a.original.is_none(),
            token: a.token,
            already_installed,
        })
    }

    /// Writes the change previewed with `token`. Refuses with [`AssistantError::FileChanged`]
    /// if the file no longer has the bytes the preview saw.
    pub fn apply(&self, id: ClientId, token: &str) -> Result<ApplyResult, AssistantError> {
        self.require_supported()?;
        let loc = self.locate(id);
        self.require_detected(id, &loc)?;
        self.require_usable_name(id, &loc)?;
        let shown = self.shown(&loc.file);
        let target = self.target(&loc)?;
        let original = read_optional(&target).map_err(|e| io_err("read", &shown, e))?;
        if token_of(original.as_deref()) != token {
            return Err(AssistantError::FileChanged { path: shown });
        }
        let (state, new_text) = self.plan(id, &shown, original.as_deref())?;
        let path = loc.file.display().to_string();
        let name = self.entry_name();
        if state == EntryState::Installed {
            return Ok(ApplyResult {
                path,
                backup_path: None,
                message: format!(
                    "{} is already set up in {shown}; nothing was changed.",
                    id.name()
                ),
            });
        }

        let mode = match &original {
            Some(_) => file_mode(
                &fs::metadata(&target).map_err(|e| io_err("read the permissions of", &shown, e))?,
            ),
            None => NEW_FILE_MODE,
        };
        let backup = match &original {
            Some(bytes) => Some(write_backup(&loc.file, bytes, mode, &shown)?),
            None => None,
        };
        let written = write_atomic(&target, new_text.as_bytes(), mode, token, &shown);
        if let Err(e) = written {
            if let Some(b) = &backup {
                let _ = fs::remove_file(b);
            }
            return Err(e);
        }
        prune_backups(&loc.file);

        let reread = read_optional(&target).map_err(|e| io_err("read back", &shown, e))?;
        match self.plan(id, &shown, reread.as_deref()) {
            Ok((EntryState::Installed, _)) => {}
            Ok(_) => {
                return Err(AssistantError::Verify {
                    path: shown,
                    reason: format!("the {name} entry is not there"),
                })
            }
            Err(e) => {
                return Err(AssistantError::Verify {
                    path: shown,
                    reason: e.to_string(),
                })
            }
        }

        let verb = match state {
            EntryState::Different => format!("Replaced the {name} entry in"),
            _ if original.is_none() => "Created".to_string(),
            _ => format!("Added {name} to"),
        };
        let mut message = if original.is_none() {
            format!("{verb} {shown} with the {name} entry.")
        } else {
            format!("{verb} {shown}.")
        };
        if let Some(b) = &backup {
            message.push_str(&format!(
                " The previous file is saved as {}.",
                self.shown(b)
            ));
        }
        message.push(' ');
        message.push_str(&self.note(id, &loc));
        Ok(ApplyResult {
            path,
            backup_path: backup.map(|b| b.display().to_string()),
            message,
        })
    }

    /// Reads and plans without checking detection (callers did).
    fn analyse(&self, id: ClientId, loc: &Location) -> Result<Analysis, AssistantError> {
        let shown = self.shown(&loc.file);
        let target = self.target(loc)?;
        let original = read_optional(&target).map_err(|e| io_err("read", &shown, e))?;
        let token = token_of(original.as_deref());
        let (state, new_text) = self.plan(id, &shown, original.as_deref())?;
        Ok(Analysis {
            original,
            token,
            state,
            new_text,
        })
    }

    /// The state of our entry in `original` and the full new file text (equal to the
    /// original when already installed).
    fn plan(
        &self,
        id: ClientId,
        shown: &str,
        original: Option<&[u8]>,
    ) -> Result<(EntryState, String), AssistantError> {
        let entry = self.entry_value(id);
        let name = self.entry_name();
        let format_name = match id.format() {
            Format::Json { .. } => "JSON",
            Format::Toml => "TOML",
        };
        let (bom, text) = match original {
            None => ("", ""),
            Some(bytes) => {
                let (bom, rest) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
                    Some(rest) => ("\u{FEFF}", rest),
                    None => ("", bytes),
                };
                let text = std::str::from_utf8(rest).map_err(|e| AssistantError::InvalidFile {
                    path: shown.to_string(),
                    format: format_name,
                    line: Some(line_col(rest, e.valid_up_to()).0),
                    column: None,
                    reason: "the file is not UTF-8 text".into(),
                })?;
                (bom, text)
            }
        };
        let (state, new_text) = match id.format() {
            Format::Json { servers } => plan_json(text, servers, &name, &entry, shown)?,
            Format::Toml => plan_toml(text, &name, &entry, shown)?,
        };
        let state = if original.is_none() {
            EntryState::Absent
        } else {
            state
        };
        Ok((state, format!("{bom}{new_text}")))
    }
}

struct Analysis {
    original: Option<Vec<u8>>,
    token: String,
    state: EntryState,
    new_text: String,
}

fn io_err(action: &'static str, shown: &str, source: io::Error) -> AssistantError {
    AssistantError::Io {
        action,
        path: shown.to_string(),
        source,
    }
}

/// `(line, column)`, both from 1, of a byte offset.
fn line_col(text: &[u8], offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}
