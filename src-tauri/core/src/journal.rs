//! The change journal: every write that reached the tenant, with the state of what it
//! addressed before and after, kept as JSONL (`changes.jsonl`, mode 0600) beside the
//! activity file. Secrets are masked as in the activity log, so the journal never holds a
//! secret value; a restore writes back only what it holds (and says what it cannot).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::tools::{Restore, Subject};

/// The file's name in the log folder.
pub const FILE: &str = "changes.jsonl";
/// How many changes the window lists (the newest).
pub const LIST_LIMIT: usize = 1000;

/// One write that reached the tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The tenant profile the call's session was bound to (entries from before profiles
    /// have none).
    #[serde(default)]
    pub profile: Option<String>,
    pub id: String,
    pub at: String,
    pub call_id: u64,
    /// The assistant (its MCP client name), or "AIC MCP Desktop" for a revert.
    pub client: Option<String>,
    pub tenant: String,
    pub tool: String,
    pub title: String,
    /// What the call addressed, when the tool names one.
    pub subject: Option<Subject>,
    /// The call's arguments, secrets masked.
    pub arguments: Value,
    /// The object before the call (`None`: not captured, or it did not exist).
    pub before: Option<Value>,
    /// The object after the call (`None`: deleted, or not captured).
    pub after: Option<Value>,
    pub transaction_ids: Vec<String>,
    /// How it can be undone, or why it cannot.
    pub undo: Undo,
    /// The change this one reverted.
    pub reverts: Option<String>,
}

/// How a change can be undone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Undo {
    /// A call puts the state back (`revert` for an update, `re-create` for a delete).
    Possible { action: String, restore: Restore },
    /// It cannot be undone here: why.
    Impossible { why: String },
}

/// A journal that could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot write the change journal {path}: {detail}")]
    Write { path: String, detail: String },
    #[error("cannot read the change journal {path}: {detail}")]
    Read { path: String, detail: String },
    #[error("no change {0} in the journal")]
    NotFound(String),
}

/// The journal file of one log folder.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    lock: Mutex<()>,
}

impl Journal {
    pub fn new(log_dir: &Path) -> Arc<Self> {
        Arc::new(Self {
            path: log_dir.join(FILE),
            lock: Mutex::new(()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one change (one line, created 0600).
    pub fn append(&self, change: &Change) -> Result<(), JournalError> {
        let err = |e: &dyn std::fmt::Display| JournalError::Write {
            path: self.path.display().to_string(),
            detail: e.to_string(),
        };
        let mut line = serde_json::to_vec(change).map_err(|e| err(&e))?;
        line.push(b'\n');
        let _held = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(dir) = self.path.parent() {
            crate::atomic::create_dirs(dir, 0o700).map_err(|e| err(&e))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&self.path).map_err(|e| err(&e))?;
        file.write_all(&line).map_err(|e| err(&e))
    }

    /// The newest `limit` changes, newest first. A line that does not parse is skipped.
    pub fn list(&self, limit: usize) -> Result<Vec<Change>, JournalError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(JournalError::Read {
                    path: self.path.display().to_string(),
                    detail: e.to_string(),
                })
            }
        };
        Ok(text
            .lines()
            .rev()
            .filter_map(|l| serde_json::from_str::<Change>(l).ok())
            .take(limit)
            .collect())
    }

    /// One change by id.
    pub fn get(&self, id: &str) -> Result<Change, JournalError> {
        self.list(usize::MAX)?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| JournalError::NotFound(id.to_string()))
    }
}

/// A journaled change as the window lists it: with what it did, field by field (empty
/// for a create or a delete, whose one state the view shows whole).
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    #[serde(flatten)]
    pub change: Change,
    pub diff: Vec<crate::diff::FieldChange>,
}

impl From<Change> for Listed {
    fn from(change: Change) -> Self {
        let diff = match (&change.before, &change.after) {
            (Some(before), Some(after)) => crate::diff::diff(before, after),
            _ => Vec::new(),
        };
        Self { change, diff }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(id: &str) -> Change {
        Change {
            profile: Some("dev".into()),
            id: id.into(),
            at: "2026-12-05T00:00:00.000Z".into(),
            call_id: 1,
            client: Some("Cursor".into()),
            tenant: "https://tenant.example.com".into(),
            tool: "updateTheme".into(),
            title: "Update Theme".into(),
            subject: None,
            arguments: json!({}),
            before: Some(json!({"a": 1})),
            after: Some(json!({"a": 2})),
            transaction_ids: vec!["tx-1".into()],
            undo: Undo::Impossible { why: "test".into() },
            reverts: None,
        }
    }

    #[test]
    fn changes_append_to_a_private_file_and_list_newest_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let j = Journal::new(&dir.path().join("logs"));
        assert!(j.list(10).expect("empty").is_empty());
        j.append(&change("1")).expect("append");
        j.append(&change("2")).expect("append");
        std::fs::OpenOptions::new()
            .append(true)
            .open(j.path())
            .and_then(|mut f| f.write_all(b"not json\n"))
            .expect("garbage");
        let ids: Vec<_> = j
            .list(10)
            .expect("list")
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, ["2", "1"]);
        assert_eq!(j.get("1").expect("found").after, Some(json!({"a": 2})));
        assert!(matches!(j.get("3"), Err(JournalError::NotFound(_))));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(j.path())
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
