"""The Activity view pages through history: the window's own files (ui/) in headless
Chromium, served over loopback HTTP, with the shell's IPC played by a page script that
holds 3,000 events of 1,000 tool calls and answers `recent_activity(before, limit)` the way
`ActivityBus::page` does (newest page first, oldest first within a page, `oldest_seq`,
`more`). The newest page loads at start; scrolling to the oldest rows loads the page
before, until none is left; a call split across two pages stays one row; Clear stops it."""

import functools
import http.server
import os
import pathlib
import shutil
import tempfile
import threading
import time

import pytest

from conftest import require

UI = pathlib.Path(__file__).resolve().parents[2] / "ui"

# The shell, as far as the window sees it. Each call i (1..1000) is tool_started, upstream,
# tool_finished: sequence numbers 3i-2, 3i-1, 3i.
FAKE_SHELL = r"""
(() => {
  const ring = [];
  const t0 = Date.parse("2026-01-01T10:00:00Z");
  const at = (n) => new Date(t0 + n * 1000).toISOString();
  for (let i = 1; i <= 1000; i++) {
    ring.push({kind: "tool_started", call_id: i, at: at(i), tool: "getLogSources", client: "fake",
               arguments: {i}});
    ring.push({kind: "upstream", call_id: i, at: at(i), method: "GET", path: `/monitoring/logs/sources?i=${i}`,
               status: 200, latency_ms: 5, user_agent: "ua", transaction_id: `tx-${i}`, error: null});
    ring.push({kind: "tool_finished", call_id: i, at: at(i), tool: "getLogSources", outcome: "ok",
               duration_ms: 7, message: null});
  }
  const listeners = new Map();
  window.__pageCalls = [];
  window.__emit = (event, payload) => {
    for (const handler of listeners.get(event) || []) handler({event, id: 0, payload});
  };
  // Tauri's public JavaScript API as the app exposes it (`withGlobalTauri`).
  window.__TAURI__ = {
    event: {
      async listen(event, handler) {
        if (!listeners.has(event)) listeners.set(event, []);
        listeners.get(event).push(handler);
        return () => {
          listeners.set(event, (listeners.get(event) || []).filter((h) => h !== handler));
        };
      },
    },
    core: {
      async invoke(cmd, args) {
        if (cmd === "recent_activity") {
          window.__pageCalls.push(args);
          const end = args.before === null ? ring.length : Math.max(0, args.before - 1);
          const start = Math.max(0, end - args.limit);
          // The window must cope with a page arriving some time after it asked.
          await new Promise((r) => setTimeout(r, 20));
          return {events: ring.slice(start, end), oldest_seq: start < end ? start + 1 : null, more: start > 0};
        }
        throw {code: "Internal", message: `${cmd} is not part of this test`};
      },
    },
  };
})();
"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def window():
    chromium = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
    driver_bin = os.environ.get("E2E_CHROMEDRIVER", "/usr/bin/chromedriver")
    require(shutil.which(chromium) is not None and shutil.which(driver_bin) is not None,
            "headless Chromium and chromedriver are needed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(UI)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-dev-shm-usage", "--window-size=1200,900"):
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='e2e-activity-')}")
    driver = webdriver.Chrome(service=Service(executable_path=driver_bin), options=opts)
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": FAKE_SHELL})
        driver.get(f"http://127.0.0.1:{server.server_address[1]}/index.html")
        yield driver
    finally:
        driver.quit()
        server.shutdown()


def wait_for(what, check, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def total(d) -> int:
    return int(d.find_element("id", "activity-count").get_attribute("data-total") or 0)


def page_calls(d):
    return d.execute_script("return window.__pageCalls")


def scroll_to_end(d):
    d.execute_script("const s = document.getElementById('activity-scroll'); s.scrollTop = s.scrollHeight;")


def open_row(d, call_id: int) -> str:
    """Scrolls the row of `call_id` into view, selects it, returns the detail pane's text."""
    d.execute_script(
        "const s = document.getElementById('activity-scroll');"
        "s.scrollTop = Math.max(0, arguments[0] * 28 - 100);",
        total(d) - call_id,
    )
    row = wait_for(f"row {call_id}", lambda: d.find_elements("css selector", f'.row[data-call-id="{call_id}"]'))
    row[0].click()
    return wait_for("the detail pane", lambda: d.find_element("id", "detail-body").text)


def test_history_is_paged_in_as_the_list_is_scrolled(window):
    d = window
    d.find_element("id", "nav-activity").click()
    # Newest page: sequence numbers 2501..3000, calls 834 (from its upstream on) to 1000.
    wait_for("the newest page", lambda: total(d) == 167)
    assert page_calls(d) == [{"before": None, "limit": 500}]

    # A live call arrives meanwhile; it is one more row, on top.
    d.execute_script(
        "window.__emit('activity', [{kind: 'tool_started', call_id: 1001, at: '2026-01-01T11:00:00Z',"
        " tool: 'getThemes', client: 'fake', arguments: {i: 1001}}])"
    )
    wait_for("the live row", lambda: total(d) == 168)

    # Scrolling to the oldest rows asks for the page before, and so on until none is left.
    count = d.find_element("id", "activity-count")
    for n in range(2, 7):
        before = total(d)
        scroll_to_end(d)
        wait_for(f"page {n}", lambda: len(page_calls(d)) >= n and total(d) > before)
        wait_for(f"page {n} applied", lambda: "loading" not in count.text)
    calls = page_calls(d)
    assert [c["before"] for c in calls] == [None, 2501, 2001, 1501, 1001, 501]
    assert all(c["limit"] == 500 for c in calls)
    wait_for("every call", lambda: total(d) == 1001)
    scroll_to_end(d)
    time.sleep(0.5)
    assert len(page_calls(d)) == 6, "no page is asked for after the last one"

    # Call 834 began in the second page and ended in the first: one row with everything.
    detail = open_row(d, 834)
    assert '"i": 834' in detail, detail
    assert "upstream requests (1)" in detail.lower(), detail
    assert "tx-834" in detail, detail
    # The oldest call, from the last page.
    detail = open_row(d, 1)
    assert '"i": 1\n' in detail + "\n" and "tx-1\n" in detail + "\n", detail


def test_clear_stops_paging(window):
    d = window
    d.find_element("id", "nav-activity").click()
    wait_for("the newest page", lambda: total(d) == 167)
    d.find_element("id", "clear").click()
    wait_for("an empty list", lambda: total(d) == 0)
    scroll_to_end(d)
    time.sleep(0.5)
    assert len(page_calls(d)) == 1, "a cleared list does not page history back in"
