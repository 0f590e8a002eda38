"""The desktop app end to end: the real WebKitGTK window under Xvfb, driven through
tauri-driver and WebKitWebDriver. The app starts on a configured tenant (the simulator);
Log in opens the browser (real headless Chromium types into the tenant's form, the BROWSER
hook); the window shows the tenant, the admin and the expiry; the token is in the OS
keychain; the Python `mcp` SDK connects through `aic-mcp-server connect`, calls a tool, and
its row appears in the Activity view with the upstream request, its User-Agent and status;
Log out empties the keychain entry. The demo tenant signs in the same way but keeps its
token in memory only. Also: the Connect view's consent flow, Settings, Export, single
instance, and a cancelled sign-in."""

import asyncio
import json
import os
import socket
import subprocess
import time

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from selenium.webdriver.common.by import By

from conftest import SERVER, free_port, keychain_lookup, post_ping, require
from desktop import APP, Desktop, missing_parts, stop_stray_apps


@pytest.fixture
def desktop(tmp_path, keychain, chromium, sim):
    """The app on a configured tenant: the simulator, as a real tenant would be set."""
    why = missing_parts()
    require(why is None, why or "")
    stop_stray_apps()
    d = Desktop(tmp_path, args=(), AIC_BASE_URL=sim.base_url, AIC_CA_FILE=sim.ca_file)
    yield d
    d.stop()


@pytest.fixture
def desktop_demo(tmp_path, keychain, chromium):
    why = missing_parts()
    require(why is None, why or "")
    stop_stray_apps()
    d = Desktop(tmp_path)
    yield d
    d.stop()


def call_tool(sock: str, env: dict, tool: str, args: dict):
    params = StdioServerParameters(command=str(SERVER), args=["connect", "--socket", sock], env=env)

    async def run():
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as s:
                await s.initialize()
                return await s.call_tool(tool, args)

    return asyncio.run(run())


def test_login_call_monitor_logout(desktop):
    d = desktop
    d.wait_for(lambda: "127.0.0.1" in d.text("tenant"), what="the tenant in the Status view")
    tenant_host = d.text("tenant").split("://")[-1].split()[0].strip("/")
    assert d.driver.find_element(By.ID, "login").is_enabled()

    d.click("login")
    d.wait_for(lambda: "expires in" in d.text("expiry"), timeout=60, what="signed in with an expiry")
    d.wait_for(lambda: d.text("admin") == "admin", what="the admin's name")
    assert keychain_lookup(tenant_host), "the token must be in the OS keychain after login"
    assert d.text("token-store") == "System keychain"
    shots = os.environ.get("E2E_SCREENSHOTS")
    if shots:
        d.screenshot(os.path.join(shots, "status.png"))

    # An assistant connects through the bridge and calls a tool.
    d.click("nav-activity")
    env = {k: v for k, v in d.env.items()}
    result = call_tool(str(d.socket), env, "getLogSources", {})
    assert not result.is_error, result
    row = d.wait_for(
        lambda: d.driver.find_element(By.CSS_SELECTOR, '.row[data-tool="getLogSources"][data-outcome="ok"]'),
        what="the tool call's row in the Activity view",
    )
    row.click()
    upstream = d.wait_for(
        lambda: [
            u for u in d.driver.find_elements(By.CSS_SELECTOR, ".upstream")
            if "/monitoring/logs/sources" in u.find_element(By.CSS_SELECTOR, ".path").text
        ],
        what="the upstream request in the row's details",
    )[0]
    if shots:
        d.screenshot(os.path.join(shots, "activity.png"))
    assert upstream.find_element(By.CSS_SELECTOR, ".status").text == "200"
    assert upstream.find_element(By.CSS_SELECTOR, ".method").text == "GET"
    assert upstream.find_element(By.CSS_SELECTOR, ".ua").text.startswith("aic-mcp-server/")
    assert len(upstream.find_element(By.CSS_SELECTOR, ".txid").text) >= 16

    # A rejected call: its row says so, and nothing went upstream.
    bad = call_tool(str(d.socket), env, "getManagedObject", {"objectType": "../x", "objectId": "1"})
    assert bad.is_error
    d.wait_for(
        lambda: d.driver.find_element(By.CSS_SELECTOR, '.row[data-tool="getManagedObject"][data-outcome="rejected"]'),
        what="the rejected call's row",
    )

    d.click("nav-status")
    d.click("logout")
    d.wait_for(lambda: d.driver.find_element(By.ID, "login").is_displayed()
               and d.driver.find_element(By.ID, "login").is_enabled(), what="signed out")
    d.wait_for(lambda: keychain_lookup(tenant_host) == "", what="the keychain entry to be gone")
    # Signed out: an assistant's call is refused with a clear message, no browser opens.
    refused = call_tool(str(d.socket), env, "getLogSources", {})
    assert refused.is_error
    assert "Log in" in refused.content[0].text


