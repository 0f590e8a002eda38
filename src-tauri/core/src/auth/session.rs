//! The session: one primary token per tenant, shared by every MCP client; single-flight
//! login; per-call scoped tokens from RFC 8693 exchange; expiry with a 60 s skew.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::browser::BrowserOpener;
use super::device::{login_device, DevicePrompt, StderrPrompt};
use super::error::AuthError;
use super::exchange::{exchange, redeem_code, refresh, Tokens};
use super::http::login_client;
use super::pkce::{authorize_url, fresh_secrets};
use super::redirect::RedirectListener;
use super::store::{StoreKind, StoredToken, TokenStore};
use crate::activity::{now_rfc3339, ActivityEvent, AuthAction};
use crate::clock::Clock;
use crate::config::LoginMode;
use crate::secret::{AccessToken, RefreshToken};
use crate::tenant::TenantClient;

/// A stored token is used only while `now + SKEW < expiresAt`.
pub const SKEW_MS: i64 = 60_000;

/// How logins happen.
#[derive(Debug, Clone)]
pub struct LoginOptions {
    pub mode: LoginMode,
    /// The loopback port of the PKCE redirect (`http://localhost:<port>`).
    pub redirect_port: u16,
    /// How long the admin has to finish a browser login.
    pub login_timeout: Duration,
    /// Start a login when a tool needs a token and none is valid (headless server).
    /// When false (desktop), such a call fails with "Not signed in" instead.
    pub interactive_on_demand: bool,
    pub scopes: String,
}

impl LoginOptions {
    pub fn new(mode: LoginMode, redirect_port: u16) -> Self {
        Self {
            mode,
            redirect_port,
            login_timeout: Duration::from_secs(300),
            interactive_on_demand: true,
            scopes: super::LOGIN_SCOPES.to_string(),
        }
    }
}

/// Where the login stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    SignedOut,
    SigningIn,
    SignedIn,
}

/// What a status display needs; never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionStatus {
    pub state: SessionState,
    pub tenant: String,
    /// Epoch milliseconds of the primary token's expiry.
    pub expires_at_ms: Option<i64>,
    /// The URL the admin must open (device flow) or that was opened (PKCE).
    pub login_url: Option<String>,
    pub user_code: Option<String>,
    pub last_error: Option<String>,
    /// Where the token is kept (`None` before a core runs).
    pub token_store: Option<StoreKind>,
    /// The signed-in admin (`authenticationId` from IDM's `/openidm/info/login`), once known.
    pub admin: Option<String>,
}

impl SessionStatus {
    /// Nobody signed in to `tenant` (also what a host shows before its core runs).
    pub fn signed_out(tenant: &str) -> Self {
        Self {
            state: SessionState::SignedOut,
            tenant: tenant.to_string(),
            expires_at_ms: None,
            login_url: None,
            user_code: None,
            last_error: None,
            token_store: None,
            admin: None,
        }
    }
}

#[derive(Debug, Clone)]
struct Primary {
    token: AccessToken,
    expires_at: i64,
    refresh: Option<RefreshToken>,
}

/// The login state of one tenant.
pub struct Session {
    client: TenantClient,
    store: Arc<dyn TokenStore>,
    clock: Arc<dyn Clock>,
    browser: Arc<dyn BrowserOpener>,
    opts: LoginOptions,
    primary: Mutex<Option<Primary>>,
    login_lock: tokio::sync::Mutex<()>,
    attempts: AtomicU64,
    last_failure: Mutex<Option<(u64, AuthError)>>,
    store_checked: AtomicBool,
    status: watch::Sender<SessionStatus>,
    login_cancel: Mutex<CancellationToken>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("tenant", &self.tenant())
            .field("state", &self.status().state)
            .finish_non_exhaustive()
    }
}

impl Session {
    pub fn new(
        client: TenantClient,
        store: Arc<dyn TokenStore>,
        clock: Arc<dyn Clock>,
        browser: Arc<dyn BrowserOpener>,
        opts: LoginOptions,
    ) -> Arc<Self> {
        let status = SessionStatus {
            state: SessionState::SignedOut,
            tenant: client.tenant().host_key(),
            expires_at_ms: None,
            login_url: None,
            user_code: None,
            last_error: None,
            token_store: Some(store.kind()),
            admin: None,
        };
        let (tx, _) = watch::channel(status);
        Arc::new(Self {
            client,
            store,
            clock,
            browser,
            opts,
            primary: Mutex::new(None),
            login_lock: tokio::sync::Mutex::new(()),
            attempts: AtomicU64::new(0),
            last_failure: Mutex::new(None),
            store_checked: AtomicBool::new(false),
            status: tx,
            login_cancel: Mutex::new(CancellationToken::new()),
        })
    }

