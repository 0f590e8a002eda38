//! The entry we add to each assistant, in its format, and what to restart afterwards.

use serde_json::{json, Value};

use super::json::{json_string, render_json, JsonStyle};
use super::locate::{Location, Platform};
use super::toml::plan_toml;
use super::{Assistants, ClientId, Format, ENTRY_NAME, SERVER_ARGS};

impl Assistants {
    pub(super) fn command(&self) -> String {
        self.server_command.to_string_lossy().into_owned()
    }

    /// The JSON entry for a JSON-configured assistant (also the model for Codex's TOML).
    pub(super) fn entry_value(&self, id: ClientId) -> Value {
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

    pub(super) fn entry_text(&self, id: ClientId) -> String {
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

    pub(super) fn note(&self, id: ClientId, loc: &Location) -> String {
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
}
