"""Tenant profiles in the real window (WebKitGTK under Xvfb, tauri-driver), with two
simulator tenants: the first profile is made in Settings and signed in; a second is added
(it becomes the active one) and signed in too; the Status view lists both with their
sign-in and makes the first active again, still signed in (its login stayed in the
keychain: no browser). An assistant pinned with `connect --profile` reaches its profile's
tenant only, the profile that is not active included (its core stays on standby, signed
in), its server name carries the profile, and the Activity view shows and filters
the profile. The Connect view writes Cursor's entry for the profile (`aic-dev`, running
`connect --profile dev`) beside nothing else, and that entry, run as Cursor would, reaches
dev's tenant."""

import asyncio
import json
import os
import pathlib

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from conftest import SERVER, Sim, require
from desktop import Desktop, missing_parts, stop_stray_apps


@pytest.fixture
def two(tmp_path, keychain, chromium):
    why = missing_parts()
    require(why is None, why or "")
    stop_stray_apps()
    sims = []
    for name in ("a", "b"):
        d = tmp_path / f"sim-{name}"
        d.mkdir()
        sims.append(Sim(d))
    bundle = tmp_path / "both-ca.pem"
    bundle.write_text("".join(pathlib.Path(s.ca_file).read_text() for s in sims))
    # Cursor is installed (its folder exists), with no entry yet.
    (tmp_path / "home" / ".cursor").mkdir(parents=True)
    # No AIC_BASE_URL: the tenants come from the profiles.
    d = Desktop(tmp_path, args=(), AIC_CA_FILE=str(bundle))
    yield d, sims[0], sims[1]
    d.stop()
    for s in sims:
        s.stop()


def save_profile(d: Desktop, name: str, url: str, add: bool):
    d.click("nav-settings")
    d.wait_for(lambda: d.driver.find_element(By.ID, "profile-name").is_displayed(), what="the profile fields")
    if add:
        d.click("add-profile")
    for field, value in (("profile-name", name), ("tenant-url", url)):
        box = d.driver.find_element(By.ID, field)
        box.clear()
        box.send_keys(value)
    d.click("save-settings")
    d.wait_for(lambda: f"Active profile: {name}." in d.text("settings-saved"), what=f"{name} saved and active")


def sign_in(d: Desktop, name: str, tenant: Sim):
    d.click("nav-status")
    d.wait_for(lambda: d.text("profile-tag-name") == name and tenant.host in d.text("tenant"), what=f"the Status on {name}")
    d.wait_for(lambda: d.driver.find_element(By.ID, "login").is_displayed(), what="Log in")
    d.click("login")
    d.wait_for(lambda: "expires in" in d.text("expiry"), timeout=60, what=f"signed in to {name}")


def profile_item(d: Desktop, name: str):
    return d.driver.find_element(By.CSS_SELECTOR, f'.profile-item[data-profile="{name}"]')


async def pinned_call(env: dict, command: str, args: list[str]) -> tuple[str, bool]:
    params = StdioServerParameters(command=command, args=args, env=env)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as s:
            init = await s.initialize()
            r = await s.call_tool("getLogSources", {})
            return init.server_info.name, r.is_error


