//! Login (PKCE in the browser, device code for headless use), RFC 8693 token exchange,
//! token storage and the session that ties them together. The OAuth flows run on the
//! `oauth2` crate, whose requests go out through the tenant client (`http`).

mod browser;
mod device;
mod error;
mod exchange;
mod http;
mod pkce;
mod redirect;
mod session;
mod store;

pub use browser::{BrowserOpener, SystemBrowser};
pub use device::{DevicePrompt, PromptAnswer, StderrPrompt};
pub use error::AuthError;
pub use http::{AICMCP_CLIENT, EXCHANGE_CLIENT};
pub use redirect::{result_page, RedirectListener};
pub use session::{LoginOptions, Session, SessionState, SessionStatus, SKEW_MS};
pub use store::{
    BearerStore, FileStore, KeychainStore, MemoryStore, StoreError, StoreKind, StoredToken,
    TokenStore, LOCAL_BEARER_ACCOUNT,
};

/// The scopes requested at login: the de-duplicated union of all tools' scopes in
/// registration order (contract §2.2).
pub const LOGIN_SCOPES: &str =
    "fr:idm:* fr:idc:monitoring:* fr:idc:esv:update fr:idc:esv:read fr:am:*";
