//! Calls to the token endpoint: code → token, refresh, and RFC 8693 token exchange.

use serde::Deserialize;

use super::error::AuthError;
use crate::secret::{AccessToken, AuthCode, PkceVerifier, RefreshToken};
use crate::tenant::{FormResponse, TenantClient};

/// The interactive login client.
pub const AICMCP_CLIENT: &str = "AICMCPClient";
/// The token-exchange client.
pub const EXCHANGE_CLIENT: &str = "AICMCPExchangeClient";
pub(crate) const TOKEN_PATH: &str = "/am/oauth2/access_token";

const TOKEN_TYPE_ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";

/// The fields of a token response we use.
#[derive(Debug, Clone)]
pub(crate) struct Tokens {
    pub access_token: AccessToken,
    pub expires_in_secs: i64,
    pub refresh_token: Option<RefreshToken>,
}

#[derive(Deserialize)]
struct RawTokens {
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
    refresh_token: Option<String>,
}

/// Parses a 2xx token response; a missing `access_token` or `expires_in` is an error.
pub(crate) fn parse_tokens(text: &str) -> Result<Tokens, AuthError> {
    let raw: RawTokens =
        serde_json::from_str(text).map_err(|e| AuthError::BadResponse(e.to_string()))?;
    let access = raw
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or(AuthError::MissingField("access_token"))?;
    let expires_in = match raw.expires_in {
        Some(serde_json::Value::Number(n)) => n.as_f64().map(|f| f as i64),
        Some(serde_json::Value::String(s)) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
    .filter(|s| *s > 0)
    .ok_or(AuthError::MissingField("expires_in"))?;
    Ok(Tokens {
        access_token: AccessToken::new(access),
        expires_in_secs: expires_in,
        refresh_token: raw
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(RefreshToken::new),
    })
}

/// The OAuth `error` and `error_description` of a failed token response.
pub(crate) fn oauth_error(text: &str) -> (String, String) {
    let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let get = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    (get("error"), get("error_description"))
}

/// POSTs a form to the token endpoint; a non-2xx answer becomes `failed(status, reason, body)`.
async fn token_request(
    client: &TenantClient,
    form: &[(&str, &str)],
    call_id: Option<u64>,
    failed: fn(u16, String, String) -> AuthError,
) -> Result<String, AuthError> {
    let r: FormResponse = client
        .post_form(TOKEN_PATH, form, call_id)
        .await
        .map_err(|e| AuthError::Http(e.to_string()))?;
    if (200..300).contains(&r.status) {
        Ok(r.text)
    } else {
        Err(failed(r.status, r.reason, r.text))
    }
}

/// Authorization code → tokens.
pub(crate) async fn redeem_code(
    client: &TenantClient,
    code: &AuthCode,
    redirect_uri: &str,
    verifier: &PkceVerifier,
) -> Result<Tokens, AuthError> {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.expose()),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier.expose()),
        ("client_id", AICMCP_CLIENT),
    ];
    let text = token_request(client, &form, None, |status, reason, body| {
        AuthError::CodeExchange {
            status,
            reason,
            body,
        }
    })
    .await?;
    parse_tokens(&text)
}

/// Refresh token → new tokens.
pub(crate) async fn refresh(
    client: &TenantClient,
    refresh_token: &RefreshToken,
) -> Result<Tokens, AuthError> {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.expose()),
        ("client_id", AICMCP_CLIENT),
    ];
    let text = token_request(client, &form, None, |status, reason, body| {
        AuthError::Refresh {
            status,
            reason,
            body,
        }
    })
    .await?;
    parse_tokens(&text)
}

/// RFC 8693: the primary token → a token with only `scopes`.
pub(crate) async fn exchange(
    client: &TenantClient,
    primary: &AccessToken,
    scopes: &[&str],
    call_id: Option<u64>,
) -> Result<AccessToken, AuthError> {
    let scope = scopes.join(" ");
    let form = [
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        ("subject_token", primary.expose()),
        ("subject_token_type", TOKEN_TYPE_ACCESS),
        ("requested_token_type", TOKEN_TYPE_ACCESS),
        ("scope", scope.as_str()),
        ("client_id", EXCHANGE_CLIENT),
    ];
    let text = token_request(client, &form, call_id, |status, reason, body| {
        AuthError::Exchange {
            status,
            reason,
            body,
        }
    })
    .await?;
    let raw: RawTokens =
        serde_json::from_str(&text).map_err(|e| AuthError::BadResponse(e.to_string()))?;
    raw.access_token
        .filter(|t| !t.is_empty())
        .map(AccessToken::new)
        .ok_or(AuthError::MissingField("access_token"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_responses_need_access_token_and_expiry() {
        let t = parse_tokens(r#"{"access_token":"a","expires_in":3599,"refresh_token":"r"}"#)
            .expect("ok");
        assert_eq!(t.expires_in_secs, 3599);
        assert!(t.refresh_token.is_some());
        assert_eq!(
            parse_tokens(r#"{"expires_in":1}"#).map(|_| ()),
            Err(AuthError::MissingField("access_token"))
        );
        assert_eq!(
            parse_tokens(r#"{"access_token":"a"}"#).map(|_| ()),
            Err(AuthError::MissingField("expires_in"))
        );
        assert!(matches!(
            parse_tokens("<html>"),
            Err(AuthError::BadResponse(_))
        ));
    }

    #[test]
    fn oauth_errors_are_read() {
        assert_eq!(
            oauth_error(r#"{"error":"slow_down","error_description":"x"}"#),
            ("slow_down".into(), "x".into())
        );
        assert_eq!(oauth_error("nope"), (String::new(), String::new()));
    }
}
