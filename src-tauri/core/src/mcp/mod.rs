//! The MCP service (rmcp): tool listing and dispatch, activity publishing, and the
//! transports that serve it.

mod server;

pub use server::{McpService, SERVER_NAME};
