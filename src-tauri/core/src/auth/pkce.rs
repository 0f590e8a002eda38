//! Authorization code + PKCE (contract §2.4): the PKCE pair, the `state` and the authorize
//! URL; the redirect comes back to [`super::RedirectListener`].

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::TenantUrl;
use crate::secret::PkceVerifier;

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
}