def test_two_profiles_each_signed_in_switched_from_the_window_and_pinned(two):
    d, a, b = two
    save_profile(d, "dev", a.base_url, add=False)
    sign_in(d, "dev", a)
    save_profile(d, "prod", b.base_url, add=True)
    sign_in(d, "prod", b)

    # Both listed with their sign-in; prod is active.
    d.click("nav-status")
    d.wait_for(lambda: "Active" in profile_item(d, "prod").text, what="prod active")
    d.wait_for(lambda: "Signed in" in profile_item(d, "dev").text, what="dev still signed in")
    shots = os.environ.get("E2E_SCREENSHOTS")
    if shots:
        d.driver.execute_script("document.getElementById('profiles-card').scrollIntoView({block: 'center'})")
        d.screenshot(os.path.join(shots, "profiles.png"))

    # Log out of dev from its card (not active): prod stays signed in; then sign in again.
    d.click_css('.profile-item[data-profile="dev"] button[data-logout="dev"]', what="dev's Log out")
    d.wait_for(lambda: "Signed out" in profile_item(d, "dev").text, what="dev signed out")
    assert "expires in" in d.text("expiry"), "prod still signed in"
    # ... and signed in again from its card, while prod stays the active profile.
    d.click_css('.profile-item[data-profile="dev"] button[data-login="dev"]', what="dev's Log in")
    d.wait_for(lambda: "Signed in" in profile_item(d, "dev").text, timeout=60, what="dev signed in from its card")
    assert d.text("profile-tag-name") == "prod" and "expires in" in d.text("expiry")

    # Make dev active from the Status view: still signed in, no browser needed.
    a.clear()
    d.click_css('.profile-item[data-profile="dev"] button[data-profile="dev"]', what="Make active")
    d.wait_for(lambda: d.text("profile-tag-name") == "dev" and a.host in d.text("tenant"), what="the Status on dev")
    d.wait_for(lambda: "expires in" in d.text("expiry"), what="dev signed in from the keychain")
    assert not [r for r in a.requests() if r["path"].startswith("/am/oauth2/authorize")], "no new sign-in"

    # Two assistants, pinned to dev and to prod (not active now: its core stays, signed in),
    # call at the same time: each reaches its own tenant only, with its own tokens; their
    # server names say which.
    a.clear()
    b.clear()

    async def both():
        return await asyncio.gather(*(
            pinned_call(dict(d.env), str(SERVER), ["connect", "--profile", name, "--socket", str(d.socket)])
            for name in ("dev", "prod")
        ))

    (dev_name, dev_failed), (prod_name, prod_failed) = asyncio.run(both())
    assert dev_name == "pingone-aic-mcp-server (dev)" and not dev_failed
    assert prod_name == "pingone-aic-mcp-server (prod)" and not prod_failed
    for sim in (a, b):
        calls = [r for r in sim.requests() if r["path"] == "/monitoring/logs/sources"]
        assert len(calls) == 1 and calls[0]["status"] == 200, calls
    a_primary, b_primary = set(a.tokens()["primary"]), set(b.tokens()["primary"])
    for sim, other in ((a, b_primary), (b, a_primary)):
        for r in sim.requests():
            text = r["body"] + " ".join(v for _, v in r["headers"])
            assert not any(t in text for t in other), "a token of the other tenant"

    # The Activity view shows each call's profile and filters by it.
    d.click("nav-activity")
    row = d.wait_for(
        lambda: d.driver.find_element(By.CSS_SELECTOR, '.row[data-tool="getLogSources"][data-profile="dev"]'),
        what="dev's call",
    )
    assert "· dev" in row.get_attribute("textContent"), row.get_attribute("textContent")
    d.wait_for(lambda: d.driver.find_elements(By.CSS_SELECTOR, '.row[data-tool="getLogSources"][data-profile="prod"]'), what="prod's call")
    select = Select(d.driver.find_element(By.ID, "filter-profile"))
    assert {o.get_attribute("value") for o in select.options} >= {"", "dev", "prod"}
    rows = lambda: {r.get_attribute("data-profile") for r in d.driver.find_elements(By.CSS_SELECTOR, '.row[data-tool="getLogSources"]')}  # noqa: E731
    select.select_by_value("prod")
    d.wait_for(lambda: rows() == {"prod"}, what="only prod's call")
    select.select_by_value("dev")
    d.wait_for(lambda: rows() == {"dev"}, what="only dev's call")

    # Connect: Cursor's entry for dev, written after the reviewed diff; run as Cursor runs it.
    d.click("nav-connect")
    Select(d.wait_for(lambda: d.driver.find_element(By.ID, "connect-profile"), what="the profile choice")).select_by_value("dev")
    d.click_css('article.assistant[data-id="cursor"] button.add', what="Cursor's Add button")
    diff = d.wait_for(lambda: d.text("apply-diff"), what="the diff")
    assert '"aic-dev"' in diff, diff
    d.click("apply-write")
    cursor = pathlib.Path(d.env["HOME"]) / ".cursor" / "mcp.json"
    d.wait_for(lambda: cursor.exists() and "aic-dev" in cursor.read_text(), what="Cursor's file written")
    servers = json.loads(cursor.read_text())["mcpServers"]
    assert list(servers) == ["aic-dev"], servers
    entry = servers["aic-dev"]
    assert entry["args"] == ["connect", "--profile", "dev"], entry
    a.clear()
    name, failed = asyncio.run(pinned_call(dict(d.env, **entry.get("env", {})), entry["command"], entry["args"]))
    assert name == "pingone-aic-mcp-server (dev)" and not failed
    assert any(r["path"] == "/monitoring/logs/sources" for r in a.requests())

