"""A hostile test web on 127.0.0.1: one `.test` host per way a site can hurt a crawler or a reader.

Like clinicvet/demo/server.py it serves by Host header and doubles as the crawler's plain-HTTP proxy
(absolute-URI requests), and never forwards anything elsewhere. Every response is generated on the
fly (no 50 MB files on disk) and every slow answer is bounded in time.
"""
from __future__ import annotations

import logging
import random
import socket
import struct
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

MB = 1024 * 1024
BIG_PAGE_BYTES = 50 * MB
BOMB_BYTES = 200 * MB          # what the gzip bomb inflates to
NESTING = 50_000               # elements deep
TRICKLE_SECONDS = 20           # the slow server gives up after this, well past any test timeout
MARKER = "PWNED"               # what an executed payload would write into the page title

# Payloads that change the DOM or the title if a browser ever runs them.
PAYLOADS = [
    f"<script>document.title='{MARKER}'</script>",
    f"<img src=x onerror=\"document.title='{MARKER}'\">",
    f"<svg onload=\"document.title='{MARKER}'\">",
    f"\"><script>document.title='{MARKER}'</script>",
]

# host -> (what it serves, the behaviour the crawler must show). The tests check each and write the
# outcome table in docs/robustness.md.
CASES = {
    "www.bigpage.test": "a 50 MB HTML page streamed without Content-Length",
    "www.gzipbomb.test": "a 200 KB gzip body that inflates to 200 MB",
    "www.trap.test": "an endless calendar and session ids in URL paths and queries",
    "www.redirectloop.test": "redirects /a -> /b -> /a ... forever",
    "www.offsite.test": "a home page that redirects to another host",
    "www.binary.test": "random binary bytes served as text/html",
    "www.charset.test": "invalid UTF-8, a wrong charset, an unknown charset, no charset",
    "www.nested.test": f"HTML nested {NESTING:,} elements deep",
    "www.slow.test": f"headers, then one byte every 0.2 s for {TRICKLE_SECONDS} s",
    "www.reset.test": "connections reset (TCP RST) before any answer",
    "www.error500.test": "HTTP 500 for every page",
    "www.robotsno.test": "robots.txt that disallows everything",
    "www.xss.test": "<script>, event-handler and javascript: payloads in text, title, links and JSON-LD",
}
ELSEWHERE = "www.elsewhere.test"  # the off-site redirect target: must never be fetched


def html_page(title: str, body: str) -> bytes:
    return f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body>{body}</body></html>".encode()


def xss_page() -> tuple[bytes, bytes]:
    """Home and about pages whose visible text, title, links and JSON-LD carry script payloads as text."""
    import html
    import json

    esc = [html.escape(p, quote=False) for p in PAYLOADS]
    jsonld = json.dumps({
        "@context": "https://schema.org", "@type": "MedicalClinic", "name": f"Evil {PAYLOADS[0]}",
        "telephone": PAYLOADS[1],
        "address": {"@type": "PostalAddress", "streetAddress": f"1 Main St {PAYLOADS[1]}",
                    "addressLocality": f"Austin{PAYLOADS[2]}", "addressRegion": "TX", "postalCode": "78701"},
    }).replace("</", "<\\/")
    body = f"""
<script>document.title='{MARKER}'</script>
<script type="application/ld+json">{jsonld}</script>
<h1>Hostile Ketamine Clinic {esc[0]}</h1>
<p>Every infusion is supervised by a board-certified anesthesiologist {esc[1]} who stays in the room.</p>
<p>A nurse watches your blood pressure, heart rate and oxygen during and after each infusion {esc[0]}.</p>
<p>Before treatment you have a medical and psychiatric evaluation {esc[2]}; we do not treat psychosis, mania or uncontrolled blood pressure.</p>
<p>We offer integration sessions with our therapist {esc[3]} and work with your own therapist.</p>
<p>Call us <a href="javascript:document.title='{MARKER}'">javascript link</a>,
<a href="JaVaScRiPt:document.title='{MARKER}'">mixed-case javascript link</a>,
<a href="data:text/html,&lt;script&gt;document.title='{MARKER}'&lt;/script&gt;">data link</a>,
<a href="/about/" onclick="document.title='{MARKER}'">About us {esc[1]}</a>.</p>
<p>Text that looks like markup: &lt;b&gt;bold&lt;/b&gt; &amp;lt;i&amp;gt; {esc[2]} &lt;!-- comment --&gt;</p>
"""
    about = "<p>Dr. Eve Payload, MD &lt;script&gt;document.title='PWNED'&lt;/script&gt; leads our team.</p>"
    return html_page(f"Hostile Clinic {esc[0]}", body), html_page("About", about)


