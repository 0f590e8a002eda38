"""End to end through a client we did not write: the Python `mcp` SDK starts
aic-mcp-server over stdio against the tenant simulator (HTTPS, AIC_CA_FILE). The first
tool call logs in through real headless Chromium typing into the simulator's sign-in
form (the BROWSER hook), the token lands in the real Secret Service, and every one of
the 13 tools is called with the results the contract describes."""

import asyncio
import json
import os
import pathlib
import subprocess
import time

import sys

import pytest
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client

from conftest import BROWSER_HOOK, SERVER, server_env

EXPECTED_TOOLS = [
    "createManagedObjectDefinition",
    "createManagedObject",
    "deleteManagedObjectDefinition",
    "deleteManagedObject",
    "getManagedObjectSchema",
    "getManagedObject",
    "listManagedObjects",
    "patchManagedObjectDefinition",
    "patchManagedObjectRelationship",
    "patchManagedObject",
    "queryManagedObjects",
    "getLogSources",
    "queryLogs",
    "createTheme",
    "deleteTheme",
    "getThemeSchema",
    "getTheme",
    "getThemes",
    "setDefaultTheme",
    "updateTheme",
    "deleteVariable",
    "getVariable",
    "queryESVs",
    "setVariable",
    "enableAiAgent",
    "installIdmFeature",
    "listFeatures",
    "validateIdmFeature",
    "createJourney",
    "createScript",
    "deleteJourneyNodes",
    "deleteJourney",
    "deleteScript",
    "getAMScript",
    "getDynamicNodeOutcomes",
    "getJourneyPreviewUrl",
    "getJourney",
    "getNodeTypeDetails",
    "getScriptedDecisionNodeBindings",
    "listJourneys",
    "listNodeTypes",
    "listScripts",
    "setDefaultJourney",
    "updateJourneyNode",
    "updateJourney",
    "updateScript",
    "createOidcApp",
    "deleteOidcApp",
    "getOidcAppSchema",
    "getOidcApp",
    "listOidcApps",
    "updateOidcApp",
]
BJENSEN = "a1000000-0000-4000-8000-000000000001"


def text_of(result) -> str:
    return "".join(c.text for c in result.content if getattr(c, "type", "") == "text")


def json_of(text: str):
    return json.loads(text.split("\n\nTransaction ID: ")[0])


def tx_of(text: str) -> str:
    assert "\n\nTransaction ID: " in text, text
    return text.rsplit("\n\nTransaction ID: ", 1)[1]


async def session_run(env: dict, body):
    params = StdioServerParameters(command=str(SERVER), args=[], env=env)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            return await body(session, init)


def keychain_secret(account: str) -> str:
    r = subprocess.run(
        ["secret-tool", "lookup", "service", "aic-mcp-desktop", "username", account],
        capture_output=True, text=True, timeout=20,
    )
    return r.stdout


def clear_keychain(account: str) -> None:
    subprocess.run(["secret-tool", "clear", "service", "aic-mcp-desktop", "username", account], capture_output=True)


