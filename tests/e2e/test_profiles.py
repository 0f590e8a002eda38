"""Tenant profiles, headless, with two simulator tenants at once: one settings file holds
two profiles (`dev` on one simulator, `prod` on the other); `aic-mcp-server serve --profile`
serves each on its own socket, signed in to each at the same time; two Python SDK clients
pinned with `connect --profile` call tools concurrently; each simulator's request log holds
only its own tenant's requests, made with its own tokens; the server name an assistant sees
carries the profile. An unknown profile stops the server with the known ones listed; a
pinned `connect` to a profile nobody serves is refused; `AIC_BASE_URL` naming another
tenant than the profile is refused."""

import asyncio
import json
import pathlib
import subprocess
import time

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from conftest import SERVER, Sim, free_port

PATIENCE = 60


@pytest.fixture
def tenants(tmp_path):
    a = Sim(_dir(tmp_path / "sim-a"), auto_approve=True)
    b = Sim(_dir(tmp_path / "sim-b"), auto_approve=True)
    yield a, b
    a.stop()
    b.stop()


def _dir(p: pathlib.Path) -> pathlib.Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def write_settings(config: pathlib.Path, profiles: list[dict], active: str) -> None:
    d = _dir(config / "aic-mcp-desktop")
    (d / "settings.json").write_text(json.dumps({"profiles": profiles, "active_profile": active}))


