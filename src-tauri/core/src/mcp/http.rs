//! The opt-in Streamable HTTP endpoint on 127.0.0.1: `POST/GET/DELETE /mcp`.
//! Every request must carry `Authorization: Bearer <local bearer>` (401 otherwise, and no
//! OAuth is advertised); `Host` must name this loopback listener and a present `Origin`
//! must be this listener's own origin (403 otherwise: DNS rebinding and cross-site pages).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::McpService;
use crate::secret::LocalBearer;

/// Why the HTTP endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("port {0} on 127.0.0.1 is already in use; choose another HTTP port in Settings")]
    PortInUse(u16),
    #[error("cannot listen on 127.0.0.1:{port}: {detail}")]
    Io { port: u16, detail: String },
}

/// A running endpoint.
#[derive(Debug)]
pub struct HttpEndpoint {
    pub addr: SocketAddr,
    pub task: tokio::task::JoinHandle<()>,
}

impl HttpEndpoint {
    /// `http://127.0.0.1:PORT/mcp`
    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }
}

/// A fresh random bearer: 32 bytes, base64url.
pub fn generate_bearer() -> LocalBearer {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    LocalBearer::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Binds 127.0.0.1:`port` (0 = any) and serves until `stop_accepting`; the open sessions
/// (their event streams) end when `sessions` fires, and the task ends once they have.
pub async fn serve_http(
    port: u16,
    bearer: LocalBearer,
    make_service: impl Fn() -> McpService + Send + Sync + 'static,
    stop_accepting: CancellationToken,
    sessions: CancellationToken,
) -> Result<HttpEndpoint, HttpError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => HttpError::PortInUse(port),
            _ => HttpError::Io {
                port,
                detail: e.to_string(),
            },
        })?;
    let addr = listener.local_addr().map_err(|e| HttpError::Io {
        port,
        detail: e.to_string(),
    })?;
    let p = addr.port();
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts([
            format!("127.0.0.1:{p}"),
            format!("localhost:{p}"),
            format!("[::1]:{p}"),
        ])
        .with_allowed_origins([
            format!("http://127.0.0.1:{p}"),
            format!("http://localhost:{p}"),
        ])
        .enforce_origin_validation()
        .with_cancellation_token(sessions);
    let service = StreamableHttpService::new(
        move || Ok(make_service()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let router = axum::Router::new().nest_service("/mcp", service).layer(
        axum::middleware::from_fn_with_state(Arc::new(bearer), require_bearer),
    );
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move { stop_accepting.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "HTTP endpoint stopped");
        }
    });
    Ok(HttpEndpoint { addr, task })
}

/// 401 unless the request presents the bearer (compared in constant time).
async fn require_bearer(
    State(bearer): State<Arc<LocalBearer>>,
    request: Request,
    next: Next,
) -> Response {
    if bearer_matches(request.headers(), &bearer) {
        return next.run(request).await;
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        "Missing or wrong bearer token: copy it from AIC MCP Desktop (Connect view)",
    )
        .into_response()
}

fn bearer_matches(headers: &HeaderMap, bearer: &LocalBearer) -> bool {
    use subtle::ConstantTimeEq;
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, token)) = value.split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer")
        && bool::from(token.trim().as_bytes().ct_eq(bearer.expose().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_check_needs_the_exact_token() {
        let b = LocalBearer::new("s3cret");
        let mut h = HeaderMap::new();
        assert!(!bearer_matches(&h, &b));
        h.insert(header::AUTHORIZATION, "Bearer s3cret".parse().expect("hv"));
        assert!(bearer_matches(&h, &b));
        h.insert(header::AUTHORIZATION, "bearer s3cret".parse().expect("hv"));
        assert!(bearer_matches(&h, &b));
        h.insert(header::AUTHORIZATION, "Bearer s3cre".parse().expect("hv"));
        assert!(!bearer_matches(&h, &b));
        h.insert(header::AUTHORIZATION, "Basic s3cret".parse().expect("hv"));
        assert!(!bearer_matches(&h, &b));
    }

    #[test]
    fn generated_bearers_are_long_and_distinct() {
        let a = generate_bearer();
        let b = generate_bearer();
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a.expose(), b.expose());
    }
}
