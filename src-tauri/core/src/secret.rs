//! Redacting newtypes for every secret value: tokens, refresh tokens, PKCE verifiers,
//! authorization codes and the local bearer. `Debug` and `Display` print `[redacted]`;
//! the value is reachable only through an explicit `expose()`.

use serde::{Deserialize, Serialize};

macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }
            /// The secret itself. Call only where the value must leave the process
            /// (an HTTP header or form field, the token store).
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($name), "([redacted])"))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("[redacted]")
            }
        }
    };
}

secret_type!(
    /// An OAuth access token (primary or exchanged).
    AccessToken
);
secret_type!(
    /// An OAuth refresh token.
    RefreshToken
);
secret_type!(
    /// A PKCE code verifier.
    PkceVerifier
);
secret_type!(
    /// An OAuth authorization code or device code.
    AuthCode
);
secret_type!(
    /// The bearer that local HTTP clients must present.
    LocalBearer
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let t = AccessToken::new("eyJhbGciOi.secret-value");
        assert_eq!(format!("{t:?}"), "AccessToken([redacted])");
        assert_eq!(format!("{t}"), "[redacted]");
        let v = PkceVerifier::new("verifier-123");
        assert!(!format!("{v:?} {v}").contains("verifier-123"));
        let r = RefreshToken::new("rt-xyz");
        assert!(!format!("{r:?}").contains("rt-xyz"));
        assert_eq!(t.expose(), "eyJhbGciOi.secret-value");
    }

    #[test]
    fn serde_is_transparent_for_the_store() {
        let t = AccessToken::new("abc");
        assert_eq!(serde_json::to_string(&t).unwrap_or_default(), "\"abc\"");
    }
}
