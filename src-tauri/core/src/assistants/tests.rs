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

/// A profile's entry (`aic-dev`) beside an `aic` entry that is already there, in each
/// assistant's own file layout: as written, and for the second file a change elsewhere.
const BESIDE_AIC: [(ClientId, &str, &str); 6] = [
    (
        ClientId::ClaudeDesktop,
        r#"{
  "globalShortcut": "",
  "mcpServers": {
    "aic": {
      "command": "/opt/aic/bin/aic-mcp-server",
      "args": ["connect"],
      "env": {}
    }
  }
}
"#,
        r#"{
  "globalShortcut": "",
  "mcpServers": {
    "aic": {
      "command": "/opt/aic/bin/aic-mcp-server",
      "args": ["connect"],
      "env": {}
    },
    "aic-dev": {
      "command": "/opt/aic/bin/aic-mcp-server",
      "args": ["connect", "--profile", "dev"],
      "env": {}
    }
  }
}
"#,
    ),
    (
        ClientId::ClaudeCode,
        r#"{
  "numStartups": 12,
  "mcpServers": {
    "aic": {
      "type": "stdio",
      "command": "/opt/aic/bin/aic-mcp-server",
      "args": ["connect"],
      "env": {}
    }
  },
  "projects": {}
}
"#,
        r#"{
  "numStartups": 12,
  "mcpServers": {
    "aic": {
      "type": "stdio",
      "command": "/opt/aic/bin/aic-mcp-server",
      "args": ["connect"],
      "env": {}
    },
    "aic-dev": {
      "type": "stdio",
      "command": "/opt/aic/bin/aic-mcp-server",
      "args": ["connect", "--profile", "dev"],
      "env": {}
    }
  },
  "projects": {}
}
"#,
    ),
    (
        ClientId::Cursor,
        r#"{
    "mcpServers": {
        "aic": {"command": "/opt/aic/bin/aic-mcp-server", "args": ["connect"], "env": {}},
        "zed": { "command": "z" }
    }
}
"#,
        r#"{
    "mcpServers": {
        "aic": {"command": "/opt/aic/bin/aic-mcp-server", "args": ["connect"], "env": {}},
        "zed": { "command": "z" },
        "aic-dev": {
            "command": "/opt/aic/bin/aic-mcp-server",
            "args": ["connect", "--profile", "dev"],
            "env": {}
        }
    }
}
"#,
    ),
    (
        ClientId::Vscode,
        r#"{
  // mine
  "servers": {
    "aic": {
      "type": "stdio",
      "command": "/opt/aic/bin/aic-mcp-server",
      "args": ["connect"],
      "env": {}
    }, // the active profile
  },
  "inputs": [],
}
"#,
        r#"{
  // mine
  "servers": {
    "aic": {
      "type": "stdio",
      "command": "/opt/aic/bin/aic-mcp-server",
      "args": ["connect"],
      "env": {}
    }, // the active profile
    "aic-dev": {
      "type": "stdio",
      "command": "/opt/aic/bin/aic-mcp-server",
      "args": ["connect", "--profile", "dev"],
      "env": {}
    },
  },
  "inputs": [],
}
"#,
    ),
    (
        ClientId::Codex,
        r#"# Codex settings
model = "o3"

[mcp_servers.aic]
command = "/opt/aic/bin/aic-mcp-server" # the active profile
args = ["connect"]
env = {}

[profiles.work]
model = "gpt-5"
"#,
        r#"# Codex settings
model = "o3"

[mcp_servers.aic]
command = "/opt/aic/bin/aic-mcp-server" # the active profile
args = ["connect"]
env = {}

[mcp_servers.aic-dev]
command = "/opt/aic/bin/aic-mcp-server"
args = ["connect", "--profile", "dev"]
env = {}

[profiles.work]
model = "gpt-5"
"#,
    ),
    (
        ClientId::Gemini,
        r#"{
  "theme": "Default",
  "mcpServers": {
    "aic": {
      "command": "/opt/aic/bin/aic-mcp-server",
      "args": ["connect"]
    }
  }
}
"#,
        r#"{
  "theme": "Default",
  "mcpServers": {
    "aic": {
      "command": "/opt/aic/bin/aic-mcp-server",
      "args": ["connect"]
    },
    "aic-dev": {
      "command": "/opt/aic/bin/aic-mcp-server",
      "args": ["connect", "--profile", "dev"]
    }
  }
}
"#,
    ),
];

