//! Tests of the whole engine (list, preview, apply), and helpers the other parts' tests share.

use std::path::Path;

use super::files::backup_prefix;
use super::*;

pub(super) const CMD: &str = "/opt/aic/bin/aic-mcp-server";

pub(super) fn setup() -> (tempfile::TempDir, Assistants) {
    let home = tempfile::tempdir().expect("must succeed");
    let mut a = Assistants::new(home.path(), CMD);
    a.platform = Platform::Linux;
    (home, a)
}

/// Creates the per-user folder of `id` and returns its config file path.
pub(super) fn install(a: &Assistants, id: ClientId) -> PathBuf {
    let loc = a.locate(id);
    fs::create_dir_all(&loc.folder).expect("must succeed");
    loc.file
}

pub(super) fn install_with(a: &Assistants, id: ClientId, content: &str) -> PathBuf {
    let file = install(a, id);
    fs::write(&file, content).expect("must succeed");
    file
}

pub(super) fn backups(file: &Path) -> Vec<PathBuf> {
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

pub(super) fn apply_now(a: &Assistants, id: ClientId) -> ApplyResult {
    let preview = a.preview(id).expect("must succeed");
    a.apply(id, &preview.token).expect("must succeed")
}

pub(super) fn read(path: &Path) -> String {
    fs::read_to_string(path).expect("must succeed")
}

pub(super) const CURSOR_FRESH: &str = r#"{
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
            preview.diff.contains("+    \"aic\"") || preview.diff.contains("+[mcp_servers.aic]")
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
fn assistants_on_windows_are_unsupported_and_nothing_is_written() {
    let (home, mut a) = setup();
    a.platform = Platform::Windows;
    a.env.appdata = Some(home.path().join("Roaming"));
    a.env.local_appdata = Some(home.path().join("Local"));
    // Installed assistants, one with a file: still nothing can be applied.
    let cursor = install_with(&a, ClientId::Cursor, "{}\n");
    install(&a, ClientId::Gemini);
    for view in a.list() {
        assert_eq!(view.state, EntryState::Unsupported, "{}", view.id);
        assert_eq!(view.problem.as_deref(), Some(UNSUPPORTED_REASON));
        let err = a.preview(view.id).expect_err("must fail");
        assert!(matches!(err, AssistantError::PlatformUnsupported), "{err}");
        assert_eq!(err.code(), "PlatformUnsupported");
        let err = a
            .apply(view.id, &token_of(Some(b"{}\n")))
            .expect_err("must fail");
        assert_eq!(err.code(), "PlatformUnsupported");
        assert_eq!(
            err.to_string(),
            "Connecting assistants is not available on Windows yet: the local socket that \
             `aic-mcp-server connect` reaches is not built there, so an entry could not work; \
             nothing was changed"
        );
    }
    let json = serde_json::to_value(a.view(ClientId::Cursor)).expect("json");
    assert_eq!(json["state"], "unsupported");
    assert_eq!(read(&cursor), "{}\n");
    assert!(backups(&cursor).is_empty());
    let gemini = a.view(ClientId::Gemini);
    assert!(!Path::new(&gemini.path).exists());
}
