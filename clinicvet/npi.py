"""The CMS NPPES NPI Registry: a polite API client with a SQLite cache, and the monthly data
dissemination CSV read as a stream. Both answer search() in the API's JSON shape."""
from __future__ import annotations

import csv
import ipaddress
import json
import logging
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import sqlite_utils

from clinicvet.db import now

log = logging.getLogger(__name__)

DEFAULT_URL = "https://npiregistry.cms.hhs.gov/api/"
URL_ENV = "CLINICVET_NPI_URL"
USER_AGENT = "clinicvet/0.1 (+https://github.com/clinicvet/clinicvet; ketamine clinic directory, NPI credential check)"
CACHE_DAYS = 30
# The API's largest page; a name with more namesakes than this is read up to MAX_SKIP.
LIMIT = 200
MAX_SKIP = 1000
RETRY_STATUSES = {429, 500, 502, 503, 504}


class RegistryError(RuntimeError):
    """A registry answer that could not be had or read; the message says which query and why."""


def registry_url(option: str | None = None) -> str:
    """The registry URL: the option, else $CLINICVET_NPI_URL, else the real CMS API."""
    import os

    return option or os.environ.get(URL_ENV) or DEFAULT_URL


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def name_query(first: str, last: str, state: str | None) -> dict:
    """The API query for individuals of a name (first name as a prefix), in a state or nationwide."""
    params = {"version": "2.1", "enumeration_type": "NPI-1", "last_name": last, "limit": LIMIT}
    if len(first) >= 2:  # the API wants two letters before a wildcard; an initial searches by last name
        params["first_name"] = f"{first}*"
    if state:
        params["state"] = state
    return params


def _check_answer(data, where: str) -> dict:
    if not isinstance(data, dict) or not data:
        raise RegistryError(f"{where}: empty answer from the registry")
    if data.get("Errors"):
        reasons = "; ".join(str(e.get("description", e)) if isinstance(e, dict) else str(e) for e in data["Errors"])
        raise RegistryError(f"{where}: the registry refused the query: {reasons}")
    if "result_count" not in data or not isinstance(data.get("results", []), list):
        raise RegistryError(f"{where}: answer without result_count/results (not the NPI registry's format)")
    for r in data.get("results", []):
        if not isinstance(r, dict) or "number" not in r or not isinstance(r.get("basic"), dict):
            raise RegistryError(f"{where}: a result without number/basic")
    return data


@dataclass
class Registry:
    """The NPPES API: one request at a time, retries with backoff on 429/5xx/timeouts, answers cached
    in npi_cache and asked again after CACHE_DAYS."""
    db: sqlite_utils.Database
    url: str = DEFAULT_URL
    timeout: float = 15.0
    retries: int = 3
    backoff: float = 2.0        # seconds before the first retry; doubles each time
    delay: float = 0.25         # seconds between requests to a remote registry (none to loopback)
    max_age_days: float = CACHE_DAYS
    requests: int = 0           # HTTP requests made
    cache_hits: int = 0
    _last: float = field(default=0.0, repr=False)

    def __post_init__(self):
        # Loopback (tests, demo, bench) never goes through a proxy; a real registry honours http(s)_proxy.
        handlers = [urllib.request.ProxyHandler({})] if _is_loopback(self.url) else []
        self._opener = urllib.request.build_opener(*handlers)
        if _is_loopback(self.url):
            self.delay = 0.0

    def search(self, params: dict) -> dict:
        """The registry's answer to a query (every page of it), from the cache when fresh."""
        first = self._page(params)
        results = list(first.get("results", []))
        skip = len(results)
        while len(results) < int(first.get("result_count") or 0) and skip <= MAX_SKIP - LIMIT and results:
            more = self._page({**params, "skip": skip}).get("results", [])
            if not more:
                break
            results += more
            skip += len(more)
        return {"result_count": len(results), "results": results}

    def _page(self, params: dict) -> dict:
        query = urlencode(sorted(params.items()))
        key = f"{self.url}?{query}"
        row = self.db.conn.execute("SELECT body, fetched_at FROM npi_cache WHERE query = ?", [key]).fetchone()
        if row and self.max_age_days > 0 and row[1] >= now(timedelta(days=self.max_age_days)):
            self.cache_hits += 1
            return json.loads(row[0])
        data = self._fetch(key)
        with self.db.conn:
            self.db["npi_cache"].upsert({"query": key, "fetched_at": now(), "result_count": data.get("result_count"),
                                         "body": json.dumps(data, separators=(",", ":"))}, pk="query")
        return data

    def _fetch(self, url: str) -> dict:
        where = f"NPI registry {url}"
        wait = self.backoff
        for attempt in range(self.retries + 1):
            pause = self.delay - (time.monotonic() - self._last)
            if pause > 0:
                time.sleep(pause)
            self._last = time.monotonic()
            self.requests += 1
            retry_after = None
            try:
                request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "application/json"})
                with self._opener.open(request, timeout=self.timeout) as response:
                    body = response.read()
            except urllib.error.HTTPError as exc:
                reason = f"HTTP {exc.code}"
                if exc.code not in RETRY_STATUSES:
                    raise RegistryError(f"{where}: {reason}") from None
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
            except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError) as exc:
                inner = getattr(exc, "reason", exc)
                if isinstance(inner, ConnectionRefusedError):  # nothing listens there: asking again won't help
                    raise RegistryError(f"{where}: connection refused") from None
                reason = "timed out" if isinstance(inner, (socket.timeout, TimeoutError)) else f"unreachable ({inner})"
            else:
                if not body.strip():
                    raise RegistryError(f"{where}: empty answer from the registry")
                try:
                    data = json.loads(body)
                except ValueError as exc:
                    raise RegistryError(f"{where}: answer is not JSON ({exc})") from None
                return _check_answer(data, where)
            if attempt == self.retries:
                raise RegistryError(f"{where}: {reason} after {attempt + 1} tries")
            try:
                sleep = min(float(retry_after), 60.0) if retry_after else wait
            except ValueError:
                sleep = wait
            log.info("%s: %s; retrying in %.2f s", where, reason, sleep)
            time.sleep(max(sleep, 0))
            wait *= 2
        raise AssertionError("unreachable")


