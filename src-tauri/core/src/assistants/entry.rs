//! The entry we add to each assistant (`aic`, or `aic-<profile>` for one tenant profile), in
//! its format, and what to restart afterwards; which entry names an assistant refuses; and
//! the server binary the entry runs.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::json::{json_string, render_json, JsonStyle};
use super::locate::{Location, Platform};
use super::toml::plan_toml;
use super::{AssistantError, Assistants, ClientId, Format, SERVER_ARGS, SERVER_BINARY};
use crate::mcp::socket::default_socket_path_from;

/// The `aic-mcp-server` binary assistants should run, as an absolute, canonical path:
/// beside the running executable (the package installs them together), else in the first
/// absolute folder on `PATH` that holds it. A relative `PATH` entry is never used (it would
/// resolve against whatever folder the assistant starts in).
pub fn server_command() -> Result<PathBuf, AssistantError> {
    let exe = std::env::current_exe().ok();
    server_command_in(
        exe.as_deref().and_then(Path::parent),
        std::env::var_os("PATH").as_deref(),
    )
}

/// [`server_command`] with the executable's folder and `PATH` injected (tests).
fn server_command_in(
    exe_dir: Option<&Path>,
    path_var: Option<&OsStr>,
) -> Result<PathBuf, AssistantError> {
    let on_path = path_var.into_iter().flat_map(std::env::split_paths);
    exe_dir
        .map(Path::to_path_buf)
        .into_iter()
        .chain(on_path)
        .filter(|dir| dir.is_absolute())
        .find_map(|dir| {
            let found = fs::canonicalize(dir.join(SERVER_BINARY)).ok()?;
            is_executable(&found).then_some(found)
        })
        .ok_or_else(|| AssistantError::ServerNotFound {
            beside: exe_dir.map_or_else(|| "unknown".into(), |d| d.display().to_string()),
        })
}

