"""The admin stays in control, in the real window (WebKitGTK under Xvfb, tauri-driver): the
app starts on a configured tenant (the simulator) in its default mode, Ask before changes.
The Python `mcp` SDK, connected through `aic-mcp-server connect`, calls
`deleteManagedObject`; the approval card appears in the Activity view with the assistant,
the tenant and the arguments; Deny gives the SDK the declined text and the simulator sees
no DELETE; Approve sends exactly one. Turning the mode to Read only in Settings tells the
connected session that the tool list changed (the Changes view shows the delete with
the user as it was), and the list it then gets is the read-only
tools. An `updateTheme` shows on its card field by field what will change; approved, then
reverted from the Changes view (the revert waits for its own approval), it leaves the
simulator's theme as it was; the journal exports to a file."""

import asyncio
import json
import os
import queue
import threading

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from conftest import SERVER, require
from desktop import Desktop, missing_parts, stop_stray_apps

BJENSEN = "a1000000-0000-4000-8000-000000000001"
USER_PATH = f"/openidm/managed/alpha_user/{BJENSEN}"
DECLINED = "The admin declined this change in AIC MCP Desktop. Nothing was sent to the tenant."


@pytest.fixture
def desktop(tmp_path, keychain, chromium, sim):
    why = missing_parts()
    require(why is None, why or "")
    stop_stray_apps()
    d = Desktop(tmp_path, args=(), AIC_BASE_URL=sim.base_url, AIC_CA_FILE=sim.ca_file)
    d.sim = sim
    yield d
    d.stop()


class Session:
    """One MCP session through the bridge, on its own thread and event loop, kept open so
    it can hear notifications. `call` and `list` run on that loop and wait for the result."""

    def __init__(self, sock: str, env: dict):
        self.params = StdioServerParameters(command=str(SERVER), args=["connect", "--socket", sock], env=env)
        self.notifications = queue.Queue()
        self.jobs = queue.Queue()
        self.ready = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self.main()), daemon=True)
        self.thread.start()
        assert self.ready.wait(30), f"the session did not start: {self.error!r}"

    async def on_message(self, message):
        # Notifications only (requests from the server and transport errors are not ours).
        if not isinstance(message, Exception) and str(getattr(message, "method", "")).startswith("notifications/"):
            self.notifications.put(message)

    async def main(self):
        try:
            async with stdio_client(self.params) as (read, write):
                async with ClientSession(read, write, message_handler=self.on_message) as s:
                    await s.initialize()
                    self.ready.set()
                    loop = asyncio.get_running_loop()
                    while True:
                        job = await loop.run_in_executor(None, self.jobs.get)
                        if job is None:
                            return
                        fn, reply = job
                        try:
                            reply.put((True, await fn(s)))
                        except Exception as e:  # noqa: BLE001 - handed to the caller
                            reply.put((False, e))
        except Exception as e:  # noqa: BLE001
            self.error = e
            self.ready.set()

    def submit(self, fn) -> queue.Queue:
        reply = queue.Queue()
        self.jobs.put((fn, reply))
        return reply

    @staticmethod
    def result(reply: queue.Queue, timeout=60):
        ok, value = reply.get(timeout=timeout)
        if not ok:
            raise value
        return value

    def close(self):
        self.jobs.put(None)
        self.thread.join(timeout=15)


def deletes(sim) -> list:
    return [r for r in sim.requests() if r["method"] == "DELETE"]


