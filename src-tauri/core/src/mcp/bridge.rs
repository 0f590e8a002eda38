//! `aic-mcp-server connect`: a byte-for-byte bridge from this process's stdio to the
//! running app's local MCP socket. Assistants launch it as a plain stdio server, so no
//! secret ever lands in their configuration; the app owns the login.

use std::path::Path;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

/// Why the bridge could not run.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error("AIC MCP Desktop is not running (no MCP socket at {0}). Start the app (or `aic-mcp-desktop --demo`), then restart your assistant's MCP server.")]
    NotRunning(String),
    #[error("cannot open the MCP socket {path}: {detail}")]
    Refused { path: String, detail: String },
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
    use super::*;

    #[tokio::test]
    async fn no_socket_is_a_clear_not_running_error() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("absent.sock");
        let err = bridge(&path, tokio::io::empty(), tokio::io::sink())
            .await
            .expect_err("no app");
        assert!(matches!(err, BridgeError::NotRunning(_)));
        assert!(err.to_string().contains("AIC MCP Desktop is not running"));
        assert!(err.to_string().contains("absent.sock"));
    }

    #[tokio::test]
    async fn bytes_flow_both_ways_until_the_app_closes() {
        use tokio::io::AsyncReadExt;
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("echo.sock");
        let listener = tokio::net::UnixListener::bind(&path).expect("bind");
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut buf = Vec::new();
            s.read_to_end(&mut buf).await.expect("read");
            s.write_all(b"echo:").await.expect("w");
            s.write_all(&buf).await.expect("w");
        });
        let mut out = Vec::new();
        bridge(&path, &b"{\"jsonrpc\":\"2.0\"}\n"[..], &mut out)
            .await
            .expect("bridge");
        server.await.expect("server");
        assert_eq!(out, b"echo:{\"jsonrpc\":\"2.0\"}\n");
    }
}
