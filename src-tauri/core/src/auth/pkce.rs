//! Authorization code + PKCE (contract §2.4): the `oauth2` crate makes the PKCE pair, the
//! `state` and the authorize URL; the redirect comes back to [`super::RedirectListener`].

use std::borrow::Cow;

use oauth2::{CsrfToken, PkceCodeChallenge, RedirectUrl};

use super::http::{scope_list, LoginClient};

/// The authorize URL's parameters in the contract's order. AM reads them in any order; the
/// order is kept so the URL is the one the reference opens, byte for byte.
const AUTHORIZE_ORDER: [&str; 7] = [
    "response_type",
    "client_id",
    "scope",
    "redirect_uri",
    "code_challenge",
    "code_challenge_method",
    "state",
];

/// The authorize URL for `challenge` and `state` (form encoding: spaces become `+`).
pub(crate) fn authorize_url(
    oauth: &LoginClient,
    scopes: &str,
    redirect_uri: &RedirectUrl,
    challenge: PkceCodeChallenge,
    state: CsrfToken,
) -> (String, CsrfToken) {
    let (mut url, state) = oauth
        .authorize_url(|| state)
        .add_scopes(scope_list(scopes))
        .set_redirect_uri(Cow::Borrowed(redirect_uri))
        .set_pkce_challenge(challenge)
        .url();
    let mut pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    pairs.sort_by_key(|(k, _)| {
        AUTHORIZE_ORDER
            .iter()
            .position(|o| o == k)
            .unwrap_or(AUTHORIZE_ORDER.len())
    });
    url.query_pairs_mut().clear().extend_pairs(pairs);
    (url.to_string(), state)
}

/// A fresh PKCE pair (32 random bytes → a 43-character verifier, S256) and a fresh `state`
/// (16 random bytes, 22 characters).
pub(crate) fn fresh_secrets() -> (PkceCodeChallenge, oauth2::PkceCodeVerifier, CsrfToken) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    (challenge, verifier, CsrfToken::new_random())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::http::login_client;
    use crate::config::TenantUrl;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use oauth2::PkceCodeVerifier;
    use sha2::{Digest, Sha256};

    #[test]
    fn pkce_pair_is_s256_and_unique() {
        let (a, va, sa) = fresh_secrets();
        let (b, vb, sb) = fresh_secrets();
        assert_eq!(va.secret().len(), 43);
        assert_ne!(va.secret(), vb.secret());
        assert_ne!(a.as_str(), b.as_str());
        let expect = URL_SAFE_NO_PAD.encode(Sha256::digest(va.secret().as_bytes()));
        assert_eq!(a.as_str(), expect);
        assert_eq!(a.method().as_str(), "S256");
        assert_eq!(sa.secret().len(), 22);
        assert_ne!(sa.secret(), sb.secret());
    }

    #[test]
    fn authorize_url_has_the_reference_parameters_in_order() {
        let t = TenantUrl::parse("https://t.example.com").expect("url");
        let oauth = login_client(&t).expect("client");
        let verifier = PkceCodeVerifier::new("v".repeat(43));
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        let redirect = RedirectUrl::new("http://localhost:3000".into()).expect("redirect");
        let (u, state) = authorize_url(
            &oauth,
            "fr:idm:* fr:am:*",
            &redirect,
            challenge.clone(),
            CsrfToken::new("ST".into()),
        );
        assert_eq!(state.secret(), "ST");
        assert_eq!(
            u,
            format!(
                "https://t.example.com/am/oauth2/authorize?response_type=code&client_id=AICMCPClient&scope=fr%3Aidm%3A*+fr%3Aam%3A*&redirect_uri=http%3A%2F%2Flocalhost%3A3000&code_challenge={}&code_challenge_method=S256&state=ST",
                challenge.as_str()
            )
        );
    }
}
