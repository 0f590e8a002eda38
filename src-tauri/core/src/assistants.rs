//! "Connect an assistant": registers this app's MCP server with the AI assistants installed
//! for the current user, by editing each assistant's per-user configuration file.
//!
//! The entry is always named `aic` and uses stdio: `<aic-mcp-server> connect`, so no secret
//! is ever written. Supported assistants: Claude Desktop, Claude Code (user scope), Cursor,
//! VS Code, Codex and Gemini CLI.
//!
//! Editing is deliberately careful:
//! - an assistant whose per-user folder is missing is "not detected" and never touched; a
//!   missing file inside an existing folder is created;
//! - files are read as raw bytes and parsed tolerantly (JSON with comments and trailing
//!   commas; TOML through `toml_edit`); a parse error or an unexpected shape aborts with
//!   nothing written;
//! - the change is minimal: only the `aic` member is inserted or replaced; every other byte
//!   (keys, order, comments, indentation, newlines, BOM) stays as it was;
//! - [`Assistants::preview`] shows a unified diff and returns a token (the SHA-256 of the
//!   bytes it saw); [`Assistants::apply`] writes only if the file still has those bytes, so
//!   the preview is the user's consent for exactly that change;
//! - the previous file is backed up beside it (`<file>.aic-bak-<UTC time>`, same
//!   permissions, the last three kept); the new file is written to a temporary file in the
//!   same directory, synced, given the original permissions and renamed over the original
//!   (symlinks are followed: the link's target is written and the link kept); the result
//!   is read back and checked.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The name of our server entry in every assistant's configuration.
pub const ENTRY_NAME: &str = "aic";

/// The preview token of a file that does not exist yet.
pub const ABSENT_TOKEN: &str = "absent";

/// How many backups of one configuration file are kept.
const KEEP_BACKUPS: usize = 3;

/// The arguments after the server binary.
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
    /// The file holds an `aic` entry with other content; applying replaces it.
    Different,
    /// The file cannot be read or parsed; `problem` says why. Nothing can be applied.
    Invalid,
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
    pub state: EntryState,
    /// The exact text of the entry we add, in the file's format.
    pub entry: String,
    /// What to restart afterwards, and gotchas.
    pub note: String,
    /// Why the file cannot be used (only with state `invalid`).
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
}

fn at(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" at line {l}, column {c}"),
        (Some(l), None) => format!(" at line {l}"),
        _ => String::new(),
    }
}

