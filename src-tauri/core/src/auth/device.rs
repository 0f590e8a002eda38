//! Device authorization grant with PKCE (contract §2.6), done right: a 5 s default
//! interval, `slow_down` adds 5 s, expiry counted from the device-code response, polling
//! starts at once while the URL is shown (MCP elicitation, else stderr).

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::error::AuthError;
use super::exchange::{oauth_error, parse_tokens, Tokens, AICMCP_CLIENT, TOKEN_PATH};
use super::pkce::generate_pkce;
use crate::tenant::TenantClient;

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

#[derive(Deserialize)]
struct DeviceCodeResponse {
    device_code: String,
    user_code: Option<String>,
    verification_uri: Option<String>,
    verification_uri_complete: Option<String>,
    expires_in: Option<u64>,
    interval: Option<u64>,
}

const DEFAULT_INTERVAL: u64 = 5;

pub(crate) async fn login_device(
    client: &TenantClient,
    scopes: &str,
    prompt: &dyn DevicePrompt,
    cancel: &CancellationToken,
) -> Result<Tokens, AuthError> {
    let pkce = generate_pkce();
    let r = client
        .post_form(
            "/am/oauth2/device/code",
            &[
                ("client_id", AICMCP_CLIENT),
                ("scope", scopes),
                ("code_challenge", &pkce.challenge),
                ("code_challenge_method", "S256"),
            ],
            None,
        )
        .await
        .map_err(|e| AuthError::Http(e.to_string()))?;
    if !(200..300).contains(&r.status) {
        return Err(AuthError::DeviceRequest {
            status: r.status,
            reason: r.reason,
            body: r.text,
        });
    }
    let started = Instant::now();
    let dc: DeviceCodeResponse =
        serde_json::from_str(&r.text).map_err(|e| AuthError::BadResponse(e.to_string()))?;
    let user_code = dc.user_code.clone().unwrap_or_default();
    let uri = dc
        .verification_uri_complete
        .clone()
        .or_else(|| dc.verification_uri.clone())
        .ok_or(AuthError::MissingField("verification_uri"))?;
    let lifetime = Duration::from_secs(dc.expires_in.unwrap_or(300));
    let mut interval =
        Duration::from_secs(dc.interval.filter(|i| *i > 0).unwrap_or(DEFAULT_INTERVAL));

    let poll = async {
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return Err(AuthError::Cancelled),
                _ = tokio::time::sleep(interval) => {}
            }
            if started.elapsed() >= lifetime {
                return Err(AuthError::DeviceExpired);
            }
            let r = client
                .post_form(
                    TOKEN_PATH,
                    &[
                        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                        ("device_code", &dc.device_code),
                        ("client_id", AICMCP_CLIENT),
                        ("code_verifier", pkce.verifier.expose()),
                    ],
                    None,
                )
                .await
                .map_err(|e| AuthError::Http(e.to_string()))?;
            if (200..300).contains(&r.status) {
                return parse_tokens(&r.text);
            }
            let (error, description) = oauth_error(&r.text);
            match error.as_str() {
                "authorization_pending" => {}
                "slow_down" => interval += Duration::from_secs(5),
                "expired_token" => return Err(AuthError::DeviceExpired),
                "access_denied" => {
                    return Err(AuthError::Denied {
                        error,
                        description: Some(description).filter(|d| !d.is_empty()),
                    })
                }
                _ => {
                    let error = if error.is_empty() {
                        format!("HTTP {} {}", r.status, r.reason)
                    } else {
                        error
                    };
                    return Err(AuthError::DevicePoll { error, description });
                }
            }
        }
    };
    tokio::pin!(poll);
    let prompt_fut = prompt.show(&uri, &user_code);
    tokio::pin!(prompt_fut);
    tokio::select! {
        r = &mut poll => r,
        answer = &mut prompt_fut => match answer {
            PromptAnswer::Refused(action) => Err(AuthError::UserCancelled(action)),
            PromptAnswer::Accepted | PromptAnswer::Shown => poll.await,
        },
    }
}
