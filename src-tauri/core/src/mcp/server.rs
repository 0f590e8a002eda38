//! The rmcp handler. Every call is published on the activity bus (started, each upstream
//! request, finished). Failures map as the SDK intends, with one deliberate deviation:
//! argument validation failures are tool results with `isError: true` and the reference's
//! text (`MCP error -32602: Input validation error: …`), as the reference does and as the
//! MCP specification asks since 2025-11-25, so the model can correct its call.

use std::sync::Arc;
use std::time::Instant;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ElicitRequestParams,
    ElicitationAction, Implementation, ListToolsResult, PaginatedRequestParams, ServerCapabilities,
    ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData as McpError, Peer, ServerHandler};
use serde_json::Value;

use crate::activity::{mask_arguments, now_rfc3339, ActivityBus, ActivityEvent, Outcome};
use crate::auth::{DevicePrompt, PromptAnswer, Session, StderrPrompt};
use crate::tools::{CallCtx, Registry, ToolDef};

/// The server name reported in `initialize` (the reference's, for drop-in use).
pub const SERVER_NAME: &str = "pingone-aic-mcp-server";

/// One MCP service; cheap to clone, one per connection, all sharing the session.
#[derive(Clone)]
pub struct McpService {
    registry: Arc<Registry>,
    session: Arc<Session>,
    bus: Arc<ActivityBus>,
}

impl McpService {
    pub fn new(registry: Arc<Registry>, session: Arc<Session>, bus: Arc<ActivityBus>) -> Self {
        Self {
            registry,
            session,
            bus,
        }
    }

    /// The tool list as `tools/list` returns it.
    pub fn list(&self) -> Vec<Tool> {
        self.registry.tools().iter().map(descriptor).collect()
    }

    /// Runs one tool call: validation, body, activity events. `client` names the caller.
    pub async fn call(
        &self,
        name: &str,
        arguments: Value,
        client: Option<String>,
        prompt: Option<Arc<dyn DevicePrompt>>,
    ) -> CallToolResult {
        let call_id = self.bus.next_call_id();
        let started = Instant::now();
        let def = self.registry.get(name);
        let masked = mask_arguments(&arguments, def.map(ToolDef::masking).unwrap_or_default());
        self.bus.publish(ActivityEvent::ToolStarted {
            call_id,
            at: now_rfc3339(),
            tool: name.to_string(),
            client,
            arguments: masked,
        });
        let (outcome, text) = match def {
            None => (Outcome::Rejected, format!("Tool {name} not found")),
            Some(def) => {
                let ctx = CallCtx::new(self.session.clone(), call_id, def.scopes, prompt);
                match def.prepare(ctx, arguments) {
                    Err(e) => (
                        Outcome::Rejected,
                        format!(
                            "MCP error -32602: Input validation error: Invalid arguments for tool {name}: {e}"
                        ),
                    ),
                    Ok(body) => match body.await {
                        Ok(text) => (Outcome::Ok, text),
                        Err(text) => (Outcome::Error, text),
                    },
                }
            }
        };
        self.bus.publish(ActivityEvent::ToolFinished {
            call_id,
            at: now_rfc3339(),
            tool: name.to_string(),
            outcome,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            message: (outcome != Outcome::Ok).then(|| text.clone()),
        });
        let content = vec![ContentBlock::text(text)];
        if outcome == Outcome::Ok {
            CallToolResult::success(content)
        } else {
            CallToolResult::error(content)
        }
    }
}

fn descriptor(def: &ToolDef) -> Tool {
    let mut annotations = ToolAnnotations::default();
    annotations.read_only_hint = def.hints.read_only;
    annotations.destructive_hint = def.hints.destructive;
    annotations.idempotent_hint = def.hints.idempotent;
    annotations.open_world_hint = def.hints.open_world;
    let mut tool = Tool::new(
        def.name,
        def.description,
        Arc::new(def.input_schema.clone()),
    );
    tool.title = Some(def.title.to_string());
    tool.annotations = Some(annotations);
    tool
}

/// Shows the device-login URL through MCP elicitation: URL mode where the client supports
/// it, form mode otherwise, stderr when the client supports neither.
struct ElicitationPrompt {
    peer: Peer<RoleServer>,
}

#[async_trait::async_trait]
impl DevicePrompt for ElicitationPrompt {
    async fn show(&self, uri: &str, user_code: &str) -> PromptAnswer {
        let modes = self.peer.supported_elicitation_modes();
        let message = format!(
            "Sign in to PingOne Advanced Identity Cloud: open this URL in a browser, confirm the code {user_code}, then come back and accept.\n{uri}"
        );
        let id = uuid::Uuid::new_v4().to_string();
        let result = if modes.contains(&rmcp::service::ElicitationMode::Url) {
            match url::Url::parse(uri) {
                Ok(u) => self
                    .peer
                    .elicit_url(message, u, id)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            }
        } else if modes.contains(&rmcp::service::ElicitationMode::Form) {
            let schema = rmcp::model::ElicitationSchema::builder().build_unchecked();
            self.peer
                .create_elicitation(ElicitRequestParams::FormElicitationParams {
                    meta: None,
                    message,
                    requested_schema: schema,
                })
                .await
                .map(|r| r.action)
                .map_err(|e| e.to_string())
        } else {
            return StderrPrompt.show(uri, user_code).await;
        };
        match result {
            Ok(ElicitationAction::Accept) => PromptAnswer::Accepted,
            Ok(ElicitationAction::Decline) => PromptAnswer::Refused("decline".into()),
            Ok(ElicitationAction::Cancel) => PromptAnswer::Refused("cancel".into()),
            Ok(_) => PromptAnswer::Refused("unknown".into()),
            Err(e) => {
                tracing::warn!(error = %e, "elicitation failed; showing the URL on stderr");
                StderrPrompt.show(uri, user_code).await
            }
        }
    }
}

impl ServerHandler for McpService {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .build(),
        )
        .with_server_info(Implementation::new(SERVER_NAME, env!("CARGO_PKG_VERSION")))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.list()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.registry.get(name).map(descriptor)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let client = context
            .peer
            .peer_info()
            .map(|info| info.client_info.name.clone());
        let prompt: Arc<dyn DevicePrompt> = Arc::new(ElicitationPrompt {
            peer: context.peer.clone(),
        });
        let args = request.arguments.map(Value::Object).unwrap_or(Value::Null);
        Ok(self
            .call(&request.name, args, client, Some(prompt))
            .await
            .into())
    }
}
