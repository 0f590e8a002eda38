//! `aic-mcp-core`: the GUI-free core of AIC MCP Desktop. It never names `tauri`: the
//! desktop shell, the headless `aic-mcp-server` and the tests are all hosts of this crate.
//!
//! Flow of a tool call: MCP service (`mcp`) → argument validation (`validate`) → tool
//! (`tools`) → scoped token from the session (`auth`) → tenant client (`tenant`), with
//! every step published on the activity bus (`activity`).

pub mod activity;
pub mod app;
pub mod approval;
pub mod assistants;
pub mod atomic;
pub mod auth;
pub mod clock;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod diff;
pub mod export;
pub mod host;
pub mod journal;
pub mod logging;
pub mod mcp;
pub mod policy;
pub mod secret;
pub mod settings;
pub mod tenant;
pub mod text;
pub mod tools;
pub mod validate;

pub use app::{App, AppError, AppParts};
pub use config::Config;
