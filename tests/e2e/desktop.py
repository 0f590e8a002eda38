"""The real desktop app under Xvfb, driven through tauri-driver and WebKitWebDriver
(Debian's webkit2gtk-driver): shared by the end-to-end test and the measurement script."""

import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.options import ArgOptions

from conftest import BIN, BROWSER_HOOK, free_port

APP = BIN / "aic-mcp-desktop"


def tauri_driver() -> str | None:
    found = shutil.which("tauri-driver")
    if found:
        return found
    cargo_bin = pathlib.Path.home() / ".cargo" / "bin" / "tauri-driver"
    return str(cargo_bin) if cargo_bin.exists() else None


def missing_parts() -> str | None:
    if not APP.exists():
        return f"{APP} is not built (cargo build -p aic-mcp-desktop)"
    if tauri_driver() is None:
        return "tauri-driver is not installed (cargo install tauri-driver)"
    if shutil.which("WebKitWebDriver") is None:
        return "WebKitWebDriver is missing (apt install webkit2gtk-driver)"
    if shutil.which("Xvfb") is None and not os.environ.get("DISPLAY"):
        return "no display and no Xvfb (apt install xvfb)"
    return None


def stop_stray_apps():
    """Ends any app left running: it is a single-instance app, so a leftover would make
    the next launch hand over to it and exit."""
    subprocess.run(["pkill", "-f", str(APP)], capture_output=True)
    deadline = time.time() + 10
    while time.time() < deadline:
        if subprocess.run(["pgrep", "-f", str(APP)], capture_output=True).returncode != 0:
            return
        time.sleep(0.1)
    subprocess.run(["pkill", "-9", "-f", str(APP)], capture_output=True)
    time.sleep(0.5)


class Xvfb:
    """A private X server, unless one is already given in DISPLAY."""

    def __init__(self):
        self.proc = None
        if os.environ.get("DISPLAY"):
            self.display = os.environ["DISPLAY"]
            return
        read, write = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(write)
        with os.fdopen(read) as f:
            number = f.readline().strip()
        assert number, "Xvfb did not start"
        self.display = f":{number}"

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class Desktop:
    """tauri-driver + a WebDriver session on the app (`--demo` unless args say otherwise)."""

    def __init__(self, tmp: pathlib.Path, args=("--demo",), **env):
        self.tmp = tmp
        self.xvfb = Xvfb()
        self.socket = pathlib.Path(tempfile.mkdtemp(prefix="aic-e2e-app-")) / "run" / "mcp.sock"
        # Its settings, logs and journal under its own home: a session's shared XDG folders
        # would carry one test's settings (a mode, a tenant) into the next.
        private = ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AIC_") and k not in private}
        home = tmp / "home"
        home.mkdir(exist_ok=True)
        self.env.update(
            # A private home: the Connect view must not see (or touch) the real one.
            HOME=str(home),
            DISPLAY=self.xvfb.display,
            AIC_MCP_SOCKET=str(self.socket),
            AIC_REDIRECT_PORT=str(free_port()),
            BROWSER=f"{sys.executable} {BROWSER_HOOK}",
            E2E_BROWSER_LOG=str(tmp / "browser.log"),
            AIC_LOG="info",
            # WebKitGTK in a container: no GPU, no sandbox helpers.
            WEBKIT_DISABLE_COMPOSITING_MODE="1",
            WEBKIT_DISABLE_DMABUF_RENDERER="1",
            LIBGL_ALWAYS_SOFTWARE="1",
        )
        self.env.update({k: str(v) for k, v in env.items()})
        self.port = free_port()
        native_port = free_port()
        self.driver_log_path = tmp / "tauri-driver.log"
        self.driver_log = open(self.driver_log_path, "w")
        self.driver_proc = subprocess.Popen(
            [tauri_driver(), "--port", str(self.port), "--native-port", str(native_port)],
            env=self.env, stdout=self.driver_log, stderr=subprocess.STDOUT,
        )
        # tauri-driver listens at once but forwards to WebKitWebDriver, which it starts at
        # the same moment: a new-session request sent before WebKitWebDriver listens is
        # dropped (the client sees the connection closed). Both must be up first.
        self.wait_listening(self.port, "tauri-driver")
        self.wait_listening(native_port, "WebKitWebDriver (started by tauri-driver)")
        opts = ArgOptions()
        opts.set_capability("browserName", "wry")
        opts.set_capability("tauri:options", {"application": str(APP), "args": list(args)})
        self.started = time.time()
        self.driver = webdriver.Remote(command_executor=f"http://127.0.0.1:{self.port}", options=opts)
        self.driver.implicitly_wait(0)

    def wait_listening(self, port: int, what: str, timeout: float = 30.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.driver_proc.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        self.driver_log.flush()
        log = self.driver_log_path.read_text(errors="replace")[-2000:]
        self.stop()
        raise AssertionError(f"{what} is not listening on port {port} (tauri-driver log: {log!r})")

    def app_pids(self) -> list[int]:
        """The app process and its WebKit helper processes."""
        out = subprocess.run(["pgrep", "-f", str(APP)], capture_output=True, text=True).stdout.split()
        pids = [int(p) for p in out]
        kids = []
        for pid in pids:
            r = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
            kids += [int(k) for k in r]
        return pids + kids

    def wait_for(self, predicate, timeout=30.0, what="condition"):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                last = predicate()
                if last:
                    return last
            except Exception as e:  # noqa: BLE001 - the page may be changing
                last = e
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what} (last: {last!r})")

    def screenshot(self, path: str):
        """The window as the X server shows it (ImageMagick's `import`). WebKitWebDriver's
        own screenshot hangs on some views of this page under Xvfb."""
        subprocess.run(
            ["import", "-display", self.xvfb.display, "-window", "root",
             "-crop", "920x640+0+0", "+repage", path],
            check=True, timeout=30, capture_output=True,
        )

    def text(self, element_id: str) -> str:
        return self.driver.find_element(By.ID, element_id).text

    def click_css(self, selector: str, what: str = "element"):
        """Clicks the element once it exists, retrying while the page re-renders it."""
        def attempt():
            self.driver.find_element(By.CSS_SELECTOR, selector).click()
            return True
        self.wait_for(attempt, what=what)

    def click(self, element_id: str):
        self.driver.find_element(By.ID, element_id).click()

    def stop(self):
        try:
            self.driver.quit()
        except Exception:  # noqa: BLE001
            pass
        self.driver_proc.terminate()
        try:
            self.driver_proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.driver_proc.kill()
        stop_stray_apps()
        self.xvfb.stop()
