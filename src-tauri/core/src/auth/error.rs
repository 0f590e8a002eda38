//! Authentication errors, worded as contract §2 gives them where it gives them.

/// A login, refresh, exchange or storage failure. Bodies and descriptions that came from
/// the tenant are cut to 4 KiB (`text::error_body`) before they are put in one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("Port {port} is already in use, so the sign-in redirect cannot be received on http://localhost:{port}. Close the program that uses it, or set AIC_REDIRECT_PORT to a free port registered for AICMCPClient.")]
    PortInUse { port: u16 },
    #[error("Cannot listen for the sign-in redirect on 127.0.0.1:{port}: {detail}")]
    Listen { port: u16, detail: String },
    #[error("Authentication timeout: User did not complete login within {minutes} minutes")]
    Timeout { minutes: u64 },
    /// The redirect listener timed out after refusing requests that were not the tenant's
    /// redirect (a wrong state, a foreign `Referer`): the admin may want to know why.
    #[error("Authentication timeout: User did not complete login within {minutes} minutes ({refused} request(s) to the sign-in redirect were refused, the last one: {last})")]
    TimeoutAfterRefusals {
        minutes: u64,
        refused: u32,
        last: String,
    },
    #[error("Sign-in was cancelled")]
    Cancelled,
    #[error("Could not open the browser: {0}")]
    Browser(String),
    // The next three name why the redirect listener refused a request (it keeps waiting);
    // they reach the admin inside `TimeoutAfterRefusals`.
    #[error("Origin validation failed: {0}")]
    Origin(String),
    #[error("CSRF protection failed: state parameter missing")]
    StateMissing,
    #[error("CSRF protection failed: state mismatch")]
    StateMismatch,
    #[error("Sign-in was denied: {error}{}", describe(.description))]
    Denied {
        error: String,
        description: Option<String>,
    },
    #[error("Authorization code not found in redirect.")]
    NoCode,
    #[error("Authorization code exchange failed ({status} {reason}): {body}")]
    CodeExchange {
        status: u16,
        reason: String,
        body: String,
    },
    #[error("Device code request failed ({status} {reason}): {body}")]
    DeviceRequest {
        status: u16,
        reason: String,
        body: String,
    },
    #[error("Device code polling failed: {error} - {description}")]
    DevicePoll { error: String, description: String },
    #[error("Device code expired - authentication timed out")]
    DeviceExpired,
    /// The device code expired while the tenant could not be reached.
    #[error("Device code expired - authentication timed out (the last poll failed: {0})")]
    DeviceExpiredUnreachable(String),
    #[error("User cancelled authentication (action: {0})")]
    UserCancelled(String),
    #[error("Token refresh failed ({status} {reason}): {body}")]
    Refresh {
        status: u16,
        reason: String,
        body: String,
    },
    #[error("Token exchange failed ({status} {reason}): {body}")]
    Exchange {
        status: u16,
        reason: String,
        body: String,
    },
    #[error("The tenant's token response has no {0}")]
    MissingField(&'static str),
    #[error("The tenant's response cannot be read: {0}")]
    BadResponse(String),
    #[error("{0}")]
    Http(String),
    #[error("Not signed in to {tenant}. Sign in from AIC MCP Desktop (Log in) and try again.")]
    NotLoggedIn { tenant: String },
    #[error("{0}")]
    Store(String),
}

fn describe(d: &Option<String>) -> String {
    match d {
        Some(d) if !d.is_empty() => format!(" ({d})"),
        _ => String::new(),
    }
}

impl AuthError {
    /// A stable code for UIs that branch on the kind of failure.
    pub fn code(&self) -> &'static str {
        match self {
            Self::PortInUse { .. } => "PortInUse",
            Self::NotLoggedIn { .. } => "NotLoggedIn",
            Self::Store(_) => "KeychainUnavailable",
            Self::Cancelled | Self::UserCancelled(_) => "Cancelled",
            Self::Timeout { .. }
            | Self::TimeoutAfterRefusals { .. }
            | Self::DeviceExpired
            | Self::DeviceExpiredUnreachable(_) => "Timeout",
            _ => "AuthFailed",
        }
    }
}
