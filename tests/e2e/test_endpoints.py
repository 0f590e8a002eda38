"""The app's local endpoints, through clients we did not write. `aic-mcp-server serve`
runs the same core and endpoints as the desktop app without a GUI: the unix socket that
`aic-mcp-server connect` bridges to (0600 in a 0700 directory, another user refused; connect
in turn refuses a socket whose folder is not private to us), and
the opt-in Streamable HTTP endpoint on 127.0.0.1 (bearer from the real Secret Service,
403 for a foreign Host or Origin, 401 without the bearer). Two assistants share one login."""

import asyncio
import os
import pathlib
import shutil
import socket
import stat
import subprocess
import tempfile

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from conftest import SERVER, Serve, Sim, keychain_lookup, post_ping, require


def serve_with_http(tmp: pathlib.Path, sim: Sim) -> Serve:
    """`aic-mcp-server serve --http 0` with its socket under a world-traversable parent, so
    only our own 0700 directory and 0600 socket stand between another user and the socket."""
    public = pathlib.Path(tempfile.mkdtemp(prefix="aic-e2e-sock-"))
    public.chmod(0o755)
    tmp.mkdir(parents=True, exist_ok=True)
    return Serve(tmp, sim, public / "run" / "mcp.sock", http=True)


@pytest.fixture
def served(tmp_path, keychain):
    require(shutil.which("curl") is not None, "curl plays the browser here")
    sim = Sim(tmp_path, auto_approve=True)
    s = serve_with_http(tmp_path, sim)
    s.sim = sim
    yield s
    s.stop()
    sim.stop()


def bearer_in_keychain() -> str:
    bearer = keychain_lookup("local-http-bearer")
    assert bearer, "the HTTP bearer must be in the OS keychain"
    return bearer


def test_socket_is_private_to_this_user(served):
    st = os.stat(served.sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert stat.S_IMODE(os.stat(served.sock.parent).st_mode) == 0o700
    assert st.st_uid == os.getuid()
    if os.getuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("trying as another user needs root and setpriv")
    # As `nobody`, with no capabilities: first our 0700 directory refuses; with the
    # directory opened up, the 0600 socket itself still refuses.
    probe = (
        "import socket,sys\n"
        "s=socket.socket(socket.AF_UNIX)\n"
        "try:\n s.connect(sys.argv[1]); print('connected')\n"
        "except OSError as e: print(type(e).__name__, e.errno)\n"
    )
    def as_nobody():
        return subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
             "--bounding-set=-all", "/usr/bin/python3", "-c", probe, str(served.sock)],
            capture_output=True, text=True, timeout=20,
        )

    out = as_nobody()
    assert out.stdout.startswith("PermissionError 13"), (out.stdout, out.stderr)
    served.sock.parent.chmod(0o755)
    out = as_nobody()
    assert out.stdout.startswith("PermissionError 13"), (out.stdout, out.stderr)
    # And we, the owner, still get in.
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(served.sock))


def test_two_assistants_share_one_login_through_connect(served):
    params = StdioServerParameters(
        command=str(SERVER), args=["connect", "--socket", str(served.sock)], env=served.env,
    )

    async def one(name: str):
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as s:
                init = await s.initialize()
                tools = await s.list_tools()
                result = await s.call_tool("getLogSources", {})
                return init.server_info.name, len(tools.tools), result

    async def both():
        return await asyncio.gather(one("a"), one("b"))

    results = asyncio.run(both())
    for name, count, result in results:
        assert name == "pingone-aic-mcp-server"
        assert count == 52
        assert not result.is_error, result
        assert "am-access" in result.content[0].text
    reqs = served.sim.requests()
    codes = [r for r in reqs if r["path"] == "/am/oauth2/access_token" and "authorization_code" in r.get("body", "")]
    assert len(codes) == 1, "both assistants must share the app's single login"
    for r in reqs:
        if r["path"] == "/am/oauth2/authorize":
            continue  # the browser's request
        assert dict(r["headers"]).get("user-agent", "").startswith("aic-mcp-server/"), r


