//! Replacing a file atomically: the one way the core writes the files it keeps (the settings
//! file, the token file, the assistants' configuration files).
//!
//! The bytes go to a new file beside the target, named `.<name>.aic-tmp-<random>` and opened
//! exclusively and without following links (`O_CREAT | O_EXCL | O_NOFOLLOW`), so a file or
//! link planted in the folder is never written through. The file gets exactly the requested
//! mode (whatever the umask), is synced, renamed over the target, and the folder is synced.
//! A reader sees the old file or the new one, never half of it.
//!
//! Missing folders are created only when asked, with the given mode; a folder that already
//! exists is never `chmod`ed, since it may not be ours to change.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Why a file could not be replaced. Each names the path involved.
#[derive(Debug, thiserror::Error)]
pub enum AtomicError {
    #[error("cannot create the folder {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write a new {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot replace {path}: {source}")]
    Replace {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl AtomicError {
    /// The underlying I/O error.
    pub fn io(&self) -> &io::Error {
        match self {
            AtomicError::CreateDir { source, .. }
            | AtomicError::Write { source, .. }
            | AtomicError::Replace { source, .. } => source,
        }
    }

    /// The underlying I/O error, owned.
    pub fn into_io(self) -> io::Error {
        match self {
            AtomicError::CreateDir { source, .. }
            | AtomicError::Write { source, .. }
            | AtomicError::Replace { source, .. } => source,
        }
    }
}

pub type Result<T, E = AtomicError> = std::result::Result<T, E>;

/// How to write: the new file's mode and whether missing folders are created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    mode: u32,
    create_dirs: Option<u32>,
}

impl Options {
    /// Mode 0600 (only the user can read it); missing folders are an error.
    pub fn private() -> Self {
        Self::with_mode(0o600)
    }

    /// The new file gets exactly `mode` (Unix permission bits; ignored elsewhere).
    pub fn with_mode(mode: u32) -> Self {
        Self {
            mode: mode & 0o7777,
            create_dirs: None,
        }
    }

    /// Creates the target's missing folders with `mode` (folders that exist are left as
    /// they are).
    pub fn create_dirs(mut self, mode: u32) -> Self {
        self.create_dirs = Some(mode & 0o7777);
        self
    }
}

/// Replaces `path` with `bytes` atomically (see the module docs).
pub fn write(path: &Path, bytes: &[u8], options: Options) -> Result<()> {
    Staged::new(path, bytes, options)?.commit()
}

/// A new file written and synced beside its target but not yet in place: the caller may
/// still check something (has the target changed?) before [`Staged::commit`]. Dropping it
/// removes the new file.
#[derive(Debug)]
pub struct Staged {
    temp: PathBuf,
    target: PathBuf,
    dir: PathBuf,
    committed: bool,
}

impl Staged {
    /// Writes `bytes` to a new file beside `target`, with `options`' mode, and syncs it.
    pub fn new(target: &Path, bytes: &[u8], options: Options) -> Result<Self> {
        let dir = folder_of(target);
        if let Some(dir_mode) = options.create_dirs {
            create_dirs(&dir, dir_mode).map_err(|source| AtomicError::CreateDir {
                path: dir.clone(),
                source,
            })?;
        }
        let write_err = |source| AtomicError::Write {
            path: target.to_path_buf(),
            source,
        };
        let (temp, mut file) = create_temp(&dir, target, options.mode).map_err(write_err)?;
        // From here on the temporary file exists: `Drop` removes it on any early return.
        let staged = Self {
            temp,
            target: target.to_path_buf(),
            dir,
            committed: false,
        };
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(write_err)?;
        Ok(staged)
    }