def test_the_demo_signs_in_to_memory_only(desktop_demo):
    d = desktop_demo
    d.wait_for(lambda: "127.0.0.1" in d.text("tenant"), what="the demo tenant in the Status view")
    assert d.driver.find_element(By.ID, "demo-badge").is_displayed()
    tenant_host = d.text("tenant").split("://")[-1].split()[0].strip("/")
    d.click("login")
    d.wait_for(lambda: "expires in" in d.text("expiry"), timeout=60, what="signed in with an expiry")
    assert d.text("token-store").startswith("Memory only")
    # No keychain entry outlives the demo tenant (it dies with the app).
    assert keychain_lookup(tenant_host) == ""


@pytest.fixture
def desktop_with_cursor(tmp_path, keychain):
    why = missing_parts()
    require(why is None, why or "")
    stop_stray_apps()
    cursor = tmp_path / "home" / ".cursor"
    cursor.mkdir(parents=True)
    (cursor / "mcp.json").write_text('{\n  // mine\n  "mcpServers": {\n    "other": {"command": "x"}\n  }\n}\n')
    d = Desktop(tmp_path)
    d.cursor_file = cursor / "mcp.json"
    yield d
    d.stop()


def test_connect_export_settings_single_instance(desktop_with_cursor):
    d = desktop_with_cursor
    d.wait_for(lambda: "127.0.0.1" in d.text("tenant"), what="the window")
    before = d.cursor_file.read_text()

    # Connect: Add shows the change and writes only after consent; Cancel writes nothing.
    d.click("nav-connect")
    add = 'article.assistant[data-id="cursor"] button.add'
    d.click_css(add, what="Cursor's Add button")
    diff = d.wait_for(lambda: d.text("apply-diff"), what="the diff")
    assert '+    "aic": {' in diff or '"aic"' in diff, diff
    assert str(d.cursor_file) in d.text("apply-path")
    d.click("apply-cancel")
    time.sleep(0.5)
    assert d.cursor_file.read_text() == before, "Cancel must not write"
    d.click_css(add, what="Cursor's Add button")
    d.wait_for(lambda: d.text("apply-diff"), what="the diff again")
    d.click("apply-write")
    d.wait_for(lambda: '"aic"' in d.cursor_file.read_text(), what="the entry to be written")
    after = d.cursor_file.read_text()
    assert "// mine" in after and '"other"' in after, after
    assert "connect" in after and "aic-mcp-server" in after
    backups = list(d.cursor_file.parent.glob("mcp.json.aic-bak-*"))
    assert len(backups) == 1 and backups[0].read_text() == before
    d.wait_for(
        lambda: d.driver.find_element(By.CSS_SELECTOR, 'article.assistant[data-id="cursor"]').get_attribute("data-state") == "installed",
        what="Cursor shown as installed",
    )

    # Settings: a bad tenant URL is refused with a clear message and nothing is saved.
    d.click("nav-settings")
    field = d.wait_for(lambda: d.driver.find_element(By.ID, "tenant-url"), what="the settings form")
    field.clear()
    field.send_keys("ftp://openam-acme.forgeblocks.com")
    d.click("save-settings")
    err = d.wait_for(lambda: d.text("tenant-url-error"), what="the tenant URL error")
    assert "unsupported scheme (use https://)" in err, err
    settings_file = d.tmp / "home" / ".config" / "aic-mcp-desktop" / "settings.json"
    xdg = d.env.get("XDG_CONFIG_HOME")
    if xdg:
        settings_file = os.path.join(xdg, "aic-mcp-desktop", "settings.json")
    assert not os.path.exists(settings_file)

    # Settings: turning the HTTP endpoint on restarts the core with it; it needs the bearer
    # from the keychain and refuses a foreign Origin.
    field.clear()
    port = free_port()
    http_port = d.driver.find_element(By.ID, "http-port")
    if not d.driver.find_element(By.ID, "http-enabled").is_selected():
        d.click("http-enabled")
    http_port.clear()
    http_port.send_keys(str(port))
    d.click("save-settings")
    url = d.wait_for(
        lambda: d.driver.execute_script("return window.__TAURI__.core.invoke('status')")["http_url"],
        what="the HTTP endpoint",
    )
    assert url == f"http://127.0.0.1:{port}/mcp"
    assert json.load(open(settings_file))["http_enabled"] is True
    bearer = keychain_lookup("local-http-bearer")
    assert len(bearer) >= 32
    assert post_ping(url, {})[0] == 401
    assert post_ping(url, {"Authorization": f"Bearer {bearer}", "Origin": "http://evil.example"})[0] == 403
    assert post_ping(url, {"Authorization": f"Bearer {bearer}"})[0] not in (401, 403)

    # Export: the rows the user sees go to a JSONL file.
    call_tool(str(d.socket), dict(d.env), "getLogSources", {})
    d.click("nav-activity")
    d.wait_for(lambda: d.driver.find_element(By.CSS_SELECTOR, '.row[data-tool="getLogSources"]'), what="a row")
    d.click("export")
    path = d.wait_for(
        lambda: d.driver.find_element(By.CSS_SELECTOR, "#export-message code").text, what="the export path",
    )
    lines = [json.loads(line) for line in open(path, encoding="utf-8")]
    assert any(e.get("tool") == "getLogSources" for e in lines)

    # Single instance: a second launch hands over to the running app and exits.
    before_pids = set(d.app_pids())
    second = subprocess.run([str(APP)], env=d.env, capture_output=True, timeout=30)
    assert second.returncode == 0, second.stderr
    assert set(d.app_pids()) == before_pids