impl AssistantError {
    /// The IPC error code: `"FileChanged"` for a stale preview token, `"Io"` for file
    /// system failures, `"AssistantConflict"` for everything about the assistant or its file
    /// (not installed, unparseable, unexpected shape, unknown id).
    pub fn code(&self) -> &'static str {
        match self {
            AssistantError::FileChanged { .. } => "FileChanged",
            AssistantError::Io { .. } | AssistantError::Verify { .. } => "Io",
            AssistantError::UnknownAssistant(_)
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
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Platform {
    Linux,
    MacOs,
    Windows,
}

impl Platform {
    fn current() -> Self {
        if cfg!(target_os = "macos") {
            Platform::MacOs
        } else if cfg!(windows) {
            Platform::Windows
        } else {
            Platform::Linux
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

/// Where one assistant keeps its configuration.
#[derive(Debug, Clone)]
struct Location {
    /// The per-user folder whose presence means "installed".
    folder: PathBuf,
    /// The configuration file (maybe a symlink).
    file: PathBuf,
    /// Claude Desktop installed from the Microsoft Store (MSIX).
    msix: bool,
}

/// The "Connect an assistant" engine: finds the assistants' configuration files under a
/// home directory and adds our server entry to them.
#[derive(Debug, Clone)]
pub struct Assistants {
    home: PathBuf,
    env: AssistantsEnv,
    server_command: PathBuf,
    platform: Platform,
}

impl Assistants {
    /// `home` is the user's home directory; `server_command` the absolute path of the
    /// `aic-mcp-server` binary. No environment overrides: see [`Assistants::with_env`].
    pub fn new(home: impl Into<PathBuf>, server_command: impl Into<PathBuf>) -> Self {
        Self {
            home: home.into(),
            env: AssistantsEnv::default(),
            server_command: server_command.into(),
            platform: Platform::current(),
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

    /// The state of every assistant. Never fails: problems show as state `invalid`.
    pub fn list(&self) -> Vec<AssistantView> {
        ClientId::ALL.into_iter().map(|id| self.view(id)).collect()
    }

    /// The state of one assistant.
    pub fn view(&self, id: ClientId) -> AssistantView {
        let loc = self.locate(id);
        let detected = self.is_detected(id, &loc);
        let (state, problem) = if !detected {
            (EntryState::NotDetected, None)
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
            state,
            entry: self.entry_text(id),
            note: self.note(id, &loc),
            problem,
        }
    }

    /// What applying would change, and the token that consents to exactly that change.
    pub fn preview(&self, id: ClientId) -> Result<Preview, AssistantError> {
        let loc = self.locate(id);
        self.require_detected(id, &loc)?;
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
        let loc = self.locate(id);
        self.require_detected(id, &loc)?;
        let shown = self.shown(&loc.file);
        let target = self.target(&loc)?;
        let original = read_optional(&target).map_err(|e| io_err("read", &shown, e))?;
        if token_of(original.as_deref()) != token {
            return Err(AssistantError::FileChanged { path: shown });
        }
        let (state, new_text) = self.plan(id, &shown, original.as_deref())?;
        let path = loc.file.display().to_string();
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

        let permissions = match &original {
            Some(_) => Some(
                fs::metadata(&target)
                    .map_err(|e| io_err("read the permissions of", &shown, e))?
                    .permissions(),
            ),
            None => None,
        };
        let backup = match &original {
            Some(bytes) => Some(write_backup(
                &loc.file,
                bytes,
                permissions.as_ref(),
                &shown,
            )?),
            None => None,
        };
        let written = write_atomic(&target, new_text.as_bytes(), permissions, token, &shown);
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
                    reason: "the aic entry is not there".into(),
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
            EntryState::Different => "Replaced the aic entry in",
            _ if original.is_none() => "Created",
            _ => "Added aic to",
        };
        let mut message = if original.is_none() {
            format!("{verb} {shown} with the aic entry.")
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

    // ---- locating --------------------------------------------------------------------

    fn config_base(&self) -> PathBuf {
        match self.platform {
            Platform::Linux => match &self.env.xdg_config_home {
                Some(p) if p.is_absolute() => p.clone(),
                _ => self.home.join(".config"),
            },
            Platform::MacOs => self.home.join("Library").join("Application Support"),
            Platform::Windows => match &self.env.appdata {
                Some(p) => p.clone(),
                None => self.home.join("AppData").join("Roaming"),
            },
        }
    }

    fn locate(&self, id: ClientId) -> Location {
        let simple = |folder: PathBuf, file: &str| Location {
            file: folder.join(file),
            folder,
            msix: false,
        };
        match id {
            ClientId::ClaudeDesktop => {
                if self.platform == Platform::Windows {
                    if let Some(folder) = self.claude_msix_folder() {
                        return Location {
                            file: folder.join("claude_desktop_config.json"),
                            folder,
                            msix: true,
                        };
                    }
                }
                simple(
                    self.config_base().join("Claude"),
                    "claude_desktop_config.json",
                )
            }
            ClientId::ClaudeCode => Location {
                folder: self.home.join(".claude"),
                file: self.home.join(".claude.json"),
                msix: false,
            },
            ClientId::Cursor => simple(self.home.join(".cursor"), "mcp.json"),
            ClientId::Vscode => simple(self.config_base().join("Code").join("User"), "mcp.json"),
            ClientId::Codex => {
                let folder = match &self.env.codex_home {
                    Some(p) if p.is_absolute() => p.clone(),
                    _ => self.home.join(".codex"),
                };
                simple(folder, "config.toml")
            }
            ClientId::Gemini => simple(self.home.join(".gemini"), "settings.json"),
        }
    }

    /// Claude Desktop from the Microsoft Store reads its file from the package's
    /// virtualised AppData; writes to `%APPDATA%\Claude` are ignored there.
    fn claude_msix_folder(&self) -> Option<PathBuf> {
        let local = match &self.env.local_appdata {
            Some(p) => p.clone(),
            None => self.home.join("AppData").join("Local"),
        };
        let mut packages: Vec<PathBuf> = fs::read_dir(local.join("Packages"))
            .ok()?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("Claude_"))
            .map(|e| e.path().join("LocalCache").join("Roaming").join("Claude"))
            .filter(|p| p.is_dir())
            .collect();
        packages.sort();
        packages.into_iter().next()
    }

    fn is_detected(&self, id: ClientId, loc: &Location) -> bool {
        loc.folder.is_dir()
            || (id == ClientId::ClaudeCode && fs::symlink_metadata(&loc.file).is_ok())
    }

    fn require_detected(&self, id: ClientId, loc: &Location) -> Result<(), AssistantError> {
        if self.is_detected(id, loc) {
            Ok(())
        } else {
            Err(AssistantError::NotDetected {
                name: id.name(),
                folder: self.shown(&loc.folder),
            })
        }
    }

    /// The file actually written: the configured path with symlinks followed.
    fn target(&self, loc: &Location) -> Result<PathBuf, AssistantError> {
        resolve_symlinks(&loc.file)
            .map_err(|e| io_err("follow the link", &self.shown(&loc.file), e))
    }

    /// A path for messages: `~/...` under the home directory.
    fn shown(&self, path: &Path) -> String {
        match path.strip_prefix(&self.home) {
            Ok(rest) if !rest.as_os_str().is_empty() => {
                format!("~{}{}", std::path::MAIN_SEPARATOR, rest.display())
            }
            _ => path.display().to_string(),
        }
    }

    // ---- content -----------------------------------------------------------------------

    fn command(&self) -> String {
        self.server_command.to_string_lossy().into_owned()
    }

    /// The JSON entry for a JSON-configured assistant (also the model for Codex's TOML).
    fn entry_value(&self, id: ClientId) -> Value {
        let command = self.command();
        match id {
            ClientId::Vscode | ClientId::ClaudeCode => json!({
                "type": "stdio",
                "command": command,
                "args": SERVER_ARGS,
                "env": {}
            }),
            // Never "trust": true (it would skip every tool confirmation).
            ClientId::Gemini => json!({ "command": command, "args": SERVER_ARGS }),
            ClientId::ClaudeDesktop | ClientId::Cursor | ClientId::Codex => json!({
                "command": command,
                "args": SERVER_ARGS,
                "env": {}
            }),
        }
    }

    fn entry_text(&self, id: ClientId) -> String {
        match id.format() {
            Format::Json { .. } => {
                let style = JsonStyle::default();
                format!(
                    "{}{}{}",
                    json_string(ENTRY_NAME),
                    style.colon,
                    render_json(&self.entry_value(id), "", &style.unit, &style, true)
                )
            }
            Format::Toml => plan_toml("", &self.entry_value(id), "")
                .map(|(_, text)| text.trim_end().to_string())
                .unwrap_or_default(),
        }
    }

    fn note(&self, id: ClientId, loc: &Location) -> String {
        match id {
            ClientId::ClaudeDesktop => {
                let mut note = String::from(
                    "Fully quit Claude Desktop (also from the tray or menu bar) and start it \
                     again; it reads this file only at startup.",
                );
                if self.platform == Platform::Linux {
                    note.push_str(" Claude Desktop for Linux is an unofficial community build.");
                }
                if loc.msix {
                    note.push_str(
                        " This is the Microsoft Store install, which reads its own copy of \
                         the file.",
                    );
                }
                note
            }
            ClientId::ClaudeCode => "Close every Claude Code session before applying: running \
                 sessions rewrite ~/.claude.json and can undo the change. Then start a new \
                 Claude Code session and check with /mcp."
                .into(),
            ClientId::Cursor => "Restart Cursor, then check that aic is listed and enabled in \
                 Cursor Settings > MCP."
                .into(),
            ClientId::Vscode => "In VS Code run \"MCP: List Servers\" and start aic (confirm \
                 that you trust it on first start), or restart VS Code. Used by GitHub Copilot \
                 in agent mode."
                .into(),
            ClientId::Codex => "Start a new Codex session (CLI or IDE extension); check with \
                 `codex mcp get aic`."
                .into(),
            ClientId::Gemini => "Restart Gemini CLI and check with /mcp or `gemini mcp list`. \
                 Gemini still asks before each tool call."
                .into(),
        }
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
            Format::Json { servers } => plan_json(text, servers, &entry, shown)?,
            Format::Toml => plan_toml(text, &entry, shown)?,
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

// ---- files ---------------------------------------------------------------------------

fn token_of(bytes: Option<&[u8]>) -> String {
    match bytes {
        None => ABSENT_TOKEN.to_string(),
        Some(b) => Sha256::digest(b)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect(),
    }
}

fn read_optional(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Follows a chain of symlinks to the final path (which may not exist yet).
fn resolve_symlinks(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = fs::read_link(&current)?;
                current = if link.is_absolute() {
                    link
                } else {
                    current.parent().unwrap_or(Path::new("")).join(link)
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

fn utc_stamp() -> String {
    let format = time::macros::format_description!(
        "[year][month][day]T[hour][minute][second].[subsecond digits:3]Z"
    );
    let now = time::OffsetDateTime::now_utc();
    now.format(&format)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

fn backup_prefix(file: &Path) -> String {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{name}.aic-bak-")
}

fn backup_path(file: &Path, stamp: &str) -> PathBuf {
    file.with_file_name(format!("{}{stamp}", backup_prefix(file)))
}

/// Creates `path` exclusively; on Unix readable only by the user until the final
/// permissions are set.
fn create_new(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Saves `bytes` beside the configured file (not the symlink target) with `permissions`.
fn write_backup(
    file: &Path,
    bytes: &[u8],
    permissions: Option<&fs::Permissions>,
    shown: &str,
) -> Result<PathBuf, AssistantError> {
    let stamp = utc_stamp();
    let mut attempt = 0u32;
    loop {
        let path = if attempt == 0 {
            backup_path(file, &stamp)
        } else {
            backup_path(file, &format!("{stamp}-{attempt}"))
        };
        match create_new(&path) {
            Ok(mut f) => {
                let done = f
                    .write_all(bytes)
                    .and_then(|()| match permissions {
                        Some(p) => f.set_permissions(p.clone()),
                        None => Ok(()),
                    })
                    .and_then(|()| f.sync_all());
                if let Err(e) = done {
                    drop(f);
                    let _ = fs::remove_file(&path);
                    return Err(io_err("back up", shown, e));
                }
                return Ok(path);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(e) => return Err(io_err("back up", shown, e)),
        }
    }
}

/// Keeps the newest [`KEEP_BACKUPS`] backups of `file` (names sort by time).
fn prune_backups(file: &Path) {
    let prefix = backup_prefix(file);
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut backups: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect();
    backups.sort();
    let excess = backups.len().saturating_sub(KEEP_BACKUPS);
    for old in &backups[..excess] {
        if let Err(e) = fs::remove_file(old) {
            tracing::warn!(path = %old.display(), error = %e, "could not remove an old backup");
        }
    }
}

/// Writes `bytes` to `target` atomically: a temporary file in the same directory, synced,
/// given `permissions`, then renamed over `target` if `target` still matches `token`.
fn write_atomic(
    target: &Path,
    bytes: &[u8],
    permissions: Option<fs::Permissions>,
    token: &str,
    shown: &str,
) -> Result<(), AssistantError> {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.aic-tmp-{}", uuid::Uuid::new_v4().simple()));
    let written = create_new(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        if let Some(p) = permissions {
            f.set_permissions(p)?;
        }
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io_err("write", shown, e));
    }
    // Last check before replacing: another program (e.g. a running Claude Code session)
    // may have rewritten the file since we read it.
    let current = match read_optional(target) {
        Ok(c) => c,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(io_err("read", shown, e));
        }
    };
    if token_of(current.as_deref()) != token {
        let _ = fs::remove_file(&tmp);
        return Err(AssistantError::FileChanged {
            path: shown.to_string(),
        });
    }
    if let Err(e) = rename_replace(&tmp, target) {
        let _ = fs::remove_file(&tmp);
        return Err(io_err("replace", shown, e));
    }
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// `rename` replaces the destination on every platform (on Windows through
/// `MoveFileExW(MOVEFILE_REPLACE_EXISTING)`); Windows may report a sharing violation while
/// another program has the file open, so retry briefly there.
fn rename_replace(from: &Path, to: &Path) -> io::Result<()> {
    let mut attempt = 0;
    loop {
        match fs::rename(from, to) {
            Ok(()) => return Ok(()),
            Err(e)
                if cfg!(windows) && attempt < 10 && e.kind() == io::ErrorKind::PermissionDenied =>
            {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => return Err(e),
        }
    }
}

// ---- JSON ----------------------------------------------------------------------------

/// How a JSON file is laid out: newline, one level of indentation, `": "` or `":"`.
#[derive(Debug, Clone)]
struct JsonStyle {
    nl: &'static str,
    unit: String,
    colon: &'static str,
}

impl Default for JsonStyle {
    fn default() -> Self {
        Self {
            nl: "\n",
            unit: "  ".into(),
            colon: ": ",
        }
    }
}

fn json_string(s: &str) -> String {
    Value::from(s).to_string()
}

/// Renders `v` with objects spread over lines (when `multiline`) at `indent`, arrays inline.
fn render_json(v: &Value, indent: &str, unit: &str, style: &JsonStyle, multiline: bool) -> String {
    match v {
        Value::Object(map) if !map.is_empty() => {
            if multiline {
                let inner = format!("{indent}{unit}");
                let members: Vec<String> = map
                    .iter()
                    .map(|(k, v)| {
                        format!(
                            "{inner}{}{}{}",
                            json_string(k),
                            style.colon,
                            render_json(v, &inner, unit, style, true)
                        )
                    })
                    .collect();
                let sep = format!(",{}", style.nl);
                format!("{{{nl}{}{nl}{indent}}}", members.join(&sep), nl = style.nl)
            } else {
                let members: Vec<String> = map
                    .iter()
                    .map(|(k, v)| {
                        format!(
                            "{}{}{}",
                            json_string(k),
                            style.colon,
                            render_json(v, indent, unit, style, false)
                        )
                    })
                    .collect();
                format!("{{{}}}", members.join(inline_sep(style)))
            }
        }
        Value::Object(_) => "{}".into(),
        Value::Array(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|v| render_json(v, indent, unit, style, false))
                .collect();
            format!("[{}]", items.join(inline_sep(style)))
        }
        other => other.to_string(),
    }
}

fn inline_sep(style: &JsonStyle) -> &'static str {
    if style.colon == ":" {
        ","
    } else {
        ", "
    }
}

/// The whitespace that starts the line holding byte `pos`.
fn line_indent(text: &str, pos: usize) -> &str {
    let start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[start..];
    let end = line
        .find(|c: char| c != ' ' && c != '\t')
        .unwrap_or(line.len());
    &line[..end]
}

/// Whether only spaces and tabs precede byte `pos` on its line.
fn first_on_line(text: &str, pos: usize) -> bool {
    let start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    text[start..pos].chars().all(|c| c == ' ' || c == '\t')
}

/// The indentation step of an object spread over lines: its members' indentation minus
/// the indentation of the line holding its `{`.
fn object_unit(text: &str, obj: &jsonc::Object) -> Option<String> {
    let first = obj.members.first()?;
    if !first_on_line(text, first.key_start) {
        return None;
    }
    let member = line_indent(text, first.key_start);
    let outer = line_indent(text, obj.open);
    member
        .strip_prefix(outer)
        .filter(|u| !u.is_empty())
        .map(str::to_string)
}

impl JsonStyle {
    fn detect(text: &str, root: &jsonc::Object) -> Self {
        let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let unit = object_unit(text, root).unwrap_or_else(|| "  ".into());
        // `"key": value` or `"key":value`, as the file's first member does it.
        let colon = match root.members.first() {
            Some(m) => {
                let between = &text[m.key_end..m.value.start];
                match between.find(':').map(|i| &between[i + 1..]) {
                    Some("") => ":",
                    _ => ": ",
                }
            }
            None => ": ",
        };
        Self { nl, unit, colon }
    }
}

/// One text replacement: bytes `start..end` become `text`.
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

fn apply_edits(text: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| std::cmp::Reverse(e.start));
    let mut out = text.to_string();
    for e in edits {
        out.replace_range(e.start..e.end, &e.text);
    }
    out
}

/// The end of the comments that follow `pos` on the same line (or `pos` if none).
fn after_trailing_comments(text: &str, pos: usize) -> usize {
    let bytes = text.as_bytes();
    let mut end = pos;
    let mut p = pos;
    loop {
        while matches!(bytes.get(p), Some(b' ' | b'\t')) {
            p += 1;
        }
        if text[p..].starts_with("//") {
            let len = text[p..].find(['\r', '\n']).unwrap_or(text.len() - p);
            end = p + len;
            p = end;
        } else if text[p..].starts_with("/*") {
            match text[p + 2..].find("*/") {
                Some(i) => {
                    end = p + 2 + i + 2;
                    p = end;
                }
                None => return end,
            }
        } else {
            return end;
        }
    }
}

/// Edits that add `"key": value` as the last member of `obj`, in the object's layout.
fn insert_member(
    text: &str,
    obj: &jsonc::Object,
    key: &str,
    value: &Value,
    style: &JsonStyle,
    single_line_doc: bool,
) -> Vec<Edit> {
    let open_indent = line_indent(text, obj.open);
    let unit = object_unit(text, obj).unwrap_or_else(|| style.unit.clone());
    let (multiline, member_indent) = match obj.members.first() {
        Some(first) if first_on_line(text, first.key_start) => {
            (true, line_indent(text, first.key_start).to_string())
        }
        Some(_) => (false, String::new()),
        None => {
            let inner = &text[obj.open + 1..obj.close];
            let spread = inner.contains('\n') || !single_line_doc;
            (spread, format!("{open_indent}{unit}"))
        }
    };
    let member = format!(
        "{}{}{}",
        json_string(key),
        style.colon,
        render_json(value, &member_indent, &unit, style, multiline)
    );
    let nl = style.nl;
    let Some(last) = obj.members.last() else {
        let inner = &text[obj.open + 1..obj.close];
        let content_end = obj.open + 1 + inner.trim_end().len();
        let text = if multiline {
            format!("{nl}{member_indent}{member}{nl}{open_indent}")
        } else {
            member
        };
        return vec![Edit {
            start: content_end,
            end: obj.close,
            text,
        }];
    };
    let lead = if multiline {
        format!("{nl}{member_indent}")
    } else {
        inline_sep(style).trim_start_matches(',').to_string()
    };
    match last.comma {
        // Trailing-comma style: keep it.
        Some(comma) => {
            let pos = after_trailing_comments(text, comma + 1);
            vec![Edit {
                start: pos,
                end: pos,
                text: format!("{lead}{member},"),
            }]
        }
        None => {
            let pos = after_trailing_comments(text, last.value.end);
            if pos == last.value.end {
                vec![Edit {
                    start: pos,
                    end: pos,
                    text: format!(",{lead}{member}"),
                }]
            } else {
                vec![
                    Edit {
                        start: last.value.end,
                        end: last.value.end,
                        text: ",".into(),
                    },
                    Edit {
                        start: pos,
                        end: pos,
                        text: format!("{lead}{member}"),
                    },
                ]
            }
        }
    }
}

/// Plans the JSON edit: `(state, new text)`.
fn plan_json(
    text: &str,
    servers_key: &str,
    entry: &Value,
    shown: &str,
) -> Result<(EntryState, String), AssistantError> {
    if text.trim().is_empty() {
        let style = JsonStyle::default();
        let doc = json!({ servers_key: { ENTRY_NAME: entry } });
        let fresh = render_json(&doc, "", &style.unit, &style, true);
        return Ok((EntryState::Absent, format!("{fresh}\n")));
    }
    let root = jsonc::parse(text).map_err(|e| {
        let (line, column) = line_col(text.as_bytes(), e.offset);
        AssistantError::InvalidFile {
            path: shown.to_string(),
            format: "JSON",
            line: Some(line),
            column: Some(column),
            reason: e.reason,
        }
    })?;
    let jsonc::Kind::Object(root_obj) = &root.kind else {
        return Err(AssistantError::Unsupported {
            path: shown.to_string(),
            reason: "the file does not hold a JSON object".into(),
        });
    };
    let style = JsonStyle::detect(text, root_obj);
    // A one-line file with content stays on one line; `{}` grows into the usual layout.
    let single_line_doc = !text.trim().contains('\n') && !root_obj.members.is_empty();
    let Some(servers) = root_obj.last_member(servers_key) else {
        let value = json!({ ENTRY_NAME: entry });
        let edits = insert_member(text, root_obj, servers_key, &value, &style, single_line_doc);
        return Ok((EntryState::Absent, apply_edits(text, edits)));
    };
    let jsonc::Kind::Object(servers_obj) = &servers.value.kind else {
        return Err(AssistantError::Unsupported {
            path: shown.to_string(),
            reason: format!("\"{servers_key}\" is not an object"),
        });
    };
    let Some(existing) = servers_obj.last_member(ENTRY_NAME) else {
        let edits = insert_member(
            text,
            servers_obj,
            ENTRY_NAME,
            entry,
            &style,
            single_line_doc,
        );
        return Ok((EntryState::Absent, apply_edits(text, edits)));
    };
    if existing.value.to_value() == *entry {
        return Ok((EntryState::Installed, text.to_string()));
    }
    let (multiline, indent) = if first_on_line(text, existing.key_start) {
        (true, line_indent(text, existing.key_start))
    } else {
        (false, "")
    };
    let unit = object_unit(text, servers_obj).unwrap_or_else(|| style.unit.clone());
    let edit = Edit {
        start: existing.value.start,
        end: existing.value.end,
        text: render_json(entry, indent, &unit, &style, multiline),
    };
    Ok((EntryState::Different, apply_edits(text, vec![edit])))
}

/// A small JSON-with-comments parser that keeps byte positions, so that edits can be made
/// on the text itself. Accepts `//` and `/* */` comments and trailing commas.
mod jsonc {
    use serde_json::{Map, Number, Value};

    #[derive(Debug)]
    pub(super) struct Node {
        pub start: usize,
        pub end: usize,
        pub kind: Kind,
    }

    #[derive(Debug)]
    pub(super) enum Kind {
        Object(Object),
        Array(Vec<Node>),
        Str(String),
        Num(String),
        Bool(bool),
        Null,
    }

    #[derive(Debug)]
    pub(super) struct Object {
        /// Byte offset of `{`.
        pub open: usize,
        /// Byte offset of `}`.
        pub close: usize,
        pub members: Vec<Member>,
    }

    #[derive(Debug)]
    pub(super) struct Member {
        pub key: String,
        /// Byte offset of the key's opening quote.
        pub key_start: usize,
        /// Byte offset just after the key's closing quote.
        pub key_end: usize,
        pub value: Node,
        /// Byte offset of the comma after the value, if any.
        pub comma: Option<usize>,
    }

    #[derive(Debug)]
    pub(super) struct ParseError {
        pub offset: usize,
        pub reason: String,
    }

    impl Object {
        /// The member with this key; the last one if repeated (as JSON parsers do).
        pub(super) fn last_member(&self, key: &str) -> Option<&Member> {
            self.members.iter().rev().find(|m| m.key == key)
        }
    }

    impl Node {
        pub(super) fn to_value(&self) -> Value {
            match &self.kind {
                Kind::Object(o) => {
                    let mut map = Map::new();
                    for m in &o.members {
                        map.insert(m.key.clone(), m.value.to_value());
                    }
                    Value::Object(map)
                }
                Kind::Array(items) => Value::Array(items.iter().map(Node::to_value).collect()),
                Kind::Str(s) => Value::String(s.clone()),
                Kind::Num(n) => serde_json::from_str::<Number>(n)
                    .ok()
                    .or_else(|| n.parse::<f64>().ok().and_then(Number::from_f64))
                    .map_or(Value::Null, Value::Number),
                Kind::Bool(b) => Value::Bool(*b),
                Kind::Null => Value::Null,
            }
        }
    }

    const MAX_DEPTH: usize = 256;

    pub(super) fn parse(text: &str) -> Result<Node, ParseError> {
        let mut p = Parser {
            text,
            s: text.as_bytes(),
            pos: 0,
        };
        p.skip_trivia()?;
        let node = p.value(0)?;
        p.skip_trivia()?;
        if p.pos < p.s.len() {
            return Err(p.err("unexpected text after the end of the document"));
        }
        Ok(node)
    }

    struct Parser<'a> {
        text: &'a str,
        s: &'a [u8],
        pos: usize,
    }

    impl Parser<'_> {
        fn err(&self, reason: impl Into<String>) -> ParseError {
            ParseError {
                offset: self.pos,
                reason: reason.into(),
            }
        }

        fn unexpected(&self, expected: &str) -> ParseError {
            match self.text.get(self.pos..).and_then(|r| r.chars().next()) {
                None => self.err(format!("unexpected end of file, expected {expected}")),
                Some(c) => self.err(format!("unexpected {c:?}, expected {expected}")),
            }
        }

        fn peek(&self) -> Option<u8> {
            self.s.get(self.pos).copied()
        }

        fn skip_trivia(&mut self) -> Result<(), ParseError> {
            loop {
                match self.peek() {
                    Some(b' ' | b'\t' | b'\n' | b'\r') => self.pos += 1,
                    Some(b'/') => match self.s.get(self.pos + 1) {
                        Some(b'/') => {
                            while !matches!(self.peek(), None | Some(b'\n')) {
                                self.pos += 1;
                            }
                        }
                        Some(b'*') => match self.text[self.pos + 2..].find("*/") {
                            Some(i) => self.pos += 2 + i + 2,
                            None => return Err(self.err("unterminated /* comment")),
                        },
                        _ => return Err(self.unexpected("a value or a comment")),
                    },
                    _ => return Ok(()),
                }
            }
        }

        fn value(&mut self, depth: usize) -> Result<Node, ParseError> {
            if depth > MAX_DEPTH {
                return Err(self.err("nested too deeply"));
            }
            let start = self.pos;
            let kind = match self.peek() {
                Some(b'{') => Kind::Object(self.object(depth)?),
                Some(b'[') => Kind::Array(self.array(depth)?),
                Some(b'"') => Kind::Str(self.string()?),
                Some(b't') => {
                    self.literal("true")?;
                    Kind::Bool(true)
                }
                Some(b'f') => {
                    self.literal("false")?;
                    Kind::Bool(false)
                }
                Some(b'n') => {
                    self.literal("null")?;
                    Kind::Null
                }
                Some(b'-' | b'0'..=b'9') => Kind::Num(self.number()?),
                _ => return Err(self.unexpected("a value")),
            };
            Ok(Node {
                start,
                end: self.pos,
                kind,
            })
        }

        fn literal(&mut self, word: &str) -> Result<(), ParseError> {
            if self.s[self.pos..].starts_with(word.as_bytes()) {
                self.pos += word.len();
                Ok(())
            } else {
                Err(self.unexpected("a value"))
            }
        }

        fn digits(&mut self) -> usize {
            let from = self.pos;
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.pos += 1;
            }
            self.pos - from
        }

        fn number(&mut self) -> Result<String, ParseError> {
            let start = self.pos;
            if self.peek() == Some(b'-') {
                self.pos += 1;
            }
            match self.peek() {
                Some(b'0') => self.pos += 1,
                Some(b'1'..=b'9') => {
                    self.digits();
                }
                _ => return Err(self.unexpected("a digit")),
            }
            if self.peek() == Some(b'.') {
                self.pos += 1;
                if self.digits() == 0 {
                    return Err(self.unexpected("a digit"));
                }
            }
            if matches!(self.peek(), Some(b'e' | b'E')) {
                self.pos += 1;
                if matches!(self.peek(), Some(b'+' | b'-')) {
                    self.pos += 1;
                }
                if self.digits() == 0 {
                    return Err(self.unexpected("a digit"));
                }
            }
            Ok(self.text[start..self.pos].to_string())
        }

        fn hex4(&mut self) -> Result<u32, ParseError> {
            let digits = self
                .s
                .get(self.pos..self.pos + 4)
                .ok_or_else(|| self.err("incomplete \\u escape"))?;
            let mut v = 0u32;
            for &d in digits {
                let d = char::from(d)
                    .to_digit(16)
                    .ok_or_else(|| self.err("invalid \\u escape"))?;
                v = v * 16 + d;
            }
            self.pos += 4;
            Ok(v)
        }

        fn string(&mut self) -> Result<String, ParseError> {
            let start = self.pos;
            self.pos += 1;
            let mut out = String::new();
            loop {
                // Copy the run of plain characters at once (it is valid UTF-8: the
                // delimiters are ASCII).
                let run_start = self.pos;
                while matches!(self.peek(), Some(c) if c != b'"' && c != b'\\' && c >= 0x20) {
                    self.pos += 1;
                }
                out.push_str(&self.text[run_start..self.pos]);
                match self.peek() {
                    None => {
                        self.pos = start;
                        return Err(self.err("unterminated string"));
                    }
                    Some(b'"') => {
                        self.pos += 1;
                        return Ok(out);
                    }
                    Some(b'\\') => {
                        let escape = self.s.get(self.pos + 1).copied();
                        let simple = match escape {
                            Some(b'"') => Some('"'),
                            Some(b'\\') => Some('\\'),
                            Some(b'/') => Some('/'),
                            Some(b'b') => Some('\u{8}'),
                            Some(b'f') => Some('\u{c}'),
                            Some(b'n') => Some('\n'),
                            Some(b'r') => Some('\r'),
                            Some(b't') => Some('\t'),
                            _ => None,
                        };
                        if let Some(c) = simple {
                            out.push(c);
                            self.pos += 2;
                        } else if escape == Some(b'u') {
                            self.pos += 2;
                            let high = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&high)
                                && self.s[self.pos..].starts_with(b"\\u")
                            {
                                self.pos += 2;
                                let low = self.hex4()?;
                                if (0xDC00..0xE000).contains(&low) {
                                    char::from_u32(
                                        0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00),
                                    )
                                } else {
                                    None
                                }
                            } else {
                                char::from_u32(high)
                            };
                            out.push(c.unwrap_or('\u{FFFD}'));
                        } else {
                            return Err(self.err("invalid escape in string"));
                        }
                    }
                    Some(_) => return Err(self.err("control character in string")),
                }
            }
        }

        fn object(&mut self, depth: usize) -> Result<Object, ParseError> {
            let open = self.pos;
            self.pos += 1;
            let mut members: Vec<Member> = Vec::new();
            loop {
                self.skip_trivia()?;
                let needs_comma = members.last().is_some_and(|m| m.comma.is_none());
                match self.peek() {
                    Some(b'}') => {
                        let close = self.pos;
                        self.pos += 1;
                        return Ok(Object {
                            open,
                            close,
                            members,
                        });
                    }
                    Some(b'"') if !needs_comma => {
                        let key_start = self.pos;
                        let key = self.string()?;
                        let key_end = self.pos;
                        self.skip_trivia()?;
                        if self.peek() != Some(b':') {
                            return Err(self.unexpected("':'"));
                        }
                        self.pos += 1;
                        self.skip_trivia()?;
                        let value = self.value(depth + 1)?;
                        self.skip_trivia()?;
                        let comma = if self.peek() == Some(b',') {
                            self.pos += 1;
                            Some(self.pos - 1)
                        } else {
                            None
                        };
                        members.push(Member {
                            key,
                            key_start,
                            key_end,
                            value,
                            comma,
                        });
                    }
                    _ if needs_comma => return Err(self.unexpected("',' or '}'")),
                    _ => return Err(self.unexpected("a quoted key or '}'")),
                }
            }
        }

        fn array(&mut self, depth: usize) -> Result<Vec<Node>, ParseError> {
            self.pos += 1;
            let mut items = Vec::new();
            let mut needs_comma = false;
            loop {
                self.skip_trivia()?;
                match self.peek() {
                    Some(b']') => {
                        self.pos += 1;
                        return Ok(items);
                    }
                    _ if needs_comma => return Err(self.unexpected("',' or ']'")),
                    _ => {
                        items.push(self.value(depth + 1)?);
                        self.skip_trivia()?;
                        if self.peek() == Some(b',') {
                            self.pos += 1;
                        } else {
                            needs_comma = true;
                        }
                    }
                }
            }
        }
    }
}

// ---- TOML ----------------------------------------------------------------------------

/// Converts a TOML item to JSON for comparison with the wanted entry.
fn toml_item_json(item: &toml_edit::Item) -> Value {
    match item {
        toml_edit::Item::None => Value::Null,
        toml_edit::Item::Value(v) => toml_value_json(v),
        toml_edit::Item::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_string(), toml_item_json(v)))
                .collect(),
        ),
        toml_edit::Item::ArrayOfTables(a) => Value::Array(
            a.iter()
                .map(|t| {
                    Value::Object(
                        t.iter()
                            .map(|(k, v)| (k.to_string(), toml_item_json(v)))
                            .collect(),
                    )
                })
                .collect(),
        ),
    }
}

fn toml_value_json(v: &toml_edit::Value) -> Value {
    match v {
        toml_edit::Value::String(s) => Value::String(s.value().clone()),
        toml_edit::Value::Integer(i) => Value::from(*i.value()),
        toml_edit::Value::Float(f) => {
            serde_json::Number::from_f64(*f.value()).map_or(Value::Null, Value::Number)
        }
        toml_edit::Value::Boolean(b) => Value::Bool(*b.value()),
        toml_edit::Value::Datetime(d) => Value::String(d.value().to_string()),
        toml_edit::Value::Array(a) => Value::Array(a.iter().map(toml_value_json).collect()),
        toml_edit::Value::InlineTable(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_string(), toml_value_json(v)))
                .collect(),
        ),
    }
}

fn json_to_toml(v: &Value) -> toml_edit::Value {
    match v {
        Value::String(s) => s.as_str().into(),
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64().unwrap_or_default().into(),
        },
        Value::Array(items) => toml_edit::Value::Array(items.iter().map(json_to_toml).collect()),
        Value::Object(map) => toml_edit::Value::InlineTable(
            map.iter()
                .map(|(k, v)| (k.as_str(), json_to_toml(v)))
                .collect(),
        ),
        // TOML has no null; our entries never hold one.
        Value::Null => "".into(),
    }
}

fn entry_table(entry: &Value) -> toml_edit::Table {
    let mut table = toml_edit::Table::new();
    if let Value::Object(map) = entry {
        for (k, v) in map {
            table.insert(k, toml_edit::Item::Value(json_to_toml(v)));
        }
    }
    table
}

/// Sets the keys of `entry` in place (keeping key order and comments) and drops the rest.
fn replace_in_table(table: &mut dyn toml_edit::TableLike, entry: &Value) {
    let Value::Object(map) = entry else {
        return;
    };
    for (k, v) in map {
        let mut new = json_to_toml(v);
        match table.get_mut(k) {
            Some(toml_edit::Item::Value(old)) => {
                *new.decor_mut() = old.decor().clone();
                *old = new;
            }
            Some(slot) => *slot = toml_edit::Item::Value(new),
            None => {
                table.insert(k, toml_edit::Item::Value(new));
            }
        }
    }
    let extra: Vec<String> = table
        .iter()
        .map(|(k, _)| k.to_string())
        .filter(|k| !map.contains_key(k))
        .collect();
    for k in extra {
        table.remove(&k);
    }
}

/// Plans the TOML edit (`[mcp_servers.aic]`): `(state, new text)`.
fn plan_toml(
    text: &str,
    entry: &Value,
    shown: &str,
) -> Result<(EntryState, String), AssistantError> {
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        let (line, column) = match e.span() {
            Some(span) => {
                let (l, c) = line_col(text.as_bytes(), span.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        AssistantError::InvalidFile {
            path: shown.to_string(),
            format: "TOML",
            line,
            column,
            reason: e.message().trim().to_string(),
        }
    })?;
    let not_table = || AssistantError::Unsupported {
        path: shown.to_string(),
        reason: "\"mcp_servers\" is not a table".into(),
    };
    let root = doc.as_table_mut();
    let state = match root.get_mut("mcp_servers") {
        None => {
            let mut servers = toml_edit::Table::new();
            servers.set_implicit(true);
            servers.insert(ENTRY_NAME, toml_edit::Item::Table(entry_table(entry)));
            root.insert("mcp_servers", toml_edit::Item::Table(servers));
            EntryState::Absent
        }
        Some(item) => {
            let inline = item.is_inline_table();
            let servers = item.as_table_like_mut().ok_or_else(not_table)?;
            match servers.get_mut(ENTRY_NAME) {
                None if inline => {
                    let mut new = json_to_toml(entry);
                    // `{ a = 1 }`: the space before `}` belongs to the last value; hand it
                    // to ours so the result reads `{ a = 1, aic = {...} }`.
                    if let Some((_, last)) = servers.iter_mut().last() {
                        if let Some(last) = last.as_value_mut() {
                            let suffix = last.decor().suffix().cloned();
                            if let Some(suffix) = suffix {
                                last.decor_mut().set_suffix("");
                                new.decor_mut().set_suffix(suffix);
                            }
                        }
                    }
                    servers.insert(ENTRY_NAME, toml_edit::Item::Value(new));
                    EntryState::Absent
                }
                None => {
                    servers.insert(ENTRY_NAME, toml_edit::Item::Table(entry_table(entry)));
                    EntryState::Absent
                }
                Some(existing) if toml_item_json(existing) == *entry => EntryState::Installed,
                Some(existing) => {
                    match existing.as_table_like_mut() {
                        Some(t) => replace_in_table(t, entry),
                        None => *existing = toml_edit::Item::Table(entry_table(entry)),
                    }
                    EntryState::Different
                }
            }
        }
    };
    if state == EntryState::Installed {
        return Ok((state, text.to_string()));
    }
    let mut out = doc.to_string();
    // New lines come out as "\n"; follow a file that uses "\r\n" throughout.
    let crlf = text.matches("\r\n").count();
    if crlf > 0 && crlf == text.matches('\n').count() {
        out = out.replace("\r\n", "\n").replace('\n', "\r\n");
    }
    Ok((state, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CMD: &str = "/opt/aic/bin/aic-mcp-server";

    fn setup() -> (tempfile::TempDir, Assistants) {
        let home = tempfile::tempdir().expect("must succeed");
        let mut a = Assistants::new(home.path(), CMD);
        a.platform = Platform::Linux;
        (home, a)
    }

    /// Creates the per-user folder of `id` and returns its config file path.
    fn install(a: &Assistants, id: ClientId) -> PathBuf {
        let loc = a.locate(id);
        fs::create_dir_all(&loc.folder).expect("must succeed");
        loc.file
    }

    fn install_with(a: &Assistants, id: ClientId, content: &str) -> PathBuf {
        let file = install(a, id);
        fs::write(&file, content).expect("must succeed");
        file
    }

    fn backups(file: &Path) -> Vec<PathBuf> {
        let prefix = backup_prefix(file);
        let mut found: Vec<PathBuf> = fs::read_dir(file.parent().expect("must succeed"))
            .expect("must succeed")
            .map(|e| e.expect("must succeed").path())
            .filter(|p| {
                p.file_name()
                    .expect("must succeed")
                    .to_string_lossy()
                    .starts_with(&prefix)
            })
            .collect();
        found.sort();
        found
    }

    fn apply_now(a: &Assistants, id: ClientId) -> ApplyResult {
        let preview = a.preview(id).expect("must succeed");
        a.apply(id, &preview.token).expect("must succeed")
    }

    fn read(path: &Path) -> String {
        fs::read_to_string(path).expect("must succeed")
    }

    const CURSOR_FRESH: &str = r#"{
  "mcpServers": {
    "aic": {
      "command": "/opt/aic/bin/aic-mcp-server",
      "args": ["connect"],
      "env": {}
    }
  }
}
"#;

    #[test]
    fn assistants_not_detected_are_refused_and_nothing_is_created() {
        let (home, a) = setup();
        for view in a.list() {
            assert_eq!(view.state, EntryState::NotDetected, "{:?}", view.id);
            assert!(!view.detected);
            assert_eq!(view.problem, None);
            let err = a.preview(view.id).expect_err("must fail");
            assert!(matches!(err, AssistantError::NotDetected { .. }), "{err}");
            assert_eq!(err.code(), "AssistantConflict");
            let err = a.apply(view.id, ABSENT_TOKEN).expect_err("must fail");
            assert!(matches!(err, AssistantError::NotDetected { .. }), "{err}");
        }
        assert_eq!(
            a.preview(ClientId::Cursor)
                .expect_err("must fail")
                .to_string(),
            "Cursor is not installed here (no ~/.cursor folder)"
        );
        assert_eq!(
            a.preview(ClientId::Vscode)
                .expect_err("must fail")
                .to_string(),
            "VS Code is not installed here (no ~/.config/Code/User folder)"
        );
        assert_eq!(fs::read_dir(home.path()).expect("must succeed").count(), 0);
    }

    #[test]
    fn assistants_create_a_missing_file_in_every_client() {
        let (_home, a) = setup();
        let expected = [
            (ClientId::ClaudeDesktop, CURSOR_FRESH.to_string()),
            (
                ClientId::ClaudeCode,
                r#"{
  "mcpServers": {
    "aic": {
      "type": "stdio",
      "command": "/opt/aic/bin/aic-mcp-server",
      "args": ["connect"],
      "env": {}
    }
  }
}
"#
                .to_string(),
            ),
            (ClientId::Cursor, CURSOR_FRESH.to_string()),
            (
                ClientId::Vscode,
                r#"{
  "servers": {
    "aic": {
      "type": "stdio",
      "command": "/opt/aic/bin/aic-mcp-server",
      "args": ["connect"],
      "env": {}
    }
  }
}
"#
                .to_string(),
            ),
            (
                ClientId::Codex,
                r#"[mcp_servers.aic]
command = "/opt/aic/bin/aic-mcp-server"
args = ["connect"]
env = {}
"#
                .to_string(),
            ),
            (
                ClientId::Gemini,
                r#"{
  "mcpServers": {
    "aic": {
      "command": "/opt/aic/bin/aic-mcp-server",
      "args": ["connect"]
    }
  }
}
"#
                .to_string(),
            ),
        ];
        for (id, want) in expected {
            let file = install(&a, id);
            assert_eq!(a.view(id).state, EntryState::Absent, "{id}");
            let preview = a.preview(id).expect("must succeed");
            assert!(preview.creates_file);
            assert!(!preview.already_installed);
            assert_eq!(preview.token, ABSENT_TOKEN);
            assert_eq!(preview.backup_path, None);
            assert_eq!(preview.path, file.display().to_string());
            assert!(
                preview.diff.starts_with("--- /dev/null\n"),
                "{}",
                preview.diff
            );
            assert!(
                preview.diff.contains("+    \"aic\"")
                    || preview.diff.contains("+[mcp_servers.aic]")
            );
            let result = a.apply(id, &preview.token).expect("must succeed");
            assert_eq!(result.backup_path, None);
            assert!(result.message.starts_with("Created"), "{}", result.message);
            assert_eq!(read(&file), want, "{id}");
            assert_eq!(a.view(id).state, EntryState::Installed, "{id}");
            assert!(backups(&file).is_empty());
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = fs::metadata(&file)
                    .expect("must succeed")
                    .permissions()
                    .mode()
                    & 0o777;
                assert_eq!(mode, 0o600, "{id}");
            }
        }
        // Gemini: never "trust", and no leftovers from the atomic write.
        let gemini = a.locate(ClientId::Gemini).file;
        assert!(!read(&gemini).contains("trust"));
        let names: Vec<String> = fs::read_dir(gemini.parent().expect("must succeed"))
            .expect("must succeed")
            .map(|e| {
                e.expect("must succeed")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, vec!["settings.json".to_string()]);
    }

