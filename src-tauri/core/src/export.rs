//! Exports of what the user sees: the activity log and the change journal as JSONL. An export is a new file, mode
//! 0600 from the moment it exists, under a name no other file has: it never overwrites or
//! writes through anything already there (two exports in the same second get `-2`, `-3`, …).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::atomic;

/// How many numbered names are tried for one second's exports.
const MAX_NAMES: u32 = 1000;

/// Why an export could not be written. Each names the path involved.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot create the folder {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write the export {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot encode the export: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("no free name for an export in {dir} ({MAX_NAMES} taken this second)")]
    NoFreeName { dir: PathBuf },
}

pub type Result<T, E = ExportError> = std::result::Result<T, E>;

/// Writes `events` (already masked, one JSON object per line) to a new file
/// `aic-mcp-activity-<UTC yyyymmdd-hhmmss>[-n].jsonl` in `dir` (created 0700 if missing)
/// and returns its path.
pub fn write_activity_export(dir: &Path, events: &[serde_json::Value]) -> Result<PathBuf> {
    write_export_at(dir, "activity", events, time::OffsetDateTime::now_utc())
}

/// Writes journaled `changes` (as the journal holds them: secrets masked), oldest first, to
/// a new file `aic-mcp-changes-<UTC yyyymmdd-hhmmss>[-n].jsonl` in `dir`, as
/// [`write_activity_export`] does.
pub fn write_changes_export<T: serde::Serialize>(dir: &Path, changes: &[T]) -> Result<PathBuf> {
    let lines = changes
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()?;
    write_export_at(dir, "changes", &lines, time::OffsetDateTime::now_utc())
}

/// [`write_activity_export`] at a given time (tests).
#[cfg(test)]
fn write_activity_export_at(
    dir: &Path,
    events: &[serde_json::Value],
    now: time::OffsetDateTime,
) -> Result<PathBuf> {
    write_export_at(dir, "activity", events, now)
}

/// `lines` to a new private file `aic-mcp-<kind>-<stamp>[-n].jsonl` in `dir`.
fn write_export_at(
    dir: &Path,
    kind: &str,
    events: &[serde_json::Value],
    now: time::OffsetDateTime,
) -> Result<PathBuf> {
    let mut text = Vec::new();
    for event in events {
        serde_json::to_writer(&mut text, event)?;
        text.push(b'\n');
    }
    atomic::create_dirs(dir, 0o700).map_err(|source| ExportError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let format = time::macros::format_description!("[year][month][day]-[hour][minute][second]");
    let stamp = now
        .format(&format)
        .unwrap_or_else(|_| now.unix_timestamp().to_string());
    for n in 1..=MAX_NAMES {
        let name = match n {
            1 => format!("aic-mcp-{kind}-{stamp}.jsonl"),
            n => format!("aic-mcp-{kind}-{stamp}-{n}.jsonl"),
        };
        let path = dir.join(name);
        let mut file = match atomic::create_new(&path, 0o600) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(source) => return Err(ExportError::Write { path, source }),
        };
        if let Err(source) = file.write_all(&text).and_then(|()| file.sync_all()) {
            drop(file);
            let _ = std::fs::remove_file(&path);
            return Err(ExportError::Write { path, source });
        }
        return Ok(path);
    }
    Err(ExportError::NoFreeName {
        dir: dir.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(seconds: i64) -> time::OffsetDateTime {
        time::OffsetDateTime::from_unix_timestamp(seconds).expect("time")
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::symlink_metadata(path)
            .expect("meta")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn export_two_in_the_same_second_get_two_private_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = [
            json!({"tool": "getUser", "outcome": "ok"}),
            json!({"tool": "x"}),
        ];
        let second = [json!({"tool": "second"})];
        let now = at(1_767_323_045); // 2026-01-02 03:04:05 UTC
        let a = write_activity_export_at(dir.path(), &first, now).expect("first");
        let b = write_activity_export_at(dir.path(), &second, now).expect("second");
        assert_eq!(a, dir.path().join("aic-mcp-activity-20260102-030405.jsonl"));
        assert_eq!(
            b,
            dir.path().join("aic-mcp-activity-20260102-030405-2.jsonl")
        );
        assert_eq!(
            std::fs::read_to_string(&a).expect("read"),
            "{\"tool\":\"getUser\",\"outcome\":\"ok\"}\n{\"tool\":\"x\"}\n"
        );
        assert_eq!(
            std::fs::read_to_string(&b).expect("read"),
            "{\"tool\":\"second\"}\n"
        );
        #[cfg(unix)]
        {
            assert_eq!(mode(&a), 0o600);
            assert_eq!(mode(&b), 0o600);
        }
    }

    #[cfg(unix)]
    #[test]
    fn export_never_writes_through_a_planted_link_nor_chmods_the_folder() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("tempdir");
        let downloads = tmp.path().join("Downloads");
        std::fs::create_dir(&downloads).expect("mkdir");
        std::fs::set_permissions(&downloads, std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let victim = tmp.path().join("victim");
        std::fs::write(&victim, "keep me").expect("write");
        let now = at(0);
        std::os::unix::fs::symlink(
            &victim,
            downloads.join("aic-mcp-activity-19700101-000000.jsonl"),
        )
        .expect("symlink");
        let path = write_activity_export_at(&downloads, &[json!({"a": 1})], now).expect("export");
        assert_eq!(
            path,
            downloads.join("aic-mcp-activity-19700101-000000-2.jsonl")
        );
        assert_eq!(std::fs::read(&victim).expect("read"), b"keep me");
        assert_eq!(mode(&downloads), 0o755);
        assert_eq!(mode(&path), 0o600);

        // A missing folder is created, private.
        let fresh = tmp.path().join("new").join("exports");
        let path = write_activity_export_at(&fresh, &[], now).expect("export");
        assert_eq!(std::fs::read(&path).expect("read"), b"");
        assert_eq!(mode(&fresh), 0o700);
    }
}