fn dev(a: &Assistants) -> Assistants {
    a.clone().with_profile(Some("dev")).expect("a valid name")
}

#[test]
fn assistants_profile_entry_is_added_beside_aic_in_every_format() {
    let (_home, a) = setup();
    let p = dev(&a);
    assert_eq!(p.profile(), Some("dev"));
    assert_eq!(p.entry_name(), "aic-dev");
    for (id, original, want) in BESIDE_AIC {
        let file = install_with(&a, id, original);
        assert_eq!(
            a.view(id).state,
            EntryState::Installed,
            "{id}: aic is there"
        );
        let view = p.view(id);
        assert_eq!(view.state, EntryState::Absent, "{id}");
        assert_eq!(view.entry_name, "aic-dev");

        let preview = p.preview(id).expect("preview");
        assert!(!preview.already_installed && !preview.creates_file, "{id}");
        assert!(
            preview.diff.contains("+    \"aic-dev\": {")
                || preview.diff.contains("+        \"aic-dev\": {")
                || preview.diff.contains("+[mcp_servers.aic-dev]"),
            "{id}: {}",
            preview.diff
        );
        // A removed line only comes back with a comma after it (the member before ours).
        for removed in preview
            .diff
            .lines()
            .filter(|l| l.starts_with('-') && !l.starts_with("---"))
        {
            let comma = format!("+{},", &removed[1..]);
            assert!(
                preview.diff.lines().any(|l| l == comma),
                "{id}\n{}",
                preview.diff
            );
        }
        let result = p.apply(id, &preview.token).expect("apply");
        assert_eq!(read(&file), want, "{id}");
        let shown = a.shown(&file);
        assert!(
            result.message.starts_with(&format!(
                "Added aic-dev to {shown}. The previous file is saved as "
            )),
            "{id}: {}",
            result.message
        );
        let backup = PathBuf::from(result.backup_path.expect("a backup"));
        assert_eq!(read(&backup), original, "{id}");

        // Both entries stand: each engine sees its own as installed.
        assert_eq!(
            a.view(id).state,
            EntryState::Installed,
            "{id}: aic untouched"
        );
        assert_eq!(p.view(id).state, EntryState::Installed, "{id}");

        // Applying again is "already installed": no write, no new backup.
        let again = p.preview(id).expect("preview");
        assert!(again.already_installed, "{id}");
        assert_eq!(again.diff, "");
        assert_eq!(again.backup_path, None);
        let result = p.apply(id, &again.token).expect("apply");
        assert_eq!(result.backup_path, None);
        assert!(
            result
                .message
                .starts_with(&format!("{} is already set up in {shown}", id.name())),
            "{}",
            result.message
        );
        assert_eq!(read(&file), want, "{id}");
        assert_eq!(backups(&file), vec![backup], "{id}");

        // And the plain engine still finds nothing to do.
        assert!(a.preview(id).expect("preview").already_installed, "{id}");
    }
}

#[test]
fn assistants_a_different_profile_entry_is_replaced_and_nothing_else() {
    let (_home, a) = setup();
    let p = dev(&a);
    for (id, _, installed) in BESIDE_AIC {
        // The profile's entry as an older install left it: another binary, one more key.
        let stale = installed
            .replacen(
                "\"/opt/aic/bin/aic-mcp-server\",\n      \"args\": [\"connect\", \"--profile\"",
                "\"/old/aic-mcp-server\",\n      \"args\": [\"connect\", \"--profile\"",
                1,
            )
            .replacen(
                "\"/opt/aic/bin/aic-mcp-server\",\n            \"args\": [\"connect\", \"--profile\"",
                "\"/old/aic-mcp-server\",\n            \"args\": [\"connect\", \"--profile\"",
                1,
            )
            .replacen(
                "[mcp_servers.aic-dev]\ncommand = \"/opt/aic/bin/aic-mcp-server\"",
                "[mcp_servers.aic-dev]\ncommand = \"/old/aic-mcp-server\"",
                1,
            );
        assert_ne!(stale, installed, "{id}: the test changed the aic-dev entry");
        let file = install_with(&a, id, &stale);
        assert_eq!(p.view(id).state, EntryState::Different, "{id}");
        assert_eq!(a.view(id).state, EntryState::Installed, "{id}");

        let preview = p.preview(id).expect("preview");
        let removed: Vec<&str> = preview
            .diff
            .lines()
            .filter(|l| l.starts_with('-') && !l.starts_with("---"))
            .collect();
        assert_eq!(removed.len(), 1, "{id}: one line changes\n{}", preview.diff);
        assert!(removed[0].contains("/old/aic-mcp-server"), "{id}");
        let result = p.apply(id, &preview.token).expect("apply");
        assert!(
            result.message.starts_with(&format!(
                "Replaced the aic-dev entry in {}.",
                a.shown(&file)
            )),
            "{}",
            result.message
        );
        // Only the profile's entry changed: the file is now the one written fresh beside aic.
        assert_eq!(read(&file), installed, "{id}");
        let backup = PathBuf::from(result.backup_path.expect("a backup"));
        assert_eq!(read(&backup), stale, "{id}");
        assert_eq!(p.view(id).state, EntryState::Installed, "{id}");
        assert_eq!(a.view(id).state, EntryState::Installed, "{id}");
    }
}