    #[test]
    fn assistants_jsonc_insert_keeps_comments_trailing_commas_and_indentation() {
        let (_home, a) = setup();
        let original = r#"// Cursor MCP servers
{
   "mcpServers": {
      /* the docs server */
      "docs": {
         "command": "npx",
         "args": ["-y", "docs-mcp",],   // trailing comma
      },
   },
   "other": true,
}
"#;
        let file = install_with(&a, ClientId::Cursor, original);
        assert_eq!(a.view(ClientId::Cursor).state, EntryState::Absent);
        let preview = a.preview(ClientId::Cursor).expect("must succeed");
        assert!(!preview.creates_file);
        assert_eq!(preview.token, token_of(Some(original.as_bytes())));
        let result = a
            .apply(ClientId::Cursor, &preview.token)
            .expect("must succeed");
        let want = r#"// Cursor MCP servers
{
   "mcpServers": {
      /* the docs server */
      "docs": {
         "command": "npx",
         "args": ["-y", "docs-mcp",],   // trailing comma
      },
      "aic": {
         "command": "/opt/aic/bin/aic-mcp-server",
         "args": ["connect"],
         "env": {}
      },
   },
   "other": true,
}
"#;
        assert_eq!(read(&file), want);
        assert_eq!(
            preview.diff,
            format!(
                "--- ~/.cursor/mcp.json\n+++ ~/.cursor/mcp.json\n@@ -6,6 +6,11 @@\n          \"command\": \"npx\",\n          \"args\": [\"-y\", \"docs-mcp\",],   // trailing comma\n       }},\n+      \"aic\": {{\n+         \"command\": \"/opt/aic/bin/aic-mcp-server\",\n+         \"args\": [\"connect\"],\n+         \"env\": {{}}\n+      }},\n    }},\n    \"other\": true,\n }}\n"
            )
        );
        assert_eq!(
            result
                .message
                .matches("Added aic to ~/.cursor/mcp.json.")
                .count(),
            1
        );
        assert_eq!(a.view(ClientId::Cursor).state, EntryState::Installed);
    }

