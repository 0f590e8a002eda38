//! Golden snapshot of the tool catalogue (names, titles, descriptions, schemas,
//! annotations): any change to a tool's surface shows up in review. Regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p aic-mcp-core --test tools_list`.

use std::path::PathBuf;

use aic_mcp_core::activity::ActivityBus;
use aic_mcp_core::auth::{LoginOptions, MemoryStore, Session, SystemBrowser};
use aic_mcp_core::clock::SystemClock;
use aic_mcp_core::config::{LoginMode, TenantUrl};
use aic_mcp_core::mcp::{CallGate, McpService};
use aic_mcp_core::tenant::TenantClient;
use aic_mcp_core::tools::Registry;
use std::sync::Arc;

fn catalogue(container: bool) -> serde_json::Value {
    let bus = ActivityBus::new(8);
    let tenant = TenantUrl::parse("https://tenant.example.com").expect("url");
    let client = TenantClient::new(tenant, None, bus.clone(), false).expect("client");
    let session = Session::new(
        client,
        Arc::new(MemoryStore::default()),
        Arc::new(SystemClock),
        Arc::new(SystemBrowser),
        LoginOptions::new(LoginMode::Pkce, 3000),
    );
    let service = McpService::new(
        Arc::new(Registry::new(container)),
        session,
        bus,
        CallGate::new(),
    );
    serde_json::json!({ "tools": service.list() })
}

fn check(file: &str, container: bool) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(file);
    let actual = serde_json::to_string_pretty(&catalogue(container)).expect("json") + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "{file} differs from the catalogue; review the change and regenerate with UPDATE_GOLDEN=1.\n--- actual ---\n{actual}"
    );
}

#[test]
fn tools_list_matches_the_golden_file() {
    check("tools_list.json", false);
}

#[test]
fn container_tools_list_matches_the_golden_file() {
    check("tools_list_container.json", true);
}
