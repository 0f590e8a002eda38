//! The loopback listener that receives the browser's redirect after a PKCE sign-in, served
//! by axum. It binds 127.0.0.1 and [::1] only (browsers resolve `localhost` to either) and
//! refuses to start when either is taken. Only the tenant's redirect, a request for `/` that
//! carries the `state` we sent (compared in constant time), ends the wait; anything else (a
//! wrong or missing state, a foreign `Referer`, another path) gets a 400 page and the wait
//! goes on, so a web page cannot abort a sign-in by loading `http://localhost:3000/?state=x`.
//! The wait ends after the timeout, on cancel, or when its future is dropped, and then the
//! port is released.

use std::future::IntoFuture;
use std::io::ErrorKind;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::error::AuthError;
use crate::secret::AuthCode;
use crate::text::{cap, error_body};

/// How long connections still open when the wait ends may take to finish their response.
const GRACE: Duration = Duration::from_secs(5);

/// Ephemeral ports (port 0) tried before giving up when [::1] has the port 127.0.0.1 got.
const EPHEMERAL_TRIES: usize = 8;

/// Loopback listeners for the redirect, bound and not yet serving.
#[derive(Debug)]
pub struct RedirectListener {
    listeners: Vec<TcpListener>,
    port: u16,
}

impl RedirectListener {
    /// Binds `127.0.0.1:<port>` and `[::1]:<port>` (`0`: a free port). Either address in use
    /// is [`AuthError::PortInUse`]: another program on `[::1]` would receive the redirect of
    /// a browser that resolves `localhost` to it. A machine without an IPv6 loopback gets the
    /// IPv4 listener alone.
    pub async fn bind(port: u16) -> Result<Self, AuthError> {
        let mut tries = if port == 0 { EPHEMERAL_TRIES } else { 1 };
        loop {
            let v4 = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
                .await
                .map_err(|e| listen_error(port, &e))?;
            let bound = v4.local_addr().map_err(|e| listen_error(port, &e))?.port();
            match TcpListener::bind((Ipv6Addr::LOCALHOST, bound)).await {
                Ok(v6) => {
                    return Ok(Self {
                        listeners: vec![v4, v6],
                        port: bound,
                    })
                }
                Err(e) if e.kind() == ErrorKind::AddrInUse => {
                    tries -= 1;
                    if tries == 0 {
                        return Err(AuthError::PortInUse { port: bound });
                    }
                }
                Err(e) => {
                    tracing::info!(error = %e, "no IPv6 loopback: the sign-in redirect is received on 127.0.0.1 only");
                    return Ok(Self {
                        listeners: vec![v4],
                        port: bound,
                    });
                }
            }
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://localhost:<port>`: what the tenant has registered.
    pub fn redirect_uri(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// Serves until the tenant's redirect arrives and returns its code (or its denial), or
    /// until `timeout` or `cancel`. Other requests are refused with a 400 page and counted;
    /// a timeout after refusals says how many there were and why the last was refused.
    pub async fn wait_for_code(
        self,
        expected_state: &str,
        tenant_host: &str,
        timeout: Duration,
        cancel: CancellationToken,
    ) -> Result<AuthCode, AuthError> {
        let (tx, rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            expected_state: expected_state.to_string(),
            tenant_host: tenant_host.to_string(),
            outcome: Mutex::new(Some(tx)),
            refusals: Mutex::new((0, String::new())),
        });
        let router = Router::new().fallback(handle).with_state(shared.clone());
        let stop = CancellationToken::new();
        // Whichever way this future ends (or is dropped), the listeners stop accepting.
        let _stop = stop.clone().drop_guard();
        for listener in self.listeners {
            tokio::spawn(serve(listener, router.clone(), stop.clone()));
        }
        let minutes = u64::try_from(timeout.as_millis().div_ceil(60_000))
            .unwrap_or(u64::MAX)
            .max(1);
        tokio::select! {
            _ = cancel.cancelled() => Err(AuthError::Cancelled),
            _ = tokio::time::sleep(timeout) => Err(shared.timeout_error(minutes)),
            outcome = rx => outcome.unwrap_or(Err(AuthError::Cancelled)),
        }
    }
}

fn listen_error(port: u16, e: &std::io::Error) -> AuthError {
    match e.kind() {
        ErrorKind::AddrInUse => AuthError::PortInUse { port },
        _ => AuthError::Listen {
            port,
            detail: e.to_string(),
        },
    }
}

/// Serves one listener until `stop`, then lets open connections finish for [`GRACE`].
async fn serve(listener: TcpListener, router: Router, stop: CancellationToken) {
    let server = axum::serve(listener, router)
        .with_graceful_shutdown(stop.clone().cancelled_owned())
        .into_future();
    let grace_over = async {
        stop.cancelled().await;
        tokio::time::sleep(GRACE).await;
    };
    tokio::select! {
        result = server => {
            if let Err(e) = result {
                tracing::warn!(error = %e, "the sign-in redirect listener failed");
            }
        }
        _ = grace_over => {}
    }
}

struct Shared {
    expected_state: String,
    tenant_host: String,
    /// Taken by the request that ends the wait.
    outcome: Mutex<Option<oneshot::Sender<Result<AuthCode, AuthError>>>>,
    /// How many requests were refused, and why the last one was.
    refusals: Mutex<(u32, String)>,
}

impl Shared {
    /// Ends the wait; false when it had already ended.
    fn finish(&self, outcome: Result<AuthCode, AuthError>) -> bool {
        let sender = self.outcome.lock().ok().and_then(|mut o| o.take());
        sender.is_some_and(|s| s.send(outcome).is_ok())
    }

    fn refused(&self, reason: String) {
        tracing::warn!(%reason, "the sign-in redirect listener refused a request");
        if let Ok(mut r) = self.refusals.lock() {
            r.0 = r.0.saturating_add(1);
            r.1 = reason;
        }
    }

    fn timeout_error(&self, minutes: u64) -> AuthError {
        match self.refusals.lock().ok().map(|r| r.clone()) {
            Some((refused, last)) if refused > 0 => AuthError::TimeoutAfterRefusals {
                minutes,
                refused,
                last,
            },
            _ => AuthError::Timeout { minutes },
        }
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    match judge(
        &method,
        &uri,
        &headers,
        &shared.expected_state,
        &shared.tenant_host,
    ) {
        Verdict::Code(code) => {
            if shared.finish(Ok(code)) {
                page(StatusCode::OK, None)
            } else {
                page(
                    StatusCode::BAD_REQUEST,
                    Some("This sign-in has already finished"),
                )
            }
        }
        Verdict::End(error, detail) => {
            shared.finish(Err(error));
            page(StatusCode::BAD_REQUEST, Some(&detail))
        }
        Verdict::Refuse { reason, detail } => {
            shared.refused(reason);
            page(StatusCode::BAD_REQUEST, Some(detail))
        }
    }
}

/// What the listener makes of one request.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// The tenant's redirect with a code: the wait ends with it.
    Code(AuthCode),
    /// The tenant's redirect without a code (a denial): the wait ends with this error; the
    /// page shows the detail.
    End(AuthError, String),
    /// Not the tenant's redirect: a 400 page with `detail`, and the wait goes on.
    Refuse {
        reason: String,
        detail: &'static str,
    },
}

/// The reference's checks in its order (origin, state present, state equal, code), after
/// one of ours: the redirect is a GET for `/`.
fn judge(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    expected_state: &str,
    tenant_host: &str,
) -> Verdict {
    if method != Method::GET || uri.path() != "/" {
        return Verdict::Refuse {
            reason: format!(
                "not the sign-in redirect: {method} {}",
                cap(uri.path(), 100)
            ),
            detail: "Not the sign-in redirect",
        };
    }
    let header = |name: &str| headers.get(name).map(|v| v.to_str().ok());
    let source = header(header::REFERER.as_str())
        .or_else(|| header("referrer"))
        .or_else(|| header(header::ORIGIN.as_str()));
    if let Some(source) = source {
        let host = source
            .and_then(|s| url::Url::parse(s).ok())
            .map(|u| u.host_str().unwrap_or("").to_string());
        let refusal = match host {
            None => Some(AuthError::Origin("invalid URL format".into())),
            Some(h) if !h.eq_ignore_ascii_case(tenant_host) => {
                Some(AuthError::Origin("hostname mismatch".into()))
            }
            Some(_) => None,
        };
        if let Some(e) = refusal {
            return Verdict::Refuse {
                reason: e.to_string(),
                detail: "Invalid request origin",
            };
        }
    }
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let Some(state) = get("state") else {
        return Verdict::Refuse {
            reason: AuthError::StateMissing.to_string(),
            detail: "Missing state parameter",
        };
    };
    let equal = state.len() == expected_state.len()
        && bool::from(state.as_bytes().ct_eq(expected_state.as_bytes()));
    if !equal {
        return Verdict::Refuse {
            reason: AuthError::StateMismatch.to_string(),
            detail: "Invalid state parameter",
        };
    }
    if let Some(error) = get("error") {
        let error = error_body(error);
        let description = get("error_description").map(error_body);
        let detail = match &description {
            Some(d) => format!("The sign-in was denied: {error} ({d})"),
            None => format!("The sign-in was denied: {error}"),
        };
        return Verdict::End(AuthError::Denied { error, description }, detail);
    }
    match get("code") {
        Some(code) if !code.is_empty() => Verdict::Code(AuthCode::new(code)),
        _ => Verdict::End(AuthError::NoCode, "No authorization code received".into()),
    }
}

fn page(status: StatusCode, error: Option<&str>) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        result_page(error),
    )
        .into_response()
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
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    const HOST: &str = "t.example.com";

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

