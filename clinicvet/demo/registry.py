"""A local replay of the NPPES NPI Registry API (version 2.1) on 127.0.0.1, serving fictional people in
the API's JSON shape. The demo and the tests point clinicvet at it; nothing reaches the internet.

Faults for tests: server.faults maps a folded last name to a list of behaviours, used up one a request:
"429", "500", "timeout" (answer after server.slow seconds), "malformed", "empty", "errors"."""
from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from scoring.clinicians import fold

log = logging.getLogger(__name__)
DEMO_RECORDS = Path(__file__).resolve().parent / "npi_records.json"


def _matches(value: str, pattern: str | None) -> bool:
    if not pattern:
        return True
    if pattern.endswith("*"):
        return fold(value).startswith(fold(pattern[:-1]))
    return fold(value) == fold(pattern)


def by_last_name(records: list[dict]) -> dict[str, list[dict]]:
    """Records under their folded last name, so a replay of thousands answers as fast as of ten."""
    index: dict[str, list[dict]] = {}
    for r in records:
        index.setdefault(fold(r.get("basic", {}).get("last_name", "")), []).append(r)
    return index


def answer(records: list[dict], query: dict, index: dict[str, list[dict]] | None = None) -> dict:
    """What the API answers to a query over these records (the fields clinicvet sends)."""
    q = {k: v[0] for k, v in query.items()}
    last = q.get("last_name") or ""
    if index is not None and last and not last.endswith("*"):
        records = index.get(fold(last), [])
    if q.get("version") != "2.1":
        return {"Errors": [{"description": "Version must be 2.1", "field": "version", "number": "04"}]}
    hits = []
    for r in records:
        basic = r.get("basic", {})
        location = next((a.get("state") for a in r.get("addresses", []) if a.get("address_purpose") == "LOCATION"), None)
        if q.get("number") and r.get("number") != q["number"]:
            continue
        if q.get("enumeration_type") and r.get("enumeration_type") != q["enumeration_type"]:
            continue
        if not (_matches(basic.get("first_name", ""), q.get("first_name"))
                and _matches(basic.get("last_name", ""), q.get("last_name"))):
            continue
        if q.get("state") and location != q["state"]:
            continue
        hits.append(r)
    skip, limit = int(q.get("skip") or 0), min(int(q.get("limit") or 10), 200)
    page = hits[skip:skip + limit]
    return {"result_count": len(page), "results": page}


class RegistryHandler(BaseHTTPRequestHandler):
    server_version = "clinicvet-npi-replay/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        log.debug("%s " + fmt, self.address_string(), *args)

    def _send(self, status: int, body: bytes, kind: str = "application/json"):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        if status == 429:
            self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        server: RegistrySite = self.server
        query = parse_qs(urlsplit(self.path).query)
        with server.lock:
            server.requests.append((query, self.headers.get("User-Agent")))
            key = fold((query.get("last_name") or [""])[0].rstrip("*"))
            queue = server.faults.get(key) or []
            fault = queue.pop(0) if queue else None
        if fault == "429":
            return self._send(429, b'{"message": "Too Many Requests"}')
        if fault == "500":
            return self._send(500, b"<html>Internal Server Error</html>", "text/html")
        if fault == "timeout":
            time.sleep(server.slow)
        if fault == "malformed":
            return self._send(200, b'{"result_count": 1, "results": [{"number": ')
        if fault == "empty":
            return self._send(200, b"")
        if fault == "errors":
            return self._send(200, b'{"Errors": [{"description": "No valid search criteria", "number": "04"}]}')
        try:
            self._send(200, json.dumps(answer(server.records, query, server.index)).encode())
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            pass


class RegistrySite(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, records: list[dict], port: int = 0):
        self.records = records
        self.index = by_last_name(records)
        self.faults: dict[str, list[str]] = {}
        self.requests: list = []
        self.lock = threading.Lock()
        self.slow = 2.0
        super().__init__(("127.0.0.1", port), RegistryHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/"


def demo_records() -> list[dict]:
    return json.loads(DEMO_RECORDS.read_text(encoding="utf-8"))


def start_registry(records: list[dict] | None = None, port: int = 0) -> RegistrySite:
    """Start a replay on a daemon thread (the demo's fictional people by default); .shutdown() stops it."""
    server = RegistrySite(demo_records() if records is None else records, port)
    threading.Thread(target=server.serve_forever, name="npi-replay", daemon=True).start()
    return server
