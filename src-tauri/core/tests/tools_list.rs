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

/// The policy over every tool of the golden catalogue and every mode, against what the
/// golden file's annotations say (read by this test, not by the policy): read-only tools
/// always run; writes are refused in read-only mode, asked about in ask mode, asked about
/// in ask-destructive mode unless `destructiveHint` is false, and run in full mode; a
/// switched-off tool or family is refused whatever the mode.
#[test]
fn policy_table_over_the_golden_catalogue() {
    use aic_mcp_core::policy::{decide, Decision, Mode, Refusal, Switches};
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tools_list.json");
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("golden")).expect("json");
    let registry = Registry::new(false);
    let tools = golden["tools"].as_array().expect("tools");
    assert_eq!(tools.len(), registry.tools().len());
    let none = Switches::default();
    let (mut reads, mut asked_destructive) = (0, 0);
    for t in tools {
        let name = t["name"].as_str().expect("name");
        let def = registry.get(name).expect("registered");
        let ann = &t["annotations"];
        let read_only = ann["readOnlyHint"].as_bool() == Some(true);
        // MCP: a missing destructiveHint means destructive.
        let destructive = !read_only && ann["destructiveHint"].as_bool() != Some(false);
        reads += usize::from(read_only);
        for mode in Mode::ALL {
            let expected = match (mode, read_only, destructive) {
                (_, true, _) => Decision::Allow,
                (Mode::ReadOnly, false, _) => Decision::Refuse(Refusal::ReadOnly),
                (Mode::Ask, false, _) => Decision::Ask,
                (Mode::AskDestructive, false, true) => Decision::Ask,
                (Mode::AskDestructive, false, false) | (Mode::Full, false, _) => Decision::Allow,
            };
            let got = decide(mode, name, def.family, def.hints, &none);
            assert_eq!(got, expected, "{name} in {}", mode.as_str());
            if mode == Mode::AskDestructive && got == Decision::Ask {
                asked_destructive += 1;
            }
            // A switch wins over every mode, by tool name or by family.
            for switch in [name, def.family] {
                let off = Switches::new([switch]).expect("known");
                assert_eq!(
                    decide(mode, name, def.family, def.hints, &off),
                    Decision::Refuse(Refusal::TurnedOff {
                        switch: switch.to_string()
                    }),
                    "{name} off by {switch}"
                );
            }
        }
    }
    // The catalogue has both kinds of write, so every branch above was taken.
    assert!(reads > 0 && reads < tools.len(), "{reads} read-only tools");
    assert!(asked_destructive > 0 && asked_destructive < tools.len() - reads);
}
