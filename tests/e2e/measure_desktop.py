#!/usr/bin/env python3
"""Measures the desktop app (a benchmark, not a test): start to tray ready, idle memory of
the app and its WebKit processes, and the time from a tool call to its row on screen.

    bash .ci/session .venv/bin/python tests/e2e/measure_desktop.py [--calls 30]

E2E_PROFILE=release measures target/release (build it with `cargo build --release --bins
-p aic-mcp-core -p aic-mcp-desktop`). Runs the built app on the demo tenant under Xvfb through
tauri-driver, signs in through the browser hook, and calls getLogSources through
`aic-mcp-server connect` with the Python MCP SDK."""

import argparse
import asyncio
import pathlib
import re
import statistics
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from mcp import ClientSession, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402

from conftest import SERVER  # noqa: E402
from desktop import APP, Desktop, missing_parts, stop_stray_apps  # noqa: E402

# Records, in the page, when each call's row first shows an outcome other than "running".
WATCH_ROWS = """
window.__rowSeen = window.__rowSeen || {};
if (!window.__rowObserver) {
  const note = () => {
    for (const r of document.querySelectorAll('.row[data-call-id]')) {
      const id = r.dataset.callId, outcome = r.dataset.outcome;
      if (id && outcome && outcome !== 'running' && !window.__rowSeen[id]) window.__rowSeen[id] = Date.now();
    }
  };
  window.__rowObserver = new MutationObserver(note);
  window.__rowObserver.observe(document.body, {subtree: true, childList: true, attributes: true,
                                               attributeFilter: ['data-outcome', 'data-call-id']});
}
"""


# Scrolls the activity list by one screen per animation frame; returns the frame intervals.
SCROLL_FRAMES = """
const done = arguments[arguments.length - 1];
const sc = document.querySelector('#view-activity .scroller');
const frames = []; let last = performance.now(); let i = 0;
function step(t) {
  frames.push(t - last); last = t;
  sc.scrollTop = (sc.scrollTop + sc.clientHeight) % Math.max(1, sc.scrollHeight - sc.clientHeight);
  if (++i < 200) requestAnimationFrame(step); else done(frames);
}
requestAnimationFrame(step);
"""


def memory_kib(pids):
    """(RSS, PSS) in KiB summed over the processes."""
    rss = pss = 0
    for pid in pids:
        try:
            for line in open(f"/proc/{pid}/smaps_rollup"):
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss


