//! The tenant client: the one place HTTP leaves the process.

mod client;
mod error;

pub use client::{ApiRequest, ApiResponse, TenantClient, USER_AGENT};
pub use error::{tx_suffix as tx_suffix_of, TenantError};