    pub fn tenant(&self) -> String {
        self.client.tenant().host_key()
    }

    pub fn client(&self) -> &TenantClient {
        &self.client
    }

    pub fn status(&self) -> SessionStatus {
        self.status.borrow().clone()
    }

    pub fn subscribe_status(&self) -> watch::Receiver<SessionStatus> {
        self.status.subscribe()
    }

    fn set_status(&self, f: impl FnOnce(&mut SessionStatus)) {
        self.status.send_modify(f);
    }

    fn publish(&self, action: AuthAction, detail: Option<String>) {
        self.client.bus().publish(ActivityEvent::Auth {
            at: now_rfc3339(),
            action,
            tenant: self.tenant(),
            detail,
        });
    }

    fn valid(&self, expires_at: i64) -> bool {
        self.clock.now_ms() + SKEW_MS < expires_at
    }

    fn valid_in_memory(&self) -> Option<AccessToken> {
        let guard = self.primary.lock().ok()?;
        guard
            .as_ref()
            .filter(|p| self.valid(p.expires_at))
            .map(|p| p.token.clone())
    }

    /// Reads the keychain once at start so a still-valid login survives restarts.
    pub async fn restore(&self) -> bool {
        let _g = self.login_lock.lock().await;
        self.restore_locked().await
    }

