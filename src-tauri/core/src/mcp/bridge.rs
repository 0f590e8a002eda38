//! `aic-mcp-server connect`: a byte-for-byte bridge from this process's stdio to the
//! running app's local MCP socket. Assistants launch it as a plain stdio server, so no
//! secret ever lands in their configuration; the app owns the login.
//!
//! The bridge talks only to a socket this user's own process serves: before connecting,
//! the socket's folder must be a real folder (not a symbolic link) owned by this user with
//! no group or other permission bits, and after connecting the peer's uid must be this
//! user's. Without `XDG_RUNTIME_DIR` the socket lives in `/tmp/aic-mcp-desktop-<uid>/`,
//! which another user could create first and serve a look-alike from; such a folder is
//! refused with an error that says what is wrong and what to do.

use std::path::Path;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

/// Why the bridge could not run.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error("AIC MCP Desktop is not running (no MCP socket at {0}). Start the app (or `aic-mcp-desktop --demo`), then restart your assistant's MCP server.")]
    NotRunning(String),
    #[error("cannot open the MCP socket {path}: {detail}")]
    Refused { path: String, detail: String },
    /// The socket's folder is not private to this user: another user may have made it.
    #[error("refusing the MCP socket {socket}: its folder {folder} {detail}, so the socket may not be your AIC MCP Desktop's. Remove the folder {folder}, then restart AIC MCP Desktop (or `aic-mcp-server serve`), which creates it again for you alone.")]
    UnsafeFolder {
        socket: String,
        folder: String,
        detail: String,
    },
    /// The process answering on the socket runs as another user.
    #[error("refusing the MCP socket {socket}: {detail}, so it is not your AIC MCP Desktop. Remove the folder {folder}, then restart AIC MCP Desktop (or `aic-mcp-server serve`), which creates it again for you alone.")]
    ForeignPeer {
        socket: String,
        folder: String,
        detail: String,
    },
    #[error("local MCP sockets are not supported on this platform yet")]
    Unsupported,
    #[error("bridge I/O: {0}")]
    Io(String),
}

/// Connects to the socket and copies stdin → socket and socket → stdout until the app
/// closes the connection (or stdin ends and the app has answered).
pub async fn connect_stdio(path: &Path) -> Result<(), BridgeError> {
    bridge(path, tokio::io::stdin(), tokio::io::stdout()).await
}

/// [`connect_stdio`] over any pair of streams (tests).
#[cfg(unix)]
pub async fn bridge(
    path: &Path,
    input: impl AsyncRead + Unpin,
    mut output: impl AsyncWrite + Unpin,
) -> Result<(), BridgeError> {
    let stream = connect_own(path).await?;
    let (mut sock_read, mut sock_write) = stream.into_split();
    let mut input = input;
    let upstream = async {
        let r = tokio::io::copy(&mut input, &mut sock_write).await;
        // stdin ended: tell the app, keep reading its answers.
        let _ = sock_write.shutdown().await;
        r
    };
    let downstream = async {
        let r = tokio::io::copy(&mut sock_read, &mut output).await;
        let _ = output.flush().await;
        r
    };
    tokio::pin!(upstream, downstream);
    tokio::select! {
        // The app closed the connection: we are done whatever stdin does.
        r = &mut downstream => r.map(|_| ()).map_err(|e| BridgeError::Io(e.to_string())),
        r = &mut upstream => {
            r.map_err(|e| BridgeError::Io(e.to_string()))?;
            downstream.await.map(|_| ()).map_err(|e| BridgeError::Io(e.to_string()))
        }
    }
}

/// Connects to the socket at `path` if, and only if, it is this user's own: its folder
/// passes [`check_socket_folder`] before connecting and the peer passes [`check_peer`]
/// after. A missing folder or socket means the app is not running.
#[cfg(unix)]
pub async fn connect_own(path: &Path) -> Result<tokio::net::UnixStream, BridgeError> {
    // Files are owned by, and peers report, the effective uid.
    let uid = rustix::process::geteuid().as_raw();
    check_socket_folder(path, uid)?;
    let stream = match tokio::net::UnixStream::connect(path).await {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(BridgeError::NotRunning(path.display().to_string()))
        }
        Err(e) => {
            return Err(BridgeError::Refused {
                path: path.display().to_string(),
                detail: e.to_string(),
            })
        }
    };
    check_peer(&stream, path, uid)?;
    Ok(stream)
}