/// A regular file that (on Unix) someone may execute.
fn is_executable(path: &Path) -> bool {
    let Ok(meta) = fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

impl Assistants {
    pub(super) fn command(&self) -> String {
        self.server_command.to_string_lossy().into_owned()
    }

    /// The entry's environment: `AIC_MCP_SOCKET` when the app's socket is not where
    /// `aic-mcp-server connect` looks without it.
    fn entry_env(&self) -> Map<String, Value> {
        let mut env = Map::new();
        if let Some(socket) = &self.socket {
            let runtime = self.env.xdg_runtime_dir.clone();
            let default = default_socket_path_from(|k| match k {
                "XDG_RUNTIME_DIR" => runtime.clone(),
                _ => None,
            });
            if *socket != default {
                env.insert(
                    "AIC_MCP_SOCKET".into(),
                    Value::from(socket.to_string_lossy().into_owned()),
                );
            }
        }
        env
    }

    /// The arguments after the server binary: `connect`, plus `--profile <name>` for a
    /// profile's entry.
    fn entry_args(&self) -> Vec<&str> {
        let mut args = SERVER_ARGS.to_vec();
        if let Some(name) = self.profile.as_deref() {
            args.extend(["--profile", name]);
        }
        args
    }

    /// The JSON entry for a JSON-configured assistant (also the model for Codex's TOML).
    pub(super) fn entry_value(&self, id: ClientId) -> Value {
        let command = self.command();
        let args = self.entry_args();
        let env = self.entry_env();
        match id {
            ClientId::Vscode | ClientId::ClaudeCode => json!({
                "type": "stdio",
                "command": command,
                "args": args,
                "env": env
            }),
            // Never "trust": true (it would skip every tool confirmation). `env` is
            // optional for Gemini: written only when it holds something.
            ClientId::Gemini if env.is_empty() => {
                json!({ "command": command, "args": args })
            }
            ClientId::Gemini => json!({ "command": command, "args": args, "env": env }),
            ClientId::ClaudeDesktop | ClientId::Cursor | ClientId::Codex => json!({
                "command": command,
                "args": args,
                "env": env
            }),
        }
    }

    pub(super) fn entry_text(&self, id: ClientId) -> String {
        let name = self.entry_name();
        match id.format() {
            Format::Json { .. } => {
                let style = JsonStyle::default();
                format!(
                    "{}{}{}",
                    json_string(&name),
                    style.colon,
                    render_json(&self.entry_value(id), "", &style.unit, &style, true)
                )
            }
            Format::Toml => plan_toml("", &name, &self.entry_value(id), "")
                .map(|(_, text)| text.trim_end().to_string())
                .unwrap_or_default(),
        }
    }

    /// Why `id` cannot use this engine's entry name, if it cannot. Codex starts only servers
    /// whose name is letters, digits, `-` and `_` (it reports any other name as invalid and
    /// skips the server), so a profile name with a `.` cannot be connected to Codex.
    pub(super) fn refused_name(&self, id: ClientId) -> Option<String> {
        let name = self.entry_name();
        let codex_ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if id != ClientId::Codex || name.chars().all(codex_ok) {
            return None;
        }
        let profile = self.profile.as_deref().unwrap_or_default();
        Some(format!(
            "Codex starts only servers named with letters, digits, '-' and '_', so it would \
             not start {name}; rename profile {profile:?} without '.' (for example {:?}) to \
             connect Codex to it",
            profile.replace('.', "-")
        ))
    }

    /// [`Assistants::refused_name`] as an error, for preview and apply.
    pub(super) fn require_usable_name(
        &self,
        id: ClientId,
        loc: &Location,
    ) -> Result<(), AssistantError> {
        match self.refused_name(id) {
            None => Ok(()),
            Some(reason) => Err(AssistantError::Unsupported {
                path: self.shown(&loc.file),
                reason,
            }),
        }
    }

    pub(super) fn note(&self, id: ClientId, loc: &Location) -> String {
        let name = self.entry_name();
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
            ClientId::Cursor => format!(
                "Restart Cursor, then check that {name} is listed and enabled in Cursor \
                 Settings > MCP."
            ),
            ClientId::Vscode => format!(
                "In VS Code run \"MCP: List Servers\" and start {name} (confirm that you trust \
                 it on first start), or restart VS Code. Used by GitHub Copilot in agent mode."
            ),
            ClientId::Codex => format!(
                "Start a new Codex session (CLI or IDE extension); check with `codex mcp get \
                 {name}`."
            ),
            ClientId::Gemini => "Restart Gemini CLI and check with /mcp or `gemini mcp list`. \
                 Gemini still asks before each tool call."
                .into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assistants::tests::{apply_now, install, read, setup, CMD};
    use crate::assistants::AssistantsEnv;

    /// Puts an executable `aic-mcp-server` in `dir`.
    fn plant_server(dir: &Path) -> PathBuf {
        fs::create_dir_all(dir).expect("mkdir");
        let bin = dir.join(SERVER_BINARY);
        fs::write(&bin, "#!/bin/sh\n").expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        bin
    }

    /// `to` as a path relative to the current folder (`../../tmp/...`).
    fn relative_from_cwd(to: &Path) -> PathBuf {
        let cwd = fs::canonicalize(std::env::current_dir().expect("cwd")).expect("canonical");
        let to = fs::canonicalize(to).expect("canonical");
        let mut rel = PathBuf::new();
        for _ in cwd.components().skip(1) {
            rel.push("..");
        }
        rel.join(to.strip_prefix("/").expect("absolute"))
    }

    #[cfg(unix)]
    #[test]
    fn assistants_server_command_is_absolute_canonical_and_never_a_relative_path_hit() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let relative_bin = tmp.path().join("relative-bin");
        plant_server(&relative_bin);
        let rel = relative_from_cwd(&relative_bin);
        assert!(rel.is_relative());
        assert!(
            rel.join(SERVER_BINARY).is_file(),
            "the relative PATH entry really holds the binary"
        );
        // The absolute entry is a link to the real folder: the command is the real path.
        let real = tmp.path().join("real");
        let bin = plant_server(&real);
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        // A non-executable file of that name is passed over.
        let not_exec = tmp.path().join("not-exec");
        fs::create_dir(&not_exec).expect("mkdir");
        fs::write(not_exec.join(SERVER_BINARY), "").expect("write");

        let path = std::env::join_paths([rel.clone(), not_exec, link]).expect("join");
        let found = server_command_in(None, Some(&path)).expect("found");
        assert!(found.is_absolute());
        assert_eq!(found, fs::canonicalize(&bin).expect("canonical"));

        // Only the relative entry: not found, with a clear message.
        let path = std::env::join_paths([rel]).expect("join");
        let err = server_command_in(Some(Path::new("/opt/nowhere")), Some(&path))
            .expect_err("a relative PATH hit is never used");
        assert_eq!(err.code(), "Io");
        assert_eq!(
            err.to_string(),
            "cannot find aic-mcp-server: it is neither beside this app (/opt/nowhere) nor in \
             an absolute folder on PATH. Reinstall AIC MCP Desktop, which installs it beside \
             the app"
        );

        // Beside the running executable wins over PATH.
        let app = tmp.path().join("app");
        let beside = plant_server(&app);
        let path = std::env::join_paths([real]).expect("join");
        assert_eq!(
            server_command_in(Some(&app), Some(&path)).expect("found"),
            fs::canonicalize(beside).expect("canonical")
        );
    }

    #[test]
    fn assistants_entry_carries_aic_mcp_socket_only_when_it_is_not_the_default() {
        let (home, a) = setup();
        let runtime = home.path().join("run");
        let a = a.with_env(AssistantsEnv {
            xdg_runtime_dir: Some(runtime.clone()),
            ..AssistantsEnv::default()
        });
        // No socket given, or the default one: no AIC_MCP_SOCKET anywhere.
        let default = runtime.join("aic-mcp-desktop").join("mcp.sock");
        for a in [a.clone(), a.clone().with_socket(&default)] {
            for id in ClientId::ALL {
                let entry = a.entry_value(id);
                assert!(entry.get("env").is_none_or(|e| e == &json!({})), "{id}");
                assert!(!a.entry_text(id).contains("AIC_MCP_SOCKET"), "{id}");
            }
        }
        // Without XDG_RUNTIME_DIR the default is the per-user temp folder.
        let plain = a.clone().with_env(AssistantsEnv::default());
        let temp_default = default_socket_path_from(|_| None);
        let entry = plain
            .with_socket(&temp_default)
            .entry_value(ClientId::Cursor);
        assert_eq!(entry["env"], json!({}));

        // Another socket: every assistant's entry carries it, in its own format.
        let elsewhere = home.path().join("elsewhere.sock");
        let b = a.clone().with_socket(&elsewhere);
        let want = json!({ "AIC_MCP_SOCKET": elsewhere.display().to_string() });
        for id in ClientId::ALL {
            assert_eq!(b.entry_value(id)["env"], want, "{id}");
        }
        let gemini = install(&b, ClientId::Gemini);
        apply_now(&b, ClientId::Gemini);
        assert_eq!(
            read(&gemini),
            format!(
                "{{\n  \"mcpServers\": {{\n    \"aic\": {{\n      \"command\": \"{CMD}\",\n      \
                 \"args\": [\"connect\"],\n      \"env\": {{\n        \"AIC_MCP_SOCKET\": \
                 \"{}\"\n      }}\n    }}\n  }}\n}}\n",
                elsewhere.display()
            )
        );
        let codex = install(&b, ClientId::Codex);
        apply_now(&b, ClientId::Codex);
        assert_eq!(
            read(&codex),
            format!(
                "[mcp_servers.aic]\ncommand = \"{CMD}\"\nargs = [\"connect\"]\nenv = {{ \
                 AIC_MCP_SOCKET = \"{}\" }}\n",
                elsewhere.display()
            )
        );
        // An entry written for the default socket is "different" once the socket moves.
        let cursor = install(&a, ClientId::Cursor);
        apply_now(&a, ClientId::Cursor);
        assert_eq!(
            b.view(ClientId::Cursor).state,
            crate::assistants::EntryState::Different
        );
        apply_now(&b, ClientId::Cursor);
        assert!(read(&cursor).contains("\"AIC_MCP_SOCKET\""));
    }

    #[test]
    fn assistants_a_relative_socket_is_made_absolute() {
        let (_home, a) = setup();
        let b = a.with_socket("mcp.sock");
        let env = b.entry_value(ClientId::Cursor)["env"]["AIC_MCP_SOCKET"].clone();
        let path = PathBuf::from(env.as_str().expect("a string"));
        assert!(path.is_absolute(), "{path:?}");
        assert!(path.ends_with("mcp.sock"));
    }
}