    #[test]
    fn assistants_json_insert_after_a_line_comment_with_tabs_and_crlf() {
        let (_home, a) = setup();
        let original = "{\r\n\t\"theme\": \"Default\",\r\n\t\"mcpServers\": {\r\n\t\t\"other\": {\"command\": \"x\"} // keep me\r\n\t}\r\n}\r\n";
        let file = install_with(&a, ClientId::Gemini, original);
        apply_now(&a, ClientId::Gemini);
        let want = "{\r\n\t\"theme\": \"Default\",\r\n\t\"mcpServers\": {\r\n\t\t\"other\": {\"command\": \"x\"}, // keep me\r\n\t\t\"aic\": {\r\n\t\t\t\"command\": \"/opt/aic/bin/aic-mcp-server\",\r\n\t\t\t\"args\": [\"connect\"]\r\n\t\t}\r\n\t}\r\n}\r\n";
        assert_eq!(read(&file), want);
    }

    #[test]
    fn assistants_json_adds_the_servers_key_to_claude_code_state_file() {
        let (home, a) = setup();
        // Detected by the file alone (no ~/.claude folder); no final newline.
        let original = r#"{
  "numStartups": 12,
  "projects": {
    "/home/u/p": {
      "mcpServers": {}
    }
  }
}"#;
        let file = home.path().join(".claude.json");
        fs::write(&file, original).expect("must succeed");
        assert!(a.view(ClientId::ClaudeCode).detected);
        apply_now(&a, ClientId::ClaudeCode);
        let want = r#"{
  "numStartups": 12,
  "projects": {
    "/home/u/p": {
      "mcpServers": {}
    }
  },
  "mcpServers": {
    "aic": {
      "type": "stdio",
      "command": "/opt/aic/bin/aic-mcp-server",
      "args": ["connect"],
      "env": {}
    }
  }
}"#;
        assert_eq!(read(&file), want);
    }

    #[test]
    fn assistants_json_one_line_and_empty_files() {
        let (_home, a) = setup();
        let file = install_with(
            &a,
            ClientId::ClaudeDesktop,
            r#"{"mcpServers":{"other":{"command":"x","args":[]}}}"#,
        );
        apply_now(&a, ClientId::ClaudeDesktop);
        assert_eq!(
            read(&file),
            r#"{"mcpServers":{"other":{"command":"x","args":[]},"aic":{"command":"/opt/aic/bin/aic-mcp-server","args":["connect"],"env":{}}}}"#
        );

        let file = install_with(&a, ClientId::Cursor, "{}\n");
        apply_now(&a, ClientId::Cursor);
        assert_eq!(read(&file), CURSOR_FRESH);

        // A whitespace-only file is treated like a missing one (but backed up).
        let file = install_with(&a, ClientId::Gemini, "\n");
        let result = apply_now(&a, ClientId::Gemini);
        assert!(read(&file).starts_with("{\n  \"mcpServers\": {\n    \"aic\": {"));
        assert_eq!(
            fs::read(result.backup_path.expect("must succeed")).expect("must succeed"),
            b"\n"
        );

        // An empty servers object spread over lines.
        let file = install_with(
            &a,
            ClientId::Vscode,
            "{\n    \"servers\": {\n    },\n    \"inputs\": []\n}\n",
        );
        apply_now(&a, ClientId::Vscode);
        assert_eq!(
            read(&file),
            "{\n    \"servers\": {\n        \"aic\": {\n            \"type\": \"stdio\",\n            \"command\": \"/opt/aic/bin/aic-mcp-server\",\n            \"args\": [\"connect\"],\n            \"env\": {}\n        }\n    },\n    \"inputs\": []\n}\n"
        );
    }

    #[test]
    fn assistants_vscode_jsonc_uses_servers_and_stdio_type() {
        let (_home, a) = setup();
        let original = "{\n  // my servers\n  \"servers\": {\n    \"github\": {\"type\": \"http\", \"url\": \"https://example.invalid/mcp\"}\n  },\n  \"inputs\": [],\n}\n";
        let file = install_with(&a, ClientId::Vscode, original);
        apply_now(&a, ClientId::Vscode);
        let want = "{\n  // my servers\n  \"servers\": {\n    \"github\": {\"type\": \"http\", \"url\": \"https://example.invalid/mcp\"},\n    \"aic\": {\n      \"type\": \"stdio\",\n      \"command\": \"/opt/aic/bin/aic-mcp-server\",\n      \"args\": [\"connect\"],\n      \"env\": {}\n    }\n  },\n  \"inputs\": [],\n}\n";
        assert_eq!(read(&file), want);
    }

    #[test]
    fn assistants_identical_entry_is_already_installed_and_not_written() {
        let (_home, a) = setup();
        // Same content, other key order and layout.
        let original = "{\"mcpServers\": {\"aic\": {\"env\": {}, \"args\": [\"connect\"], \"command\": \"/opt/aic/bin/aic-mcp-server\"}}}\n";
        let file = install_with(&a, ClientId::Cursor, original);
        let before = fs::metadata(&file)
            .expect("must succeed")
            .modified()
            .expect("must succeed");
        assert_eq!(a.view(ClientId::Cursor).state, EntryState::Installed);
        let preview = a.preview(ClientId::Cursor).expect("must succeed");
        assert!(preview.already_installed);
        assert_eq!(preview.diff, "");
        assert_eq!(preview.backup_path, None);
        let result = a
            .apply(ClientId::Cursor, &preview.token)
            .expect("must succeed");
        assert_eq!(result.backup_path, None);
        assert!(
            result.message.contains("already set up"),
            "{}",
            result.message
        );
        assert_eq!(read(&file), original);
        assert_eq!(
            fs::metadata(&file)
                .expect("must succeed")
                .modified()
                .expect("must succeed"),
            before
        );
        assert!(backups(&file).is_empty());
    }

    #[test]
    fn assistants_different_entry_is_replaced_after_preview() {
        let (_home, a) = setup();
        let original = r#"{
    "mcpServers": {
        "aic": { "command": "/old/aic-mcp-server", "args": ["connect"] }, // old install
        "zed": { "command": "z" }
    }
}
"#;
        let file = install_with(&a, ClientId::Cursor, original);
        assert_eq!(a.view(ClientId::Cursor).state, EntryState::Different);
        let preview = a.preview(ClientId::Cursor).expect("must succeed");
        assert!(!preview.already_installed);
        assert!(preview.diff.contains(
            "\n-        \"aic\": { \"command\": \"/old/aic-mcp-server\", \"args\": [\"connect\"] }, // old install\n"
        ));
        assert!(preview.diff.contains("\n+        \"aic\": {\n"));
        let result = a
            .apply(ClientId::Cursor, &preview.token)
            .expect("must succeed");
        let want = r#"{
    "mcpServers": {
        "aic": {
            "command": "/opt/aic/bin/aic-mcp-server",
            "args": ["connect"],
            "env": {}
        }, // old install
        "zed": { "command": "z" }
    }
}
"#;
        assert_eq!(read(&file), want);
        assert!(result
            .message
            .starts_with("Replaced the aic entry in ~/.cursor/mcp.json."));
        let backup = PathBuf::from(result.backup_path.expect("must succeed"));
        assert_eq!(backups(&file), vec![backup.clone()]);
        assert_eq!(read(&backup), original);
        assert_eq!(a.view(ClientId::Cursor).state, EntryState::Installed);
    }

    #[test]
    fn assistants_stale_token_is_refused_and_the_file_untouched() {
        let (_home, a) = setup();
        let file = install_with(&a, ClientId::Cursor, "{\"mcpServers\": {}}\n");
        let preview = a.preview(ClientId::Cursor).expect("must succeed");
        let changed = "{\"mcpServers\": {}, \"x\": 1}\n";
        fs::write(&file, changed).expect("must succeed");
        let err = a
            .apply(ClientId::Cursor, &preview.token)
            .expect_err("must fail");
        assert!(matches!(err, AssistantError::FileChanged { .. }));
        assert_eq!(err.code(), "FileChanged");
        assert_eq!(
            err.to_string(),
            "~/.cursor/mcp.json changed since the preview; nothing was changed. Review the new preview and try again"
        );
        assert_eq!(read(&file), changed);
        assert!(backups(&file).is_empty());

        // A file created after an "absent" preview.
        let file = install(&a, ClientId::Gemini);
        let preview = a.preview(ClientId::Gemini).expect("must succeed");
        assert_eq!(preview.token, ABSENT_TOKEN);
        fs::write(&file, "{}").expect("must succeed");
        let err = a
            .apply(ClientId::Gemini, &preview.token)
            .expect_err("must fail");
        assert_eq!(err.code(), "FileChanged");
        assert_eq!(read(&file), "{}");

        // A made-up token is no consent either.
        let err = a.apply(ClientId::Gemini, "0123").expect_err("must fail");
        assert_eq!(err.code(), "FileChanged");
    }

    #[test]
    fn assistants_invalid_json_is_reported_and_left_alone() {
        let (_home, a) = setup();
        let original = "{\n  \"mcpServers\": {\n    \"x\": 1\n    \"y\": 2\n  }\n}\n";
        let file = install_with(&a, ClientId::Cursor, original);
        let view = a.view(ClientId::Cursor);
        assert_eq!(view.state, EntryState::Invalid);
        let message = "~/.cursor/mcp.json is not valid JSON at line 4, column 5: unexpected '\"', expected ',' or '}'; nothing was changed";
        assert_eq!(view.problem.as_deref(), Some(message));
        let err = a.preview(ClientId::Cursor).expect_err("must fail");
        assert_eq!(err.to_string(), message);
        assert_eq!(err.code(), "AssistantConflict");
        let token = token_of(Some(original.as_bytes()));
        let err = a.apply(ClientId::Cursor, &token).expect_err("must fail");
        assert_eq!(err.to_string(), message);
        assert_eq!(read(&file), original);
        assert!(backups(&file).is_empty());

        for (content, reason) in [
            ("[1, 2]", "the file does not hold a JSON object"),
            ("{\"mcpServers\": []}", "\"mcpServers\" is not an object"),
        ] {
            fs::write(&file, content).expect("must succeed");
            let err = a.preview(ClientId::Cursor).expect_err("must fail");
            assert_eq!(
                err.to_string(),
                format!("~/.cursor/mcp.json: {reason}; nothing was changed")
            );
            assert_eq!(err.code(), "AssistantConflict");
        }

        fs::write(&file, b"{\"a\": \"\xff\"}").expect("must succeed");
        let err = a.preview(ClientId::Cursor).expect_err("must fail");
        assert!(err.to_string().contains("not UTF-8"), "{err}");
    }

    #[test]
    fn assistants_invalid_toml_is_reported_and_left_alone() {
        let (_home, a) = setup();
        let original = "model = \"o3\"\n[mcp_servers\ncommand = 1\n";
        let file = install_with(&a, ClientId::Codex, original);
        let err = a.preview(ClientId::Codex).expect_err("must fail");
        let text = err.to_string();
        assert!(
            text.starts_with("~/.codex/config.toml is not valid TOML at line 2, column "),
            "{text}"
        );
        assert!(text.ends_with("; nothing was changed"), "{text}");
        let err = a
            .apply(ClientId::Codex, &token_of(Some(original.as_bytes())))
            .expect_err("must fail");
        assert_eq!(err.code(), "AssistantConflict");
        assert_eq!(read(&file), original);

        fs::write(&file, "mcp_servers = 3\n").expect("must succeed");
        let err = a.preview(ClientId::Codex).expect_err("must fail");
        assert_eq!(
            err.to_string(),
            "~/.codex/config.toml: \"mcp_servers\" is not a table; nothing was changed"
        );
    }

    #[cfg(unix)]
    #[test]
    fn assistants_backup_keeps_mode_and_bytes() {
        use std::os::unix::fs::PermissionsExt;
        let (_home, a) = setup();
        let original = "{\n  \"mcpServers\": {}\n}\n";
        let file = install_with(&a, ClientId::Cursor, original);
        fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).expect("must succeed");
        let preview = a.preview(ClientId::Cursor).expect("must succeed");
        let planned = preview.backup_path.expect("must succeed");
        assert!(planned.starts_with(&format!("{}.aic-bak-", file.display())));
        let result = a
            .apply(ClientId::Cursor, &preview.token)
            .expect("must succeed");
        let backup = PathBuf::from(result.backup_path.expect("must succeed"));
        let name = backup
            .file_name()
            .expect("must succeed")
            .to_string_lossy()
            .into_owned();
        let stamp = name
            .strip_prefix("mcp.json.aic-bak-")
            .expect("must succeed");
        // 20250102T030405.678Z
        assert_eq!(stamp.len(), 20, "{stamp}");
        assert_eq!(&stamp[8..9], "T");
        assert!(stamp.ends_with('Z'));
        assert_eq!(read(&backup), original);
        let mode = |p: &Path| fs::metadata(p).expect("must succeed").permissions().mode() & 0o777;
        assert_eq!(mode(&backup), 0o640);
        assert_eq!(mode(&file), 0o640);
        assert!(result
            .message
            .contains("The previous file is saved as ~/.cursor/mcp.json.aic-bak-"));
    }

    #[test]
    fn assistants_keep_only_the_last_three_backups() {
        let (home, a) = setup();
        let mut b = Assistants::new(home.path(), "/usr/bin/aic-mcp-server");
        b.platform = Platform::Linux;
        let file = install_with(&a, ClientId::Cursor, "{}");
        let mut last_before = String::new();
        for round in 0..5 {
            let who = if round % 2 == 0 { &a } else { &b };
            last_before = read(&file);
            let result = apply_now(who, ClientId::Cursor);
            assert!(result.backup_path.is_some());
        }
        let kept = backups(&file);
        assert_eq!(kept.len(), 3, "{kept:?}");
        assert_eq!(read(kept.last().expect("must succeed")), last_before);
        assert!(read(&file).contains(CMD));
    }

    #[cfg(unix)]
    #[test]
    fn assistants_symlinked_config_writes_the_target_and_keeps_the_link() {
        let (home, a) = setup();
        let dotfiles = home.path().join("dotfiles");
        fs::create_dir_all(&dotfiles).expect("must succeed");
        let target = dotfiles.join("cursor-mcp.json");
        fs::write(&target, "{\n  \"mcpServers\": {}\n}\n").expect("must succeed");
        let link = install(&a, ClientId::Cursor);
        std::os::unix::fs::symlink("../dotfiles/cursor-mcp.json", &link).expect("must succeed");
        let result = apply_now(&a, ClientId::Cursor);
        assert!(fs::symlink_metadata(&link)
            .expect("must succeed")
            .file_type()
            .is_symlink());
        assert_eq!(
            fs::read_link(&link).expect("must succeed"),
            PathBuf::from("../dotfiles/cursor-mcp.json")
        );
        assert_eq!(read(&target), CURSOR_FRESH);
        // The backup sits beside the configured path; nothing else appears in dotfiles.
        let backup = PathBuf::from(result.backup_path.expect("must succeed"));
        assert_eq!(
            backup.parent().expect("must succeed"),
            link.parent().expect("must succeed")
        );
        assert_eq!(fs::read_dir(&dotfiles).expect("must succeed").count(), 1);
        assert_eq!(a.view(ClientId::Cursor).state, EntryState::Installed);

        // A dangling link: the target is created.
        let gemini = install(&a, ClientId::Gemini);
        let gemini_target = dotfiles.join("gemini.json");
        std::os::unix::fs::symlink(&gemini_target, &gemini).expect("must succeed");
        assert!(
            a.preview(ClientId::Gemini)
                .expect("must succeed")
                .creates_file
        );
        apply_now(&a, ClientId::Gemini);
        assert!(fs::symlink_metadata(&gemini)
            .expect("must succeed")
            .file_type()
            .is_symlink());
        assert!(read(&gemini_target).contains("\"aic\""));
    }

    #[test]
    fn assistants_codex_toml_keeps_comments_and_layout() {
        let (home, a) = setup();
        let codex_home = home.path().join("elsewhere").join("codex");
        let a = a.with_env(AssistantsEnv {
            codex_home: Some(codex_home.clone()),
            ..AssistantsEnv::default()
        });
        assert_eq!(a.view(ClientId::Codex).state, EntryState::NotDetected);
        let original = r#"# Codex settings
model = "o3"  # fast enough

[mcp_servers.docs]
command = "npx"   # runs the docs server
args = ["-y", "docs-mcp"]

# profiles below
[profiles.work]
model = "gpt-5"
"#;
        fs::create_dir_all(&codex_home).expect("must succeed");
        let file = codex_home.join("config.toml");
        fs::write(&file, original).expect("must succeed");
        assert_eq!(a.view(ClientId::Codex).path, file.display().to_string());
        apply_now(&a, ClientId::Codex);
        let want = r#"# Codex settings
model = "o3"  # fast enough

[mcp_servers.docs]
command = "npx"   # runs the docs server
args = ["-y", "docs-mcp"]

[mcp_servers.aic]
command = "/opt/aic/bin/aic-mcp-server"
args = ["connect"]
env = {}

# profiles below
[profiles.work]
model = "gpt-5"
"#;
        assert_eq!(read(&file), want);
        assert_eq!(a.view(ClientId::Codex).state, EntryState::Installed);
    }

    #[test]
    fn assistants_codex_different_entry_is_replaced_in_place() {
        let (_home, a) = setup();
        let original = r#"[mcp_servers.aic]
command = "/old/aic-mcp-server" # old path
args = ["connect"]
startup_timeout_sec = 30

[mcp_servers.other]
command = "x"
"#;
        let file = install_with(&a, ClientId::Codex, original);
        assert_eq!(a.view(ClientId::Codex).state, EntryState::Different);
        let result = apply_now(&a, ClientId::Codex);
        let want = r#"[mcp_servers.aic]
command = "/opt/aic/bin/aic-mcp-server" # old path
args = ["connect"]
env = {}

[mcp_servers.other]
command = "x"
"#;
        assert_eq!(read(&file), want);
        assert_eq!(
            read(Path::new(&result.backup_path.expect("must succeed"))),
            original
        );
    }

    #[test]
    fn assistants_codex_inline_servers_table_and_crlf() {
        let (_home, a) = setup();
        let original = "model = \"o3\"\r\nmcp_servers = { docs = { command = \"npx\" } }\r\n";
        let file = install_with(&a, ClientId::Codex, original);
        apply_now(&a, ClientId::Codex);
        let want = "model = \"o3\"\r\nmcp_servers = { docs = { command = \"npx\" }, aic = { command = \"/opt/aic/bin/aic-mcp-server\", args = [\"connect\"], env = {} } }\r\n";
        assert_eq!(read(&file), want);
        assert_eq!(a.view(ClientId::Codex).state, EntryState::Installed);
    }

    #[test]
    fn assistants_codex_dotted_and_header_only_servers_tables() {
        let (_home, a) = setup();
        let original = "model = \"o3\"\nmcp_servers.docs.command = \"npx\"\n\n[profiles.work]\nmodel = \"gpt-5\"\n";
        let file = install_with(&a, ClientId::Codex, original);
        apply_now(&a, ClientId::Codex);
        let want = "model = \"o3\"\nmcp_servers.docs.command = \"npx\"\n\n[mcp_servers.aic]\ncommand = \"/opt/aic/bin/aic-mcp-server\"\nargs = [\"connect\"]\nenv = {}\n\n[profiles.work]\nmodel = \"gpt-5\"\n";
        assert_eq!(read(&file), want);

        fs::write(&file, "model = \"o3\"\n\n[mcp_servers]\n").expect("write");
        apply_now(&a, ClientId::Codex);
        let want = "model = \"o3\"\n\n[mcp_servers]\n\n[mcp_servers.aic]\ncommand = \"/opt/aic/bin/aic-mcp-server\"\nargs = [\"connect\"]\nenv = {}\n";
        assert_eq!(read(&file), want);
    }

    #[test]
    fn assistants_keep_a_utf8_bom() {
        let (_home, a) = setup();
        let file = install_with(&a, ClientId::Cursor, "\u{FEFF}{}");
        apply_now(&a, ClientId::Cursor);
        let text = read(&file);
        assert!(text.starts_with("\u{FEFF}{\n  \"mcpServers\""), "{text:?}");
        assert_eq!(a.view(ClientId::Cursor).state, EntryState::Installed);
    }

    #[test]
    fn assistants_list_reports_every_state_and_entry_text() {
        let (_home, a) = setup();
        install_with(&a, ClientId::Cursor, CURSOR_FRESH);
        install_with(
            &a,
            ClientId::Vscode,
            "{\"servers\": {\"aic\": {\"command\": \"/old\"}}}",
        );
        install_with(&a, ClientId::Gemini, "{ nope");
        install(&a, ClientId::Codex);
        let views = a.list();
        let ids: Vec<ClientId> = views.iter().map(|v| v.id).collect();
        assert_eq!(ids, ClientId::ALL.to_vec());
        let state = |id: ClientId| {
            views
                .iter()
                .find(|v| v.id == id)
                .expect("must succeed")
                .state
        };
        assert_eq!(state(ClientId::ClaudeDesktop), EntryState::NotDetected);
        assert_eq!(state(ClientId::ClaudeCode), EntryState::NotDetected);
        assert_eq!(state(ClientId::Cursor), EntryState::Installed);
        assert_eq!(state(ClientId::Vscode), EntryState::Different);
        assert_eq!(state(ClientId::Gemini), EntryState::Invalid);
        assert_eq!(state(ClientId::Codex), EntryState::Absent);
        let gemini = &views[5];
        assert!(gemini
            .problem
            .as_deref()
            .expect("must succeed")
            .contains("at line 1, column 3"));

        let cursor = &views[2];
        assert_eq!(cursor.name, "Cursor");
        assert_eq!(
            cursor.entry,
            "\"aic\": {\n  \"command\": \"/opt/aic/bin/aic-mcp-server\",\n  \"args\": [\"connect\"],\n  \"env\": {}\n}"
        );
        assert_eq!(
            views[4].entry,
            "[mcp_servers.aic]\ncommand = \"/opt/aic/bin/aic-mcp-server\"\nargs = [\"connect\"]\nenv = {}"
        );
        assert!(views[0].note.starts_with("Fully quit Claude Desktop"));
        assert!(views[1].note.contains("/mcp"));
        assert!(views[1].note.contains("Close every Claude Code session"));

        let json = serde_json::to_value(&views[3]).expect("must succeed");
        assert_eq!(json["id"], "vscode");
        assert_eq!(json["state"], "different");
        assert_eq!(json["detected"], true);
    }

    #[test]
    fn assistants_client_ids_parse_and_serialise() {
        for id in ClientId::ALL {
            assert_eq!(id.as_str().parse::<ClientId>().expect("must succeed"), id);
            assert_eq!(serde_json::to_value(id).expect("must succeed"), id.as_str());
        }
        let err = "notepad".parse::<ClientId>().expect_err("must fail");
        assert_eq!(err.code(), "AssistantConflict");
        assert_eq!(err.to_string(), "unknown assistant \"notepad\"");
    }

    #[test]
    fn assistants_paths_per_platform() {
        let (home, mut a) = setup();
        let h = home.path();
        let file = |a: &Assistants, id| a.locate(id).file;

        a.env.xdg_config_home = Some(h.join("xdg"));
        assert_eq!(file(&a, ClientId::Vscode), h.join("xdg/Code/User/mcp.json"));
        assert_eq!(
            file(&a, ClientId::ClaudeDesktop),
            h.join("xdg/Claude/claude_desktop_config.json")
        );
        assert_eq!(file(&a, ClientId::ClaudeCode), h.join(".claude.json"));
        assert_eq!(file(&a, ClientId::Codex), h.join(".codex/config.toml"));

        a.platform = Platform::MacOs;
        assert_eq!(
            file(&a, ClientId::ClaudeDesktop),
            h.join("Library/Application Support/Claude/claude_desktop_config.json")
        );
        assert_eq!(
            file(&a, ClientId::Vscode),
            h.join("Library/Application Support/Code/User/mcp.json")
        );

        a.platform = Platform::Windows;
        a.env.appdata = Some(h.join("Roaming"));
        a.env.local_appdata = Some(h.join("Local"));
        assert_eq!(
            file(&a, ClientId::ClaudeDesktop),
            h.join("Roaming/Claude/claude_desktop_config.json")
        );
        assert_eq!(
            file(&a, ClientId::Vscode),
            h.join("Roaming/Code/User/mcp.json")
        );
        assert_eq!(file(&a, ClientId::Cursor), h.join(".cursor/mcp.json"));
        // Microsoft Store install: its virtualised folder wins.
        let msix = h.join("Local/Packages/Claude_pzs8sxrjxfjjc/LocalCache/Roaming/Claude");
        fs::create_dir_all(&msix).expect("must succeed");
        let loc = a.locate(ClientId::ClaudeDesktop);
        assert!(loc.msix);
        assert_eq!(loc.file, msix.join("claude_desktop_config.json"));
        assert!(a.view(ClientId::ClaudeDesktop).detected);
        assert!(a
            .view(ClientId::ClaudeDesktop)
            .note
            .contains("Microsoft Store"));
    }

    #[test]
    fn assistants_jsonc_parser_values_and_errors() {
        let text = "{\"a\\u00e9\": \"x\\n\\ud83d\\ude00\", \"n\": [-1.5e3, 0, true, null,], /* c */ \"o\": {}, }";
        let node = jsonc::parse(text).expect("must succeed");
        assert_eq!(
            node.to_value(),
            json!({"aé": "x\n\u{1F600}", "n": [-1500.0, 0, true, null], "o": {}})
        );
        for (bad, offset, reason) in [
            ("{\"a\": 1 /* open", 8, "unterminated /* comment"),
            ("{\"a: 1}", 1, "unterminated string"),
            ("{} x", 3, "unexpected text after the end of the document"),
            (
                "{'a': 1}",
                1,
                "unexpected '\\'', expected a quoted key or '}'",
            ),
            ("[1 2]", 3, "unexpected '2', expected ',' or ']'"),
            ("{\"a\": 01}", 7, "unexpected '1', expected ',' or '}'"),
            ("{\"a\": tru}", 6, "unexpected 't', expected a value"),
            ("{\"a\": \"\\q\"}", 7, "invalid escape in string"),
            ("{\"a\":", 5, "unexpected end of file, expected a value"),
        ] {
            let err = jsonc::parse(bad).expect_err("must fail");
            assert_eq!((err.offset, err.reason.as_str()), (offset, reason), "{bad}");
        }
        assert_eq!(line_col("ab\ncdéf".as_bytes(), 7), (2, 4));
    }
}