#[test]
fn assistants_a_bad_profile_name_is_refused_and_nothing_is_written() {
    let (home, a) = setup();
    let cursor = install_with(&a, ClientId::Cursor, CURSOR_FRESH);
    let codex = install(&a, ClientId::Codex);
    for bad in [
        "",
        "../prod",
        "a/b",
        "-dev",
        ".dev",
        "dev prod",
        "dév",
        "dev\"",
        &"x".repeat(65),
    ] {
        let err = a
            .clone()
            .with_profile(Some(bad))
            .expect_err("an invalid name");
        assert!(matches!(err, AssistantError::InvalidProfile(_)), "{bad:?}");
        assert_eq!(err.code(), "AssistantConflict");
        assert!(err.to_string().ends_with("; nothing was changed"), "{err}");
    }
    assert_eq!(
        a.clone()
            .with_profile(Some("../prod"))
            .expect_err("invalid")
            .to_string(),
        "\"../prod\" is not a profile name: use 1 to 64 letters, digits, '.', '-' or '_', \
         starting with a letter or digit (for example acme-dev); nothing was changed"
    );
    assert_eq!(read(&cursor), CURSOR_FRESH);
    assert!(!codex.exists());
    assert!(backups(&cursor).is_empty());
    let mut names: Vec<String> = fs::read_dir(home.path())
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [".codex", ".cursor"]);

    // No profile at all is the plain entry; the longest valid name is taken.
    let plain = a.clone().with_profile(None).expect("the aic entry");
    assert_eq!(plain.entry_name(), "aic");
    assert_eq!(plain.profile(), None);
    let long = "x".repeat(64);
    let p = a.clone().with_profile(Some(&long)).expect("64 characters");
    assert_eq!(p.entry_name(), format!("aic-{long}"));
}

#[test]
fn assistants_profile_list_shows_its_entry_name_text_and_notes() {
    let (_home, a) = setup();
    let p = dev(&a);
    for id in ClientId::ALL {
        install(&a, id);
    }
    let views = p.list();
    assert!(views.iter().all(|v| v.entry_name == "aic-dev"));
    assert!(views.iter().all(|v| v.state == EntryState::Absent));
    assert_eq!(
        views[2].entry,
        "\"aic-dev\": {\n  \"command\": \"/opt/aic/bin/aic-mcp-server\",\n  \"args\": \
         [\"connect\", \"--profile\", \"dev\"],\n  \"env\": {}\n}"
    );
    assert_eq!(
        views[4].entry,
        "[mcp_servers.aic-dev]\ncommand = \"/opt/aic/bin/aic-mcp-server\"\nargs = \
         [\"connect\", \"--profile\", \"dev\"]\nenv = {}"
    );
    assert_eq!(
        views[2].note,
        "Restart Cursor, then check that aic-dev is listed and enabled in Cursor Settings > MCP."
    );
    assert!(
        views[3].note.contains("start aic-dev (confirm"),
        "{}",
        views[3].note
    );
    assert!(
        views[4].note.ends_with("`codex mcp get aic-dev`."),
        "{}",
        views[4].note
    );
    let json = serde_json::to_value(&views[0]).expect("json");
    assert_eq!(json["entry_name"], "aic-dev");

    // The plain engine's notes name aic, as before.
    let plain = a.list();
    assert!(plain.iter().all(|v| v.entry_name == "aic"));
    assert_eq!(
        plain[2].note,
        "Restart Cursor, then check that aic is listed and enabled in Cursor Settings > MCP."
    );
    assert_eq!(
        plain[3].note,
        "In VS Code run \"MCP: List Servers\" and start aic (confirm that you trust it on \
         first start), or restart VS Code. Used by GitHub Copilot in agent mode."
    );
    assert_eq!(
        plain[4].note,
        "Start a new Codex session (CLI or IDE extension); check with `codex mcp get aic`."
    );

    // A missing file is created holding only the profile's entry.
    let result = apply_now(&p, ClientId::Codex);
    assert!(
        result
            .message
            .starts_with("Created ~/.codex/config.toml with the aic-dev entry."),
        "{}",
        result.message
    );
    assert_eq!(
        read(&a.locate(ClientId::Codex).file),
        "[mcp_servers.aic-dev]\ncommand = \"/opt/aic/bin/aic-mcp-server\"\nargs = [\"connect\", \
         \"--profile\", \"dev\"]\nenv = {}\n"
    );
    assert_eq!(a.view(ClientId::Codex).state, EntryState::Absent);
}