/// The folder a socket path lives in (`.` for a bare file name).
#[cfg(unix)]
fn folder_of(socket: &Path) -> &Path {
    match socket.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Checks the folder of the socket at `socket`: a real folder (a symbolic link is
/// refused, whatever it points to), owned by `uid`, with no group or other permission
/// bits. A folder that does not exist means the app is not running.
#[cfg(unix)]
pub fn check_socket_folder(socket: &Path, uid: u32) -> Result<(), BridgeError> {
    use std::os::unix::fs::MetadataExt;
    let folder = folder_of(socket);
    let meta = match std::fs::symlink_metadata(folder) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BridgeError::NotRunning(socket.display().to_string()))
        }
        Err(e) => {
            return Err(BridgeError::Refused {
                path: socket.display().to_string(),
                detail: format!("cannot inspect its folder {}: {e}", folder.display()),
            })
        }
    };
    let refuse = |detail: String| BridgeError::UnsafeFolder {
        socket: socket.display().to_string(),
        folder: folder.display().to_string(),
        detail,
    };
    if meta.file_type().is_symlink() {
        return Err(refuse("is a symbolic link, not a real folder".into()));
    }
    if !meta.is_dir() {
        return Err(refuse("is not a folder".into()));
    }
    if meta.uid() != uid {
        return Err(refuse(format!(
            "belongs to uid {}, not to you (uid {uid})",
            meta.uid()
        )));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(refuse(format!(
            "is open to other users (mode {mode:04o}; it must be 0700)"
        )));
    }
    Ok(())
}

/// Checks that the process at the other end of `stream` (connected to `socket`) runs as
/// `uid`, from the kernel's record of the peer's credentials.
#[cfg(unix)]
pub fn check_peer(
    stream: &tokio::net::UnixStream,
    socket: &Path,
    uid: u32,
) -> Result<(), BridgeError> {
    let refuse = |detail: String| BridgeError::ForeignPeer {
        socket: socket.display().to_string(),
        folder: folder_of(socket).display().to_string(),
        detail,
    };
    match stream.peer_cred() {
        Ok(cred) if cred.uid() == uid => Ok(()),
        Ok(cred) => Err(refuse(format!(
            "the process serving it runs as uid {}, not as you (uid {uid})",
            cred.uid()
        ))),
        Err(e) => Err(refuse(format!(
            "the user of the process serving it cannot be learnt ({e})"
        ))),
    }
}