    async fn restore_locked(&self) -> bool {
        if self.store_checked.swap(true, Ordering::SeqCst) {
            return self.valid_in_memory().is_some();
        }
        let stored = match self.store.load(&self.tenant()).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the stored token");
                self.set_status(|s| s.last_error = Some(e.to_string()));
                None
            }
        };
        let Some(stored) = stored else { return false };
        if stored.aic_base_url != self.tenant() {
            tracing::info!("the stored token belongs to another tenant; ignoring it");
            return false;
        }
        let valid = self.valid(stored.expires_at);
        let subject = stored.subject.clone();
        if let Ok(mut p) = self.primary.lock() {
            *p = Some(Primary {
                token: stored.access_token,
                expires_at: stored.expires_at,
                refresh: stored.refresh_token,
            });
        }
        if valid {
            self.set_status(|s| {
                s.state = SessionState::SignedIn;
                s.expires_at_ms = Some(stored.expires_at);
                s.last_error = None;
                s.admin = subject;
            });
            self.publish(AuthAction::TokenRestored, None);
        }
        valid
    }

    /// The primary token, logging in when needed (and allowed).
    pub async fn primary_token(
        &self,
        prompt: Option<&dyn DevicePrompt>,
    ) -> Result<AccessToken, AuthError> {
        self.acquire(prompt, self.opts.interactive_on_demand).await
    }

    /// An explicit login (the desktop's Log in button). Returns at once when signed in.
    pub async fn login(&self, prompt: Option<&dyn DevicePrompt>) -> Result<(), AuthError> {
        self.acquire(prompt, true).await.map(|_| ())
    }

    async fn acquire(
        &self,
        prompt: Option<&dyn DevicePrompt>,
        interactive: bool,
    ) -> Result<AccessToken, AuthError> {
        if let Some(t) = self.valid_in_memory() {
            return Ok(t);
        }
        let seen = self.attempts.load(Ordering::SeqCst);
        let _g = self.login_lock.lock().await;
        if let Some(t) = self.valid_in_memory() {
            return Ok(t);
        }
        // Single flight: a login that failed while we waited fails us too.
        if self.attempts.load(Ordering::SeqCst) != seen {
            if let Some((n, e)) = self.last_failure.lock().ok().and_then(|f| f.clone()) {
                if n > seen {
                    return Err(e);
                }
            }
        }
        if self.restore_locked().await {
            if let Some(t) = self.valid_in_memory() {
                return Ok(t);
            }
        }
        if let Some(t) = self.try_refresh().await {
            return Ok(t);
        }
        if !interactive {
            return Err(AuthError::NotLoggedIn {
                tenant: self.tenant(),
            });
        }
        self.interactive(prompt).await
    }

    async fn try_refresh(&self) -> Option<AccessToken> {
        let rt = self.primary.lock().ok()?.as_ref()?.refresh.clone()?;
        match refresh(&self.client, &rt).await {
            Ok(tokens) => {
                let token = self.accept(tokens).await;
                self.publish(AuthAction::TokenRefreshed, None);
                Some(token)
            }
            Err(e) => {
                tracing::info!(error = %e, "refresh failed; a new login is needed");
                if let Ok(mut p) = self.primary.lock() {
                    if let Some(p) = p.as_mut() {
                        p.refresh = None;
                    }
                }
                None
            }
        }
    }

    /// Keeps new tokens in memory and in the store (a store failure is logged, not fatal).
    async fn accept(&self, tokens: Tokens) -> AccessToken {
        let expires_at = self.clock.now_ms() + tokens.expires_in_secs.saturating_mul(1000);
        let primary = Primary {
            token: tokens.access_token.clone(),
            expires_at,
            refresh: tokens.refresh_token.clone(),
        };
        if let Ok(mut p) = self.primary.lock() {
            *p = Some(primary);
        }
        self.store_checked.store(true, Ordering::SeqCst);
        let record = StoredToken {
            access_token: tokens.access_token.clone(),
            expires_at,
            aic_base_url: self.tenant(),
            refresh_token: tokens.refresh_token,
            subject: None,
        };
        let store_error = match self.store.save(&record).await {
            Ok(()) => None,
            Err(e) => {
                tracing::warn!(error = %e, "could not store the token; it is kept in memory only");
                Some(e.to_string())
            }
        };
        self.set_status(|s| {
            s.state = SessionState::SignedIn;
            s.expires_at_ms = Some(expires_at);
            s.login_url = None;
            s.user_code = None;
            s.last_error = store_error;
            s.admin = None;
        });
        tokens.access_token
    }

    async fn interactive(
        &self,
        prompt: Option<&dyn DevicePrompt>,
    ) -> Result<AccessToken, AuthError> {
        let attempt = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
        let cancel = CancellationToken::new();
        if let Ok(mut c) = self.login_cancel.lock() {
            *c = cancel.clone();
        }
        self.set_status(|s| {
            s.state = SessionState::SigningIn;
            s.last_error = None;
        });
        self.publish(AuthAction::LoginStarted, None);
        // A tool call that is cancelled drops this future mid-login: the guard puts the
        // status back so it does not say "signing in" forever.
        let mut guard = LoginGuard {
            session: self,
            settled: false,
        };
        let result = match self.opts.mode {
            LoginMode::Pkce => self.login_pkce(&cancel).await,
            LoginMode::DeviceCode => {
                let fallback = StderrPrompt;
                let prompt = prompt.unwrap_or(&fallback);
                let on_code = |uri: &str, user_code: &str| {
                    self.set_status(|s| {
                        s.login_url = Some(uri.to_string());
                        s.user_code = Some(user_code.to_string());
                    });
                };
                login_device(&self.client, &self.opts.scopes, prompt, &cancel, &on_code).await
            }
        };
        guard.settled = true;
        match result {
            Ok(tokens) => {
                let token = self.accept(tokens).await;
                self.publish(AuthAction::LoginSucceeded, None);
                Ok(token)
            }
            Err(e) => {
                if let Ok(mut f) = self.last_failure.lock() {
                    *f = Some((attempt, e.clone()));
                }
                self.login_failed(e.to_string());
                Err(e)
            }
        }
    }

    /// A login that ended without tokens: the status goes back to where it stood (signed in
    /// only if a still-valid token remains), with `message` as its last error.
    fn login_failed(&self, message: String) {
        let signed_in = self.valid_in_memory().is_some();
        self.set_status(|s| {
            s.state = if signed_in {
                SessionState::SignedIn
            } else {
                SessionState::SignedOut
            };
            s.login_url = None;
            s.user_code = None;
            s.last_error = Some(message.clone());
        });
        self.publish(AuthAction::LoginFailed, Some(message));
    }

    async fn login_pkce(&self, cancel: &CancellationToken) -> Result<Tokens, AuthError> {
        let listener = RedirectListener::bind(self.opts.redirect_port).await?;
        let redirect_uri = oauth2::RedirectUrl::new(listener.redirect_uri())
            .map_err(|e| AuthError::Http(format!("invalid redirect URI: {e}")))?;
        let oauth = login_client(self.client.tenant())?;
        let (challenge, verifier, state) = fresh_secrets();
        let (url, state) =
            authorize_url(&oauth, &self.opts.scopes, &redirect_uri, challenge, state);
        eprintln!("Sign in to PingOne Advanced Identity Cloud in your browser. If it did not open, open this URL:\n\n    {url}\n");
        self.set_status(|s| s.login_url = Some(url.clone()));
        if let Err(e) = self.browser.open(&url).await {
            tracing::warn!(error = %e, "could not open the browser; the URL is on stderr");
        }
        let code = listener
            .wait_for_code(
                state.secret(),
                self.client.tenant().host(),
                self.opts.login_timeout,
                cancel.clone(),
            )
            .await?;
        redeem_code(&self.client, &oauth, &code, &redirect_uri, verifier).await
    }

    /// Cancels a login in progress (the desktop's Cancel button).
    pub fn cancel_login(&self) {
        if let Ok(c) = self.login_cancel.lock() {
            c.cancel();
        }
    }

    /// Forgets the token in memory and in the store.
    pub async fn logout(&self) -> Result<(), AuthError> {
        self.cancel_login();
        let _g = self.login_lock.lock().await;
        if let Ok(mut p) = self.primary.lock() {
            *p = None;
        }
        self.store_checked.store(true, Ordering::SeqCst);
        let result = self
            .store
            .clear(&self.tenant())
            .await
            .map_err(|e| AuthError::Store(e.to_string()));
        self.set_status(|s| {
            s.state = SessionState::SignedOut;
            s.expires_at_ms = None;
            s.login_url = None;
            s.user_code = None;
            s.last_error = result.as_ref().err().map(|e| e.to_string());
            s.admin = None;
        });
        self.publish(AuthAction::LoggedOut, None);
        result
    }

    /// The tenant rejected `token`: when it is still the primary token, it is dropped and
    /// the session is signed out. A token that was already replaced (a login or refresh
    /// finished meanwhile) changes nothing.
    fn invalidate(&self, token: &AccessToken) {
        let current = match self.primary.lock() {
            Ok(mut p) => match p.as_mut() {
                Some(p) if &p.token == token => {
                    p.expires_at = 0;
                    true
                }
                _ => false,
            },
            Err(_) => false,
        };
        if current {
            self.set_status(|s| {
                s.state = SessionState::SignedOut;
                s.expires_at_ms = None;
            });
        }
    }

    /// A token with exactly `scopes` for one tool call (RFC 8693). A 401 from the exchange
    /// means the primary token is dead: log in again (refresh first) and retry once.
    pub async fn scoped_token(
        &self,
        scopes: &[&str],
        call_id: Option<u64>,
        prompt: Option<&dyn DevicePrompt>,
    ) -> Result<AccessToken, AuthError> {
        let primary = self.primary_token(prompt).await?;
        match exchange(&self.client, &primary, scopes, call_id).await {
            Err(AuthError::Exchange { status: 401, .. }) => {
                self.invalidate(&primary);
                let primary = self.primary_token(prompt).await?;
                exchange(&self.client, &primary, scopes, call_id).await
            }
            other => other,
        }
    }

    /// Learns who is signed in (for the desktop's status display): one token exchange with
    /// `fr:idm:*` and `GET /openidm/info/login`, whose `authenticationId` names the admin.
    /// Never starts a login; remembered with the stored token so a restart needs no request.
    pub async fn identify(&self) -> Option<String> {
        if let Some(known) = self.status().admin {
            return Some(known);
        }
        let token = self.acquire(None, false).await.ok()?;
        let scoped = match exchange(&self.client, &token, &["fr:idm:*"], None).await {
            Ok(t) => t,
            Err(e) => {
                tracing::info!(error = %e, "cannot learn the admin's name: token exchange failed");
                return None;
            }
        };
        let resp = match self
            .client
            .send(
                &crate::tenant::ApiRequest::get("/openidm/info/login"),
                &scoped,
                None,
            )
            .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::info!(error = %e, "cannot learn the admin's name from /openidm/info/login");
                return None;
            }
        };
        let Some(admin) = resp
            .body
            .get("authenticationId")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
        else {
            tracing::info!(status = resp.status, "/openidm/info/login named no admin");
            return None;
        };
        // Saved under the login lock, and only for the token that named the admin: a Log
        // out (or a new login) while the name was on its way wins, and is never undone.
        let _g = self.login_lock.lock().await;
        let record = self.primary.lock().ok().and_then(|p| {
            p.as_ref()
                .filter(|p| p.token == token && self.valid(p.expires_at))
                .map(|p| StoredToken {
                    access_token: p.token.clone(),
                    expires_at: p.expires_at,
                    aic_base_url: self.tenant(),
                    refresh_token: p.refresh.clone(),
                    subject: Some(admin.clone()),
                })
        });
        let Some(record) = record else {
            tracing::info!("the session changed while the admin's name was learnt; not kept");
            return None;
        };
        self.set_status(|s| s.admin = Some(admin.clone()));
        if let Err(e) = self.store.save(&record).await {
            tracing::warn!(error = %e, "could not remember the admin's name");
        }
        Some(admin)
    }

    /// For hosts that watch the clock: when the signed-in token has run out (within the
    /// 60 s skew), tries the refresh token; failing that, the session becomes signed out
    /// (status and an `Auth` event saying the token expired). Returns `true` when it
    /// signed out. Never opens a browser.
    pub async fn check_expiry(&self) -> bool {
        if self.status().state != SessionState::SignedIn || self.valid_in_memory().is_some() {
            return false;
        }
        if self.acquire(None, false).await.is_ok() {
            return false;
        }
        // A login may have finished since `acquire` let go of the lock.
        let _g = self.login_lock.lock().await;
        if self.valid_in_memory().is_some() || self.status().state != SessionState::SignedIn {
            return false;
        }
        self.set_status(|s| {
            s.state = SessionState::SignedOut;
            s.expires_at_ms = None;
            s.admin = None;
            s.last_error = Some("Signed out: the token expired. Log in again.".into());
        });
        self.publish(AuthAction::LoggedOut, Some("token expired".into()));
        true
    }
}