def test_all_tools_through_the_python_sdk(sim, tmp_path, chromium, keychain):
    clear_keychain(sim.host)
    env = server_env(sim, tmp_path, E2E_BROWSER_SCREENSHOT=tmp_path / "login.png")
    results = {}

    async def body(s: ClientSession, init):
        assert init.server_info.name == "pingone-aic-mcp-server"
        listed = await s.list_tools()
        names = [t.name for t in listed.tools]
        assert names == EXPECTED_TOOLS
        by_name = {t.name: t for t in listed.tools}
        assert by_name["deleteManagedObject"].annotations.destructive_hint is True
        assert by_name["queryLogs"].annotations.read_only_hint is True
        assert by_name["queryManagedObjects"].input_schema["properties"]["pageSize"]["maximum"] == 250

        async def call(name, args):
            r = await s.call_tool(name, args)
            t = text_of(r)
            results[name] = (r.is_error, t)
            return r.is_error, t

        err, t = await call("listManagedObjects", {})
        assert not err, t
        assert "alpha_user" in json_of(t)["managedObjectTypes"]

        err, t = await call("getManagedObjectSchema", {"objectType": "alpha_user"})
        assert not err and json_of(t)["name"] == "alpha_user" and "userName" in json_of(t)["properties"]
        tx_of(t)

        err, t = await call("queryManagedObjects", {"objectType": "alpha_user", "queryFilter": 'userName eq "bjensen"', "fields": "userName,mail"})
        assert not err and json_of(t)["resultCount"] == 1, t

        err, t = await call("getManagedObject", {"objectType": "alpha_user", "objectId": BJENSEN})
        assert not err and json_of(t)["userName"] == "bjensen", t

        err, t = await call("createManagedObject", {"objectType": "alpha_user", "objectData": {"userName": "e2e.py", "givenName": "E", "sn": "Py", "mail": "e2e.py@example.com"}})
        assert not err and t.startswith("Created managed object "), t
        new_id = t.split("\n")[0].removeprefix("Created managed object ")

        err, t = await call("getManagedObject", {"objectType": "alpha_user", "objectId": new_id})
        rev = json_of(t)["_rev"]
        err, t = await call("patchManagedObject", {"objectType": "alpha_user", "objectId": new_id, "revision": rev, "operations": [{"operation": "replace", "field": "/sn", "value": "Python"}]})
        assert not err and t.startswith(f"Patched managed object {new_id}. New revision: "), t

        err, t = await call("deleteManagedObject", {"objectType": "alpha_user", "objectId": new_id})
        assert not err and t.startswith(f"Deleted managed object {new_id} from alpha_user"), t

        err, t = await call("createManagedObjectDefinition", {"objectName": "alpha_e2e_device", "objectDefinition": {"schema": {"type": "object", "properties": {"serial": {"type": "string"}}}}})
        assert not err and json_of(t)["message"] == "Created managed object definition 'alpha_e2e_device'", t

        err, t = await call("patchManagedObjectDefinition", {"objectName": "alpha_e2e_device", "operations": [{"operation": "add", "field": "/schema/properties/color", "value": {"type": "string"}}]})
        assert not err and json_of(t)["operationsApplied"] == 1, t

        rel = {"type": "relationship", "resourceCollection": [{"path": "managed/alpha_e2e_device", "label": "Device"}]}
        err, t = await call("patchManagedObjectRelationship", {"objectType": "alpha_user", "propertyName": "custom_e2e_device", "action": "add", "propertyDefinition": rel})
        assert not err and json_of(t)["message"] == "Added relationship property 'custom_e2e_device' on 'alpha_user'", t
        err, t = await call("deleteManagedObjectDefinition", {"objectName": "alpha_e2e_device"})
        assert err and "alpha_user (properties: custom_e2e_device)" in t, t
        err, t = await call("patchManagedObjectRelationship", {"objectType": "alpha_user", "propertyName": "custom_e2e_device", "action": "remove"})
        assert not err, t
        err, t = await call("deleteManagedObjectDefinition", {"objectName": "alpha_e2e_device"})
        assert not err and json_of(t)["removedDefinition"]["name"] == "alpha_e2e_device", t

        err, t = await call("getLogSources", {})
        assert not err and "am-authentication" in t, t

        probe_tx = tx_of(results["getManagedObject"][1])
        err, t = await call("queryLogs", {"sources": ["idm-access"], "transactionId": probe_tx})
        assert not err and json_of(t)["resultCount"] >= 1 and probe_tx in t, t

        # Themes.
        err, t = await call("getThemeSchema", {})
        assert not err and "Transaction ID" not in t and json.loads(t), t
        err, t = await call("getThemes", {"realm": "alpha"})
        assert not err and t.startswith('Found 3 theme(s) for realm "alpha":'), t
        err, t = await call("createTheme", {"realm": "alpha", "themeData": {"name": "E2E Theme", "primaryColor": "#123456"}})
        assert not err and json_of(t)["name"] == "E2E Theme", t
        theme_id = json_of(t)["_id"]
        err, t = await call("getTheme", {"realm": "alpha", "themeIdentifier": "E2E Theme"})
        assert not err and json_of(t)["_id"] == theme_id and json_of(t)["primaryColor"] == "#123456", t
        err, t = await call("updateTheme", {"realm": "alpha", "themeIdentifier": theme_id, "themeUpdates": {"primaryColor": "#654321"}})
        assert not err and "Updated theme" in json_of(t)["message"], t
        err, t = await call("setDefaultTheme", {"realm": "alpha", "themeIdentifier": theme_id})
        assert not err and json_of(t)["isDefault"] is True, t
        err, t = await call("deleteTheme", {"realm": "alpha", "themeIdentifier": theme_id})
        assert err and "setDefaultTheme" in t, "the default theme cannot be deleted: " + t
        err, t = await call("setDefaultTheme", {"realm": "alpha", "themeIdentifier": "Starter Theme"})
        assert not err, t
        err, t = await call("deleteTheme", {"realm": "alpha", "themeIdentifier": theme_id})
        assert not err and "Deleted theme" in json_of(t)["message"], t

        # ESVs: the value never reaches the activity log (checked below).
        err, t = await call("setVariable", {"variableId": "esv-e2e-origins", "type": "array", "value": ["https://a.example.com", "https://b.example.com"], "description": "e2e"})
        assert not err and json_of(t)["_id"] == "esv-e2e-origins", t
        err, t = await call("getVariable", {"variableId": "esv-e2e-origins"})
        assert not err and json.loads(json_of(t)["value"]) == ["https://a.example.com", "https://b.example.com"], t
        err, t = await call("queryESVs", {"type": "variable", "queryTerm": "e2e"})
        assert not err and json_of(t)["resultCount"] == 1, t
        err, t = await call("queryESVs", {"type": "secret"})
        assert not err and "valueBase64" not in t, t
        err, t = await call("deleteVariable", {"variableId": "esv-e2e-origins"})
        assert not err and "Deleted variable 'esv-e2e-origins'" in t, t

        # Feature management.
        err, t = await call("listFeatures", {})
        before = {f["name"]: f for f in json_of(t)["features"]}
        assert not err and before["AI Agents"]["status"] == "not_installed", t
        err, t = await call("validateIdmFeature", {"featureName": "password/timestamps"})
        assert not err and json_of(t)["success"] is True, t
        err, t = await call("installIdmFeature", {"featureName": "password/timestamps"})
        assert not err and json_of(t)["status"] == "installed", t
        err, t = await call("enableAiAgent", {})
        assert not err and json_of(t)["status"] == "enabled", t
        err, t = await call("listFeatures", {})
        after = {f["name"]: f for f in json_of(t)["features"]}
        assert after["AI Agents"]["status"] == "installed" and after["password/timestamps"]["installed"], t

        # AM journeys, nodes and scripts.
        err, t = await call("listJourneys", {"realm": "alpha"})
        assert not err and "Login" in t, t
        err, t = await call("listNodeTypes", {"realm": "alpha"})
        assert not err and "PageNode" in t, t
        err, t = await call("getNodeTypeDetails", {"realm": "alpha", "nodeTypes": ["DataStoreDecisionNode"]})
        assert not err and "DataStoreDecisionNode" in t, t
        err, t = await call("getDynamicNodeOutcomes", {"realm": "alpha", "nodeType": "ScriptedDecisionNode", "config": {"outcomes": ["allow", "deny"]}})
        assert not err and "allow" in t and "deny" in t, t
        err, t = await call("getScriptedDecisionNodeBindings", {"realm": "alpha"})
        assert not err and "bindings" in t, t
        err, t = await call("createScript", {"realm": "alpha", "name": "E2E Decision", "script": 'action.goTo("true");'})
        assert not err and "Script ID: " in t, t
        script_id = t.split("Script ID: ", 1)[1].split("\n", 1)[0]
        err, t = await call("getAMScript", {"realm": "alpha", "scriptId": script_id})
        assert not err and json_of(t)["script"] == 'action.goTo("true");', t
        err, t = await call("updateScript", {"realm": "alpha", "scriptId": script_id, "description": "from the e2e test"})
        assert not err and "updated" in t, t
        err, t = await call("listScripts", {"realm": "alpha"})
        assert not err and "E2E Decision" in t, t
        graph = {"entryNodeId": "page", "nodes": {
            "page": {"nodeType": "PageNode", "displayName": "Sign in", "connections": {"outcome": "check"},
                     "config": {"nodes": [{"_id": "user", "nodeType": "ValidatedUsernameNode", "displayName": "Username"},
                                          {"_id": "pass", "nodeType": "ValidatedPasswordNode", "displayName": "Password"}]}},
            "check": {"nodeType": "DataStoreDecisionNode", "displayName": "Check", "connections": {"true": "success", "false": "failure"}, "config": {}},
        }}
        err, t = await call("createJourney", {"realm": "alpha", "journeyName": "E2E Login", "journeyData": graph})
        assert not err and json_of(t)["success"] is True, t
        mapping = json_of(t)["nodeIdMapping"]
        err, t = await call("getJourney", {"realm": "alpha", "journeyName": "E2E Login"})
        assert not err and mapping["check"] in t and mapping["user"] in t, "PageNode children carry their mapped ids: " + t
        err, t = await call("updateJourney", {"realm": "alpha", "journeyName": "E2E Login", "description": "updated by e2e"})
        assert not err, t
        err, t = await call("updateJourneyNode", {"realm": "alpha", "nodeType": "DataStoreDecisionNode", "nodeId": mapping["check"], "config": {}})
        assert not err, t
        err, t = await call("setDefaultJourney", {"realm": "alpha", "journeyName": "E2E Login"})
        assert not err, t
        err, t = await call("getJourneyPreviewUrl", {"realm": "alpha", "journeyName": "E2E Login"})
        assert not err and "authIndexValue=E2E" in t, t
        err, t = await call("setDefaultJourney", {"realm": "alpha", "journeyName": "Login"})
        assert not err, t
        err, t = await call("deleteJourney", {"realm": "alpha", "journeyName": "E2E Login"})
        assert not err, t
        err, t = await call("deleteJourneyNodes", {"realm": "alpha", "nodes": [{"nodeType": "MessageNode", "nodeId": "00000000-0000-4000-8000-000000000000"}]})
        assert not err and "00000000-0000-4000-8000-000000000000" in t, t
        err, t = await call("deleteScript", {"realm": "alpha", "scriptId": script_id})
        assert not err, t

        # Applications / OIDC apps (AM OAuth2 client + IDM application).
        err, t = await call("getOidcAppSchema", {"realm": "alpha"})
        assert not err and "oauth2Client" in json_of(t), t
        err, t = await call("listOidcApps", {"realm": "alpha"})
        assert not err and "Customer Portal" in t, t
        redirect = {"coreOAuth2ClientConfig": {"redirectionUris": {"inherited": False, "value": ["https://e2e.example.com/cb"]}}}
        err, t = await call("createOidcApp", {"realm": "alpha", "name": "E2E App", "clientId": "e2e-app",
                                              "owners": [{"_ref": f"managed/alpha_user/{BJENSEN}"}], "oauth2Client": redirect})
        assert not err and json_of(t)["managedApplication"]["ssoEntities"]["oidcId"] == "e2e-app", t
        err, t = await call("getOidcApp", {"realm": "alpha", "name": "E2E App"})
        got = json_of(t)
        assert not err and got["oauth2Client"]["_id"] == "e2e-app", t
        assert got["oauth2Client"]["coreOAuth2ClientConfig"]["redirectionUris"]["value"] == ["https://e2e.example.com/cb"], t
        err, t = await call("updateOidcApp", {"realm": "alpha", "name": "E2E App",
                                              "oauth2Client": {"coreOAuth2ClientConfig": {"redirectionUris": {"inherited": False, "value": ["https://e2e.example.com/v2"]}}}})
        assert not err, t
        err, t = await call("getOidcApp", {"realm": "alpha", "name": "E2E App"})
        assert json_of(t)["oauth2Client"]["coreOAuth2ClientConfig"]["redirectionUris"]["value"] == ["https://e2e.example.com/v2"], t
        err, t = await call("deleteOidcApp", {"realm": "alpha", "name": "E2E App"})
        assert not err, t
        err, t = await call("getOidcApp", {"realm": "alpha", "name": "E2E App"})
        assert err, "deleted: " + t

        # Bad input: a clear error and nothing sent.
        sim.clear()
        err, t = await call("getManagedObject", {"objectType": "../config/managed", "objectId": "x"})
        assert err and "Input validation error" in t and "objectType" in t, t
        err, t = await call("queryLogs", {"sources": ["am-access,idm-core"]})
        assert err and "sources[0]" in t, t
        assert sim.requests() == []

    asyncio.run(session_run(env, body))
    assert set(EXPECTED_TOOLS) <= set(results)

    log = (tmp_path / "browser.log").read_text()
    assert "result page: Authorization Successful" in log, log

    reqs = sim.requests()  # cleared before the bad-input calls
    assert reqs == []

    # The token lives in the Secret Service, and nowhere on disk.
    tokens = sim.tokens()
    stored = keychain_secret(sim.host)
    assert stored, "the keychain has our entry"
    record = json.loads(stored)
    assert record["aicBaseUrl"] == sim.host
    assert record["accessToken"] in tokens["primary"]
    secrets = set(tokens["primary"]) | set(tokens["refresh"])
    assert secrets
    searched = search_disk_for(secrets, tmp_path)
    assert searched > 0

    activity = "".join(p.read_text() for p in (tmp_path / "logs").glob("activity*.jsonl"))
    assert '"tool":"setVariable"' in activity
    assert "https://a.example.com" not in activity, "ESV values never reach the activity log"

    # A restart reuses the stored login: no browser, no authorization code.
    sim.clear()
    env2 = server_env(sim, tmp_path, BROWSER="/bin/false")

    async def again(s: ClientSession, _init):
        r = await s.call_tool("getLogSources", {})
        assert not r.is_error, text_of(r)

    asyncio.run(session_run(env2, again))
    grants = [r["body"] for r in sim.requests() if r["path"] == "/am/oauth2/access_token"]
    assert not any("grant_type=authorization_code" in g for g in grants)
    assert any("token-exchange" in g for g in grants)
    assert not any(r["path"] == "/am/oauth2/authorize" for r in sim.requests())

    # Every request of ours carried the User-Agent and a unique transaction id.
    ua = "aic-mcp-server/"
    ids = set()
    for r in sim.requests():
        headers = dict(r["headers"])
        assert headers.get("user-agent", "").startswith(ua), r
        tx = headers["x-forgerock-transactionid"]
        assert tx not in ids
        ids.add(tx)
    clear_keychain(sim.host)