def gzip_bomb() -> bytes:
    """gzip of BOMB_BYTES zeros (about 200 KB), built once."""
    if not hasattr(gzip_bomb, "body"):
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip header
        chunk = b"\0" * MB
        parts = [compressor.compress(chunk) for _ in range(BOMB_BYTES // MB)]
        gzip_bomb.body = b"".join(parts) + compressor.flush()
    return gzip_bomb.body


class HostileHandler(BaseHTTPRequestHandler):
    server_version = "clinicvet-hostile/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        log.debug("%s " + fmt, self.address_string(), *args)

    def _target(self) -> tuple[str, str, str]:
        if self.path.startswith(("http://", "https://")):
            parts = urlsplit(self.path)
            return (parts.hostname or "").lower(), parts.path or "/", parts.query
        parts = urlsplit(self.path)
        return (self.headers.get("Host") or "").split(":")[0].lower(), parts.path or "/", parts.query

    def send(self, status: int, body: bytes = b"", content_type: str = "text/html; charset=utf-8",
             headers: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location: str, status: int = 302):
        self.send(status, b"", headers={"Location": location})

    def do_GET(self):
        host, path, query = self._target()
        self.server.record(host, path + (f"?{query}" if query else ""))
        if host == "127.0.0.1" and path == "/control":
            # The payloads as live markup: a browser that loads this must end with MARKER as title.
            return self.send(200, html_page("Control", "".join(PAYLOADS)))
        if host not in CASES and host != ELSEWHERE:
            return self.send(502, f"no such site: {host}\n".encode(), "text/plain")
        if path == "/robots.txt":
            if host == "www.robotsno.test":
                return self.send(200, b"User-agent: *\nDisallow: /\n", "text/plain")
            return self.send(404, b"", "text/plain")
        if path == "/sitemap.xml":
            return self.send(404, b"", "text/plain")
        handler = getattr(self, "site_" + host.split(".")[1], None)
        try:
            if handler:
                return handler(path, query)
            return self.send(200, html_page(host, f"<p>{host} {path}</p>"))
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True  # the crawler hung up: that is the point of several cases

    # -- one method a case ------------------------------------------------------------------------

    def site_bigpage(self, path, query):
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        self.wfile.write(b"<!doctype html><html><head><title>Big</title></head><body>")
        chunk = (b"<p>ketamine infusion physician " + b"x" * 990 + b"</p>\n") * 64
        sent = 0
        while sent < BIG_PAGE_BYTES:
            self.wfile.write(chunk)
            sent += len(chunk)

    def site_gzipbomb(self, path, query):
        self.send(200, gzip_bomb(), headers={"Content-Encoding": "gzip"})

    def site_trap(self, path, query):
        rng = random.Random(path + query)
        day = int(path.rsplit("/day-", 1)[-1].strip("/")) if "/day-" in path else 0
        session = "".join(rng.choice("abcdef0123456789") for _ in range(16))
        links = [f"/appointments/day-{day + 1}/", f"/appointments/day-{day - 1}/",
                 f"/s/{session}/treatment/", f"/treatment/?session={session}&view={day}",
                 f"/calendar/2025/{rng.randint(1, 12):02d}/", f"/?sid={session}"]
        body = "".join(f'<a href="{link}">ketamine treatment {i}</a> ' for i, link in enumerate(links))
        self.send(200, html_page(f"Trap {path}", f"<p>Ketamine infusion schedule</p>{body}"))

    def site_redirectloop(self, path, query):
        self.redirect("/b" if path in ("/", "/a") else "/a")

    def site_offsite(self, path, query):
        self.redirect(f"http://{ELSEWHERE}/landing", 301)

    def site_elsewhere(self, path, query):
        self.send(200, html_page("Elsewhere", "<p>An off-site page the crawler must never fetch.</p>"))

    def site_binary(self, path, query):
        rng = random.Random(7)
        self.send(200, bytes(rng.getrandbits(8) for _ in range(200_000)))

    def site_charset(self, path, query):
        links = '<a href="/latin1">latin1</a> <a href="/bogus">bogus</a> <a href="/none">none</a>'
        if path == "/latin1":  # declared UTF-8, actually Latin-1
            return self.send(200, "<html><body><p>Cl\xednica de ketamina en M\xe9xico</p></body></html>".encode("latin-1"))
        if path == "/bogus":
            return self.send(200, html_page("Bogus", "<p>Unknown charset page about ketamine</p>"),
                             "text/html; charset=x-no-such-charset")
        if path == "/none":
            return self.send(200, "<html><body><p>No charset: caf\xe9 \u2603</p></body></html>".encode("utf-16"),
                             "text/html")
        body = b"<html><head><title>Bad \xff\xfe UTF-8</title></head><body><p>Broken bytes \xc3\x28 \xa0\xa1 \xf0\x28\x8c\x28 ketamine</p>"
        self.send(200, body + links.encode() + b"</body></html>")

    def site_nested(self, path, query):
        body = "<div>" * NESTING + "<p>A physician leads every infusion.</p>" + "</div>" * NESTING
        self.send(200, html_page("Nested", body))

    def site_slow(self, path, query):
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.close_connection = True
        deadline = time.monotonic() + TRICKLE_SECONDS
        while time.monotonic() < deadline:
            self.wfile.write(b" ")
            self.wfile.flush()
            time.sleep(0.2)

    def site_reset(self, path, query):
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def site_error500(self, path, query):
        self.send(500, html_page("Error", "<p>Internal Server Error</p>"))

    def site_xss(self, path, query):
        home, about = xss_page()
        if path == "/about/":
            return self.send(200, about)
        if path == "/":
            return self.send(200, home)
        self.send(404, html_page("Not found", "<p>Not found</p>"))


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int = 0):
        super().__init__(("127.0.0.1", port), HostileHandler)
        self._lock = threading.Lock()
        self.hits: list[tuple[str, str]] = []

    def record(self, host: str, path: str) -> None:
        with self._lock:
            self.hits.append((host, path))

    def paths(self, host: str) -> list[str]:
        with self._lock:
            return [p for h, p in self.hits if h == host]

    def handle_error(self, request, client_address):  # a hung-up crawler is expected here
        log.debug("connection from %s ended with an error", client_address, exc_info=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def start_in_thread(port: int = 0) -> HostileServer:
    """Start the hostile web on a daemon thread (call .shutdown() to stop)."""
    server = HostileServer(port)
    threading.Thread(target=server.serve_forever, name="hostile-web", daemon=True).start()
    return server


def write_seeds(path: Path) -> Path:
    """A seeds CSV with one row a hostile host."""
    import csv

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "url", "city", "state"])
        for host in CASES:
            writer.writerow([host.split(".")[1].capitalize() + " Clinic", f"http://{host}/", "Austin", "TX"])
    return path