def test_connect_without_the_app_says_so(tmp_path):
    out = subprocess.run(
        [str(SERVER), "connect", "--socket", str(tmp_path / "none.sock")],
        input="", capture_output=True, text=True, timeout=20,
    )
    assert out.returncode == 1
    assert "AIC MCP Desktop is not running" in out.stderr
    assert out.stdout == ""


def test_connect_refuses_a_socket_that_is_not_ours(tmp_path):
    """A socket in a folder another user made (as anyone can make
    /tmp/aic-mcp-desktop-<uid>/ first), or in a folder open to others, is refused before
    connecting: exit 1, a message naming the folder and what to do, nothing sent."""
    if os.getuid() != 0:
        pytest.skip("giving a folder to another user needs root")
    planted = tmp_path / "planted"
    planted.mkdir(mode=0o700)
    sock = planted / "mcp.sock"
    ping = '{"jsonrpc":"2.0","id":1,"method":"ping"}\n'
    with socket.socket(socket.AF_UNIX) as listener:
        # A live server that would answer: the bridge must not reach it.
        listener.bind(str(sock))
        listener.listen(1)
        listener.settimeout(0.2)

        def connect():
            return subprocess.run(
                [str(SERVER), "connect", "--socket", str(sock)],
                input=ping, capture_output=True, text=True, timeout=20,
            )

        os.chown(planted, 65534, 65534)
        out = connect()
        assert out.returncode == 1, out
        assert f"refusing the MCP socket {sock}: its folder {planted} belongs to uid 65534, not to you (uid 0)" in out.stderr
        assert f"Remove the folder {planted}, then restart AIC MCP Desktop" in out.stderr
        assert out.stdout == ""
        with pytest.raises(socket.timeout):
            listener.accept()

        os.chown(planted, 0, 0)
        planted.chmod(0o755)
        out = connect()
        assert out.returncode == 1, out
        assert f"its folder {planted} is open to other users (mode 0755; it must be 0700)" in out.stderr
        assert out.stdout == ""
        with pytest.raises(socket.timeout):
            listener.accept()


def test_http_needs_the_bearer_and_our_own_host_and_origin(served):
    bearer = bearer_in_keychain()
    assert len(bearer) >= 32
    auth = {"Authorization": f"Bearer {bearer}"}
    status, body = post_ping(served.url, {})
    assert status == 401, body
    status, _ = post_ping(served.url, {"Authorization": "Bearer " + "x" * 43})
    assert status == 401
    status, body = post_ping(served.url, {**auth, "Origin": "http://evil.example"})
    assert status == 403, body
    status, body = post_ping(served.url, {**auth, "Origin": f"http://127.0.0.1:{served.port + 1}"})
    assert status == 403, body
    status, body = post_ping(served.url, {**auth, "Host": f"evil.example:{served.port}"})
    assert status == 403, body
    # Our own origin is fine (the request then fails for MCP reasons, not 401/403).
    status, _ = post_ping(served.url, {**auth, "Origin": f"http://localhost:{served.port}"})
    assert status not in (401, 403)


def test_http_serves_the_sdk_with_the_bearer(served):
    bearer = bearer_in_keychain()

    async def run():
        client = create_mcp_http_client(headers={"Authorization": f"Bearer {bearer}"})
        async with client:
            async with streamable_http_client(served.url, http_client=client) as (read, write):
                async with ClientSession(read, write) as s:
                    await s.initialize()
                    tools = await s.list_tools()
                    result = await s.call_tool("getLogSources", {})
                    return len(tools.tools), result

    count, result = asyncio.run(run())
    assert count == 52
    assert not result.is_error, result


def test_the_bearer_survives_a_restart(tmp_path, served):
    first = bearer_in_keychain()
    served.stop()
    (tmp_path / "again").mkdir()
    again = serve_with_http(tmp_path / "again", served.sim)
    try:
        assert bearer_in_keychain() == first
        status, _ = post_ping(again.url, {"Authorization": f"Bearer {first}"})
        assert status not in (401, 403)
    finally:
        again.stop()
