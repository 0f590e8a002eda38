//! Authorization code + PKCE (contract §2.4–§2.5) with our fixes: the redirect listener
//! binds loopback only, ignores stray requests (a favicon fetch), compares `state` in
//! constant time, times out after five minutes and serves a self-contained result page.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::error::AuthError;
use crate::config::TenantUrl;
use crate::secret::{AuthCode, PkceVerifier};

/// A PKCE verifier and its S256 challenge.
#[derive(Debug, Clone)]
pub struct PkcePair {
    pub verifier: PkceVerifier,
    pub challenge: String,
}

/// 32 random bytes → a 43-character base64url verifier; challenge = base64url(SHA-256).
pub fn generate_pkce() -> PkcePair {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    PkcePair {
        verifier: PkceVerifier::new(verifier),
        challenge,
    }
}

/// 16 random bytes, base64url (22 characters).
pub fn random_state() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The authorize URL with the reference's parameters in the reference's order.
pub fn authorize_url(
    tenant: &TenantUrl,
    client_id: &str,
    scopes: &str,
    redirect_uri: &str,
    challenge: &str,
    state: &str,
) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("scope", scopes)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", state)
        .finish();
    format!("{}/am/oauth2/authorize?{query}", tenant.origin())
}

/// Loopback listeners for the redirect (127.0.0.1, and [::1] when available, since
/// browsers may resolve `localhost` to either).
#[derive(Debug)]
pub struct RedirectListener {
    listeners: Vec<TcpListener>,
    port: u16,
}

impl RedirectListener {
    pub async fn bind(port: u16) -> Result<Self, AuthError> {
        let v4 = TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AddrInUse => AuthError::PortInUse { port },
                _ => AuthError::Listen {
                    port,
                    detail: e.to_string(),
                },
            })?;
        let port = v4.local_addr().map(|a| a.port()).unwrap_or(port);
        let mut listeners = vec![v4];
        if let Ok(v6) = TcpListener::bind(("::1", port)).await {
            listeners.push(v6);
        }
        Ok(Self { listeners, port })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://localhost:<port>` — what the tenant has registered.
    pub fn redirect_uri(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// Serves requests until one carries `code`, `state` or `error`, validates it and
    /// answers with the result page. Stray requests get a 404 and are otherwise ignored.
    pub async fn wait_for_code(
        self,
        expected_state: &str,
        tenant_host: &str,
        timeout: Duration,
        cancel: CancellationToken,
    ) -> Result<AuthCode, AuthError> {
        let (tx, mut rx) = mpsc::channel::<Incoming>(8);
        let accept_cancel = cancel.child_token();
        // If this future is dropped (the tool call was cancelled), the acceptors stop and
        // the port is released.
        let _stop_acceptors = accept_cancel.clone().drop_guard();
        for listener in self.listeners {
            let tx = tx.clone();
            let stop = accept_cancel.clone();
            tokio::spawn(async move {
                loop {
                    let conn = tokio::select! {
                        _ = stop.cancelled() => break,
                        c = listener.accept() => c,
                    };
                    let Ok((stream, _)) = conn else { continue };
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        if let Some(incoming) = read_request(stream).await {
                            let _ = tx.send(incoming).await;
                        }
                    });
                }
            });
        }
        drop(tx);
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let minutes = u64::try_from(timeout.as_millis().div_ceil(60_000))
            .unwrap_or(u64::MAX)
            .max(1);
        let result = loop {
            let incoming = tokio::select! {
                _ = cancel.cancelled() => break Err(AuthError::Cancelled),
                _ = &mut deadline => break Err(AuthError::Timeout { minutes }),
                m = rx.recv() => match m {
                    Some(m) => m,
                    None => break Err(AuthError::Cancelled),
                },
            };
            let params = &incoming.params;
            let has = |k: &str| params.iter().any(|(key, _)| key == k);
            let relevant = has("code") || has("state") || has("error");
            let checked = check_redirect(&incoming, expected_state, tenant_host);
            let mut stream = incoming.stream;
            if !relevant {
                respond(&mut stream, 404, "text/plain; charset=utf-8", "Not found").await;
                continue;
            }
            match checked {
                Ok(code) => {
                    respond(
                        &mut stream,
                        200,
                        "text/html; charset=utf-8",
                        &result_page(None),
                    )
                    .await;
                    break Ok(code);
                }
                Err((status, detail, err)) => {
                    let page = result_page(Some(&detail));
                    respond(&mut stream, status, "text/html; charset=utf-8", &page).await;
                    break Err(err);
                }
            }
        };
        result
    }
}

struct Incoming {
    stream: TcpStream,
    params: Vec<(String, String)>,
    referer: Option<String>,
    origin: Option<String>,
}

