//! The minimal edit of Codex's TOML configuration (`[mcp_servers.aic]`, or
//! `[mcp_servers.aic-<profile>]`) through `toml_edit`, keeping comments and layout. A name
//! that is not a bare TOML key is written quoted (`[mcp_servers."aic-acme.dev"]`), and found
//! by its value however the file spells it.

use serde_json::Value;

use super::{line_col, AssistantError, EntryState};

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

/// Plans the TOML edit of `mcp_servers.<name>`: `(state, new text)`.
pub(super) fn plan_toml(
    text: &str,
    name: &str,
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
            servers.insert(name, toml_edit::Item::Table(entry_table(entry)));
            root.insert("mcp_servers", toml_edit::Item::Table(servers));
            EntryState::Absent
        }
        Some(item) => {
            let inline = item.is_inline_table();
            let servers = item.as_table_like_mut().ok_or_else(not_table)?;
            match servers.get_mut(name) {
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
                    servers.insert(name, toml_edit::Item::Value(new));
                    EntryState::Absent
                }
                None => {
                    servers.insert(name, toml_edit::Item::Table(entry_table(entry)));
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
    use std::path::Path;

    use super::plan_toml;
    use crate::assistants::tests::*;
    use crate::assistants::*;

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
    fn assistants_toml_quotes_an_entry_name_that_is_not_a_bare_key() {
        let entry =
            serde_json::json!({ "command": "/x", "args": ["connect", "--profile", "acme.dev"] });
        let name = "aic-acme.dev";
        let (state, text) = plan_toml("", name, &entry, "t").expect("plan");
        assert_eq!(state, EntryState::Absent);
        let want = "[mcp_servers.\"aic-acme.dev\"]\ncommand = \"/x\"\nargs = [\"connect\", \"--profile\", \"acme.dev\"]\n";
        assert_eq!(text, want);
        // Read back (however the key is quoted) it is the same entry, and nothing changes.
        for spelling in ["\"aic-acme.dev\"", "'aic-acme.dev'"] {
            let file = want.replace("\"aic-acme.dev\"", spelling);
            assert_eq!(
                plan_toml(&file, name, &entry, "t").expect("plan"),
                (EntryState::Installed, file.clone())
            );
        }
        // Beside `aic`, in an inline servers table: `aic` keeps its bytes.
        let inline = "mcp_servers = { aic = { command = \"/x\", args = [\"connect\"] } }\n";
        let (state, text) = plan_toml(inline, name, &entry, "t").expect("plan");
        assert_eq!(state, EntryState::Absent);
        assert_eq!(
            text,
            "mcp_servers = { aic = { command = \"/x\", args = [\"connect\"] }, \"aic-acme.dev\" = { command = \"/x\", args = [\"connect\", \"--profile\", \"acme.dev\"] } }\n"
        );
        // A dotted key path is another table, not our entry.
        let nested = "[mcp_servers.aic-acme.dev]\ncommand = \"/x\"\n";
        let (state, text) = plan_toml(nested, name, &entry, "t").expect("plan");
        assert_eq!(state, EntryState::Absent);
        assert!(text.starts_with(nested), "{text}");
        assert!(text.contains("[mcp_servers.\"aic-acme.dev\"]\n"), "{text}");
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
}