def base_env(tmp: pathlib.Path, a: Sim, b: Sim) -> dict:
    """No AIC_BASE_URL: the tenant comes from the profile. One CA bundle trusts both."""
    import os

    bundle = tmp / "both-ca.pem"
    bundle.write_text(pathlib.Path(a.ca_file).read_text() + pathlib.Path(b.ca_file).read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIC_")}
    env.update(
        XDG_CONFIG_HOME=str(_dir(tmp / "config")),
        AIC_CA_FILE=str(bundle),
        AIC_LOG="info",
        # The auto-approving simulator: a plain GET plays the browser.
        BROWSER="curl -sk -o /dev/null -L",
    )
    return env


class ProfileServe:
    """`aic-mcp-server serve --profile NAME --socket MAIN`, until it says what it serves."""

    def __init__(self, tmp: pathlib.Path, env: dict, main: pathlib.Path, name: str):
        self.env = dict(env, AIC_REDIRECT_PORT=str(free_port()), AIC_LOG_DIR=str(tmp / f"logs-{name}"))
        self.log = open(tmp / f"serve-{name}.log", "w+")
        self.proc = subprocess.Popen(
            [str(SERVER), "serve", "--profile", name, "--socket", str(main)],
            env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log,
        )
        deadline = time.time() + 30
        while "MCP socket" not in self.text():
            assert self.proc.poll() is None, self.text()
            assert time.time() < deadline, self.text()
            time.sleep(0.1)

    def text(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


async def pinned(env: dict, main: pathlib.Path, name: str, calls: int) -> tuple[str, list[str]]:
    """Connects with `connect --profile NAME`, calls tools `calls` times; returns the server
    name from `initialize` and the result texts."""
    params = StdioServerParameters(
        command=str(SERVER), args=["connect", "--profile", name, "--socket", str(main)], env=env,
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as s:
            init = await s.initialize()
            texts = []
            for i in range(calls):
                tool, args = [("getLogSources", {}), ("queryESVs", {"type": "variable"})][i % 2]
                r = await s.call_tool(tool, args)
                assert not r.is_error, r.content[0].text
                texts.append(r.content[0].text)
            return init.server_info.name, texts


def resource_requests(sim: Sim) -> list[dict]:
    return [r for r in sim.requests() if not r["path"].startswith("/am/oauth2/")]


def bearer(r: dict) -> str:
    for k, v in r["headers"]:
        if k == "authorization":
            return v.removeprefix("Bearer ")
    return ""


def test_two_profiles_signed_in_at_once_pinned_sessions_never_cross(tenants, tmp_path):
    a, b = tenants
    write_settings(
        tmp_path / "config",
        [
            {"name": "dev", "tenant_url": a.base_url, "colour": "#16a34a"},
            {"name": "prod", "tenant_url": b.base_url, "colour": "#dc2626", "mode": "full"},
        ],
        active="prod",
    )
    env = base_env(tmp_path, a, b)
    main = tmp_path / "run" / "mcp.sock"
    dev = ProfileServe(tmp_path, env, main, "dev")
    prod = ProfileServe(tmp_path, env, main, "prod")
    try:
        assert (tmp_path / "run" / "profiles" / "dev.sock").exists()
        assert (tmp_path / "run" / "profiles" / "prod.sock").exists()

        async def both():
            return await asyncio.wait_for(
                asyncio.gather(pinned(env, main, "dev", 6), pinned(env, main, "prod", 6)), PATIENCE,
            )

        (dev_name, dev_texts), (prod_name, prod_texts) = asyncio.run(both())
        assert dev_name == "pingone-aic-mcp-server (dev)"
        assert prod_name == "pingone-aic-mcp-server (prod)"
        assert len(dev_texts) == len(prod_texts) == 6

        # Each tenant saw only its own session's calls, each answered (a token from the
        # other tenant would have been refused), made with its own tokens.
        a_reqs, b_reqs = resource_requests(a), resource_requests(b)
        calls = lambda reqs: [r for r in reqs if r["path"] != "/openidm/info/login"]  # noqa: E731 - after sign-in: who is the admin
        assert len(calls(a_reqs)) == len(calls(b_reqs)) == 6, (len(a_reqs), len(b_reqs))
        assert all(r["status"] == 200 for r in a_reqs + b_reqs)
        a_tokens, b_tokens = {bearer(r) for r in a_reqs}, {bearer(r) for r in b_reqs}
        assert a_tokens and b_tokens and not (a_tokens & b_tokens)
        a_primary, b_primary = set(a.tokens()["primary"]), set(b.tokens()["primary"])
        assert a_primary and b_primary and not (a_primary & b_primary)
        for sim, own, other in ((a, a_primary, b_primary), (b, b_primary, a_primary)):
            for r in sim.requests():
                text = r["body"] + " ".join(v for _, v in r["headers"])
                assert not any(t in text for t in other), "a token of the other tenant"
            exchanges = [r for r in sim.requests() if "token-exchange" in r["body"]]
            assert exchanges and all(any(t in r["body"] for t in own) for r in exchanges)

        # Each process's activity names its profile.
        for name in ("dev", "prod"):
            events = []
            for f in (tmp_path / f"logs-{name}").glob("activity*.jsonl"):
                events += [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
            started = [e for e in events if e["kind"] == "tool_started"]
            assert started and all(e.get("profile") == name for e in started), started[:2]
    finally:
        dev.stop()
        prod.stop()

    # Nobody serves `dev` now: a pinned connect says so and does not fall back.
    r = subprocess.run(
        [str(SERVER), "connect", "--profile", "dev", "--socket", str(main)],
        env=env, input="", capture_output=True, text=True, timeout=30,
    )
    assert r.returncode == 1
    assert 'profile "dev" is not being served' in r.stderr, r.stderr


def test_an_unknown_profile_or_a_clashing_base_url_stops_the_server_naming_why(tenants, tmp_path):
    a, b = tenants
    write_settings(
        tmp_path / "config",
        [{"name": "dev", "tenant_url": a.base_url}, {"name": "prod", "tenant_url": b.base_url}],
        active="dev",
    )
    env = base_env(tmp_path, a, b)
    for args, extra, says in [
        (["--profile", "staging"], {}, 'there is no profile "staging"; the profiles are: dev, prod'),
        (["serve", "--profile", "staging"], {}, "the profiles are: dev, prod"),
        (["--profile", "dev"], {"AIC_BASE_URL": b.base_url}, 'and profile "dev"'),
        (["--profile", "no/slash"], {}, "is not a profile name"),
        (["--profile", "dev", "--demo"], {}, "--demo and --profile cannot be used together"),
    ]:
        r = subprocess.run(
            [str(SERVER), *args], env=dict(env, **extra), input="", capture_output=True, text=True, timeout=30,
        )
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert says in r.stderr, (args, r.stderr)
    assert a.requests() == [] and b.requests() == [], "nothing reached either tenant"