    fn verdict(method: Method, target: &str, headers: &[(&'static str, &str)]) -> Verdict {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, v.parse().expect("header value"));
        }
        judge(&method, &target.parse().expect("uri"), &map, "STATE", HOST)
    }

    fn refusal(v: Verdict) -> (String, &'static str) {
        match v {
            Verdict::Refuse { reason, detail } => (reason, detail),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn only_the_tenants_redirect_ends_the_wait() {
        assert_eq!(
            verdict(
                Method::GET,
                "/?code=abc&state=STATE",
                &[("referer", "https://T.example.com/am/")]
            ),
            Verdict::Code(AuthCode::new("abc"))
        );
        assert_eq!(
            verdict(Method::GET, "/?code=abc&state=STATE", &[]),
            Verdict::Code(AuthCode::new("abc")),
            "no Referer: the check is skipped (contract §2.4)"
        );
        assert_eq!(
            refusal(verdict(Method::GET, "/?code=abc&state=WRONG", &[])),
            (
                "CSRF protection failed: state mismatch".into(),
                "Invalid state parameter"
            )
        );
        assert_eq!(
            refusal(verdict(Method::GET, "/?code=abc&state=STATEX", &[])).1,
            "Invalid state parameter"
        );
        assert_eq!(
            refusal(verdict(Method::GET, "/?code=abc", &[])),
            (
                "CSRF protection failed: state parameter missing".into(),
                "Missing state parameter"
            )
        );
        assert_eq!(
            refusal(verdict(
                Method::GET,
                "/?code=abc&state=STATE",
                &[("referer", "https://evil.example.com/")]
            )),
            (
                "Origin validation failed: hostname mismatch".into(),
                "Invalid request origin"
            )
        );
        assert_eq!(
            refusal(verdict(
                Method::GET,
                "/?code=abc&state=STATE",
                &[("origin", "not a url")]
            ))
            .0,
            "Origin validation failed: invalid URL format"
        );
        assert_eq!(
            refusal(verdict(Method::GET, "/favicon.ico?state=STATE&code=x", &[])).1,
            "Not the sign-in redirect"
        );
        assert_eq!(
            refusal(verdict(Method::POST, "/?state=STATE&code=x", &[])).1,
            "Not the sign-in redirect"
        );
    }

    #[test]
    fn the_tenants_redirect_without_a_code_ends_the_wait_with_its_error() {
        assert_eq!(
            verdict(
                Method::GET,
                "/?error=access_denied&error_description=User+said+no&state=STATE",
                &[]
            ),
            Verdict::End(
                AuthError::Denied {
                    error: "access_denied".into(),
                    description: Some("User said no".into()),
                },
                "The sign-in was denied: access_denied (User said no)".into()
            )
        );
        assert_eq!(
            verdict(Method::GET, "/?state=STATE", &[]),
            Verdict::End(AuthError::NoCode, "No authorization code received".into())
        );
    }

    async fn get(port: u16, target: &str, extra: &str) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let req = format!(
            "GET {target} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n{extra}\r\n"
        );
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

    fn wait(
        l: RedirectListener,
        timeout: Duration,
    ) -> tokio::task::JoinHandle<Result<AuthCode, AuthError>> {
        tokio::spawn(l.wait_for_code("STATE", HOST, timeout, CancellationToken::new()))
    }

    #[tokio::test]
    async fn forged_and_stray_requests_are_refused_and_the_real_redirect_still_completes() {
        let l = RedirectListener::bind(0).await.expect("bind");
        let port = l.port();
        let waiter = wait(l, Duration::from_secs(30));
        for (target, extra, detail) in [
            ("/favicon.ico", "", "Not the sign-in redirect"),
            ("/?state=x", "", "Invalid state parameter"),
            ("/?code=abc&state=WRONG", "", "Invalid state parameter"),
            ("/?code=abc", "", "Missing state parameter"),
            (
                "/?code=abc&state=STATE",
                "Referer: https://evil.example.com/\r\n",
                "Invalid request origin",
            ),
        ] {
            let (status, page) = get(port, target, extra).await;
            assert_eq!(status, 400, "{target}");
            assert!(page.contains("Authorization Failed"), "{target}");
            assert!(page.contains(detail), "{target}: {page}");
            assert!(!waiter.is_finished(), "{target} must not end the wait");
        }
        let (status, page) = get(
            port,
            "/?code=abc&state=STATE",
            "Referer: https://t.example.com/am/\r\n",
        )
        .await;
        assert_eq!(status, 200);
        assert!(page.contains("Authorization Successful"));
        assert!(page.contains("text/html; charset=utf-8"));
        let code = waiter.await.expect("join").expect("code");
        assert_eq!(code.expose(), "abc");
    }

    #[tokio::test]
    async fn a_denial_with_the_right_state_ends_the_wait() {
        let l = RedirectListener::bind(0).await.expect("bind");
        let port = l.port();
        let waiter = wait(l, Duration::from_secs(30));
        let (status, page) = get(port, "/?error=access_denied&state=STATE", "").await;
        assert_eq!(status, 400);
        assert!(page.contains("The sign-in was denied: access_denied"));
        assert_eq!(
            waiter.await.expect("join"),
            Err(AuthError::Denied {
                error: "access_denied".into(),
                description: None
            })
        );
    }

    #[tokio::test]
    async fn a_timeout_after_refusals_says_so() {
        let l = RedirectListener::bind(0).await.expect("bind");
        let port = l.port();
        let waiter = wait(l, Duration::from_millis(700));
        let (status, _) = get(port, "/?code=abc&state=forged", "").await;
        assert_eq!(status, 400);
        let e = waiter.await.expect("join").expect_err("timed out");
        assert_eq!(
            e,
            AuthError::TimeoutAfterRefusals {
                minutes: 1,
                refused: 1,
                last: "CSRF protection failed: state mismatch".into()
            }
        );
        assert!(e
            .to_string()
            .starts_with("Authentication timeout: User did not complete login within 1 minutes"));
        assert_eq!(e.code(), "Timeout");
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

    /// Binding succeeds when the port is free again (the old listener may take a moment to
    /// close after its task is told to stop).
    async fn rebinds(port: u16) -> bool {
        for _ in 0..100 {
            if RedirectListener::bind(port).await.is_ok() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    #[tokio::test]
    async fn an_abandoned_login_releases_the_port() {
        let l = RedirectListener::bind(0).await.expect("bind");
        let port = l.port();
        let waiter = wait(l, Duration::from_secs(60));
        // A refused request proves the listener is serving before the wait is dropped.
        assert_eq!(get(port, "/favicon.ico", "").await.0, 400);
        assert!(
            RedirectListener::bind(port).await.is_err(),
            "held while waiting"
        );
        waiter.abort();
        assert!(
            rebinds(port).await,
            "the port is free again after the login future was dropped"
        );
    }

    #[tokio::test]
    async fn a_finished_wait_releases_the_port() {
        let l = RedirectListener::bind(0).await.expect("bind");
        let port = l.port();
        let waiter = wait(l, Duration::from_secs(60));
        assert_eq!(get(port, "/?code=c&state=STATE", "").await.0, 200);
        assert!(waiter.await.expect("join").is_ok());
        assert!(rebinds(port).await);
    }

    #[tokio::test]
    async fn busy_port_is_a_clear_error() {
        let held = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
        let port = held.local_addr().expect("addr").port();
        let e = RedirectListener::bind(port).await.expect_err("busy");
        assert_eq!(e, AuthError::PortInUse { port });
        assert!(e.to_string().contains("already in use"));
    }

    #[tokio::test]
    async fn a_port_taken_on_ipv6_loopback_is_busy_too() {
        // Another program holds [::1]:<port> while 127.0.0.1:<port> is free.
        let held = match std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, 0)) {
            Ok(l) => l,
            Err(e) if !ipv6_required() => {
                eprintln!("skipped: no IPv6 loopback here ({e})");
                return;
            }
            Err(e) => panic!("no IPv6 loopback: {e}"),
        };
        let port = held.local_addr().expect("addr").port();
        assert!(
            std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok(),
            "127.0.0.1:{port} is free"
        );
        let e = RedirectListener::bind(port).await.expect_err("busy on ::1");
        assert_eq!(e, AuthError::PortInUse { port });
    }

    /// CI machines have an IPv6 loopback; a developer's machine may not.
    fn ipv6_required() -> bool {
        std::env::var("CI").is_ok_and(|v| v == "true")
    }
}
