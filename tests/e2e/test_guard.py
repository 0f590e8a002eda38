"""The admin stays in control, end to end through a client we did not write: the Python
`mcp` SDK starts aic-mcp-server over stdio against the tenant simulator binary, which
auto-approves sign-in (a plain HTTP GET plays the browser; tokens stay in memory, so no
keychain or Chromium is needed).

- AIC_MODE=read-only lists exactly the golden catalogue's read-only tools and refuses a
  write without a single request to the tenant.
- AIC_MODE=ask asks the admin through MCP elicitation (a form with one required boolean,
  `approve`): only accept with approve=true sends the write, exactly once; accept with
  approve=false, decline and cancel send nothing and say so; a client that declares no
  elicitation capability is told why nothing was sent.
- AIC_DISABLE_TOOLS hides the switched-off tools and refuses them; an unknown tool name
  or mode stops the server before it serves, naming the setting.
- The JSONL audit file records each call's guard path (waiting, then approved or denied by
  the elicitation; refused; denied without a wait when the client cannot be asked).

Every "nothing was sent" is proven from the simulator's own request log."""

import asyncio
import json
import pathlib
import shutil
import subprocess
import time

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client

from conftest import ROOT, SERVER, Sim, require, server_env

# Every wait is bounded by this; nothing asserts how fast anything is.
PATIENCE = 60
GOLDEN = ROOT / "src-tauri" / "core" / "tests" / "tools_list.json"
BJENSEN = "a1000000-0000-4000-8000-000000000001"
USER_PATH = f"/openidm/managed/alpha_user/{BJENSEN}"
DELETE_BJENSEN = {"objectType": "alpha_user", "objectId": BJENSEN}
WRITES = {"DELETE", "PUT", "POST", "PATCH"}
CLIENT = types.Implementation(name="guard-e2e", version="1")

READ_ONLY = (
    "deleteManagedObject changes the tenant, and AIC MCP Desktop is in read-only mode for this tenant. "
    "Nothing was sent to the tenant."
)
DECLINED = "The admin declined this change when asked to confirm it. Nothing was sent to the tenant."
DISMISSED = (
    "The admin dismissed the confirmation without approving this change. Nothing was sent to the tenant; "
    "call the tool again to be asked again."
)
NO_ELICITATION = (
    "This change needs the admin's approval, and this assistant cannot ask for it (it does not support MCP "
    "elicitation). Nothing was sent to the tenant. To proceed, connect through AIC MCP Desktop (it asks in "
    "its window), or have the admin set AIC_MODE=full (or read-only)."
)


@pytest.fixture
def tenant(tmp_path):
    """The simulator, auto-approving sign-in."""
    require(shutil.which("curl") is not None, "curl plays the browser here")
    s = Sim(tmp_path, auto_approve=True)
    yield s
    s.stop()


def guarded_env(sim: Sim, tmp: pathlib.Path, **extra) -> dict:
    env = server_env(sim, tmp, AIC_TOKEN_STORE="memory", **extra)
    env["BROWSER"] = "curl -sk -o /dev/null -L"
    return env


class WireSpy:
    """The client's write stream, keeping every message as the server receives it."""

    def __init__(self, inner, sent: list):
        self.inner = inner
        self.sent = sent

    async def send(self, item) -> None:
        self.sent.append(json.loads(item.message.model_dump_json(by_alias=True, exclude_unset=True)))
        await self.inner.send(item)

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def __aenter__(self):
        await self.inner.__aenter__()
        return self

    async def __aexit__(self, *exc):
        return await self.inner.__aexit__(*exc)


def run_session(tmp: pathlib.Path, env: dict, body, elicit=None, sent: list | None = None):
    """Starts aic-mcp-server over stdio with the SDK client (with `elicit` as its elicitation
    callback, if any), runs `body(session)`, and returns its result once the server exited."""
    params = StdioServerParameters(command=str(SERVER), args=[], env=env)

    async def run():
        with anyio.fail_after(PATIENCE), open(tmp / "server.stderr", "a") as errlog:
            async with stdio_client(params, errlog=errlog) as (read, write):
                if sent is not None:
                    write = WireSpy(write, sent)
                async with ClientSession(read, write, elicitation_callback=elicit, client_info=CLIENT) as s:
                    await s.initialize()
                    return await body(s)

    return asyncio.run(run())


def text_of(result) -> str:
    return "".join(c.text for c in result.content if getattr(c, "type", "") == "text")


def golden_tools() -> list[dict]:
    return json.loads(GOLDEN.read_text())["tools"]


def resource_requests(sim: Sim) -> list[dict]:
    return [r for r in sim.requests() if not r["path"].startswith("/am/oauth2/")]