def names(pids):
    out = []
    for pid in pids:
        try:
            out.append(pathlib.Path(f"/proc/{pid}/comm").read_text().strip())
        except OSError:
            pass
    return out


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=30)
    ap.add_argument("--idle", type=float, default=10.0, help="seconds of idle before memory is read")
    ap.add_argument("--screenshots", help="folder for status.png and activity.png")
    ap.add_argument("--fill", type=int, default=0,
                    help="then make this many more calls (getThemeSchema) and time scrolling the full list")
    args = ap.parse_args()
    why = missing_parts()
    if why:
        sys.exit(why)
    stop_stray_apps()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="aic-measure-"))
    d = Desktop(tmp)
    try:
        d.wait_for(lambda: "127.0.0.1" in d.text("tenant"), what="the window")
        window_s = time.time() - d.started
        log = (tmp / "tauri-driver.log").read_text()
        m = re.search(r"tray ready: .* ms=(\d+)", log)
        tray_ms = int(m.group(1)) if m else None
        d.click("login")
        d.wait_for(lambda: "expires in" in d.text("expiry"), timeout=60, what="sign-in")
        d.wait_for(lambda: d.text("admin") == "admin", what="the admin's name")
        if args.screenshots:
            pathlib.Path(args.screenshots).mkdir(parents=True, exist_ok=True)
            d.screenshot(str(pathlib.Path(args.screenshots) / "status.png"))
        time.sleep(args.idle)
        pids = d.app_pids()
        rss, pss = memory_kib(pids)

        d.click("nav-activity")
        d.driver.execute_script(WATCH_ROWS)
        params = StdioServerParameters(command=str(SERVER), args=["connect", "--socket", str(d.socket)], env=d.env)
        timings = []

        async def run():
            async with stdio_client(params) as (read, write):
                async with ClientSession(read, write) as s:
                    await s.initialize()
                    # A few different calls first (warm-up, and a fuller Activity view).
                    await s.call_tool("queryManagedObjects", {"objectType": "alpha_user", "queryFilter": 'userName sw "b"'})
                    await s.call_tool("getThemes", {"realm": "alpha"})
                    await s.call_tool("getVariable", {"variableId": "esv-tenant-name"})
                    await s.call_tool("getManagedObject", {"objectType": "alpha_user/../../openidm", "objectId": "x"})
                    await s.call_tool("getLogSources", {})
                    if args.screenshots:
                        await asyncio.sleep(0.5)
                        shoot_activity()
                    for _ in range(args.calls):
                        start = time.time() * 1000
                        result = await s.call_tool("getLogSources", {})
                        end = time.time() * 1000
                        assert not result.is_error, result
                        timings.append((start, end))
                        await asyncio.sleep(0.2)

        def shoot_activity():
            rows = d.driver.find_elements("css selector", '.row[data-tool="queryManagedObjects"]')
            if rows:
                rows[0].click()
                time.sleep(0.5)
            d.screenshot(str(pathlib.Path(args.screenshots) / "activity.png"))

        asyncio.run(run())
        time.sleep(1.0)
        fill = None
        if args.fill:
            async def filler():
                async with stdio_client(params) as (read, write):
                    async with ClientSession(read, write) as s:
                        await s.initialize()
                        for _ in range(args.fill):
                            await s.call_tool("getThemeSchema", {})
            t0 = time.time()
            asyncio.run(filler())
            calls_s = time.time() - t0
            d.wait_for(lambda: int(d.driver.find_element("id", "activity-count").get_attribute("data-total") or 0)
                       >= min(10_000, args.fill), timeout=120, what="the rows")
            frames = d.driver.execute_async_script(SCROLL_FRAMES)
            fill = (calls_s, frames, d.driver.find_element("id", "activity-count").text)
        seen = d.driver.execute_script("return window.__rowSeen")
        seen_times = sorted(seen.values())
        # Calls are sequential: the k-th call's row is the k-th row to settle after warm-up.
        to_row = []
        for start, end in timings:
            after = [t for t in seen_times if t >= start]
            if after:
                to_row.append((after[0] - end, after[0] - start))
        from_return = [a for a, _ in to_row]
        from_start = [b for _, b in to_row]
        print(f"AIC MCP Desktop measurements ({APP})")
        print(f"  start to tray ready (core up, socket served): {tray_ms} ms (the app's own log)")
        print(f"  launch to window showing the tenant (incl. WebDriver session): {window_s * 1000:.0f} ms")
        print(f"  idle memory after sign-in, {len(pids)} processes ({', '.join(names(pids))}):")
        print(f"    RSS {rss / 1024:.1f} MiB, PSS {pss / 1024:.1f} MiB in all")
        for pid, name in zip(pids, names(pids)):
            r, p = memory_kib([pid])
            print(f"      {name}: RSS {r / 1024:.1f} MiB, PSS {p / 1024:.1f} MiB")
        if from_return:
            print(f"  tool call to its row on screen, {len(from_return)} calls:")
            print(f"    from the call's result: p50 {statistics.median(from_return):.0f} ms, p95 {pct(from_return, 95):.0f} ms, max {max(from_return):.0f} ms")
            print(f"    from the call's start:  p50 {statistics.median(from_start):.0f} ms, p95 {pct(from_start, 95):.0f} ms")
        if fill:
            calls_s, frames, shown = fill
            frames = frames[1:]
            print(f"  {args.fill} more calls in {calls_s:.1f} s; list shows {shown}")
            print(f"    scrolling a screen per frame, {len(frames)} frames: p50 {statistics.median(frames):.1f} ms,"
                  f" p95 {pct(frames, 95):.1f} ms, max {max(frames):.1f} ms between frames")
    finally:
        d.stop()


if __name__ == "__main__":
    main()
