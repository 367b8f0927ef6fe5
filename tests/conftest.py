"""Shared fixtures: real servers on 127.0.0.1, real crawls in subprocesses, real SQLite files."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from clinicvet.demo import SEEDS_FILE, SITES_DIR
from clinicvet.demo.server import SiteHandler, SiteServer, start_in_thread

# The tests' own loopback fetches (Datasette, the demo command) never go through a proxy the machine
# may have configured; crawls get the local web as their proxy through proxy_env().
for _var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
    os.environ.pop(_var, None)
os.environ["no_proxy"] = os.environ["NO_PROXY"] = "127.0.0.1,localhost"

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
CLINICVET = [str(Path(sys.executable).parent / "clinicvet")]


def rows(db, sql: str, params=()) -> list[dict]:
    """Rows of a query on a SQLite file, as dicts."""
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql, params)]


def backdate(db, table: str, column: str, ago: str) -> None:
    """Set a timestamp column of every row of a table to now minus ago (an SQLite modifier: '25 hours')."""
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute(f"UPDATE {table} SET {column} = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', ?)", [f"-{ago}"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proxy_env(proxy_url: str) -> dict:
    """Environment that sends every crawler request through the local web and nowhere else."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "no_proxy", "all_proxy")}
    env.update(http_proxy=proxy_url, https_proxy=proxy_url, no_proxy="")
    return env


def run_cli(args: list[str], proxy_url: str | None = None, timeout: float = 300, check: bool = True,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the clinicvet command in a subprocess (Scrapy's reactor cannot restart in-process)."""
    env = proxy_env(proxy_url) if proxy_url else dict(os.environ)
    result = subprocess.run(CLINICVET + [str(a) for a in args], env=env, capture_output=True, text=True,
                            timeout=timeout, cwd=cwd)
    if check and result.returncode != 0:
        raise AssertionError(f"clinicvet {' '.join(map(str, args))} exited {result.returncode}:\n{result.stderr[-4000:]}")
    return result


def write_seeds(path: Path, sites_dir: Path, labels: Path | None = None) -> Path:
    """A seeds CSV for every site folder (name, city and state from labels.csv when given)."""
    import csv

    meta = {}
    if labels and labels.exists():
        meta = {r["domain"]: r for r in csv.DictReader(labels.open(encoding="utf-8"))}
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "url", "city", "state"])
        for site in sorted(p.name for p in sites_dir.iterdir() if p.is_dir()):
            row = meta.get(site, {})
            writer.writerow([row.get("name") or site, f"http://{site}/", row.get("city", ""), row.get("state", "")])
    return path


class RecordingHandler(SiteHandler):
    """A SiteHandler that records (host, path) and the Referer of every request, and fails robots.txt of
    chosen hosts."""

    def do_GET(self, head: bool = False):
        host, path = self._target()
        with self.server.lock:
            self.server.requests.append((host, path))
            self.server.referers.append(self.headers.get("Referer"))
        if path == "/robots.txt" and host in self.server.robots_down:
            return self._send(503, b"busy\n", head=head)
        return super().do_GET(head)


@pytest.fixture
def recording_web(tmp_path):
    """A copy of the demo web served by a RecordingHandler: (root, server)."""
    import shutil
    import threading

    root = tmp_path / "web"
    shutil.copytree(SITES_DIR, root)
    server = SiteServer(root, 0, handler=RecordingHandler)
    server.requests, server.referers, server.lock, server.robots_down = [], [], threading.Lock(), set()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, server
    server.shutdown()


def crawl_requests(command: str, db, server, *extra) -> list[tuple[str, str]]:
    """Run a crawl command of the demo seeds against a recording web; the (host, path) it asked for."""
    server.requests.clear()
    run_cli([command, "--seeds", SEEDS_FILE, "--db", db, "--delay", "0", "--silent", *extra], proxy_url=server.url)
    return list(server.requests)


@pytest.fixture(scope="session", autouse=True)
def npi_replay():
    """The demo's NPI registry replay (fictional people) on 127.0.0.1; every clinicvet command the tests
    run reaches it through CLINICVET_NPI_URL, so no test ever asks the real registry."""
    from clinicvet.demo.registry import start_registry

    server = start_registry()
    os.environ["CLINICVET_NPI_URL"] = server.url
    yield server
    server.shutdown()


@pytest.fixture(scope="session")
def demo_web():
    """The bundled demo web, served on a free port; yields the server (its .url is the proxy)."""
    server = start_in_thread(SITES_DIR)
    yield server
    server.shutdown()


@pytest.fixture
def demo_web_copy(tmp_path):
    """A copy of the demo web that a test may edit, served on a free port: (root, server)."""
    import shutil

    root = tmp_path / "web"
    shutil.copytree(SITES_DIR, root)
    server = start_in_thread(root)
    yield root, server
    server.shutdown()


@pytest.fixture(scope="session")
def corpus_web():
    if not (CORPUS / "sites").is_dir():
        pytest.skip(f"labelled corpus not found at {CORPUS}")
    server = start_in_thread(CORPUS / "sites")
    yield server
    server.shutdown()


@pytest.fixture(scope="session")
def demo_db(demo_web, tmp_path_factory) -> Path:
    """A database built by the real pipeline (crawl + score + publish) over the demo web."""
    db = tmp_path_factory.mktemp("demo") / "demo.db"
    run_cli(["run", "--seeds", SEEDS_FILE, "--db", db, "--delay", "0", "--silent"], proxy_url=demo_web.url)
    return db


@pytest.fixture(scope="session")
def corpus_seeds(tmp_path_factory) -> Path:
    if not (CORPUS / "sites").is_dir():
        pytest.skip(f"labelled corpus not found at {CORPUS}")
    return write_seeds(tmp_path_factory.mktemp("seeds") / "corpus_seeds.csv", CORPUS / "sites", CORPUS / "labels.csv")


@pytest.fixture(scope="session")
def corpus_crawl(corpus_web, corpus_seeds, tmp_path_factory) -> Path:
    """The labelled corpus crawled through the local web (pages only). Do not modify: copy it."""
    db = tmp_path_factory.mktemp("corpus") / "corpus-crawl.db"
    run_cli(["crawl", "--seeds", corpus_seeds, "--db", db, "--delay", "0", "--silent"], proxy_url=corpus_web.url)
    return db


@pytest.fixture(scope="session")
def corpus_db(corpus_crawl, tmp_path_factory) -> Path:
    """The crawled corpus, scored and published."""
    import shutil

    db = tmp_path_factory.mktemp("corpus") / "corpus.db"
    shutil.copy(corpus_crawl, db)
    run_cli(["score", "--db", db])
    run_cli(["publish", "--db", db])
    return db


class Datasette:
    """A real `clinicvet serve` process on a free port."""

    def __init__(self, db: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(CLINICVET + ["serve", "--db", str(db), "--port", str(self.port)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"datasette exited: {self.proc.stdout.read()[-3000:]}")
            try:
                urllib.request.urlopen(self.url + "/-/versions.json", timeout=2)
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("datasette did not start within 60 s")

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=30) as response:
                return response.status, response.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")

    def json(self, path: str):
        import json

        status, body = self.get(path)
        assert status == 200, f"{path}: HTTP {status}: {body[:500]}"
        return json.loads(body)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def demo_datasette(demo_db):
    server = Datasette(demo_db)
    yield server
    server.stop()