@pytest.fixture
def desktop_no_browser(tmp_path, keychain):
    why = missing_parts()
    require(why is None, why or "")
    stop_stray_apps()
    # A browser that opens nothing: the sign-in waits until the admin cancels it.
    d = Desktop(tmp_path, BROWSER="true")
    yield d
    d.stop()


def test_login_shows_progress_and_can_be_cancelled(desktop_no_browser):
    d = desktop_no_browser
    d.wait_for(lambda: "127.0.0.1" in d.text("tenant"), what="the window")
    d.click("login")
    url = d.wait_for(lambda: d.text("login-url"), what="the sign-in URL while waiting")
    assert "/am/oauth2/authorize?" in url and "code_challenge_method=S256" in url
    assert d.driver.find_element(By.ID, "signing-in").is_displayed()
    assert not d.driver.find_element(By.ID, "login").is_enabled()
    d.click("cancel-login")
    d.wait_for(lambda: not d.driver.find_element(By.ID, "signing-in").is_displayed(), what="the progress to end")
    d.wait_for(lambda: d.driver.find_element(By.ID, "login").is_enabled(), what="Log in again")
    status = d.driver.execute_script("return window.__TAURI__.core.invoke('status')")
    assert status["state"] == "signed_out"
    assert status["last_error"] and "cancel" in status["last_error"].lower()
    # The redirect listener is closed again: its port is free.
    with socket.socket() as s:
        s.bind(("127.0.0.1", int(d.env["AIC_REDIRECT_PORT"])))