/// Reads one HTTP/1.x request head (8 KiB at most, 10 s at most).
async fn read_request(mut stream: TcpStream) -> Option<Incoming> {
    let mut buf = Vec::with_capacity(1024);
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut chunk = [0u8; 1024];
        loop {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                return Some(());
            }
            if buf.len() > 8192 {
                return None;
            }
        }
    })
    .await;
    if !matches!(read, Ok(Some(()))) {
        return None;
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?;
    let mut parts = request_line.split(' ');
    let _method = parts.next()?;
    let target = parts.next()?;
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    let params = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut referer = None;
    let mut origin = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim().to_ascii_lowercase();
            let value = value.trim().to_string();
            match name.as_str() {
                "referer" | "referrer" if referer.is_none() => referer = Some(value),
                "origin" => origin = Some(value),
                _ => {}
            }
        }
    }
    Some(Incoming {
        stream,
        params,
        referer,
        origin,
    })
}

/// The reference's checks in its order, plus an explicit answer for `error=` redirects.
fn check_redirect(
    incoming: &Incoming,
    expected_state: &str,
    tenant_host: &str,
) -> Result<AuthCode, (u16, String, AuthError)> {
    let get = |k: &str| {
        incoming
            .params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    if let Some(source) = incoming.referer.as_deref().or(incoming.origin.as_deref()) {
        match url::Url::parse(source) {
            Err(_) => {
                return Err((
                    403,
                    "Invalid request origin".into(),
                    AuthError::Origin("invalid URL format".into()),
                ))
            }
            Ok(u) => {
                let host = u.host_str().unwrap_or("").to_ascii_lowercase();
                if host != tenant_host.to_ascii_lowercase() {
                    return Err((
                        403,
                        "Invalid request origin".into(),
                        AuthError::Origin("hostname mismatch".into()),
                    ));
                }
            }
        }
    }
    let Some(state) = get("state") else {
        return Err((
            400,
            "Missing state parameter".into(),
            AuthError::StateMissing,
        ));
    };
    let equal = state.len() == expected_state.len()
        && bool::from(state.as_bytes().ct_eq(expected_state.as_bytes()));
    if !equal {
        return Err((
            400,
            "Invalid state parameter".into(),
            AuthError::StateMismatch,
        ));
    }
    if let Some(error) = get("error") {
        let description = get("error_description").map(str::to_string);
        let detail = match &description {
            Some(d) => format!("The sign-in was denied: {error} ({d})"),
            None => format!("The sign-in was denied: {error}"),
        };
        return Err((
            400,
            detail,
            AuthError::Denied {
                error: error.to_string(),
                description,
            },
        ));
    }
    match get("code") {
        Some(code) if !code.is_empty() => Ok(AuthCode::new(code)),
        _ => Err((
            400,
            "No authorization code received".into(),
            AuthError::NoCode,
        )),
    }
}

async fn respond(stream: &mut TcpStream, status: u16, content_type: &str, body: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        _ => "Not Found",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The redirect listener's page: self-contained (no external assets). Success closes the
/// window after a 3-second countdown; failure shows the detail.
pub fn result_page(error: Option<&str>) -> String {
    let (heading, subtitle, body, script) = match error {
        None => (
            "Authorization Successful",
            "AIC MCP can now call PingOne Advanced Identity Cloud APIs with your permissions.",
            r#"<p id="countdown">This window will close in 3 seconds…</p>"#.to_string(),
            r#"<script>let n=3;const el=document.getElementById('countdown');const t=setInterval(()=>{n-=1;if(n>0){el.textContent='This window will close in '+n+' seconds…';}else{clearInterval(t);window.close();el.textContent='You can close this window now.';}},1000);</script>"#,
        ),
        Some(detail) => (
            "Authorization Failed",
            "An error occurred during sign-in.",
            format!(
                r#"<div class="error">Error: {}</div><p>You can close this window and try again.</p>"#,
                html_escape(detail)
            ),
            "",
        ),
    };
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>PingOne AIC MCP Server - {heading}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f6f6f9;color:#23282e;display:flex;min-height:100vh;align-items:center;justify-content:center;margin:0}}
main{{background:#fff;border-radius:8px;box-shadow:0 2px 12px rgba(0,0,0,.08);padding:40px 48px;max-width:520px;text-align:center}}
h1{{font-size:1.5rem;margin:0 0 12px}} .error{{background:#fdecea;color:#b3261e;border-radius:4px;padding:12px;margin:16px 0;text-align:left;word-break:break-word}}
footer{{margin-top:24px;font-size:.8rem;color:#6b7280}}</style></head>
<body><main><h1>{heading}</h1><p>{subtitle}</p>{body}<footer>AIC MCP Desktop</footer></main>{script}</body></html>"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_pair_is_s256_and_unique() {
        let a = generate_pkce();
        let b = generate_pkce();
        assert_eq!(a.verifier.expose().len(), 43);
        assert_ne!(a.verifier.expose(), b.verifier.expose());
        let expect = URL_SAFE_NO_PAD.encode(Sha256::digest(a.verifier.expose().as_bytes()));
        assert_eq!(a.challenge, expect);
        assert_eq!(random_state().len(), 22);
    }

    #[test]
    fn authorize_url_has_the_reference_parameters_in_order() {
        let t = TenantUrl::parse("https://t.example.com").expect("url");
        let u = authorize_url(
            &t,
            "AICMCPClient",
            "fr:idm:* fr:am:*",
            "http://localhost:3000",
            "CH",
            "ST",
        );
        assert_eq!(
            u,
            "https://t.example.com/am/oauth2/authorize?response_type=code&client_id=AICMCPClient&scope=fr%3Aidm%3A*+fr%3Aam%3A*&redirect_uri=http%3A%2F%2Flocalhost%3A3000&code_challenge=CH&code_challenge_method=S256&state=ST"
        );
    }

    #[test]
    fn result_pages() {
        let ok = result_page(None);
        assert!(ok.contains("Authorization Successful") && ok.contains("window.close()"));
        let bad = result_page(Some("Invalid state parameter <x>"));
        assert!(
            bad.contains("Authorization Failed")
                && bad.contains("Invalid state parameter &lt;x&gt;")
        );
        assert!(!bad.contains("window.close()"));
        assert!(!ok.contains("https://"), "no external assets");
    }

    async fn get(port: u16, target: &str, extra: &str) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let req = format!("GET {target} HTTP/1.1\r\nHost: localhost:{port}\r\n{extra}\r\n");
        s.write_all(req.as_bytes()).await.expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).await.expect("read");
        let status = out
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (status, out)
    }

    #[tokio::test]
    async fn listener_ignores_strays_and_accepts_the_right_state() {
        let l = RedirectListener::bind(0).await.expect("bind");
        let port = l.port();
        let waiter = tokio::spawn(l.wait_for_code(
            "STATE",
            "t.example.com",
            Duration::from_secs(10),
            CancellationToken::new(),
        ));
        let (status, _) = get(port, "/favicon.ico", "").await;
        assert_eq!(status, 404);
        let (status, page) = get(
            port,
            "/?code=abc&state=STATE",
            "Referer: https://t.example.com/am/\r\n",
        )
        .await;
        assert_eq!(status, 200);
        assert!(page.contains("Authorization Successful"));
        let code = waiter.await.expect("join").expect("code");
        assert_eq!(code.expose(), "abc");
    }

    #[tokio::test]
    async fn listener_rejects_wrong_state_denial_and_foreign_referer() {
        for (target, extra, expected) in [
            ("/?code=abc&state=WRONG", "", AuthError::StateMismatch),
            ("/?code=abc", "", AuthError::StateMissing),
            ("/?state=STATE", "", AuthError::NoCode),
            (
                "/?error=access_denied&error_description=User+said+no&state=STATE",
                "",
                AuthError::Denied {
                    error: "access_denied".into(),
                    description: Some("User said no".into()),
                },
            ),
            (
                "/?code=abc&state=STATE",
                "Referer: https://evil.example.com/\r\n",
                AuthError::Origin("hostname mismatch".into()),
            ),
        ] {
            let l = RedirectListener::bind(0).await.expect("bind");
            let port = l.port();
            let waiter = tokio::spawn(l.wait_for_code(
                "STATE",
                "t.example.com",
                Duration::from_secs(10),
                CancellationToken::new(),
            ));
            let (status, page) = get(port, target, extra).await;
            assert!(status == 400 || status == 403, "{target}: {status}");
            assert!(page.contains("Authorization Failed"));
            assert_eq!(waiter.await.expect("join"), Err(expected));
        }
    }

    #[tokio::test]
    async fn listener_times_out_and_cancels() {
        let l = RedirectListener::bind(0).await.expect("bind");
        let r = l
            .wait_for_code(
                "S",
                "h",
                Duration::from_millis(50),
                CancellationToken::new(),
            )
            .await;
        assert_eq!(r, Err(AuthError::Timeout { minutes: 1 }));
        let l = RedirectListener::bind(0).await.expect("bind");
        let cancel = CancellationToken::new();
        cancel.cancel();
        let r = l
            .wait_for_code("S", "h", Duration::from_secs(5), cancel)
            .await;
        assert_eq!(r, Err(AuthError::Cancelled));
    }

    #[tokio::test]
    async fn an_abandoned_login_releases_the_port() {
        let l = RedirectListener::bind(0).await.expect("bind");
        let port = l.port();
        let waiter = tokio::spawn(l.wait_for_code(
            "S",
            "h",
            Duration::from_secs(60),
            CancellationToken::new(),
        ));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            RedirectListener::bind(port).await.is_err(),
            "held while waiting"
        );
        waiter.abort();
        let mut rebound = false;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if RedirectListener::bind(port).await.is_ok() {
                rebound = true;
                break;
            }
        }
        assert!(
            rebound,
            "the port is free again after the login future was dropped"
        );
    }

    #[tokio::test]
    async fn busy_port_is_a_clear_error() {
        let held = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
        let port = held.local_addr().expect("addr").port();
        let e = RedirectListener::bind(port).await.expect_err("busy");
        assert_eq!(e, AuthError::PortInUse { port });
        assert!(e.to_string().contains("already in use"));
    }
}
