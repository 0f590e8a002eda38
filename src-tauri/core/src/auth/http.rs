//! The `oauth2` crate's requests go out through our [`TenantClient`], never a client of their
//! own: the same User-Agent, transaction id, activity event, tenant check and no-redirect
//! policy as every other upstream request. This module is that adapter, the one `oauth2`
//! client our flows use, and the mapping of the crate's errors onto [`AuthError`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use oauth2::basic::BasicClient;
use oauth2::{
    AsyncHttpClient, AuthType, AuthUrl, ClientId, DeviceAuthorizationUrl, EndpointNotSet,
    EndpointSet, ErrorResponse, HttpRequest, HttpResponse, RequestTokenError, Scope, TokenUrl,
};

use super::error::AuthError;
use crate::config::TenantUrl;
use crate::tenant::{TenantClient, TenantError};
use crate::text::error_body;

/// The interactive login client.
pub const AICMCP_CLIENT: &str = "AICMCPClient";
/// The token-exchange client.
pub const EXCHANGE_CLIENT: &str = "AICMCPExchangeClient";

pub(crate) const AUTHORIZE_PATH: &str = "/am/oauth2/authorize";
pub(crate) const TOKEN_PATH: &str = "/am/oauth2/access_token";
pub(crate) const DEVICE_PATH: &str = "/am/oauth2/device/code";

/// `AICMCPClient` on one tenant: a public client (the id in the body, no secret), with the
/// authorize, device and token endpoints.
pub(crate) type LoginClient =
    BasicClient<EndpointSet, EndpointSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The login client for `tenant`.
pub(crate) fn login_client(tenant: &TenantUrl) -> Result<LoginClient, AuthError> {
    let url = |path: &str| format!("{}{path}", tenant.origin());
    let bad = |e: url::ParseError| AuthError::Http(format!("invalid tenant URL: {e}"));
    Ok(BasicClient::new(ClientId::new(AICMCP_CLIENT.to_string()))
        .set_auth_type(AuthType::RequestBody)
        .set_auth_uri(AuthUrl::new(url(AUTHORIZE_PATH)).map_err(bad)?)
        .set_device_authorization_url(DeviceAuthorizationUrl::new(url(DEVICE_PATH)).map_err(bad)?)
        .set_token_uri(TokenUrl::new(url(TOKEN_PATH)).map_err(bad)?))
}

/// The login scopes (one space-separated string) as the crate's list.
pub(crate) fn scope_list(scopes: &str) -> Vec<Scope> {
    scopes
        .split_whitespace()
        .map(|s| Scope::new(s.to_string()))
        .collect()
}

/// What the tenant answered to the last request: kept so that a failure can name the status
/// and show the body, as contract §2 words its errors (the crate's error keeps neither).
#[derive(Debug, Clone)]
pub(crate) enum LastReply {
    Answered { status: u16, body: String },
    Unreachable(String),
}

/// The crate's asynchronous HTTP client, over our tenant client. One per flow: it remembers
/// the last reply for the error messages.
pub(crate) struct OAuthHttp<'a> {
    client: &'a TenantClient,
    call_id: Option<u64>,
    last: Mutex<Option<LastReply>>,
}

impl<'a> OAuthHttp<'a> {
    pub(crate) fn new(client: &'a TenantClient, call_id: Option<u64>) -> Self {
        Self {
            client,
            call_id,
            last: Mutex::new(None),
        }
    }

    pub(crate) fn last_reply(&self) -> Option<LastReply> {
        self.last.lock().ok().and_then(|l| l.clone())
    }

    fn remember(&self, reply: LastReply) {
        if let Ok(mut last) = self.last.lock() {
            *last = Some(reply);
        }
    }

    /// The last answer when it was not a 200: (status, reason, body cut to 4 KiB).
    pub(crate) fn failed_reply(&self) -> Option<(u16, String, String)> {
        match self.last_reply()? {
            LastReply::Answered { status, body } if status != 200 => {
                Some((status, reason(status), error_body(&body)))
            }
            _ => None,
        }
    }