# Runs a command and prints its peak resident memory (kB): RUSAGE_CHILDREN of this wrapper is the
# command's own peak, untouched by whatever else the caller ran before.
_MEASURE = ("import resource, subprocess, sys\n"
            "rc = subprocess.call(sys.argv[1:])\n"
            "print(f'PEAK_KB={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}')\n"
            "sys.exit(rc)\n")


def run_measured(cmd: list[str], env: dict, timeout: float):
    """Run cmd; return (CompletedProcess, peak RSS in MB, seconds). TimeoutExpired past timeout."""
    import subprocess
    import sys

    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", _MEASURE, *map(str, cmd)], env=env, capture_output=True,
                            text=True, timeout=timeout)
    seconds = time.monotonic() - started
    peak_kb = int(result.stdout.rsplit("PEAK_KB=", 1)[1].split()[0])
    return result, peak_kb / 1024, seconds


# -- docs/robustness.md: each test module fills its own section from what its tests observed ------

DOC = Path(__file__).resolve().parent.parent / "docs" / "robustness.md"
DOC_HEAD = """# Robustness: a hostile web and bad local input

Written by the tests (`tests/test_hostile.py`, `tests/test_faults.py`) from what they observed on
their last full run; do not edit by hand. Each row is one case: what was served or broken, what
clinicvet did, and the bound it stayed within.
"""


def write_section(name: str, title: str, rows: list[tuple], header: tuple) -> None:
    """Replace the section `name` of docs/robustness.md with a markdown table of rows."""
    import re

    def cell(value) -> str:
        text = re.sub(r"\S*/pytest-\d+/[^/\s]+/", "<tmp>/", str(value))  # stable across runs
        text = text.replace("|", "\\|").replace("\n", " ")
        return text.replace("<", "&lt;").replace(">", "&gt;")  # crawled text is shown, never rendered

    table = [f"| {' | '.join(header)} |", "|" + "---|" * len(header)]
    table += [f"| {' | '.join(cell(v) for v in row)} |" for row in rows]
    block = f"<!-- {name}:start -->\n## {title}\n\n" + "\n".join(table) + f"\n<!-- {name}:end -->"
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else DOC_HEAD
    pattern = re.compile(rf"<!-- {name}:start -->.*?<!-- {name}:end -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + block + "\n"
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(text, encoding="utf-8")
