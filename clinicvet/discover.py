"""Turn a directory listing page into seed rows: the URL and CSS selectors come from a small YAML file."""
from __future__ import annotations

import csv
import io
import urllib.request
import urllib.robotparser
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import yaml
from parsel import Selector

from clinicvet.seeds import parse_url, site_key

ALLOWED_KEYS = {"url", "item", "name", "link", "city", "state", "next", "max_pages"}
REQUIRED_KEYS = ("url", "item", "name", "link")
USER_AGENT = "clinicvet/0.1 (+https://github.com/clinicvet/clinicvet; ketamine clinic directory crawler)"


class DiscoverError(ValueError):
    """A listing config or page that cannot be used; the message names the file or URL."""


@dataclass
class Listing:
    url: str
    item: str
    name: str
    link: str
    city: str = ""
    state: str = ""
    next: str = ""
    max_pages: int = 5


def load_listing(path: str | Path) -> Listing:
    """Read and check a listing config."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DiscoverError(f"{path}: cannot read listing config: {exc}") from None
    if not isinstance(data, dict):
        raise DiscoverError(f"{path}: expected a mapping of url, item, name, link[, city, state, next, max_pages]")
    unknown = sorted(set(data) - ALLOWED_KEYS)
    if unknown:
        raise DiscoverError(f"{path}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(ALLOWED_KEYS))}")
    missing = [k for k in REQUIRED_KEYS if not data.get(k)]
    if missing:
        raise DiscoverError(f"{path}: missing key(s) {', '.join(missing)}")
    return Listing(**data)


def _fetch(url: str) -> str:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.read(5 * 1024 * 1024).decode(response.headers.get_content_charset() or "utf-8", "replace")
    except OSError as exc:
        raise DiscoverError(f"{url}: cannot fetch listing page: {exc}") from None


def _allowed(url: str) -> bool:
    robots = urllib.robotparser.RobotFileParser(urljoin(url, "/robots.txt"))
    try:
        robots.read()
    except OSError:
        return True
    return robots.can_fetch(USER_AGENT, url)


def discover(listing: Listing) -> tuple[list[dict], list[str]]:
    """Seed rows found on the listing pages, and the problems met (each naming page and item)."""
    rows, problems, seen = [], [], set()
    url, pages = listing.url, 0
    while url and pages < listing.max_pages:
        if not _allowed(url):
            problems.append(f"{url}: disallowed by robots.txt")
            break
        page = Selector(text=_fetch(url))
        pages += 1
        for index, item in enumerate(page.css(listing.item), 1):
            name = " ".join(" ".join(item.css(listing.name).getall()).split())
            href = (item.css(listing.link).get() or "").strip()
            where = f"{url} item {index}"
            if not name or not href:
                problems.append(f"{where}: no {'name' if not name else 'link'} found")
                continue
            try:
                site_url, host = parse_url(urljoin(url, href))
            except ValueError as exc:
                problems.append(f"{where}: {exc}")
                continue
            if site_key(host) in seen:
                continue
            seen.add(site_key(host))
            pick = lambda sel: " ".join(" ".join(item.css(sel).getall()).split()) if sel else ""  # noqa: E731
            rows.append({"name": name, "url": site_url, "city": pick(listing.city), "state": pick(listing.state)})
        following = page.css(listing.next).get() if listing.next else None
        url = urljoin(url, following) if following else ""
    return rows, problems


def to_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["name", "url", "city", "state"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