    /// A failed crate request as our error: a non-200 answer becomes `failed(status, reason,
    /// body)`; an unreadable 200 names what is wrong with it.
    pub(crate) fn failure<TE: ErrorResponse + 'static>(
        &self,
        error: RequestTokenError<TenantError, TE>,
        failed: fn(u16, String, String) -> AuthError,
    ) -> AuthError {
        if let RequestTokenError::Request(e) = &error {
            return AuthError::Http(e.to_string());
        }
        if let Some((status, reason, body)) = self.failed_reply() {
            return failed(status, reason, body);
        }
        match error {
            RequestTokenError::Parse(e, _) => unreadable(&e),
            RequestTokenError::Other(message) => AuthError::BadResponse(message),
            other => AuthError::BadResponse(other.to_string()),
        }
    }
}

impl<'c> AsyncHttpClient<'c> for OAuthHttp<'_> {
    type Error = TenantError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, TenantError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let result = self.client.oauth_request(request, self.call_id).await;
            self.remember(match &result {
                Ok(r) => LastReply::Answered {
                    status: r.status().as_u16(),
                    body: String::from_utf8_lossy(r.body()).into_owned(),
                },
                Err(e) => LastReply::Unreachable(e.to_string()),
            });
            result
        })
    }
}

/// The status line's reason phrase ("Bad Request").
pub(crate) fn reason(status: u16) -> String {
    oauth2::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
        .to_string()
}

/// Fields whose absence gets its own message.
const NAMED_FIELDS: &[&str] = &[
    "access_token",
    "token_type",
    "device_code",
    "user_code",
    "verification_uri",
    "expires_in",
];

/// A 200 response the crate could not read: a missing required field is named, anything
/// else says where parsing failed.
pub(crate) fn unreadable(e: &serde_path_to_error::Error<serde_json::Error>) -> AuthError {
    let inner = e.inner().to_string();
    for field in NAMED_FIELDS {
        if inner.starts_with(&format!("missing field `{field}`")) {
            return AuthError::MissingField(field);
        }
    }
    AuthError::BadResponse(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oauth2::basic::BasicTokenResponse;

    fn parse(text: &str) -> Result<BasicTokenResponse, AuthError> {
        serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(text))
            .map_err(|e| unreadable(&e))
    }

    #[test]
    fn unreadable_token_responses_name_what_is_missing() {
        assert_eq!(
            parse(r#"{"token_type":"Bearer","expires_in":1}"#).map(|_| ()),
            Err(AuthError::MissingField("access_token"))
        );
        assert_eq!(
            parse(r#"{"access_token":"a","expires_in":1}"#).map(|_| ()),
            Err(AuthError::MissingField("token_type"))
        );
        let e = parse("<html>").map(|_| ()).expect_err("not JSON");
        assert!(matches!(e, AuthError::BadResponse(_)), "{e:?}");
        let e = parse(r#"{"access_token":"a","token_type":"Bearer","expires_in":"soon"}"#)
            .map(|_| ())
            .expect_err("a string expiry");
        assert!(e.to_string().contains("expires_in"), "{e}");
    }

    #[test]
    fn the_login_client_uses_the_tenant_endpoints() {
        let t = TenantUrl::parse("https://t.example.com").expect("url");
        let c = login_client(&t).expect("client");
        assert_eq!(c.client_id().as_str(), AICMCP_CLIENT);
        assert_eq!(
            c.token_uri().as_str(),
            "https://t.example.com/am/oauth2/access_token"
        );
        assert_eq!(
            c.device_authorization_url().as_str(),
            "https://t.example.com/am/oauth2/device/code"
        );
        assert_eq!(reason(400), "Bad Request");
        assert_eq!(
            scope_list(" fr:idm:*  fr:am:* ")
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
            ["fr:idm:*", "fr:am:*"]
        );
    }
}
