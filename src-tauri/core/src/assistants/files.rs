//! Reading, backing up and replacing configuration files safely.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{io_err, AssistantError, ABSENT_TOKEN, KEEP_BACKUPS};
use crate::atomic;

pub(super) fn token_of(bytes: Option<&[u8]>) -> String {
    match bytes {
        None => ABSENT_TOKEN.to_string(),
        Some(b) => Sha256::digest(b)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect(),
    }
}

pub(super) fn read_optional(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Follows a chain of symlinks to the final path (which may not exist yet).
pub(super) fn resolve_symlinks(path: &Path) -> io::Result<PathBuf> {
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

pub(super) fn utc_stamp() -> String {
    let format = time::macros::format_description!(
        "[year][month][day]T[hour][minute][second].[subsecond digits:3]Z"
    );
    let now = time::OffsetDateTime::now_utc();
    now.format(&format)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

pub(super) fn backup_prefix(file: &Path) -> String {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{name}.aic-bak-")
}

pub(super) fn backup_path(file: &Path, stamp: &str) -> PathBuf {
    file.with_file_name(format!("{}{stamp}", backup_prefix(file)))
}

/// The permission bits to give the new file and the backup: the original's (on Unix).
pub(super) fn file_mode(meta: &fs::Metadata) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o777
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        super::NEW_FILE_MODE
    }
}

/// Saves `bytes` beside the configured file (not the symlink target) with `mode`.
pub(super) fn write_backup(
    file: &Path,
    bytes: &[u8],
    mode: u32,
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
        match atomic::create_new(&path, mode) {
            Ok(mut f) => {
                if let Err(e) = f.write_all(bytes).and_then(|()| f.sync_all()) {
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
pub(super) fn prune_backups(file: &Path) {
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

/// Writes `bytes` to `target` atomically with `mode` ([`crate::atomic`]), if `target` still
/// matches `token` just before the rename.
pub(super) fn write_atomic(
    target: &Path,
    bytes: &[u8],
    mode: u32,
    token: &str,
    shown: &str,
) -> Result<(), AssistantError> {
    let atomic_err = |action, e: atomic::AtomicError| io_err(action, shown, e.into_io());
    let staged = atomic::Staged::new(target, bytes, atomic::Options::with_mode(mode))
        .map_err(|e| atomic_err("write", e))?;
    // Last check before replacing: another program (e.g. a running Claude Code session)
    // may have rewritten the file since we read it. Dropping `staged` removes the new file.
    let current = read_optional(target).map_err(|e| io_err("read", shown, e))?;
    if token_of(current.as_deref()) != token {
        return Err(AssistantError::FileChanged {
            path: shown.to_string(),
        });
    }
    staged.commit().map_err(|e| atomic_err("replace", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assistants::tests::*;
    use crate::assistants::*;

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
}