/// Puts the status back when a login's future is dropped before it settles (the tool call
/// that started it was cancelled).
struct LoginGuard<'a> {
    session: &'a Session,
    settled: bool,
}

impl Drop for LoginGuard<'_> {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        self.session.login_failed(AuthError::Cancelled.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::ActivityBus;
    use crate::auth::store::MemoryStore;
    use crate::clock::SystemClock;
    use crate::config::TenantUrl;

    #[derive(Debug)]
    struct NoBrowser;

    #[async_trait::async_trait]
    impl BrowserOpener for NoBrowser {
        async fn open(&self, _url: &str) -> Result<(), String> {
            Err("no browser in unit tests".into())
        }
    }

    fn session() -> Arc<Session> {
        let tenant = TenantUrl::parse("https://t.example.com").expect("url");
        let client = TenantClient::new(tenant, None, ActivityBus::new(8), false).expect("client");
        Session::new(
            client,
            Arc::new(MemoryStore::default()),
            Arc::new(SystemClock),
            Arc::new(NoBrowser),
            LoginOptions::new(LoginMode::Pkce, 0),
        )
    }

    fn tokens(access: &str) -> Tokens {
        Tokens {
            access_token: AccessToken::new(access),
            expires_in_secs: 3600,
            refresh_token: None,
        }
    }

    #[tokio::test]
    async fn a_401_for_a_replaced_token_does_not_sign_out() {
        let s = session();
        let old = s.accept(tokens("old")).await;
        // A login (or refresh) replaced the token while a call still held the old one.
        let new = s.accept(tokens("new")).await;
        s.invalidate(&old);
        assert_eq!(s.status().state, SessionState::SignedIn);
        assert!(s.status().expires_at_ms.is_some());
        assert_eq!(s.valid_in_memory(), Some(new.clone()));

        // A 401 for the current token does sign out.
        s.invalidate(&new);
        assert_eq!(s.status().state, SessionState::SignedOut);
        assert_eq!(s.valid_in_memory(), None);
    }
}
