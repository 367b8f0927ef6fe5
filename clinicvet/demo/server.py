"""A tiny web of fictional sites on 127.0.0.1: it serves `sites/<host>/<path>` by Host header and
doubles as the plain-HTTP proxy the crawler is pointed at, so the crawler fetches real-looking
domains with exactly the code it uses on the real web. It never forwards anything elsewhere."""
from __future__ import annotations

import email.utils
import hashlib
import logging
import mimetypes
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)


def resolve(root: Path, host: str, path: str) -> Path | None:
    """Map host + URL path to a file under root, or None."""
    site = (root / host).resolve()
    if not site.is_dir() or site.parent != root.resolve():
        return None
    rel = unquote(path).lstrip("/")
    target = (site / rel).resolve()
    if site != target and site not in target.parents:
        return None  # ../ escapes
    candidates = [target / "index.html"] if target.is_dir() else [target, target.with_name(target.name + ".html")]
    if rel.endswith("/") and not target.is_dir():
        candidates = []
    return next((c for c in candidates if c.is_file()), None)


class SiteHandler(BaseHTTPRequestHandler):
    server_version = "clinicvet-demo/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep test output quiet; debug log only
        log.debug("%s " + fmt, self.address_string(), *args)

    def _target(self) -> tuple[str, str]:
        # A proxy request carries an absolute URI; a direct one has a path and a Host header.
        if self.path.startswith(("http://", "https://")):
            parts = urlsplit(self.path)
            return (parts.hostname or "").lower(), parts.path or "/"
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        return host, urlsplit(self.path).path or "/"

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None, head: bool = False):
        self.send_response(status)
        headers = {"Content-Type": "text/plain; charset=utf-8", **(headers or {})}
        headers["Content-Length"] = str(len(body))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if body and not head:
            self.wfile.write(body)

    def do_GET(self, head: bool = False):
        host, path = self._target()
        root: Path = self.server.root
        if not (root / host).is_dir():
            twin = host[4:] if host.startswith("www.") else f"www.{host}"
            if host and (root / twin).is_dir():
                return self._send(301, b"", {"Location": f"http://{twin}{path}"}, head)
            return self._send(502 if self.path.startswith("http") else 404, f"no such site: {host}\n".encode(), head=head)
        file = resolve(root, host, path)
        if file is None:
            if not path.endswith("/") and resolve(root, host, path + "/"):
                return self._send(301, b"", {"Location": f"http://{host}{path}/"}, head)
            return self._send(404, b"<html><body><h1>Not found</h1></body></html>",
                              {"Content-Type": "text/html; charset=utf-8"}, head)
        body = file.read_bytes()
        stat = file.stat()
        etag = '"%s"' % hashlib.sha1(body).hexdigest()[:16]
        modified = email.utils.formatdate(stat.st_mtime, usegmt=True)
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if kind.startswith("text/"):
            kind += "; charset=utf-8"
        headers = {"Content-Type": kind, "ETag": etag, "Last-Modified": modified}
        if self._not_modified(etag, stat.st_mtime):
            return self._send(304, b"", {"ETag": etag, "Last-Modified": modified}, head=True)
        self._send(200, body, headers, head)

    def _not_modified(self, etag: str, mtime: float) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            return etag in [tag.strip() for tag in if_none_match.split(",")]
        since = self.headers.get("If-Modified-Since")
        if since:
            parsed = email.utils.parsedate_to_datetime(since)
            return parsed is not None and int(mtime) <= parsed.timestamp()
        return False

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_CONNECT(self):  # no TLS tunnelling: this web is plain HTTP only
        self._send(405, b"CONNECT not supported by the demo web\n")


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The crawler opens up to 256 connections at once; with socketserver's backlog of 5 the kernel drops
    # the connections that do not fit, and each waits out TCP's SYN retries (1 s, 3 s, 7 s, 15 s).
    request_queue_size = 1024

    def __init__(self, root: str | Path, port: int = 0, handler=SiteHandler):
        self.root = Path(root).resolve()
        super().__init__(("127.0.0.1", port), handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def start_in_thread(root: str | Path, port: int = 0) -> SiteServer:
    """Start a SiteServer on a daemon thread and return it (call .shutdown() to stop)."""
    server = SiteServer(root, port)
    threading.Thread(target=server.serve_forever, name="demo-web", daemon=True).start()
    return server