#[cfg(not(unix))]
pub async fn bridge(
    _path: &Path,
    _input: impl AsyncRead + Unpin,
    _output: impl AsyncWrite + Unpin,
) -> Result<(), BridgeError> {
    Err(BridgeError::Unsupported)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    use tokio::io::AsyncReadExt;

    use super::*;

    /// A uid that is not ours.
    const OTHER_UID: u32 = 65_534;

    fn own_uid() -> u32 {
        rustix::process::geteuid().as_raw()
    }

    /// A fresh folder, 0700 and ours, as the app makes it.
    fn private_folder(tmp: &tempfile::TempDir, name: &str) -> PathBuf {
        let dir = tmp.path().join(name);
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        dir
    }

    /// A live echo server on `path`: answers "echo:" and what it read, then closes.
    fn echo_server(path: &Path) -> tokio::task::JoinHandle<()> {
        let listener = tokio::net::UnixListener::bind(path).expect("bind");
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut buf = Vec::new();
            s.read_to_end(&mut buf).await.expect("read");
            s.write_all(b"echo:").await.expect("w");
            s.write_all(&buf).await.expect("w");
        })
    }

    /// Runs the bridge with a one-line input; the error it refused with. Bounded: a
    /// bridge that connected to a server which never answers would wait for ever.
    async fn refused(path: &Path) -> BridgeError {
        tokio::time::timeout(
            std::time::Duration::from_secs(20),
            bridge(path, &b"{}\n"[..], tokio::io::sink()),
        )
        .await
        .expect("the bridge refused instead of connecting")
        .expect_err("refused")
    }

    #[tokio::test]
    async fn no_socket_is_a_clear_not_running_error() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = private_folder(&tmp, "run").join("absent.sock");
        let err = refused(&path).await;
        assert!(matches!(err, BridgeError::NotRunning(_)), "{err:?}");
        assert!(err.to_string().contains("AIC MCP Desktop is not running"));
        assert!(err.to_string().contains("absent.sock"));
        // No folder at all: the app has never run (or cleaned up).
        let err = refused(&tmp.path().join("gone").join("mcp.sock")).await;
        assert!(matches!(err, BridgeError::NotRunning(_)), "{err:?}");
    }

    #[tokio::test]
    async fn bytes_flow_both_ways_until_the_app_closes() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = private_folder(&tmp, "run").join("echo.sock");
        let server = echo_server(&path);
        let mut out = Vec::new();
        bridge(&path, &b"{\"jsonrpc\":\"2.0\"}\n"[..], &mut out)
            .await
            .expect("bridge");
        server.await.expect("server");
        assert_eq!(out, b"echo:{\"jsonrpc\":\"2.0\"}\n");
    }

    /// Asserts `err` refuses `folder` for `what`, naming the socket and the remedy.
    fn assert_unsafe(err: &BridgeError, socket: &Path, folder: &Path, what: &str) {
        assert!(matches!(err, BridgeError::UnsafeFolder { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(&socket.display().to_string()), "{text}");
        assert!(text.contains(&folder.display().to_string()), "{text}");
        assert!(text.contains(what), "{text}");
        assert!(
            text.contains(&format!("Remove the folder {}", folder.display()))
                && text.contains("restart AIC MCP Desktop"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_socket_in_a_folder_of_another_user_is_refused_before_connecting() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = private_folder(&tmp, "planted");
        let path = dir.join("mcp.sock");
        // A live server that would answer: the bridge must not even connect.
        let listener = tokio::net::UnixListener::bind(&path).expect("bind");
        if own_uid() != 0 {
            // Only root can give a folder away; check the ownership rule with
            // another expected uid instead.
            let err = check_socket_folder(&path, own_uid() + 1).expect_err("refused");
            assert_unsafe(&err, &path, &dir, &format!("belongs to uid {}", own_uid()));
            return;
        }
        std::os::unix::fs::chown(&dir, Some(OTHER_UID), Some(OTHER_UID)).expect("chown");
        let err = refused(&path).await;
        assert_unsafe(
            &err,
            &path,
            &dir,
            &format!("belongs to uid {OTHER_UID}, not to you (uid 0)"),
        );
        let accepted =
            tokio::time::timeout(std::time::Duration::from_millis(200), listener.accept()).await;
        assert!(
            accepted.is_err(),
            "the bridge connected to a planted socket"
        );
    }

    #[tokio::test]
    async fn a_folder_open_to_others_is_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = private_folder(&tmp, "loose");
        let path = dir.join("mcp.sock");
        let _listener = tokio::net::UnixListener::bind(&path).expect("bind");
        for mode in [0o755, 0o710, 0o701] {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).expect("chmod");
            let err = refused(&path).await;
            assert_unsafe(
                &err,
                &path,
                &dir,
                &format!("is open to other users (mode {mode:04o}; it must be 0700)"),
            );
        }
    }

    #[tokio::test]
    async fn a_symlink_to_a_good_folder_is_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let good = private_folder(&tmp, "good");
        let server = echo_server(&good.join("mcp.sock"));
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&good, &link).expect("symlink");
        let path = link.join("mcp.sock");
        let err = refused(&path).await;
        assert_unsafe(&err, &path, &link, "is a symbolic link, not a real folder");
        // The folder itself is fine.
        let mut out = Vec::new();
        bridge(&good.join("mcp.sock"), &b"x"[..], &mut out)
            .await
            .expect("the real folder");
        server.await.expect("server");
        assert_eq!(out, b"echo:x");
    }

    #[tokio::test]
    async fn a_file_in_place_of_the_folder_is_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("not-a-folder");
        std::fs::write(&file, b"").expect("write");
        let path = file.join("mcp.sock");
        let err = check_socket_folder(&path, own_uid()).expect_err("refused");
        assert_unsafe(&err, &path, &file, "is not a folder");
    }

    #[tokio::test]
    async fn the_peer_must_run_as_this_user() {
        let (ours, _theirs) = tokio::net::UnixStream::pair().expect("pair");
        let path = Path::new("/run/x/mcp.sock");
        check_peer(&ours, path, own_uid()).expect("our own peer");
        let other = own_uid().wrapping_add(1);
        let err = check_peer(&ours, path, other).expect_err("refused");
        assert!(matches!(err, BridgeError::ForeignPeer { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains(&format!(
                "the process serving it runs as uid {}, not as you (uid {other})",
                own_uid()
            )),
            "{text}"
        );
        assert!(text.contains("/run/x/mcp.sock"), "{text}");
        assert!(text.contains("Remove the folder /run/x"), "{text}");
    }
}
