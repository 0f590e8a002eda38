//! Device authorization grant with PKCE (contract §2.6) on the `oauth2` crate, done right: a
//! 5 s default interval, `slow_down` adds 5 s, expiry counted from the device-code
//! response, polling starts at once while the URL is shown (MCP elicitation, else stderr),
//! and a cancelled sign-in sends no further poll.
//!
//! The crate's poller does the polling; around it we keep what it leaves to the caller or
//! does differently: the first poll waits one interval like the reference's; an `interval`
//! of 0 means the default, not a busy loop; the deadline is a monotonic one from the moment
//! the device code arrived (the crate's counts from its own start, on the wall clock); and
//! an expiry after polls that could not reach the tenant says so (the crate retries those
//! with a back-off, as RFC 8628 §3.5 asks, and does not report them).

use std::time::Duration;

use oauth2::{
    DeviceCodeErrorResponse, DeviceCodeErrorResponseType, PkceCodeChallenge, PkceCodeVerifier,
    RequestTokenError, StandardDeviceAuthorizationResponse,
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::error::AuthError;
use super::exchange::{tokens, Tokens};
use super::http::{login_client, scope_list, unreadable, LastReply, LoginClient, OAuthHttp};
use crate::tenant::{TenantClient, TenantError};
use crate::text::error_body;

/// How the user answered the prompt that showed the verification URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptAnswer {
    /// The user says they completed the sign-in.
    Accepted,
    /// The user declined or cancelled (the action's name).
    Refused(String),
    /// The URL was shown where no answer can come from (stderr).
    Shown,
}

/// Shows the device verification URL to the admin.
#[async_trait::async_trait]
pub trait DevicePrompt: Send + Sync {
    async fn show(&self, verification_uri_complete: &str, user_code: &str) -> PromptAnswer;
}

/// Writes the URL to stderr (stdout belongs to the MCP protocol).
#[derive(Debug, Default)]
pub struct StderrPrompt;

#[async_trait::async_trait]
impl DevicePrompt for StderrPrompt {
    async fn show(&self, uri: &str, user_code: &str) -> PromptAnswer {
        eprintln!(
            "To sign in to PingOne Advanced Identity Cloud, open this URL in a browser:\n\n    {uri}\n\nand confirm the code {user_code}."
        );
        PromptAnswer::Shown
    }
}

/// The interval when the tenant gives none (or 0): RFC 8628 §3.2.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

fn interval_or_default(interval: Duration) -> Duration {
    if interval.is_zero() {
        DEFAULT_INTERVAL
    } else {
        interval
    }
}

/// Signs in with the device flow. `on_code` learns the URL and user code as soon as they
/// are known (for the status display). Ends with an error on `cancel`; nothing is sent
/// after that, nor after this future is dropped.
pub(crate) async fn login_device(
    client: &TenantClient,
    scopes: &str,
    prompt: &dyn DevicePrompt,
    cancel: &CancellationToken,
    on_code: &(dyn Fn(&str, &str) + Send + Sync),
) -> Result<Tokens, AuthError> {
    let flow = async {
        let oauth = login_client(client.tenant())?;
        let http = OAuthHttp::new(client, None);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let details: StandardDeviceAuthorizationResponse = oauth
            .exchange_device_code()
            .add_scopes(scope_list(scopes))
            .add_extra_param("code_challenge", challenge.as_str())
            .add_extra_param("code_challenge_method", challenge.method().as_str())
            .request_async(&http)
            .await
            .map_err(|e| {
                http.failure(e, |status, reason, body| AuthError::DeviceRequest {
                    status,
                    reason,
                    body,
                })
            })?;
        let deadline = Instant::now() + details.expires_in();
        let uri = details
            .verification_uri_complete()
            .map(|u| u.secret().clone())
            .unwrap_or_else(|| details.verification_uri().to_string());
        let user_code = details.user_code().secret().clone();
        on_code(&uri, &user_code);

        let poll = poll(&oauth, &http, &details, verifier, deadline);
        tokio::pin!(poll);
        let shown = prompt.show(&uri, &user_code);
        tokio::pin!(shown);
        tokio::select! {
            r = &mut poll => r,
            answer = &mut shown => match answer {
                PromptAnswer::Refused(action) => Err(AuthError::UserCancelled(action)),
                PromptAnswer::Accepted | PromptAnswer::Shown => poll.await,
            },
        }
    };
    tokio::select! {
        _ = cancel.cancelled() => Err(AuthError::Cancelled),
        r = flow => r,
    }
}

/// Polls the token endpoint until the admin approves or denies, or the code expires.
async fn poll(
    oauth: &LoginClient,
    http: &OAuthHttp<'_>,
    details: &StandardDeviceAuthorizationResponse,
    verifier: PkceCodeVerifier,
    deadline: Instant,
) -> Result<Tokens, AuthError> {
    let polling = async {
        // The reference waits one interval before its first poll: nobody has approved yet.
        tokio::time::sleep(interval_or_default(details.interval())).await;
        oauth
            .exchange_device_access_token(details)
            .add_extra_param("code_verifier", verifier.secret())
            .request_async(
                http,
                |interval| tokio::time::sleep(interval_or_default(interval)),
                None,
            )
            .await
    };
    match tokio::time::timeout_at(deadline, polling).await {
        Ok(Ok(resp)) => tokens(&resp),
        Ok(Err(e)) => Err(poll_failure(http, e)),
        Err(_) => Err(expired(http)),
    }
}

fn expired(http: &OAuthHttp<'_>) -> AuthError {
    match http.last_reply() {
        Some(LastReply::Unreachable(e)) => AuthError::DeviceExpiredUnreachable(e),
        _ => AuthError::DeviceExpired,
    }
}

fn poll_failure(
    http: &OAuthHttp<'_>,
    e: RequestTokenError<TenantError, DeviceCodeErrorResponse>,
) -> AuthError {
    match e {
        RequestTokenError::ServerResponse(r) => {
            let description = r.error_description().map(|d| error_body(d));
            match r.error() {
                DeviceCodeErrorResponseType::ExpiredToken => expired(http),
                DeviceCodeErrorResponseType::AccessDenied => AuthError::Denied {
                    error: "access_denied".into(),
                    description: description.filter(|d| !d.is_empty()),
                },
                other => AuthError::DevicePoll {
                    error: error_body(other.as_ref()),
                    description: description.unwrap_or_default(),
                },
            }
        }
        RequestTokenError::Request(e) => AuthError::Http(e.to_string()),
        RequestTokenError::Parse(e, _) => match http.failed_reply() {
            Some((status, reason, body)) => AuthError::DevicePoll {
                error: format!("HTTP {status} {reason}"),
                description: body,
            },
            None => unreadable(&e),
        },
        RequestTokenError::Other(message) => match http.failed_reply() {
            Some((status, reason, body)) => AuthError::DevicePoll {
                error: format!("HTTP {status} {reason}"),
                description: body,
            },
            None => AuthError::BadResponse(message),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_interval_means_the_default() {
        assert_eq!(interval_or_default(Duration::ZERO), Duration::from_secs(5));
        assert_eq!(
            interval_or_default(Duration::from_secs(2)),
            Duration::from_secs(2)
        );
    }
}