def test_ask_mode_approval_card_deny_approve_and_read_only_from_settings(desktop):
    d = desktop
    d.wait_for(lambda: "127.0.0.1" in d.text("tenant"), what="the tenant in the Status view")
    d.wait_for(lambda: d.text("mode-badge") == "Asks before changes", what="the default mode, Ask")
    d.click("login")
    d.wait_for(lambda: "expires in" in d.text("expiry"), timeout=60, what="signed in")
    d.click("nav-activity")
    session = Session(str(d.socket), dict(d.env))
    try:
        args = {"objectType": "alpha_user", "objectId": BJENSEN}
        # Deny: the SDK gets the declined text; nothing reaches the tenant.
        d.sim.clear()
        pending = session.submit(lambda s: s.call_tool("deleteManagedObject", args))
        card = d.wait_for(
            lambda: d.driver.find_element(By.CSS_SELECTOR, '.approval-card[data-tool="deleteManagedObject"]'),
            what="the approval card",
        )
        text = card.text
        assert "wants to delete managed object alpha_user" in text, text
        assert BJENSEN in text and d.sim.base_url in text, text
        # The object as it is now, read with the call's own token.
        assert '"userName": "bjensen"' in text, text
        assert d.text("nav-approvals") == "1"
        shots = os.environ.get("E2E_SCREENSHOTS")
        card.find_element(By.CSS_SELECTOR, 'button[data-answer="deny"]').click()
        result = Session.result(pending)
        assert result.is_error and result.content[0].text == DECLINED, result
        assert deletes(d.sim) == []
        d.wait_for(lambda: not d.driver.find_element(By.ID, "approvals").is_displayed(), what="the card to go")
        d.wait_for(
            lambda: d.driver.find_element(By.CSS_SELECTOR, '.row[data-tool="deleteManagedObject"][data-outcome="denied"]'),
            what="the denied call's row",
        )

        # Approve: exactly one DELETE, of that user.
        pending = session.submit(lambda s: s.call_tool("deleteManagedObject", args))
        d.click_css('.approval-card[data-tool="deleteManagedObject"] button[data-answer="approve"]', what="Approve")
        result = Session.result(pending)
        assert not result.is_error, result
        sent = deletes(d.sim)
        assert [r["path"] for r in sent] == [USER_PATH], sent

        # The Changes view shows the delete with the user as it was, and how to undo it.
        d.click("nav-changes")
        d.click_css('.change-row[data-tool="deleteManagedObject"]', what="the journaled delete")
        d.wait_for(lambda: '"userName": "bjensen"' in d.text("change-before"), what="the state before")
        assert d.text("change-after") == "(none)"
        assert d.text("change-undo").startswith("Re-create with createManagedObject."), d.text("change-undo")

        # Settings → Read only: the session hears list_changed; writes are gone from its list.
        d.click("nav-settings")
        mode = d.wait_for(lambda: d.driver.find_element(By.ID, "mode"), what="the mode setting")
        d.wait_for(lambda: d.driver.find_elements(By.CSS_SELECTOR, "#tool-switches .family"), what="the tool switches")
        Select(mode).select_by_value("read-only")
        if shots:
            # The profile, its tenant and the start of what assistants may do there.
            d.driver.execute_script(
                "const body = arguments[0].closest('.view-body'); if (body) body.scrollTop = 0;",
                mode,
            )
            d.screenshot(os.path.join(shots, "settings.png"))
        while not session.notifications.empty():
            session.notifications.get_nowait()
        d.click("save-settings")
        note = session.notifications.get(timeout=30)
        assert note.method == "notifications/tools/list_changed", note
        listed = Session.result(session.submit(lambda s: s.list_tools()))
        names = [t.name for t in listed.tools]
        assert names and all(t.annotations.read_only_hint for t in listed.tools), names
        assert "deleteManagedObject" not in names
        refused = Session.result(session.submit(lambda s: s.call_tool("deleteManagedObject", args)))
        assert refused.is_error and "read-only mode" in refused.content[0].text
        assert len(deletes(d.sim)) == 1, "still only the approved one"
        d.click("nav-status")
        d.wait_for(lambda: d.text("mode-badge") == "Read only", what="the Status view's mode")
        # The connected assistant is listed (the Python SDK introduces itself as "mcp").
        d.wait_for(
            lambda: d.driver.find_elements(By.CSS_SELECTOR, '#connected-sessions .session-chip[data-client="mcp"]'),
            what="the connected session on Status",
        )
    finally:
        session.close()


def theme_of(result) -> dict:
    assert not result.is_error, result
    return json.loads(result.content[0].text.split("\n\nTransaction ID:")[0])


def puts(sim) -> list:
    return [r for r in sim.requests() if r["method"] == "PUT"]


