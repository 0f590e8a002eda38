//! The local MCP socket: the running app serves MCP on a unix socket that only the current
//! user can open (a 0700 directory, a 0600 socket, and the peer's uid checked on every
//! connection). `aic-mcp-server connect` bridges an assistant's stdio to it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::McpService;

/// The socket file's name inside its directory.
pub const SOCKET_FILE: &str = "mcp.sock";

/// Why the socket could not be served or reached.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("another AIC MCP Desktop is already serving {0}")]
    InUse(String),
    #[error("the socket directory {path} is not private to this user ({detail}); remove it and start again")]
    UnsafeDir { path: String, detail: String },
    #[error("cannot create the local MCP socket {path}: {detail}")]
    Io { path: String, detail: String },
    #[error("local MCP sockets are not supported on this platform yet")]
    Unsupported,
}

/// `$AIC_MCP_SOCKET`, else `<runtime dir>/aic-mcp-desktop/mcp.sock`, else
/// `<temp dir>/aic-mcp-desktop-<uid>/mcp.sock`.
pub fn default_socket_path() -> PathBuf {
    default_socket_path_from(|k| std::env::var_os(k).map(PathBuf::from))
}

/// [`default_socket_path`] with the environment injected (tests).
pub fn default_socket_path_from(get: impl Fn(&str) -> Option<PathBuf>) -> PathBuf {
    if let Some(p) = get("AIC_MCP_SOCKET").filter(|p| !p.as_os_str().is_empty()) {
        return p;
    }
    if let Some(run) = get("XDG_RUNTIME_DIR").filter(|p| p.is_absolute()) {
        return run.join(crate::config::APP_DIR_NAME).join(SOCKET_FILE);
    }
    std::env::temp_dir()
        .join(format!("{}-{}", crate::config::APP_DIR_NAME, current_uid()))
        .join(SOCKET_FILE)
}

#[cfg(unix)]
fn current_uid() -> u32 {
    rustix::process::getuid().as_raw()
}

#[cfg(not(unix))]
fn current_uid() -> u32 {
    0
}

/// A bound socket, ready to serve. It removes its file when it stops accepting, but only
/// while the file is still the one it bound (a newer server may already own the path).
/// The socket of one tenant profile, beside `main` (`<dir>/profiles/<name>.sock`): a
/// session connected there is bound to that profile. `name` is a valid profile name (no
/// path separators; see `settings::profile_name_rule`).
pub fn profile_socket_path(main: &Path, name: &str) -> PathBuf {
    main.parent()
        .unwrap_or_else(|| Path::new("."))
        .join("profiles")
        .join(format!("{name}.sock"))
}

#[cfg(unix)]
#[derive(Debug)]
pub struct SocketListener {
    listener: tokio::net::UnixListener,
    path: PathBuf,
    /// Device and inode of the socket file as bound.
    identity: (u64, u64),
}