def search_disk_for(secrets: set, tmp_path: pathlib.Path) -> int:
    """Searches the config, data, state, cache and log dirs (and the test's temp dir) for
    any token string; returns how many files were read."""
    home = pathlib.Path.home()
    roots = [
        pathlib.Path(os.environ.get("XDG_CONFIG_HOME", home / ".config")),
        pathlib.Path(os.environ.get("XDG_DATA_HOME", home / ".local/share")),
        pathlib.Path(os.environ.get("XDG_STATE_HOME", home / ".local/state")),
        pathlib.Path(os.environ.get("XDG_CACHE_HOME", home / ".cache")),
        tmp_path,
    ]
    read = 0
    for root in roots:
        if not root.exists():
            continue
        for path in root.rglob("*"):
            try:
                if not path.is_file() or path.is_symlink() or path.stat().st_size > 50_000_000:
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            read += 1
            for s in secrets:
                assert s.encode() not in data, f"a token was found on disk in {path}"
    return read


def test_denied_consent_in_chromium_is_a_clear_error(sim, tmp_path, chromium):
    env = server_env(sim, tmp_path, AIC_TOKEN_STORE="memory", E2E_BROWSER_DECISION="deny")

    async def body(s: ClientSession, _init):
        r = await s.call_tool("getLogSources", {})
        t = text_of(r)
        assert r.is_error, t
        assert t.startswith("Failed to fetch log sources: Sign-in was denied: access_denied"), t

    asyncio.run(session_run(env, body))
    # The browser hook runs detached; give it time to record the page it saw.
    log = tmp_path / "browser.log"
    for _ in range(150):
        if "result page:" in log.read_text():
            break
        time.sleep(0.1)
    assert "result page: Authorization Failed" in log.read_text()


