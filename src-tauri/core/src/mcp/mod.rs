//! The MCP service (rmcp): tool listing and dispatch, activity publishing, and the
//! transports that serve it: stdio (headless), the local unix socket (the app) with its
//! stdio bridge (`aic-mcp-server connect`), and opt-in loopback Streamable HTTP.

pub mod bridge;
pub mod http;
mod server;
pub mod socket;

pub use server::{
    CallGate, Caller, Confirm, ConnectedSession, Guard, ListeningSessions, McpService, SERVER_NAME,
};
