//! Where a tenant comes from when the settings name none: a [`TenantProvider`] (the
//! built-in demo tenant, or a test's own). The supervisor asks it for a tenant at every
//! start and drops what it got after the core stopped.

use std::any::Any;
use std::sync::Arc;

use crate::auth::{BrowserOpener, TokenStore};
use crate::config::Config;

/// What the supervisor hands a provider: the redirect port from the settings and the
/// process environment (the provider takes the remaining settings from it).
pub struct ProvideRequest<'a> {
    pub redirect_port: u16,
    pub env: &'a (dyn Fn(&str) -> Option<String> + Send + Sync),
}

/// A tenant started for one run of the core.
pub struct ProvidedTenant {
    pub config: Config,
    /// Replaces the host's browser (a provider that signs in by itself).
    pub browser: Option<Arc<dyn BrowserOpener>>,
    /// Where its tokens go (the demo: memory, so no keychain entry outlives it).
    pub store: Arc<dyn TokenStore>,
    /// Shown next to Log in (the demo's credentials).
    pub sign_in_hint: Option<String>,
    /// Keeps the tenant alive; dropped after the core that used it has stopped.
    pub guard: Box<dyn Any + Send + Sync>,
}

impl std::fmt::Debug for ProvidedTenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvidedTenant")
            .field("tenant", &self.config.tenant)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// Starts a tenant on demand.
#[async_trait::async_trait]
pub trait TenantProvider: Send + Sync {
    /// What the status calls it ("demo tenant").
    fn describe(&self) -> &'static str;
    async fn provide(&self, request: ProvideRequest<'_>) -> Result<ProvidedTenant, String>;
}
