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
