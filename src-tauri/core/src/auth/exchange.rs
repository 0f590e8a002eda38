//! Calls to the token endpoint: code → tokens and refresh on the `oauth2` crate, and the
//! RFC 8693 token exchange (a grant the crate does not have) built here and read into the
//! crate's token-response type.

use std::borrow::Cow;

use oauth2::basic::BasicTokenResponse;
use oauth2::http::header::{ACCEPT, CONTENT_TYPE};
use oauth2::{AuthorizationCode, PkceCodeVerifier, RedirectUrl, TokenResponse};

use super::error::AuthError;
use super::http::{
    login_client, reason, unreadable, LoginClient, OAuthHttp, EXCHANGE_CLIENT, TOKEN_PATH,
};
use crate::secret::{AccessToken, AuthCode, RefreshToken};
use crate::tenant::TenantClient;
use crate::text::error_body;

const TOKEN_TYPE_ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";
const EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// The fields of a token response we use.
#[derive(Debug, Clone)]
pub(crate) struct Tokens {
    pub access_token: AccessToken,
    pub expires_in_secs: i64,
    pub refresh_token: Option<RefreshToken>,
}

/// Our tokens from the crate's response; an empty `access_token` or a missing (or zero)
/// `expires_in` is an error, since the session cannot work without them.
pub(crate) fn tokens(resp: &BasicTokenResponse) -> Result<Tokens, AuthError> {
    let access = resp.access_token().secret();
    if access.is_empty() {
        return Err(AuthError::MissingField("access_token"));
    }
    let expires_in = resp
        .expires_in()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .filter(|s| *s > 0)
        .ok_or(AuthError::MissingField("expires_in"))?;
    Ok(Tokens {
        access_token: AccessToken::new(access.clone()),
        expires_in_secs: expires_in,
        refresh_token: resp
            .refresh_token()
            .map(|t| t.secret())
            .filter(|t| !t.is_empty())
            .map(|t| RefreshToken::new(t.clone())),
    })
}

/// Authorization code → tokens (contract §2.4 step 7).
pub(crate) async fn redeem_code(
    client: &TenantClient,
    oauth: &LoginClient,
    code: &AuthCode,
    redirect_uri: &RedirectUrl,
    verifier: PkceCodeVerifier,
) -> Result<Tokens, AuthError> {
    let http = OAuthHttp::new(client, None);
    let resp = oauth
        .exchange_code(AuthorizationCode::new(code.expose().to_string()))
        .set_redirect_uri(Cow::Borrowed(redirect_uri))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .map_err(|e| {
            http.failure(e, |status, reason, body| AuthError::CodeExchange {
                status,
                reason,
                body,
            })
        })?;
    tokens(&resp)
}

/// Refresh token → new tokens.
pub(crate) async fn refresh(
    client: &TenantClient,
    refresh_token: &RefreshToken,
) -> Result<Tokens, AuthError> {
    let oauth = login_client(client.tenant())?;
    let http = OAuthHttp::new(client, None);
    let rt = oauth2::RefreshToken::new(refresh_token.expose().to_string());
    let resp = oauth
        .exchange_refresh_token(&rt)
        .request_async(&http)
        .await
        .map_err(|e| {
            http.failure(e, |status, reason, body| AuthError::Refresh {
                status,
                reason,
                body,
            })
        })?;
    tokens(&resp)
}

/// The RFC 8693 request (contract §2.7), with the headers the crate puts on its own.
fn exchange_request(
    client: &TenantClient,
    primary: &AccessToken,
    scopes: &[&str],
) -> Result<oauth2::HttpRequest, AuthError> {
    let scope = scopes.join(" ");
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", EXCHANGE_GRANT),
            ("subject_token", primary.expose()),
            ("subject_token_type", TOKEN_TYPE_ACCESS),
            ("requested_token_type", TOKEN_TYPE_ACCESS),
            ("scope", scope.as_str()),
            ("client_id", EXCHANGE_CLIENT),
        ])
        .finish();
    oauth2::http::Request::builder()
        .method(oauth2::http::Method::POST)
        .uri(format!("{}{TOKEN_PATH}", client.tenant().origin()))
        .header(ACCEPT, "application/json")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body.into_bytes())
        .map_err(|e| AuthError::Http(format!("could not build the exchange request: {e}")))
}