    /// The new file's path (for tests and messages).
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Renames the new file over the target and syncs the folder.
    pub fn commit(mut self) -> Result<()> {
        rename_replace(&self.temp, &self.target).map_err(|source| AtomicError::Replace {
            path: self.target.clone(),
            source,
        })?;
        self.committed = true;
        // The rename is done: the new content is in place. A failed folder sync only
        // weakens durability across a crash, so it is logged rather than reported.
        #[cfg(unix)]
        if let Err(e) = File::open(&self.dir).and_then(|d| d.sync_all()) {
            tracing::warn!(folder = %self.dir.display(), error = %e, "could not sync the folder");
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Creates `path` as a new file: exclusively (an existing file or link is an error, never
/// followed) with exactly `mode` on Unix.
pub fn create_new(path: &Path, mode: u32) -> io::Result<File> {
    #[cfg(unix)]
    {
        use rustix::fs::{Mode, OFlags};
        use std::os::unix::fs::PermissionsExt;
        // Created readable by the user alone, then given the mode asked for (the umask may
        // have taken bits away; the file is ours to chmod).
        let fd = rustix::fs::open(
            path,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::RUSR | Mode::WUSR,
        )?;
        let file = File::from(fd);
        if let Err(e) = file.set_permissions(fs::Permissions::from_mode(mode & 0o7777)) {
            drop(file);
            let _ = fs::remove_file(path);
            return Err(e);
        }
        Ok(file)
    }
    #[cfg(not(unix))]
    {
        let _ = mode;
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
    }
}

/// The folder holding `path` (`.` for a bare file name).
fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Creates `dir` and its missing parents with `mode`; folders that exist are left as they are.
pub fn create_dirs(dir: &Path, mode: u32) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    builder.create(dir)
}

/// A new file with a random name beside `target` in `dir`.
fn create_temp(dir: &Path, target: &Path, mode: u32) -> io::Result<(PathBuf, File)> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut attempt = 0;
    loop {
        let temp = dir.join(format!(".{name}.aic-tmp-{}", uuid::Uuid::new_v4().simple()));
        match create_new(&temp, mode) {
            Ok(file) => return Ok((temp, file)),
            // 122 random bits: a clash means someone is guessing; try another name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 8 => attempt += 1,
            Err(e) => return Err(e),
        }
    }
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        fs::symlink_metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o7777
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn atomic_write_replaces_the_file_with_the_exact_mode_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("settings.json");
        fs::write(&path, "old").expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        write(&path, b"new", Options::private()).expect("write");
        assert_eq!(fs::read(&path).expect("read"), b"new");
        assert_eq!(mode(&path), 0o600);
        // A mode the usual umask (022) would cut: the file still gets exactly it.
        write(&path, b"newer", Options::with_mode(0o666)).expect("write");
        assert_eq!(mode(&path), 0o666);
        assert_eq!(names(dir.path()), vec!["settings.json"]);
    }

    #[test]
    fn atomic_temporary_names_are_random_and_a_dropped_stage_leaves_no_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token.json");
        let a = Staged::new(&path, b"a", Options::private()).expect("stage");
        let b = Staged::new(&path, b"b", Options::private()).expect("stage");
        assert_ne!(a.temp_path(), b.temp_path());
        for s in [&a, &b] {
            let name = s
                .temp_path()
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            let random = name.strip_prefix(".token.json.aic-tmp-").expect("prefix");
            assert_eq!(random.len(), 32, "{name}");
            assert_eq!(mode(s.temp_path()), 0o600);
        }
        drop(a);
        b.commit().expect("commit");
        assert_eq!(fs::read(&path).expect("read"), b"b");
        assert_eq!(names(dir.path()), vec!["token.json"]);
    }

    #[test]
    fn atomic_create_new_never_follows_or_reuses_a_planted_link() {
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("victim");
        fs::write(&victim, "keep me").expect("write");
        let planted = dir.path().join("planted");
        std::os::unix::fs::symlink(&victim, &planted).expect("symlink");
        let err = create_new(&planted, 0o600).expect_err("a link is refused");
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        // A dangling link is refused too (it would create its target).
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("created-through-link"), &dangling)
            .expect("symlink");
        assert!(create_new(&dangling, 0o600).is_err());
        assert_eq!(fs::read(&victim).expect("read"), b"keep me");
        assert!(!dir.path().join("created-through-link").exists());
    }

    #[test]
    fn atomic_write_replaces_a_link_at_the_target_instead_of_writing_through_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("victim");
        fs::write(&victim, "keep me").expect("write");
        let path = dir.path().join("token.json");
        std::os::unix::fs::symlink(&victim, &path).expect("symlink");
        write(&path, b"ours", Options::private()).expect("write");
        assert!(fs::symlink_metadata(&path).expect("meta").is_file());
        assert_eq!(fs::read(&path).expect("read"), b"ours");
        assert_eq!(fs::read(&victim).expect("read"), b"keep me");
    }

    #[test]
    fn atomic_folders_are_created_private_and_existing_ones_keep_their_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let shared = dir.path().join("shared");
        fs::create_dir(&shared).expect("mkdir");
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o755)).expect("chmod");
        let path = shared.join("a").join("b").join("token.json");
        write(&path, b"x", Options::private().create_dirs(0o700)).expect("write");
        assert_eq!(
            mode(&shared),
            0o755,
            "an existing folder is not ours to chmod"
        );
        assert_eq!(mode(&shared.join("a")), 0o700);
        assert_eq!(mode(&shared.join("a").join("b")), 0o700);
        // Without `create_dirs`, a missing folder is an error and nothing is created.
        let missing = dir.path().join("missing").join("x.json");
        let err = write(&missing, b"x", Options::private()).expect_err("no folder");
        assert!(matches!(err, AtomicError::Write { .. }), "{err}");
        assert_eq!(err.io().kind(), io::ErrorKind::NotFound);
        assert!(!dir.path().join("missing").exists());
    }
}
