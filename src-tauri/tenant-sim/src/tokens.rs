//! Authorisation codes, device authorisations and tokens, and the bearer check for resources.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Lifetime of an authorisation code.
pub(crate) const CODE_LIFETIME: Duration = Duration::from_secs(60);

/// Who granted what.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub(crate) user: String,
    pub(crate) scopes: Vec<String>,
}

pub(crate) struct AuthCode {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) challenge: String,
    pub(crate) grant: Grant,
    pub(crate) issued: Instant,
}

struct AccessToken {
    grant: Grant,
    expires_at: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeviceStatus {
    Pending,
    Approved(String),
    Denied,
}

pub(crate) struct DeviceAuth {
    pub(crate) user_code: String,
    pub(crate) client_id: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) challenge: Option<String>,
    pub(crate) expires_at: Instant,
    pub(crate) last_poll: Option<Instant>,
    pub(crate) status: DeviceStatus,
}

/// Why a resource request's bearer token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Unauthorized,
    Forbidden,
}

#[derive(Default)]
pub(crate) struct AuthState {
    codes: HashMap<String, AuthCode>,
    primary: HashMap<String, AccessToken>,
    exchanged: HashMap<String, AccessToken>,
    refresh: HashMap<String, Grant>,
    pub(crate) devices: HashMap<String, DeviceAuth>,
}

/// A random URL-safe token string.
pub(crate) fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// A user code like `BCDF-GHJK` (consonants only, so no words and no 0/O or 1/I confusion).
fn random_user_code() -> String {
    const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
    let mut code = String::with_capacity(9);
    for i in 0..8 {
        if i == 4 {
            code.push('-');
        }
        let idx = rand::random_range(0..ALPHABET.len());
        code.push(char::from(ALPHABET[idx]));
    }
    code
}

/// Normalises a user code as typed: upper-case, no separators.
fn normalise_user_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// base64url-no-pad(SHA-256(verifier)) == challenge.
pub(crate) fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge
}

impl AuthState {
    pub(crate) fn issue_code(&mut self, code: AuthCode) -> String {
        self.codes.retain(|_, c| c.issued.elapsed() < CODE_LIFETIME);
        let value = random_token();
        self.codes.insert(value.clone(), code);
        value
    }

    /// Removes and returns a code (single use), if it exists and has not expired.
    pub(crate) fn take_code(&mut self, code: &str) -> Option<AuthCode> {
        self.codes
            .remove(code)
            .filter(|c| c.issued.elapsed() < CODE_LIFETIME)
    }

    pub(crate) fn issue_primary(&mut self, grant: Grant, lifetime: Duration) -> String {
        let token = random_token();
        self.primary.insert(
            token.clone(),
            AccessToken {
                grant,
                expires_at: Instant::now() + lifetime,
            },
        );
        token
    }

    pub(crate) fn issue_exchanged(&mut self, grant: Grant, lifetime: Duration) -> String {
        let token = random_token();
        self.exchanged.insert(
            token.clone(),
            AccessToken {
                grant,
                expires_at: Instant::now() + lifetime,
            },
        );
        token
    }

    pub(crate) fn issue_refresh(&mut self, grant: Grant) -> String {
        let token = random_token();
        self.refresh.insert(token.clone(), grant);
        token
    }

    /// Removes a refresh token (rotation) and returns its grant.
    pub(crate) fn take_refresh(&mut self, token: &str) -> Option<Grant> {
        self.refresh.remove(token)
    }

    /// The grant of a live primary token.
    pub(crate) fn live_primary(&self, token: &str) -> Option<Grant> {
        self.primary
            .get(token)
            .filter(|t| Instant::now() < t.expires_at)
            .map(|t| t.grant.clone())
    }

    pub(crate) fn live_primary_tokens(&self) -> Vec<String> {
        let now = Instant::now();
        self.primary
            .iter()
            .filter(|(_, t)| now < t.expires_at)
            .map(|(k, _)| k.clone())
            .collect()
    }

    pub(crate) fn refresh_tokens(&self) -> Vec<String> {
        self.refresh.keys().cloned().collect()
    }

    pub(crate) fn expire_all(&mut self) {
        let now = Instant::now();
        for t in self.primary.values_mut().chain(self.exchanged.values_mut()) {
            t.expires_at = now;
        }
    }

    /// Checks an `Authorization` header for a resource request: only live exchanged tokens
    /// holding every needed scope pass.
    pub(crate) fn authorize_resource(
        &self,
        authorization: Option<&str>,
        needed: &[&str],
    ) -> Result<Grant, Refusal> {
        let token = authorization
            .and_then(|h| h.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .ok_or(Refusal::Unauthorized)?;
        let t = self
            .exchanged
            .get(token)
            .filter(|t| Instant::now() < t.expires_at)
            .ok_or(Refusal::Unauthorized)?;
        if needed.iter().all(|s| t.grant.scopes.iter().any(|g| g == s)) {
            Ok(t.grant.clone())
        } else {
            Err(Refusal::Forbidden)
        }
    }

    /// Registers a device authorisation; returns `(device_code, user_code)`.
    pub(crate) fn start_device(
        &mut self,
        client_id: &str,
        scopes: Vec<String>,
        challenge: Option<String>,
        lifetime: Duration,
    ) -> (String, String) {
        let now = Instant::now();
        self.devices.retain(|_, d| now < d.expires_at);
        let device_code = random_token();
        let user_code = loop {
            let candidate = random_user_code();
            if self.find_device(&candidate).is_none() {
                break candidate;
            }
        };
        self.devices.insert(
            device_code.clone(),
            DeviceAuth {
                user_code: user_code.clone(),
                client_id: client_id.to_string(),
                scopes,
                challenge,
                expires_at: now + lifetime,
                last_poll: None,
                status: DeviceStatus::Pending,
            },
        );
        (device_code, user_code)
    }

    /// The device code of a live authorisation with this user code.
    pub(crate) fn find_device(&self, user_code: &str) -> Option<String> {
        let wanted = normalise_user_code(user_code);
        let now = Instant::now();
        self.devices
            .iter()
            .find(|(_, d)| normalise_user_code(&d.user_code) == wanted && now < d.expires_at)
            .map(|(k, _)| k.clone())
    }

    /// Approves (`Some(user)`) or denies (`None`) a pending device authorisation.
    pub(crate) fn decide_device(&mut self, user_code: &str, user: Option<String>) -> bool {
        let Some(key) = self.find_device(user_code) else {
            return false;
        };
        match self.devices.get_mut(&key) {
            Some(d) if d.status == DeviceStatus::Pending => {
                d.status = match user {
                    Some(u) => DeviceStatus::Approved(u),
                    None => DeviceStatus::Denied,
                };
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pkce_example_from_rfc7636() {
        assert!(pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }

    #[test]
    fn user_codes_look_right_and_match_loosely() {
        let code = random_user_code();
        assert_eq!(code.len(), 9);
        assert_eq!(code.as_bytes()[4], b'-');
        let mut s = AuthState::default();
        let (dc, uc) = s.start_device("c", vec![], None, Duration::from_secs(60));
        assert_eq!(s.find_device(&uc.to_lowercase().replace('-', "")), Some(dc));
    }
}