/// RFC 8693: the primary token → a token with only `scopes`. Only `access_token` of the
/// answer is used; exchanged tokens are never stored.
pub(crate) async fn exchange(
    client: &TenantClient,
    primary: &AccessToken,
    scopes: &[&str],
    call_id: Option<u64>,
) -> Result<AccessToken, AuthError> {
    // Every tool call makes one exchange: it goes straight to the tenant client (the
    // crate's client adapter would keep a copy of each answer for error messages this
    // function writes itself).
    let response = client
        .oauth_request(exchange_request(client, primary, scopes)?, call_id)
        .await
        .map_err(|e| AuthError::Http(e.to_string()))?;
    let status = response.status().as_u16();
    let body = response.body();
    if !response.status().is_success() {
        return Err(AuthError::Exchange {
            status,
            reason: reason(status),
            body: error_body(&String::from_utf8_lossy(body)),
        });
    }
    let resp: BasicTokenResponse = match serde_json::from_slice(body) {
        Ok(resp) => resp,
        // Read again with the path tracked, only to say where it is wrong.
        Err(_) => {
            return Err(
                match serde_path_to_error::deserialize::<_, BasicTokenResponse>(
                    &mut serde_json::Deserializer::from_slice(body),
                ) {
                    Err(e) => unreadable(&e),
                    Ok(_) => AuthError::BadResponse("the token response cannot be read".into()),
                },
            )
        }
    };
    let token = resp.access_token().secret();
    if token.is_empty() {
        return Err(AuthError::MissingField("access_token"));
    }
    Ok(AccessToken::new(token.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::ActivityBus;
    use crate::config::TenantUrl;

    fn parse(text: &str) -> BasicTokenResponse {
        serde_json::from_str(text).expect("a token response")
    }

    #[test]
    fn token_responses_need_access_token_and_expiry() {
        let t = tokens(&parse(
            r#"{"access_token":"a","token_type":"Bearer","expires_in":3599,"refresh_token":"r"}"#,
        ))
        .expect("ok");
        assert_eq!(t.expires_in_secs, 3599);
        assert_eq!(t.access_token.expose(), "a");
        assert_eq!(t.refresh_token.as_ref().map(|r| r.expose()), Some("r"));
        assert_eq!(
            tokens(&parse(
                r#"{"access_token":"","token_type":"Bearer","expires_in":1}"#
            ))
            .map(|_| ()),
            Err(AuthError::MissingField("access_token"))
        );
        assert_eq!(
            tokens(&parse(r#"{"access_token":"a","token_type":"Bearer"}"#)).map(|_| ()),
            Err(AuthError::MissingField("expires_in"))
        );
        assert_eq!(
            tokens(&parse(
                r#"{"access_token":"a","token_type":"Bearer","expires_in":0}"#
            ))
            .map(|_| ()),
            Err(AuthError::MissingField("expires_in"))
        );
    }

    #[test]
    fn the_exchange_request_is_the_contract_form() {
        let tenant = TenantUrl::parse("https://t.example.com").expect("url");
        let client = TenantClient::new(tenant, None, ActivityBus::new(4), false).expect("client");
        let req = exchange_request(
            &client,
            &AccessToken::new("primary"),
            &["fr:idm:*", "fr:am:*"],
        )
        .expect("request");
        assert_eq!(req.method(), oauth2::http::Method::POST);
        assert_eq!(
            req.uri().to_string(),
            "https://t.example.com/am/oauth2/access_token"
        );
        assert_eq!(
            req.headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(
            String::from_utf8_lossy(req.body()),
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange\
             &subject_token=primary\
             &subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token\
             &requested_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token\
             &scope=fr%3Aidm%3A*+fr%3Aam%3A*\
             &client_id=AICMCPExchangeClient"
        );
    }
}
