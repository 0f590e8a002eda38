//! The minimal edit of a JSON (with comments) configuration: insert or replace our member
//! (`aic`, or `aic-<profile>`) in the file's own layout, leaving every other byte as it was.

use serde_json::{json, Value};

use super::{jsonc, line_col, AssistantError, EntryState};

/// How a JSON file is laid out: newline, one level of indentation, `": "` or `":"`.
#[derive(Debug, Clone)]
pub(super) struct JsonStyle {
    pub(super) nl: &'static str,
    pub(super) unit: String,
    pub(super) colon: &'static str,
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

pub(super) fn json_string(s: &str) -> String {
    Value::from(s).to_string()
}

/// Renders `v` with objects spread over lines (when `multiline`) at `indent`, arrays inline.
pub(super) fn render_json(
    v: &Value,
    indent: &str,
    unit: &str,
    style: &JsonStyle,
    multiline: bool,
) -> String {
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

/// Plans the JSON edit of member `name` of the `servers_key` object: `(state, new text)`.
pub(super) fn plan_json(
    text: &str,
    servers_key: &str,
    name: &str,
    entry: &Value,
    shown: &str,
) -> Result<(EntryState, String), AssistantError> {
    if text.trim().is_empty() {
        let style = JsonStyle::default();
        let doc = json!({ servers_key: { name: entry } });
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
        let value = json!({ name: entry });
        let edits = insert_member(text, root_obj, servers_key, &value, &style, single_line_doc);
        return Ok((EntryState::Absent, apply_edits(text, edits)));
    };
    let jsonc::Kind::Object(servers_obj) = &servers.value.kind else {
        return Err(AssistantError::Unsupported {
            path: shown.to_string(),
            reason: format!("\"{servers_key}\" is not an object"),
        });
    };
    let Some(existing) = servers_obj.last_member(name) else {
        let edits = insert_member(text, servers_obj, name, entry, &style, single_line_doc);
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

#[cfg(test)]
mod tests {
    use crate::assistants::tests::*;
    use crate::assistants::*;

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
}
