"""Read and validate a seeds CSV (name,url and optional city,state) before anything is fetched."""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

REQUIRED = ("name", "url")
OPTIONAL = ("city", "state")
HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


class SeedsError(ValueError):
    """A seeds file that cannot be used; the message names file and line of every problem."""


@dataclass(frozen=True)
class Seed:
    name: str
    url: str
    domain: str  # the host as written in the seed URL, lower-cased
    city: str = ""
    state: str = ""
    line: int = 0


def site_key(host: str) -> str:
    """www.example.com and example.com are one site."""
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def parse_url(url: str) -> tuple[str, str]:
    """Return (normalised url, host) or raise ValueError saying what is wrong."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"URL must start with http:// or https://: {url!r}")
    host = (parts.hostname or "").lower()
    if not host or not HOST.match(host) or "." not in host:
        raise ValueError(f"malformed URL (no valid host): {url!r}")
    try:
        parts.port
    except ValueError:
        raise ValueError(f"malformed URL (bad port): {url!r}") from None
    path = parts.path or "/"
    normalised = f"{parts.scheme}://{parts.netloc.lower()}{path}" + (f"?{parts.query}" if parts.query else "")
    return normalised, host


def read_seeds(path: str | Path) -> list[Seed]:
    """Parse and validate every row; raise SeedsError listing all problems with file:line."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SeedsError(f"{path}: cannot read seeds file: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SeedsError(f"{path}:{line}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None

    reader = csv.DictReader(text.splitlines())
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise SeedsError(f"{path}:1: missing column(s) {', '.join(missing)}; header must include name,url (optional city,state)")
    reader.fieldnames = header

    seeds, problems, seen = [], [], {}
    for row in reader:
        line = reader.line_num
        values = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if not any(values.values()):
            continue  # blank line
        if None in row:
            problems.append(f"{path}:{line}: more fields than the header has columns")
            continue
        name, url = values.get("name", ""), values.get("url", "")
        if not name:
            problems.append(f"{path}:{line}: empty name")
        if not url:
            problems.append(f"{path}:{line}: empty url")
            continue
        try:
            url, host = parse_url(url)
        except ValueError as exc:
            problems.append(f"{path}:{line}: {exc}")
            continue
        key = site_key(host)
        if key in seen:
            problems.append(f"{path}:{line}: duplicate site {host} (first on line {seen[key]})")
            continue
        seen[key] = line
        seeds.append(Seed(name=name, url=url, domain=host, city=values.get("city", ""),
                          state=values.get("state", "").upper(), line=line))
    if problems:
        raise SeedsError("\n".join(problems))
    if not seeds:
        raise SeedsError(f"{path}: no seeds (the file has a header but no rows)")
    return seeds