def test_a_theme_update_approved_then_reverted_leaves_the_theme_as_it_was(desktop):
    d = desktop
    d.wait_for(lambda: "127.0.0.1" in d.text("tenant"), what="the tenant in the Status view")
    d.wait_for(lambda: d.text("mode-badge") == "Asks before changes", what=f"the default mode, Ask ({d.text('mode-badge')!r})")
    d.click("login")
    d.wait_for(lambda: "expires in" in d.text("expiry"), timeout=60, what="signed in")
    d.click("nav-activity")
    session = Session(str(d.socket), dict(d.env))
    shots = os.environ.get("E2E_SCREENSHOTS")
    zardoz = {"realm": "alpha", "themeIdentifier": "Zardoz"}
    try:
        original = theme_of(Session.result(session.submit(lambda s: s.call_tool("getTheme", zardoz))))
        assert original["backgroundColor"] != "#0b3d2e"
        d.sim.clear()
        update = {**zardoz, "themeUpdates": {"backgroundColor": "#0b3d2e", "linkColor": "#e91e63"}}
        pending = session.submit(lambda s: s.call_tool("updateTheme", update))
        card = d.wait_for(
            lambda: d.driver.find_element(By.CSS_SELECTOR, '.approval-card[data-tool="updateTheme"]'),
            what="the approval card",
        )
        # What will change, field by field: the colour now and the colour after.
        row = d.wait_for(
            lambda: card.find_element(By.CSS_SELECTOR, '.field-diff tr[data-path="/backgroundColor"]'),
            what="the backgroundColor row",
        )
        assert row.get_attribute("data-kind") == "changed"
        assert original["backgroundColor"] in row.text and "#0b3d2e" in row.text, row.text
        assert card.find_element(By.CSS_SELECTOR, '.field-diff tr[data-path="/linkColor"]')
        assert puts(d.sim) == [], "nothing written while waiting"
        if shots:
            d.screenshot(os.path.join(shots, "approval.png"))
        card.find_element(By.CSS_SELECTOR, 'button[data-answer="approve"]').click()
        assert not Session.result(pending).is_error
        changed = theme_of(Session.result(session.submit(lambda s: s.call_tool("getTheme", zardoz))))
        assert changed["backgroundColor"] == "#0b3d2e"

        # The Changes view: what changed, and the whole journal exported.
        d.click("nav-changes")
        d.click_css('.change-row[data-tool="updateTheme"]', what="the journaled update")
        row = d.wait_for(
            lambda: d.driver.find_element(By.CSS_SELECTOR, '#change-diff tr[data-path="/backgroundColor"]'),
            what="the diff of the change",
        )
        assert "#0b3d2e" in row.text, row.text
        assert d.text("change-undo").startswith("Revert with updateTheme."), d.text("change-undo")
        if shots:
            d.screenshot(os.path.join(shots, "changes.png"))
        d.click("changes-export")
        path = d.wait_for(lambda: d.driver.find_element(By.CSS_SELECTOR, "#changes-result code").text, what="the export path")
        exported = [json.loads(line) for line in open(path, encoding="utf-8")]
        assert [c["tool"] for c in exported] == ["updateTheme"], exported
        assert oct(os.stat(path).st_mode & 0o777) == "0o600"

        # Revert: its own call, which waits for approval like any other.
        writes_before = len(puts(d.sim))
        d.click("change-revert")
        d.click("nav-activity")
        revert = d.wait_for(
            lambda: d.driver.find_element(By.CSS_SELECTOR, '.approval-card[data-tool="updateTheme"]'),
            what="the revert's approval card",
        )
        assert "AIC MCP Desktop (revert)" in revert.text, revert.text
        assert len(puts(d.sim)) == writes_before, "the revert waits too"
        # Its arguments are the whole theme as it was, so its buttons are below the fold;
        # what will change is on top: the two colours going back.
        paths = [r.get_attribute("data-path") for r in revert.find_elements(By.CSS_SELECTOR, ".field-diff tbody tr")]
        assert paths == ["/backgroundColor", "/linkColor"], paths
        approve = revert.find_element(By.CSS_SELECTOR, 'button[data-answer="approve"]')
        d.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", approve)
        approve.click()
        d.click("nav-changes")
        d.wait_for(lambda: d.text("changes-result").startswith("Done."), what="the revert's result")
        after = theme_of(Session.result(session.submit(lambda s: s.call_tool("getTheme", zardoz))))
        assert after == original
        rows = d.driver.find_elements(By.CSS_SELECTOR, ".change-row")
        assert len(rows) == 2 and rows[0].get_attribute("data-tool") == "updateTheme"
        assert "revert" in rows[0].text
    finally:
        session.close()
