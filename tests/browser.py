"""Headless Chromium for the browser tests: DOM dumps and screenshots of pages on 127.0.0.1 only."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
    "--disable-extensions", "--no-proxy-server", "--mute-audio", "--hide-scrollbars",
    # Nothing a page asks for (map tiles, fonts) may leave the machine.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def find_chromium() -> str | None:
    """Path of a Chromium binary, or None."""
    for name in NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Chromium:
    """Runs one headless Chromium per page, each with a fresh profile."""

    def __init__(self, binary: str, workdir: Path, budget_ms: int = 3000, timeout: float = 60):
        self.binary, self.workdir = binary, Path(workdir)
        self.budget_ms, self.timeout = budget_ms, timeout
        self.workdir.mkdir(parents=True, exist_ok=True)

    def _run(self, args: list[str], url: str) -> subprocess.CompletedProcess:
        if not url.startswith("http://127.0.0.1:"):
            raise ValueError(f"{url}: browser tests only load pages from 127.0.0.1")
        profile = tempfile.mkdtemp(prefix="chromium-", dir=self.workdir)
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        cmd = [self.binary, *FLAGS, f"--user-data-dir={profile}",
               f"--virtual-time-budget={self.budget_ms}", *args, url]
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=self.timeout, env=env)
        finally:
            shutil.rmtree(profile, ignore_errors=True)
        if result.returncode != 0:
            raise RuntimeError(f"chromium exited {result.returncode} on {url}:\n{result.stderr[-2000:]}")
        return result

    def dom(self, url: str) -> str:
        """The page's DOM after its scripts ran, serialised as HTML."""
        return self._run(["--dump-dom"], url).stdout

    def screenshot(self, url: str, path: Path, size: tuple[int, int] = (1280, 1400)) -> Path:
        """Save a PNG of the page and return its path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._run([f"--screenshot={path}", f"--window-size={size[0]},{size[1]}"], url)
        if not path.exists() or path.stat().st_size == 0:
            raise RuntimeError(f"chromium wrote no screenshot for {url}")
        return path


class DevTools:
    """One headless Chromium driven over the DevTools protocol (websocket): viewport sizes, scripts
    run in the page (axe-core), overflow checks and full-page screenshots. Pages on 127.0.0.1 only."""

    def __init__(self, binary: str, workdir: Path, timeout: float = 60):
        import json
        import time
        import urllib.request

        import websocket

        self.timeout, self._id = timeout, 0
        Path(workdir).mkdir(parents=True, exist_ok=True)
        self.profile = tempfile.mkdtemp(prefix="devtools-", dir=Path(workdir))
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        self.proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={self.profile}",
                                      "--remote-debugging-port=0", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.05)
        port = port_file.read_text().split("\n")[0].strip()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            targets = json.load(response)
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=timeout,
                                              suppress_origin=True)
        self.send("Page.enable")
        self.send("Runtime.enable")

    def send(self, method: str, **params):
        """Call one DevTools method and return its result (events meanwhile are dropped)."""
        import json

        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str, await_promise: bool = False):
        """The value of a JavaScript expression in the page."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=await_promise, timeout=int(self.timeout * 1000))
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails'].get('text')}: "
                               f"{result['exceptionDetails'].get('exception', {}).get('description', '')[:500]}")
        return result.get("result", {}).get("value")

    def open(self, url: str, width: int = 1280, height: int = 900, settle: float = 0.5) -> None:
        """Load url in a viewport width x height CSS pixels (a phone's when narrower than 600)."""
        import time

        if not url.startswith("http://127.0.0.1:"):
            raise ValueError(f"{url}: browser tests only load pages from 127.0.0.1")
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=width < 600)
        self.send("Page.navigate", url=url)
        deadline = time.monotonic() + self.timeout
        time.sleep(0.1)
        while self.evaluate("document.readyState + '|' + location.href") != f"complete|{url}":
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url}: did not finish loading")
            time.sleep(0.05)
        time.sleep(settle)  # let module scripts (the map) run

    def wait_for(self, expression: str, what: str) -> None:
        """Wait until a JavaScript expression is true in the page (after a click or a submit)."""
        import time

        deadline = time.monotonic() + self.timeout
        while True:
            try:
                if self.evaluate(expression):
                    return
            except RuntimeError:  # the page is being replaced
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")
            time.sleep(0.05)

    def overflow_px(self) -> int:
        """How many CSS pixels the page is wider than the viewport (0: no horizontal scrolling)."""
        return int(self.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
                                 " - document.documentElement.clientWidth"))

    def axe(self, source: str) -> list[dict]:
        """axe-core's violations on the current page: id, impact, help and up to five targets each."""
        self.evaluate(source)
        return self.evaluate(
            "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({"
            "id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))", await_promise=True)

    def screenshot(self, path: Path, max_height: int = 6000) -> Path:
        """Save a PNG of the whole page at the current width."""
        import base64

        metrics = self.send("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        width = self.evaluate("document.documentElement.clientWidth")
        height = min(int(size["height"]) + 1, max_height)
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1})
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self) -> None:
        import websocket

        ws = getattr(self, "ws", None)
        if ws is not None:
            try:
                self.send("Browser.close")
            except (OSError, websocket.WebSocketException):
                pass  # the browser closed the socket before answering: it is closing, as asked
            ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)
