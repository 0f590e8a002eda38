"""Cancellation through a client we did not write. `aic-mcp-server serve --socket` runs
against the simulator binary, the Python `mcp` SDK connects through `aic-mcp-server
connect`, and the tenant stalls the call's request. The client abandons the call (an anyio
cancel scope around `call_tool`; the SDK then sends `notifications/cancelled`): the JSONL
audit file shows the call finished as cancelled, the simulator's request log shows the
stalled request never answered, and the same session's next call succeeds."""

import shutil

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from conftest import SERVER, Serve, Sim, require

SOURCES = "/monitoring/logs/sources"
# Every wait is bounded by this; nothing asserts how fast anything is.
PATIENCE = 30


@pytest.fixture
def serving(tmp_path):
    require(shutil.which("curl") is not None, "curl plays the browser here")
    sim = Sim(tmp_path, auto_approve=True)
    try:
        # Tokens in memory; no HTTP endpoint.
        s = Serve(tmp_path, sim, tmp_path / "run" / "mcp.sock", http=False, AIC_TOKEN_STORE="memory")
    except BaseException:
        sim.stop()
        raise
    s.sim = sim
    yield s
    s.stop()
    sim.stop()


async def eventually(what: str, probe):
    """Polls `probe` (blocking, run in a thread) until it returns something true."""
    with anyio.fail_after(PATIENCE):
        while True:
            found = await anyio.to_thread.run_sync(probe)
            if found:
                return found
            await anyio.sleep(0.05)


def sources(sim: Sim) -> list[tuple[str, int]]:
    return [(r["method"], r["status"]) for r in sim.requests() if r["path"] == SOURCES]


def test_an_abandoned_call_is_cancelled_and_the_session_goes_on(serving):
    sim = serving.sim
    params = StdioServerParameters(
        command=str(SERVER), args=["connect", "--socket", str(serving.sock)], env=serving.env,
    )

    async def run():
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as s:
                await s.initialize()
                first = await s.call_tool("getLogSources", {})  # signs in
                assert not first.is_error, first
                sim.clear()
                sim.fault({"method": "GET", "path_prefix": SOURCES, "kind": "stall"})

                # Abandon the call once its request is stalled at the tenant.
                with anyio.fail_after(PATIENCE):
                    with anyio.CancelScope() as abandon:
                        async with anyio.create_task_group() as tg:
                            async def abandon_when_stalled():
                                await eventually("the request is stalled", lambda: sources(sim))
                                abandon.cancel()

                            tg.start_soon(abandon_when_stalled)
                            result = await s.call_tool("getLogSources", {})
                            pytest.fail(f"a stalled call returned: {result}")
                assert abandon.cancelled_caught

                # The server heard it: the call is logged as cancelled, promptly (the
                # request itself would stall for ever).
                def cancelled():
                    events = serving.audit()
                    ids = [e["call_id"] for e in events
                           if e["kind"] == "tool_started" and e["tool"] == "getLogSources"]
                    if len(ids) < 2:
                        return None
                    return [e for e in events if e["kind"] == "tool_finished" and e["call_id"] == ids[1]]

                finished = await eventually("the audit file shows the call's end", cancelled)
                assert len(finished) == 1, finished
                assert finished[0]["outcome"] == "cancelled", finished
                assert finished[0]["tool"] == "getLogSources"
                assert finished[0]["message"].startswith("Cancelled by the assistant"), finished

                # The same session goes on.
                again = await s.call_tool("getLogSources", {})
                assert not again.is_error, again
                assert "am-access" in again.content[0].text


    anyio.run(run)
    assert sources(sim) == [("GET", 0), ("GET", 200)], (
        "the stalled request was never answered; the next call's request was"
    )
    outcomes = [(e["tool"], e["outcome"]) for e in serving.audit() if e["kind"] == "tool_finished"]
    assert outcomes == [
        ("getLogSources", "ok"), ("getLogSources", "cancelled"), ("getLogSources", "ok"),
    ], outcomes