# ---- the monthly NPPES data dissemination file ----

NPPES_COLUMNS = {
    "npi": "NPI", "entity": "Entity Type Code", "last": "Provider Last Name (Legal Name)",
    "first": "Provider First Name", "credential": "Provider Credential Text",
    "state": "Provider Business Practice Location Address State Name",
}
TAXONOMY_SLOTS = 15


class NppesFileError(ValueError):
    """An NPPES file that cannot be read; the message names the file and the problem."""


def _record(row: dict, source: str) -> dict:
    """One CSV row as an API result."""
    taxonomies = []
    for n in range(1, TAXONOMY_SLOTS + 1):
        code = (row.get(f"Healthcare Provider Taxonomy Code_{n}") or "").strip()
        if code:
            taxonomies.append({"code": code, "desc": "",
                               "primary": (row.get(f"Healthcare Provider Primary Taxonomy Switch_{n}") or "").strip() == "Y",
                               "state": (row.get(f"Provider License Number State Code_{n}") or "").strip() or None,
                               "license": (row.get(f"Provider License Number_{n}") or "").strip() or None})
    state = (row.get(NPPES_COLUMNS["state"]) or "").strip()
    deactivated = (row.get("NPI Deactivation Date") or "").strip() and not (row.get("NPI Reactivation Date") or "").strip()
    return {
        "number": row[NPPES_COLUMNS["npi"]].strip(), "enumeration_type": "NPI-1",
        "basic": {"first_name": row[NPPES_COLUMNS["first"]].strip(), "last_name": row[NPPES_COLUMNS["last"]].strip(),
                  "credential": (row.get(NPPES_COLUMNS["credential"]) or "").strip(),
                  "status": "D" if deactivated else "A",
                  "last_updated": (row.get("Last Update Date") or "").strip()},
        "taxonomies": taxonomies,
        "addresses": [{"address_purpose": "LOCATION", "state": state}] if state else [],
        "source": source,
    }


def import_nppes(db: sqlite_utils.Database, path: str | Path, last_names: set[str] | None = None,
                 batch: int = 1000) -> dict:
    """Stream the NPPES CSV into npi_records, individuals only (and only these folded last names when
    given): the file is read a row at a time and written in batches, so its size never matters."""
    from scoring.clinicians import fold

    path = Path(path)
    counts = {"rows": 0, "individuals": 0, "kept": 0}
    at = now()
    try:
        handle = path.open(newline="", encoding="utf-8", errors="replace")
    except OSError as exc:
        raise NppesFileError(f"{path}: {exc.strerror or exc}") from None
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in NPPES_COLUMNS.values() if c not in (reader.fieldnames or [])]
        if missing:
            raise NppesFileError(f"{path}: not an NPPES data file: no column {', '.join(repr(m) for m in missing)}")
        pending: list[dict] = []
        for line, row in enumerate(reader, start=2):
            counts["rows"] += 1
            if (row.get(NPPES_COLUMNS["entity"]) or "").strip() != "1":
                continue
            counts["individuals"] += 1
            last = fold(row.get(NPPES_COLUMNS["last"]) or "")
            if not last or (last_names is not None and last not in last_names):
                continue
            if not (row.get(NPPES_COLUMNS["npi"]) or "").strip().isdigit():
                raise NppesFileError(f"{path}:{line}: NPI {row.get(NPPES_COLUMNS['npi'])!r} is not a number")
            rec = _record(row, path.name)
            pending.append({"npi": rec["number"], "last_name": last, "first_name": fold(rec["basic"]["first_name"]),
                            "state": rec["addresses"][0]["state"] if rec["addresses"] else None,
                            "license_states": ",".join(sorted({t["state"] for t in rec["taxonomies"] if t["state"]})),
                            "record": json.dumps(rec, separators=(",", ":")), "source": path.name, "imported_at": at})
            if len(pending) >= batch:
                db["npi_records"].upsert_all(pending, pk="npi")
                counts["kept"] += len(pending)
                pending = []
        if pending:
            db["npi_records"].upsert_all(pending, pk="npi")
            counts["kept"] += len(pending)
    return counts


@dataclass
class LocalRegistry:
    """Answers name queries from npi_records (an imported NPPES file), in the API's shape; no network."""
    db: sqlite_utils.Database
    requests: int = 0
    cache_hits: int = 0
    url: str = "local NPPES file"

    def search(self, params: dict) -> dict:
        from scoring.clinicians import fold

        sql = "SELECT record FROM npi_records WHERE last_name = ?"
        args: list = [fold(params["last_name"].rstrip("*"))]
        if params.get("first_name"):
            sql += " AND first_name LIKE ?"
            args.append(fold(params["first_name"].rstrip("*")) + "%")
        if params.get("state"):
            sql += " AND (state = ? OR ',' || license_states || ',' LIKE ?)"
            args += [params["state"], f"%,{params['state']},%"]
        results = [json.loads(r[0]) for r in self.db.conn.execute(sql + " ORDER BY npi", args)]
        return {"result_count": len(results), "results": results}
