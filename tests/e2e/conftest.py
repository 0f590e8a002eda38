"""Fixtures for the end-to-end tests: the built binaries, a tenant simulator process
(HTTPS with its own CA, control endpoints for the request log), and helpers."""

import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / os.environ.get("E2E_PROFILE", "debug")
# E2E_BIN_DIR runs the suites against installed binaries (the release check sets /usr/bin);
# the tenant simulator is not packaged and always comes from the build.
BIN = pathlib.Path(os.environ["E2E_BIN_DIR"]) if os.environ.get("E2E_BIN_DIR") else TARGET
SERVER = BIN / "aic-mcp-server"
SIM = TARGET / "aic-tenant-sim"
BROWSER_HOOK = pathlib.Path(__file__).with_name("browser_login.py")
VERSION = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require(cond: bool, why: str) -> None:
    """Skip locally, fail in CI: the real parts must be there."""
    if cond:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(why)
    pytest.skip(why)


class Sim:
    def __init__(self, tmp: pathlib.Path, auto_approve: bool = False):
        for b in (SERVER, SIM):
            assert b.exists(), f"{b} is not built (run cargo build first)"
        args = [str(SIM), "--control", "--ca-file", str(tmp / "sim-ca.pem")]
        if auto_approve:
            args.append("--auto-approve")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        values = {}
        while len(values) < 3:
            line = self.proc.stdout.readline()
            assert line, "the simulator exited early"
            key, _, value = line.strip().partition("=")
            values[key] = value
        self.base_url = values["AIC_BASE_URL"]
        self.ca_file = values["AIC_CA_FILE"]
        self.control = values["AIC_SIM_CONTROL"]
        self.host = self.base_url.split("://", 1)[1]

    def _get(self, path: str):
        with urllib.request.urlopen(self.control + path, timeout=10) as r:
            return json.loads(r.read().decode())

    def requests(self):
        return self._get("/requests")

    def tokens(self):
        return self._get("/tokens")

    def clear(self):
        urllib.request.urlopen(urllib.request.Request(self.control + "/clear", method="POST"), timeout=10)

    def fault(self, spec: dict) -> None:
        """Queues a fault for the tenant's next matching request (`POST /faults`), e.g.
        `{"method": "GET", "path_prefix": "/monitoring", "kind": "stall"}` or
        `"kind": {"delay": {"ms": 500}}`; a refused spec raises with the simulator's reason."""
        req = urllib.request.Request(
            self.control + "/faults", data=json.dumps(spec).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                assert r.status == 204, r.status
        except urllib.error.HTTPError as e:
            raise AssertionError(f"the simulator refused the fault {spec}: {e.read().decode()}") from None

    def clear_faults(self) -> None:
        urllib.request.urlopen(urllib.request.Request(self.control + "/faults", method="DELETE"), timeout=10)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def sim(tmp_path):
    s = Sim(tmp_path)
    yield s
    s.stop()


@pytest.fixture
def chromium():
    chromium = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
    driver = os.environ.get("E2E_CHROMEDRIVER", "/usr/bin/chromedriver")
    require(os.path.exists(chromium) and os.path.exists(driver), "Debian's chromium and chromium-driver are needed")
    return chromium


@pytest.fixture
def keychain():
    """The real Secret Service must be reachable (gnome-keyring in a dbus session)."""
    ok = bool(os.environ.get("DBUS_SESSION_BUS_ADDRESS")) and shutil.which("secret-tool") is not None
    if ok:
        probe = subprocess.run(
            ["secret-tool", "store", "--label=aic-e2e-probe", "service", "aic-e2e-probe", "account", "probe"],
            input="x", text=True, capture_output=True, timeout=20,
        )
        ok = probe.returncode == 0
        subprocess.run(["secret-tool", "clear", "service", "aic-e2e-probe", "account", "probe"], capture_output=True)
    require(ok, "a running, unlocked Secret Service (gnome-keyring under dbus-run-session) is needed")


def server_env(sim: Sim, tmp: pathlib.Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIC_")}
    env.update(
        AIC_BASE_URL=sim.base_url,
        AIC_CA_FILE=sim.ca_file,
        AIC_REDIRECT_PORT=str(free_port()),
        AIC_LOG_DIR=str(tmp / "logs"),
        BROWSER=f"{sys.executable} {BROWSER_HOOK}",
        E2E_BROWSER_LOG=str(tmp / "browser.log"),
        AIC_LOG="info",
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Serve:
    """`aic-mcp-server serve --socket SOCK` (and `--http 0` when `http`) against `sim`, which
    must auto-approve: a plain HTTP GET plays the browser. Returns once the server says what
    it serves (the socket, and the HTTP URL in `url`/`port`)."""

    def __init__(self, tmp: pathlib.Path, sim: Sim, sock: pathlib.Path, http: bool, **env):
        self.sock = sock
        self.logs = tmp / "logs"
        self.env = server_env(sim, tmp, **env)
        self.env["BROWSER"] = "curl -sk -o /dev/null -L"
        self.log = open(tmp / "serve.log", "w+")
        args = [str(SERVER), "serve", "--socket", str(sock)] + (["--http", "0"] if http else [])
        self.proc = subprocess.Popen(
            args, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log,
        )
        self.url = None
        self.port = None
        deadline = time.time() + 30
        while True:
            text = self.text()
            m = re.search(r"MCP over HTTP at (http://127\.0\.0\.1:(\d+)/mcp)", text)
            if m:
                self.url, self.port = m.group(1), int(m.group(2))
            if "MCP socket" in text and (self.url or not http):
                break
            assert self.proc.poll() is None, text
            assert time.time() < deadline, text
            time.sleep(0.1)
        assert self.sock.exists()

    def text(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def audit(self) -> list[dict]:
        """Every event in the JSONL audit files so far."""
        events = []
        for f in sorted(self.logs.glob("activity*.jsonl")):
            for line in f.read_text().splitlines():
                if line.strip():
                    events.append(json.loads(line))
        return events

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def keychain_lookup(account: str) -> str:
    """Our keychain entry for `account` (service aic-mcp-desktop), "" when there is none."""
    out = subprocess.run(
        ["secret-tool", "lookup", "service", "aic-mcp-desktop", "username", account],
        capture_output=True, text=True, timeout=20,
    )
    return out.stdout.strip()


def post_ping(url: str, headers: dict) -> tuple[int, str]:
    """A JSON-RPC ping POSTed to an MCP HTTP endpoint: (status, body)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        **headers,
    })
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")

