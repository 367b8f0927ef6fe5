"""The clinicians a clinic names, with the NPI registry's answer on each: data for
templates/_clinicians.html on a clinic's scorecard. Plain data only; the template escapes it."""
from __future__ import annotations

import json
import logging
import re
import sqlite3
from urllib.parse import urlsplit

from datasette import hookimpl
from datasette.utils import urlsafe_components
from markupsafe import Markup

log = logging.getLogger(__name__)

PROFILE_URL = "https://npiregistry.cms.hhs.gov/provider-view/{npi}"
STATUS_WORDS = {"match": "Found in the registry", "ambiguous": "More than one possible record",
                "not_found": "Not found in the registry", "mismatch": "Registry differs from the site: under review"}


def profile_href(npi) -> str | None:
    """The public registry page of an NPI; None unless it is ten digits."""
    return PROFILE_URL.format(npi=npi) if isinstance(npi, str) and re.fullmatch(r"\d{10}", npi) else None


def page_href(url) -> str | None:
    """A crawled page URL when it is safe as an href (http or https, no quotes or spaces), else None."""
    if not isinstance(url, str) or any(ord(ch) < 33 or ch in "\"'<>`\\" for ch in url):
        return None
    parts = urlsplit(url)
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def _rows(conn, sql: str, params) -> list[dict]:
    try:
        cursor = conn.execute(sql, params)
    except sqlite3.OperationalError as exc:  # an older database without these tables
        log.warning("clinicians query failed: %s", exc)
        return []
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def fetch(conn, domain: str) -> dict:
    people = _rows(conn, "SELECT * FROM clinicians WHERE domain = ? AND gone_at IS NULL "
                         "ORDER BY family = 'physician' DESC, leader DESC, name", [domain])
    cands = _rows(conn, "SELECT person, npi, name, credential, primary_words, license_states, location_state "
                        "FROM npi_candidates WHERE domain = ? ORDER BY npi", [domain])
    for p in people:
        try:
            p["roles"] = json.loads(p.get("roles") or "[]")
        except ValueError:
            p["roles"] = []
        p["status_words"] = STATUS_WORDS.get(p.get("status"), "Not checked yet")
        p["npi_href"] = profile_href(p.get("npi"))
        p["page_href"] = page_href(p.get("url"))
        p["candidates_list"] = [{**c, "href": profile_href(c["npi"])} for c in cands if c["person"] == p["person"]]
    checked = any(p.get("status") == "match" and p.get("family") == "physician" and p.get("leader") for p in people)
    return {"people": people, "registry_checked_physician": checked}


@hookimpl
def render_cell(value, column, table, database, datasette):
    """An NPI in the clinicians tables links to its public registry page."""
    if column != "npi" or table not in ("clinicians", "npi_candidates"):
        return None
    href = profile_href(value)
    return Markup('<a href="{}" rel="nofollow noopener">{}</a>').format(href, value) if href else None


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    if view_name != "row" or table != "clinics" or request is None:
        return None

    async def clinician_vars():
        pks = urlsafe_components(request.url_vars.get("pks", ""))
        if len(pks) != 1:
            return {}
        return {"clinicians": await datasette.get_database(database).execute_fn(lambda conn: fetch(conn, pks[0]))}

    return clinician_vars