#[cfg(unix)]
impl SocketListener {
    /// Creates the private directory (0700, ours), clears a stale socket, binds and sets
    /// the socket to 0600. Refuses when a live server already answers on the path.
    pub async fn bind(path: &Path) -> Result<Self, SocketError> {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
        let io = |e: std::io::Error| SocketError::Io {
            path: path.display().to_string(),
            detail: e.to_string(),
        };
        let dir = path.parent().ok_or_else(|| SocketError::Io {
            path: path.display().to_string(),
            detail: "no parent directory".into(),
        })?;
        match std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
        {
            Ok(()) => {}
            Err(e) => return Err(io(e)),
        }
        let meta = std::fs::symlink_metadata(dir).map_err(io)?;
        let unsafe_dir = |detail: String| SocketError::UnsafeDir {
            path: dir.display().to_string(),
            detail,
        };
        if !meta.is_dir() {
            return Err(unsafe_dir("not a directory".into()));
        }
        if meta.uid() != current_uid() {
            return Err(unsafe_dir(format!("owned by uid {}", meta.uid())));
        }
        if meta.mode() & 0o077 != 0 {
            // Our own directory with loose permissions (an older run, a umask): tighten.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
        }
        if std::fs::symlink_metadata(path).is_ok() {
            match tokio::net::UnixStream::connect(path).await {
                Ok(_) => return Err(SocketError::InUse(path.display().to_string())),
                Err(_) => std::fs::remove_file(path).map_err(io)?,
            }
        }
        let listener = tokio::net::UnixListener::bind(path).map_err(io)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        let bound = std::fs::symlink_metadata(path).map_err(io)?;
        Ok(Self {
            listener,
            path: path.to_path_buf(),
            identity: (bound.dev(), bound.ino()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the socket file if it is still the one this listener bound.
    fn remove_file(&self) {
        use std::os::unix::fs::MetadataExt;
        match std::fs::symlink_metadata(&self.path) {
            Ok(m) if (m.dev(), m.ino()) == self.identity => {
                if let Err(e) = std::fs::remove_file(&self.path) {
                    tracing::warn!(error = %e, "could not remove the MCP socket file");
                }
            }
            _ => {}
        }
    }

    /// Serves one MCP session per connection until `stop_accepting`; then removes the
    /// socket file (new clients are told the app is not running) and waits until the
    /// sessions have ended: they end when `sessions` fires (the owner fires it after the
    /// calls in flight have drained) or when their clients leave.
    pub async fn serve(
        self,
        make_service: impl Fn() -> McpService + Send + 'static,
        stop_accepting: CancellationToken,
        sessions: CancellationToken,
    ) {
        use rmcp::ServiceExt;
        let tracker = TaskTracker::new();
        let own_uid = current_uid();
        loop {
            let accepted = tokio::select! {
                _ = stop_accepting.cancelled() => break,
                a = self.listener.accept() => a,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "local MCP socket: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            match stream.peer_cred() {
                Ok(cred) if cred.uid() == own_uid => {}
                Ok(cred) => {
                    tracing::warn!(uid = cred.uid(), "local MCP socket: refused another user");
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "local MCP socket: no peer credentials; refused");
                    continue;
                }
            }
            let service = make_service();
            let ct = sessions.child_token();
            tracker.spawn(async move {
                let (read, write) = stream.into_split();
                match service.serve_with_ct((read, write), ct).await {
                    Ok(running) => {
                        let _ = running.waiting().await;
                    }
                    Err(e) => tracing::debug!(error = %e, "local MCP socket: session ended early"),
                }
            });
        }
        self.remove_file();
        drop(self.listener);
        tracker.close();
        tracker.wait().await;
    }
}

#[cfg(not(unix))]
#[derive(Debug)]
pub struct SocketListener;

#[cfg(not(unix))]
impl SocketListener {
    pub async fn bind(_path: &Path) -> Result<Self, SocketError> {
        Err(SocketError::Unsupported)
    }
    pub fn path(&self) -> &Path {
        Path::new("")
    }
    pub async fn serve(
        self,
        _make_service: impl Fn() -> McpService + Send + 'static,
        _stop_accepting: CancellationToken,
        _sessions: CancellationToken,
    ) {
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_path_prefers_the_override_then_the_runtime_dir() {
        let p = default_socket_path_from(|k| match k {
            "AIC_MCP_SOCKET" => Some(PathBuf::from("/x/y.sock")),
            "XDG_RUNTIME_DIR" => Some(PathBuf::from("/run/user/1000")),
            _ => None,
        });
        assert_eq!(p, PathBuf::from("/x/y.sock"));
        let p = default_socket_path_from(|k| match k {
            "XDG_RUNTIME_DIR" => Some(PathBuf::from("/run/user/1000")),
            _ => None,
        });
        assert_eq!(p, PathBuf::from("/run/user/1000/aic-mcp-desktop/mcp.sock"));
        let p = default_socket_path_from(|k| match k {
            "XDG_RUNTIME_DIR" => Some(PathBuf::from("relative")),
            _ => None,
        });
        assert!(p.ends_with(format!("aic-mcp-desktop-{}/mcp.sock", current_uid())));
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn bind_makes_a_private_dir_and_socket_and_refuses_a_live_one() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("run").join("mcp.sock");
        let listener = SocketListener::bind(&path).await.expect("bind");
        let dir_mode = std::fs::metadata(path.parent().expect("parent"))
            .expect("dir")
            .permissions()
            .mode();
        let sock_mode = std::fs::symlink_metadata(&path)
            .expect("sock")
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        assert_eq!(sock_mode & 0o777, 0o600);
        let second = SocketListener::bind(&path).await;
        assert!(matches!(second, Err(SocketError::InUse(_))), "{second:?}");
        drop(listener);
        // A stale socket file (no server) is replaced.
        let again = SocketListener::bind(&path)
            .await
            .expect("rebind over stale");
        assert_eq!(again.path(), path);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_loose_directory_of_ours_is_tightened() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("loose");
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let _l = SocketListener::bind(&dir.join("mcp.sock"))
            .await
            .expect("bind");
        let mode = std::fs::metadata(&dir).expect("dir").permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