def writes(sim: Sim) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in resource_requests(sim) if r["method"] in WRITES]


def exchanges(sim: Sim) -> list[dict]:
    return [
        r for r in sim.requests()
        if r["path"] == "/am/oauth2/access_token" and "token-exchange" in r["body"]
    ]


def audit(tmp: pathlib.Path) -> list[dict]:
    events = []
    for f in sorted((tmp / "logs").glob("activity*.jsonl")):
        events += [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return events


def guard_path(tmp: pathlib.Path, tool: str, calls: int) -> tuple[list[list[dict]], list[dict]]:
    """The guard events of `tool`'s calls (one list per call, in order) and their
    `tool_finished` events, once `calls` calls have finished in the audit file (it is
    written in the background)."""
    limit = time.monotonic() + PATIENCE
    while True:
        events = audit(tmp)
        finished = [e for e in events if e["kind"] == "tool_finished" and e["tool"] == tool]
        if len(finished) >= calls or time.monotonic() > limit:
            break
        time.sleep(0.05)
    assert len(finished) == calls, events
    by_call: dict[int, list[dict]] = {}
    for e in events:
        if e["kind"] == "guard" and e["tool"] == tool:
            by_call.setdefault(e["call_id"], []).append(e)
    ids = [e["call_id"] for e in finished]
    return [by_call.get(i, []) for i in ids], finished


def steps(path: list[dict]) -> list[tuple[str, str | None]]:
    return [(e["step"], e.get("by")) for e in path]


def test_read_only_mode_lists_the_read_only_tools_and_a_write_sends_nothing(tenant, tmp_path):
    env = guarded_env(tenant, tmp_path, AIC_MODE="read-only")
    read_only = [t["name"] for t in golden_tools() if t.get("annotations", {}).get("readOnlyHint") is True]
    assert 0 < len(read_only) < len(golden_tools())

    async def body(s: ClientSession):
        listed = await s.list_tools()
        assert [t.name for t in listed.tools] == read_only
        assert all(t.annotations.read_only_hint is True for t in listed.tools)

        # Before any sign-in: refused, and the tenant heard nothing at all.
        r = await s.call_tool("deleteManagedObject", DELETE_BJENSEN)
        assert r.is_error and text_of(r) == READ_ONLY, text_of(r)
        assert tenant.requests() == []

        # Reads run (this signs in), then the same write is refused with the session live:
        # no resource request and no token exchange for it.
        r = await s.call_tool("getManagedObject", DELETE_BJENSEN)
        assert not r.is_error and '"userName": "bjensen"' in text_of(r), text_of(r)
        assert exchanges(tenant), "the read exchanged the login for a scoped token"
        tenant.clear()
        r = await s.call_tool("deleteManagedObject", DELETE_BJENSEN)
        assert r.is_error and text_of(r) == READ_ONLY, text_of(r)
        assert resource_requests(tenant) == []
        assert exchanges(tenant) == []
        assert tenant.requests() == []

    run_session(tmp_path, env, body)
    paths, finished = guard_path(tmp_path, "deleteManagedObject", 2)
    assert [steps(p) for p in paths] == [[("refused", None)]] * 2
    assert [e["outcome"] for e in finished] == ["refused"] * 2


def test_ask_mode_an_approval_through_elicitation_sends_exactly_one_delete(tenant, tmp_path):
    env = guarded_env(tenant, tmp_path, AIC_MODE="ask")
    asked = []

    async def approve(_ctx, params):
        asked.append(params)
        return types.ElicitResult(action="accept", content={"approve": True})

    async def body(s: ClientSession):
        assert len((await s.list_tools()).tools) == len(golden_tools()), "ask mode hides nothing"
        r = await s.call_tool("deleteManagedObject", DELETE_BJENSEN)
        assert not r.is_error, text_of(r)
        assert text_of(r).startswith(f"Deleted managed object {BJENSEN} from alpha_user"), text_of(r)
        assert len(asked) == 1
        # Reads never ask; the user is gone.
        r = await s.call_tool("getManagedObject", DELETE_BJENSEN)
        assert r.is_error, text_of(r)
        assert len(asked) == 1

    run_session(tmp_path, env, body, elicit=approve)

    q = asked[0]
    assert q.mode == "form"
    assert f"guard-e2e wants to delete managed object alpha_user {BJENSEN}" in q.message, q.message
    assert "deleteManagedObject" in q.message, q.message
    assert f"Tenant: {tenant.base_url}" in q.message, (q.message, tenant.base_url)
    schema = q.requested_schema
    assert schema["type"] == "object", schema
    assert schema["properties"]["approve"]["type"] == "boolean", schema
    assert schema["required"] == ["approve"], schema

    assert writes(tenant) == [("DELETE", USER_PATH)]

    paths, finished = guard_path(tmp_path, "deleteManagedObject", 1)
    assert steps(paths[0]) == [("waiting", None), ("approved", "elicitation")]
    assert paths[0][0]["detail"] == "asked through the assistant (MCP elicitation)"
    assert finished[0]["outcome"] == "ok"


def test_ask_mode_the_question_says_field_by_field_what_will_change(tenant, tmp_path):
    env = guarded_env(tenant, tmp_path, AIC_MODE="ask")
    asked = []

    async def approve(_ctx, params):
        asked.append(params)
        return types.ElicitResult(action="accept", content={"approve": True})

    async def body(s: ClientSession):
        r = await s.call_tool(
            "patchManagedObject",
            {**DELETE_BJENSEN, "revision": "*",
             "operations": [{"operation": "replace", "field": "/mail", "value": "changed@example.com"}]},
        )
        assert not r.is_error, text_of(r)

    run_session(tmp_path, env, body, elicit=approve)
    message = asked[0].message
    changes = message.split("What will change:\n", 1)[1].split("\nAs it is now:", 1)[0]
    lines = [line.strip() for line in changes.splitlines()]
    mail = [line for line in lines if line.startswith("/mail: ")]
    assert len(mail) == 1 and mail[0].endswith(' → "changed@example.com"'), message
    assert writes(tenant) == [("PATCH", USER_PATH)]


def test_ask_destructive_mode_asks_only_before_destructive_tools(tenant, tmp_path):
    env = guarded_env(tenant, tmp_path, AIC_MODE="ask-destructive")
    asked = []

    async def approve(_ctx, params):
        asked.append(params)
        return types.ElicitResult(action="accept", content={"approve": True})

    variable = {"variableId": "esv-guard-e2e"}

    async def body(s: ClientSession):
        # setVariable declares destructiveHint false: it runs without a question.
        r = await s.call_tool("setVariable", {**variable, "type": "string", "value": "one"})
        assert not r.is_error, text_of(r)
        assert asked == []
        # deleteVariable is destructive: it waits for the admin.
        r = await s.call_tool("deleteVariable", variable)
        assert not r.is_error, text_of(r)
        assert len(asked) == 1 and "deleteVariable" in asked[0].message, asked

    run_session(tmp_path, env, body, elicit=approve)
    path = "/environment/variables/esv-guard-e2e"
    assert writes(tenant) == [("PUT", path), ("DELETE", path)]
    paths, _ = guard_path(tmp_path, "setVariable", 1)
    assert paths == [[]], "no guard step for a call that needs no approval"
    paths, _ = guard_path(tmp_path, "deleteVariable", 1)
    assert steps(paths[0]) == [("waiting", None), ("approved", "elicitation")]


def test_ask_mode_unticked_declined_or_dismissed_sends_nothing(tenant, tmp_path):
    env = guarded_env(tenant, tmp_path, AIC_MODE="ask")
    answers = [
        types.ElicitResult(action="accept", content={"approve": False}),
        types.ElicitResult(action="decline"),
        types.ElicitResult(action="cancel"),
    ]
    asked = []

    async def answer(_ctx, params):
        asked.append(params)
        return answers[len(asked) - 1]

    async def body(s: ClientSession):
        # Signed in first, so "nothing was sent" is not for want of a token.
        r = await s.call_tool("listManagedObjects", {})
        assert not r.is_error, text_of(r)
        assert asked == [], "a read does not ask"
        tenant.clear()
        texts = []
        for _ in answers:
            r = await s.call_tool("deleteManagedObject", DELETE_BJENSEN)
            assert r.is_error
            texts.append(text_of(r))
        assert texts == [DECLINED, DECLINED, DISMISSED]
        assert len(asked) == 3
        # Nothing written; what was sent is the read of the user as it is now (shown with
        # the question), with the call's own exchanged token.
        assert writes(tenant) == []
        assert {(r["method"], r["path"]) for r in resource_requests(tenant)} <= {("GET", f"/openidm/managed/alpha_user/{BJENSEN}")}
        # The user is still there.
        r = await s.call_tool("getManagedObject", DELETE_BJENSEN)
        assert not r.is_error, text_of(r)

    run_session(tmp_path, env, body, elicit=answer)
    assert writes(tenant) == []

    paths, finished = guard_path(tmp_path, "deleteManagedObject", 3)
    assert [steps(p) for p in paths] == [[("waiting", None), ("denied", "elicitation")]] * 3
    assert [p[-1]["detail"] for p in paths] == [DECLINED, DECLINED, DISMISSED]
    assert [e["outcome"] for e in finished] == ["denied"] * 3


def test_ask_mode_a_client_without_elicitation_is_told_and_nothing_is_sent(tenant, tmp_path):
    env = guarded_env(tenant, tmp_path, AIC_MODE="ask")
    sent = []

    async def body(s: ClientSession):
        r = await s.call_tool("listManagedObjects", {})
        assert not r.is_error, text_of(r)
        tenant.clear()
        r = await s.call_tool("deleteManagedObject", DELETE_BJENSEN)
        assert r.is_error and text_of(r) == NO_ELICITATION, text_of(r)
        assert tenant.requests() == []

    run_session(tmp_path, env, body, sent=sent)
    # The SDK without an elicitation callback declares no elicitation capability.
    init = next(m for m in sent if m.get("method") == "initialize")
    assert "elicitation" not in init["params"]["capabilities"], init
    # And no elicitation request reached it (it would have answered with an error).
    assert not any(m.get("error") for m in sent), sent
    assert writes(tenant) == []

    # Nobody was asked, so nothing waited: the audit shows the denial only.
    paths, finished = guard_path(tmp_path, "deleteManagedObject", 1)
    assert steps(paths[0]) == [("denied", None)], paths[0]
    assert paths[0][0]["detail"] == NO_ELICITATION
    assert finished[0]["outcome"] == "denied"


def test_an_elicitation_capable_client_declares_it(tenant, tmp_path):
    """The control for the test above: the same SDK with a callback declares form mode."""
    env = guarded_env(tenant, tmp_path)
    sent = []

    async def never(_ctx, _params):
        raise AssertionError("nothing asks in full mode")

    async def body(s: ClientSession):
        r = await s.call_tool("listManagedObjects", {})
        assert not r.is_error, text_of(r)

    run_session(tmp_path, env, body, elicit=never, sent=sent)
    init = next(m for m in sent if m.get("method") == "initialize")
    assert "form" in init["params"]["capabilities"]["elicitation"], init


def test_switched_off_tools_are_absent_and_refused_without_a_request(tenant, tmp_path):
    env = guarded_env(tenant, tmp_path, AIC_DISABLE_TOOLS="deleteJourney,themes")
    everything = [t["name"] for t in golden_tools()]
    themes = [n for n in everything if "Theme" in n]
    assert len(themes) == 7
    expected = [n for n in everything if n != "deleteJourney" and n not in themes]

    async def body(s: ClientSession):
        assert [t.name for t in (await s.list_tools()).tools] == expected
        r = await s.call_tool("getThemes", {"realm": "alpha"})
        assert r.is_error
        assert text_of(r) == (
            "getThemes is turned off in AIC MCP Desktop (the themes tools are off). Nothing was sent to the tenant."
        )
        r = await s.call_tool("deleteJourney", {"realm": "alpha", "journeyName": "Login"})
        assert r.is_error
        assert text_of(r) == "deleteJourney is turned off in AIC MCP Desktop. Nothing was sent to the tenant."
        assert tenant.requests() == []
        # The rest of the family is on.
        r = await s.call_tool("listJourneys", {"realm": "alpha"})
        assert not r.is_error and "Login" in text_of(r), text_of(r)

    run_session(tmp_path, env, body)
    assert writes(tenant) == []
    for tool in ("getThemes", "deleteJourney"):
        paths, finished = guard_path(tmp_path, tool, 1)
        assert steps(paths[0]) == [("refused", None)]
        assert finished[0]["outcome"] == "refused"


INITIALIZE = json.dumps({
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "probe", "version": "1"}},
}) + "\n"


@pytest.mark.parametrize(
    "setting, value, named",
    [
        ("AIC_DISABLE_TOOLS", "deleteJourney,deleteJourneys", ['"deleteJourneys"', "is neither a tool nor a tool family"]),
        ("AIC_MODE", "readonly", ['"readonly"', "read-only, ask, ask-destructive or full"]),
        ("AIC_APPROVAL_TIMEOUT", "5", ['"5"', "from 10 to 3600"]),
    ],
)
def test_a_bad_guard_setting_stops_the_server_before_it_serves(tenant, tmp_path, setting, value, named):
    env = guarded_env(tenant, tmp_path, **{setting: value})
    del env["AIC_LOG"]  # the default level: the error is the only line
    p = subprocess.run([str(SERVER)], env=env, input=INITIALIZE, capture_output=True, text=True, timeout=PATIENCE)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert p.stdout == "", "it never answered the initialize"
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith(f"aic-mcp-server: {setting}: "), lines[0]
    for part in named:
        assert part in lines[0], lines[0]
    assert f"(example: {setting}=" in lines[0], lines[0]
    assert tenant.requests() == []