#[test]
fn assistants_a_dotted_profile_goes_to_json_assistants_but_codex_refuses_it() {
    let (_home, a) = setup();
    let p = a
        .clone()
        .with_profile(Some("acme.dev"))
        .expect("a valid name");
    assert_eq!(p.entry_name(), "aic-acme.dev");

    // Codex would not start a server of that name: unsupported, nothing written.
    let original = "model = \"o3\"\n";
    let codex = install_with(&a, ClientId::Codex, original);
    let view = p.view(ClientId::Codex);
    assert_eq!(view.state, EntryState::Unsupported);
    let reason = "Codex starts only servers named with letters, digits, '-' and '_', so it \
                  would not start aic-acme.dev; rename profile \"acme.dev\" without '.' (for \
                  example \"acme-dev\") to connect Codex to it";
    assert_eq!(view.problem.as_deref(), Some(reason));
    let err = p.preview(ClientId::Codex).expect_err("refused");
    assert_eq!(err.code(), "AssistantConflict");
    assert_eq!(
        err.to_string(),
        format!("~/.codex/config.toml: {reason}; nothing was changed")
    );
    let err = p
        .apply(ClientId::Codex, &token_of(Some(original.as_bytes())))
        .expect_err("refused");
    assert!(matches!(err, AssistantError::Unsupported { .. }), "{err}");
    assert_eq!(read(&codex), original);
    assert!(backups(&codex).is_empty());
    // The plain entry and a dash-only profile are fine for Codex.
    assert_eq!(a.view(ClientId::Codex).state, EntryState::Absent);
    let dashed = a.clone().with_profile(Some("acme-dev_2")).expect("valid");
    assert_eq!(dashed.view(ClientId::Codex).state, EntryState::Absent);

    // JSON assistants take the name as it is.
    let cursor = install_with(&a, ClientId::Cursor, "{\"mcpServers\": {}}\n");
    apply_now(&p, ClientId::Cursor);
    assert_eq!(
        read(&cursor),
        "{\"mcpServers\": {\"aic-acme.dev\": {\"command\": \"/opt/aic/bin/aic-mcp-server\", \
         \"args\": [\"connect\", \"--profile\", \"acme.dev\"], \"env\": {}}}}\n"
    );
    assert_eq!(p.view(ClientId::Cursor).state, EntryState::Installed);
}

#[test]
fn assistants_profile_entry_carries_the_same_socket_as_aic() {
    let (home, a) = setup();
    let elsewhere = home.path().join("run").join("mcp.sock");
    let a = a.with_socket(&elsewhere);
    let p = dev(&a);
    for id in ClientId::ALL {
        let plain = a.entry_value(id);
        let profile = p.entry_value(id);
        assert_eq!(
            profile["env"],
            serde_json::json!({ "AIC_MCP_SOCKET": elsewhere.display().to_string() }),
            "{id}"
        );
        assert_eq!(profile["env"], plain["env"], "{id}");
        assert_eq!(profile["command"], plain["command"], "{id}");
        assert_eq!(
            profile["args"],
            serde_json::json!(["connect", "--profile", "dev"]),
            "{id}"
        );
        assert_eq!(plain["args"], serde_json::json!(["connect"]), "{id}");
    }
}