def test_configuration_errors_exit_2_with_one_line(tmp_path):
    for env, setting in (
        ({}, "AIC_BASE_URL"),
        ({"AIC_BASE_URL": "http://tenant.example.com"}, "AIC_BASE_URL"),
        ({"AIC_BASE_URL": "t.example.com", "AIC_REDIRECT_PORT": "70000"}, "AIC_REDIRECT_PORT"),
        ({"AIC_BASE_URL": "t.example.com", "AIC_TOKEN_STORE": "vault"}, "AIC_TOKEN_STORE"),
        ({"AIC_BASE_URL": "t.example.com", "AIC_CA_FILE": str(tmp_path / "missing.pem")}, "AIC_CA_FILE"),
    ):
        clean = {k: v for k, v in os.environ.items() if not k.startswith("AIC_")}
        clean.update(env)
        p = subprocess.run([str(SERVER)], env=clean, capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
        assert p.returncode == 2, (env, p.stderr)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1, p.stderr
        assert setting in lines[0] and "example:" in lines[0], lines[0]
        assert p.stdout == ""


def test_demo_mode_serves_the_built_in_tenant(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIC_")}
    env["AIC_LOG_DIR"] = str(tmp_path / "logs")
    params = StdioServerParameters(command=str(SERVER), args=["--demo"], env=env)

    async def run():
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as s:
                await s.initialize()
                r = await s.call_tool("queryManagedObjects", {"objectType": "alpha_user", "queryFilter": 'userName eq "bjensen"'})
                assert not r.is_error, text_of(r)
                assert json_of(text_of(r))["result"][0]["userName"] == "bjensen"

    asyncio.run(run())
    logs = list((tmp_path / "logs").glob("activity*.jsonl"))
    assert logs and '"tool_finished"' in logs[0].read_text()


def test_container_mode_device_login_through_url_elicitation(sim, tmp_path, chromium):
    """DOCKER_CONTAINER=true: device-code sign-in; the SDK client supports elicitation, so
    the verification URL arrives as a URL-mode elicitation; real Chromium completes it."""
    token_file = tmp_path / "tokens" / "token.json"
    env = server_env(sim, tmp_path, DOCKER_CONTAINER="true", AIC_TOKEN_FILE=token_file, BROWSER="/bin/false")
    seen = {}

    async def on_elicit(_ctx, params):
        seen["mode"] = params.mode
        seen["url"] = getattr(params, "url", None)
        hook = subprocess.run(
            [sys.executable, str(BROWSER_HOOK), seen["url"]],
            env={**os.environ, "E2E_BROWSER_LOG": str(tmp_path / "device-browser.log")},
            timeout=90,
        )
        assert hook.returncode == 0
        return types.ElicitResult(action="accept")

    async def run():
        params = StdioServerParameters(command=str(SERVER), args=[], env=env)
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write, elicitation_callback=on_elicit) as s:
                await s.initialize()
                assert len((await s.list_tools()).tools) == 28
                r = await s.call_tool("getLogSources", {})
                assert not r.is_error, text_of(r)

    asyncio.run(run())
    assert seen["mode"] == "url"
    assert "/am/oauth2/device/user?user_code=" in seen["url"]
    assert "result page: Success" in (tmp_path / "device-browser.log").read_text()
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert token_file.parent.stat().st_mode & 0o777 == 0o700
    bodies = [r["body"] for r in sim.requests() if r["path"] == "/am/oauth2/access_token"]
    assert any("device_code" in b for b in bodies) and not any("authorization_code" in b for b in bodies)
