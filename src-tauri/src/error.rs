//! Errors for the UI: `{code, message}`. A code exists only where the UI branches on it.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UiError {
    pub code: &'static str,
    pub message: String,
}

impl UiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn io(e: impl std::fmt::Display) -> Self {
        Self::new("Io", e.to_string())
    }
}

impl From<aic_mcp_core::auth::AuthError> for UiError {
    fn from(e: aic_mcp_core::auth::AuthError) -> Self {
        Self::new(e.code(), e.to_string())
    }
}

impl From<aic_mcp_core::settings::SettingsError> for UiError {
    fn from(e: aic_mcp_core::settings::SettingsError) -> Self {
        match e {
            aic_mcp_core::settings::SettingsError::Invalid { .. } => {
                Self::new("InvalidSettings", e.to_string())
            }
            aic_mcp_core::settings::SettingsError::Io { .. } => Self::io(e),
        }
    }
}

impl From<aic_mcp_core::assistants::AssistantError> for UiError {
    fn from(e: aic_mcp_core::assistants::AssistantError) -> Self {
        Self::new(e.code(), e.to_string())
    }
}

impl From<aic_mcp_core::host::HostError> for UiError {
    fn from(e: aic_mcp_core::host::HostError) -> Self {
        Self::new(e.code(), e.to_string())
    }
}

impl From<aic_mcp_core::auth::StoreError> for UiError {
    fn from(e: aic_mcp_core::auth::StoreError) -> Self {
        Self::new("KeychainUnavailable", e.to_string())
    }
}

pub type UiResult<T> = Result<T, UiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ui_sees_code_and_message() {
        let e: UiError = aic_mcp_core::auth::AuthError::NotLoggedIn {
            tenant: "openam-x.forgeblocks.com".into(),
        }
        .into();
        assert_eq!(
            serde_json::to_value(&e).expect("json"),
            serde_json::json!({
                "code": "NotLoggedIn",
                "message": "Not signed in to openam-x.forgeblocks.com. Sign in from AIC MCP Desktop (Log in) and try again."
            })
        );
        let e: UiError = aic_mcp_core::settings::SettingsError::Invalid {
            field: "HTTP port",
            message: "80 is not a port from 1024 to 65535".into(),
        }
        .into();
        assert_eq!(e.code, "InvalidSettings");
        assert_eq!(e.message, "HTTP port: 80 is not a port from 1024 to 65535");
    }

    #[test]
    fn host_errors_keep_their_own_codes() {
        use aic_mcp_core::host::HostError;
        let e: UiError = HostError::NotReady("AIC MCP Desktop is still starting.".into()).into();
        assert_eq!(
            serde_json::to_value(&e).expect("json"),
            serde_json::json!({"code": "NotReady", "message": "AIC MCP Desktop is still starting."})
        );
        let e: UiError = HostError::HttpOff.into();
        assert_eq!(e.code, "HttpOff");
        let e: UiError = HostError::Auth(aic_mcp_core::auth::AuthError::Cancelled).into();
        assert_eq!(e.code, "Cancelled");
    }
}
