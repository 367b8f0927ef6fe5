"""The verify stage: the clinicians each clinic names, looked up in the NPI registry and graded.

match: one individual of that last name and first name (or initial) in the clinic's state whose
credential family agrees with the site's; ambiguous: several such records (all kept), or one under a
common name; not_found: none in the clinic's state; mismatch: the site says MD/DO and the one record
is an NP, CRNA, PA or other non-physician, or the site says anesthesiologist and the record is not
anesthesiology. A mismatch goes to the review queue; the words shown never accuse anyone.
"""
from __future__ import annotations

import csv
import importlib.resources
import json
import logging
from dataclasses import dataclass, field

import sqlite_utils

from clinicvet.db import now
from clinicvet.npi import RegistryError, name_query
from scoring.clinicians import Clinician, credential_family, fold, named_clinicians
from scoring.text import Page

log = logging.getLogger(__name__)

PROFILE_URL = "https://npiregistry.cms.hhs.gov/provider-view/{npi}"
# Lookups that failed outright in a row before the registry counts as down for this run.
GIVE_UP_AFTER = 3
STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California", "CO": "Colorado",
    "CT": "Connecticut", "DE": "Delaware", "DC": "the District of Columbia", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa", "KS": "Kansas",
    "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts",
    "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
    "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico",
    "NY": "New York", "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma",
    "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
    "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming", "PR": "Puerto Rico",
}
# A credential family as a patient reads it.
FAMILY_WORDS = {
    "physician": "a physician", "crna": "a nurse anesthetist (CRNA)", "np": "a nurse practitioner",
    "pa": "a physician assistant", "rn": "a registered nurse", "lpn": "a licensed practical nurse",
    "social_worker": "a social worker", "counselor": "a counselor", "mft": "a marriage and family therapist",
    "psychologist": "a psychologist", "other": "another kind of provider",
}
# Site family -> registry families that agree with it (a nurse practitioner is also a registered nurse).
AGREES = {"rn": {"rn", "np", "crna"}, "np": {"np"}, "crna": {"crna"}}


class RegistryUnavailable(RuntimeError):
    """The registry failed GIVE_UP_AFTER lookups in a row; what was checked before is kept."""


_TAXONOMY: dict[str, tuple[str, str]] | None = None
_COMMON: set[str] | None = None


def taxonomy() -> dict[str, tuple[str, str]]:
    """taxonomy.csv: code -> (plain words, family)."""
    global _TAXONOMY
    if _TAXONOMY is None:
        text = importlib.resources.files("clinicvet").joinpath("taxonomy.csv").read_text(encoding="utf-8")
        _TAXONOMY = {r["code"]: (r["words"], r["family"]) for r in csv.DictReader(text.splitlines())}
    return _TAXONOMY


def common_surnames() -> set[str]:
    global _COMMON
    if _COMMON is None:
        text = importlib.resources.files("clinicvet").joinpath("common_surnames.txt").read_text(encoding="utf-8")
        _COMMON = {fold(line) for line in text.splitlines() if line.strip() and not line.startswith("#")}
    return _COMMON


def code_family(code: str) -> str:
    """A taxonomy code's family: from the data file, else by its group (20...: physician)."""
    table = taxonomy()
    if code in table:
        return table[code][1]
    same_group = [fam for c, (_, fam) in table.items() if c[:4] == code[:4]]
    if same_group:
        return same_group[0]
    return "physician" if code.startswith("20") else "other"


def code_words(code: str, desc: str | None = None) -> str:
    return taxonomy().get(code, (None,))[0] or desc or code


@dataclass
class Candidate:
    """One registry record found under a clinician's name."""
    npi: str
    name: str
    credential: str
    name_relation: str
    taxonomies: list[dict]
    location_state: str | None
    status: str | None
    last_updated: str | None

    @property
    def families(self) -> set[str]:
        fams = {code_family(t.get("code") or "") for t in self.taxonomies if t.get("code")}
        cred = credential_family(self.credential)
        return fams | ({cred} if cred else set())

    @property
    def primary(self) -> dict:
        return next((t for t in self.taxonomies if t.get("primary")), self.taxonomies[0] if self.taxonomies else {})

    @property
    def license_states(self) -> set[str]:
        return {t["state"] for t in self.taxonomies if t.get("state")}

    def in_state(self, state: str | None) -> bool:
        return bool(state) and (self.location_state == state or state in self.license_states)

    def words(self) -> str:
        p = self.primary
        return code_words(p.get("code") or "", p.get("desc")) if p else (self.credential or "no specialty listed")

    def anesthesiology(self) -> bool:
        return any((t.get("code") or "").startswith("207L") for t in self.taxonomies)


def candidate(result: dict, relation: str = "same") -> Candidate:
    """An API result (or an imported NPPES row in the same shape) as a Candidate."""
    basic = result.get("basic") or {}
    location = next((a for a in result.get("addresses") or [] if a.get("address_purpose") == "LOCATION"), {})
    name = " ".join(x for x in (basic.get("first_name"), basic.get("middle_name"), basic.get("last_name")) if x)
    return Candidate(npi=str(result.get("number")), name=name.title() if name.isupper() else name,
                     credential=basic.get("credential") or "", name_relation=relation, taxonomies=list(result.get("taxonomies") or []),
                     location_state=location.get("state"), status=basic.get("status"),
                     last_updated=basic.get("last_updated"))


def first_name_relation(c: Clinician, result: dict) -> str | None:
    """How a registry record's name relates to the site's: 'same' (same last and first name), 'initial'
    (one first name is an initial of the other), 'longer' (one is the start, 3+ letters, of the other:
    Ben / Benjamin), or None (another person)."""
    basic = result.get("basic") or {}
    if fold(basic.get("last_name") or "") != fold(c.last_name):
        return None
    site, reg = fold(c.first_name), fold(basic.get("first_name") or "")
    if not site or not reg:
        return None
    if site == reg:
        return "same"
    if len(site) == 1 or len(reg) == 1:
        return "initial" if site[0] == reg[0] else None
    short, long_ = sorted((site, reg), key=len)
    return "longer" if len(short) >= 3 and long_.startswith(short) else None


@dataclass
class Grade:
    status: str
    answer: str
    npi: str | None = None
    candidates: list[Candidate] = field(default_factory=list)
    searched: str = ""


def _place(state: str | None) -> str:
    return STATES.get(state or "", state) if state else "the registry"


def _agrees(site_family: str | None, cand: Candidate) -> bool:
    fams = cand.families
    if site_family is None or not fams:
        return True
    return bool(fams & AGREES.get(site_family, {site_family}))


def grade(c: Clinician, state: str | None, in_state: list[Candidate], elsewhere: list[Candidate],
          searched: str) -> Grade:
    """The registry's answer about one clinician, in one of four statuses and plain words."""
    where = _place(state)
    if not in_state:
        more = ""
        if elsewhere:
            places = sorted({x.location_state for x in elsewhere if x.location_state})
            more = (f" ({len(elsewhere)} record{'s' if len(elsewhere) != 1 else ''} under this name elsewhere"
                    + (f": {', '.join(places)}" if places else "") + ")")
        if not state and elsewhere:
            return Grade("ambiguous", f"The clinic's state is not known, so the {len(elsewhere)} record"
                         f"{'s' if len(elsewhere) != 1 else ''} under this name cannot be told apart: ask the clinic.",
                         candidates=elsewhere, searched=searched)
        return Grade("not_found", f"Not found under this name in {where}: ask the clinic.{more}",
                     candidates=elsewhere, searched=searched)
    if len(in_state) > 1:
        return Grade("ambiguous", f"{len(in_state)} people named {c.name} are in the NPI registry in {where}; "
                     "we cannot tell which one works here: ask the clinic.", candidates=in_state, searched=searched)
    one = in_state[0]
    # A common or not-quite-same name gives no confident answer either way, so no mismatch either.
    if fold(c.last_name) in common_surnames() or len(fold(c.first_name)) == 1:
        return Grade("ambiguous", f"One {one.name} is in the NPI registry in {where} ({one.words()}), but the name is "
                     "too common to be sure it is the same person: ask the clinic.", candidates=in_state, searched=searched)
    if one.name_relation != "same":
        return Grade("ambiguous", f"The NPI registry has one {one.name} in {where} ({one.words()}); the site writes "
                     f"{c.name}, so it may or may not be the same person: ask the clinic.",
                     candidates=in_state, searched=searched)
    says = c.credential or ("Dr." if c.doctor_title else "")
    if c.family == "physician" and "physician" not in one.families and one.families:
        kind = next((FAMILY_WORDS[f] for f in ("np", "crna", "pa", "rn") if f in one.families),
                    FAMILY_WORDS.get(sorted(one.families)[0], "another kind of provider"))
        detail = "" if one.words().lower() in kind else f" ({one.words()})"
        return Grade("mismatch", f"The site says {says}; the registry lists {kind}{detail} under this name "
                     f"in {where}. It may be another person or an old record: an advocate will check.",
                     npi=one.npi, candidates=in_state, searched=searched)
    if "anesthesiologist" in c.roles and "physician" in one.families and not one.anesthesiology():
        return Grade("mismatch", f"The site says anesthesiologist; the registry lists {one.words()} under this name "
                     f"in {where}. It may be another person or an old record: an advocate will check.",
                     npi=one.npi, candidates=in_state, searched=searched)
    if not _agrees(c.family, one):
        return Grade("ambiguous", f"The one {one.name} in the NPI registry in {where} is listed as {one.words()}, "
                     f"not as the site's {says}: ask the clinic.", candidates=in_state, searched=searched)
    how = "licensed in" if state in one.license_states else "practising in"
    return Grade("match", f"Found in the NPI registry: {one.words()}, {how} {where}.", npi=one.npi,
                 candidates=in_state, searched=searched)


def look_up(registry, c: Clinician, state: str | None) -> Grade:
    """Search the clinic's state first, then nationwide; grade what comes back."""
    def found(params):
        data = registry.search(params)
        out = []
        for r in data.get("results", []):
            relation = first_name_relation(c, r)
            if relation and r.get("enumeration_type", "NPI-1") == "NPI-1":
                out.append(candidate(r, relation))
        return out

    in_state, elsewhere, searched = [], [], "nationwide"
    if state:
        in_state = [x for x in found(name_query(c.first_name, c.last_name, state)) if x.in_state(state)]
        searched = state
    if not in_state:
        everywhere = found(name_query(c.first_name, c.last_name, None))
        # The API's state is the practice address; a record licensed here but practising elsewhere
        # (telehealth) only comes back nationwide, and counts as in the clinic's state.
        in_state = [x for x in everywhere if x.in_state(state)]
        elsewhere = [x for x in everywhere if not x.in_state(state)]
        searched = f"{state}, then nationwide" if state else "nationwide"
    return grade(c, state, in_state, elsewhere, searched)


def _pages(db: sqlite_utils.Database, domain: str) -> list[Page]:
    rows = db.conn.execute("SELECT url, title, text FROM pages WHERE domain = ? AND status = 200 AND gone_at IS NULL "
                           "AND text IS NOT NULL ORDER BY url", [domain])
    return [Page(url, text or "", title or "") for url, title, text in rows]


def _clinic_state(db: sqlite_utils.Database, domain: str) -> str | None:
    row = db.conn.execute("SELECT coalesce(c.state, s.state) FROM sites s LEFT JOIN clinics c ON c.domain = s.domain "
                          "WHERE s.domain = ?", [domain]).fetchone()
    state = (row[0] or "").strip().upper() if row else ""
    return state if len(state) == 2 else None


def record_clinicians(db: sqlite_utils.Database, domain: str, people: list[Clinician], at: str) -> None:
    """Upsert the clinicians a site names now; those no longer named keep their row, marked gone."""
    rows = [{"domain": domain, "person": c.key, "name": c.name, "first_name": c.first_name, "last_name": c.last_name,
             "credential": c.credential, "family": c.family, "roles": json.dumps(c.roles), "leader": int(c.leader),
             "quote": c.quote, "url": c.url, "last_seen_at": at, "gone_at": None} for c in people]
    with db.conn:
        if rows:
            db["clinicians"].upsert_all(rows, pk=("domain", "person"))
            db.execute("UPDATE clinicians SET first_seen_at = ? WHERE domain = ? AND first_seen_at IS NULL", [at, domain])
        keys = [c.key for c in people]
        db.execute(f"UPDATE clinicians SET gone_at = ? WHERE domain = ? AND gone_at IS NULL "
                   f"AND person NOT IN ({','.join('?' * len(keys))})", [at, domain, *keys])


def _write_grade(db: sqlite_utils.Database, domain: str, c: Clinician, g: Grade, state: str | None, at: str) -> None:
    old = db.conn.execute("SELECT status, mismatch_since FROM clinicians WHERE domain = ? AND person = ?",
                          [domain, c.key]).fetchone()
    since = (old[1] if old and old[0] == "mismatch" and old[1] else at) if g.status == "mismatch" else None
    cands = [{"domain": domain, "person": c.key, "npi": x.npi, "name": x.name, "credential": x.credential,
              "taxonomies": json.dumps(x.taxonomies), "primary_code": x.primary.get("code"),
              "primary_words": x.words(), "family": ",".join(sorted(x.families)),
              "license_states": ",".join(sorted(x.license_states)), "location_state": x.location_state,
              "status": x.status, "last_updated": x.last_updated, "fetched_at": at,
              "in_state": int(x.in_state(state)),
              "consistent": int(_agrees(c.family, x))} for x in g.candidates]
    with db.conn:
        db.execute("UPDATE clinicians SET status = ?, npi = ?, answer = ?, candidates = ?, searched = ?, checked_at = ?, "
                   "check_error = NULL, mismatch_since = ? WHERE domain = ? AND person = ?",
                   [g.status, g.npi, g.answer, len(g.candidates), g.searched, at, since, domain, c.key])
        db.execute("DELETE FROM npi_candidates WHERE domain = ? AND person = ?", [domain, c.key])
        if cands:
            db["npi_candidates"].insert_all(cands, pk=("domain", "person", "npi"), replace=True)


def update_clinic_flags(db: sqlite_utils.Database) -> None:
    """clinics.registry_checked_physician and registry_mismatch, from the clinicians table."""
    with db.conn:
        db.execute("""UPDATE clinics SET
            registry_checked_physician = EXISTS (SELECT 1 FROM clinicians cl WHERE cl.domain = clinics.domain
                AND cl.gone_at IS NULL AND cl.status = 'match' AND cl.family = 'physician' AND cl.leader = 1),
            registry_mismatch = EXISTS (SELECT 1 FROM clinicians cl WHERE cl.domain = clinics.domain
                AND cl.gone_at IS NULL AND cl.status = 'mismatch')""")


def domains_due(db: sqlite_utils.Database, max_age_days: float) -> list[str]:
    """Clinics with a clinician never checked, whose last check failed, or checked longer ago than max_age_days."""
    from datetime import timedelta

    cutoff = now(timedelta(days=max_age_days))
    return [r[0] for r in db.conn.execute(
        "SELECT DISTINCT domain FROM clinicians WHERE gone_at IS NULL AND (checked_at IS NULL OR checked_at < ? "
        "OR check_error IS NOT NULL)",
        [cutoff])]


def last_names(db: sqlite_utils.Database) -> set[str]:
    """Folded last names of every clinician the clinics' pages name now (for an NPPES file import)."""
    names = set()
    for (domain,) in db.conn.execute("SELECT domain FROM sites"):
        names |= {fold(c.last_name) for c in named_clinicians(_pages(db, domain))}
    return names


def verify_db(db: sqlite_utils.Database, registry, domains: list[str] | None = None, progress=None) -> dict:
    """Record each clinic's named clinicians and the registry's answer on each; returns a summary.
    A lookup that fails keeps the earlier answer and records the error; GIVE_UP_AFTER failures in a
    row stop the run with RegistryUnavailable (summary in its .summary)."""
    all_domains = [r[0] for r in db.conn.execute("SELECT domain FROM sites ORDER BY domain")]
    if domains is not None:
        wanted = set(domains)
        all_domains = [d for d in all_domains if d in wanted]
    summary = {"clinics": 0, "clinicians": 0, "checked": 0, "errors": 0, "first_error": None,
               "match": 0, "ambiguous": 0, "not_found": 0, "mismatch": 0, "requests": 0}
    in_a_row = 0
    try:
        for n, domain in enumerate(all_domains, 1):
            at = now()
            people = named_clinicians(_pages(db, domain))
            record_clinicians(db, domain, people, at)
            state = _clinic_state(db, domain)
            summary["clinics"] += 1
            summary["clinicians"] += len(people)
            for c in people:
                try:
                    g = look_up(registry, c, state)
                except RegistryError as exc:
                    summary["errors"] += 1
                    summary["first_error"] = summary["first_error"] or str(exc)
                    with db.conn:
                        db.execute("UPDATE clinicians SET check_error = ? WHERE domain = ? AND person = ?",
                                   [f"{now()}: {exc}", domain, c.key])
                    in_a_row += 1
                    if in_a_row >= GIVE_UP_AFTER:
                        raise RegistryUnavailable(str(exc)) from None
                    continue
                in_a_row = 0
                _write_grade(db, domain, c, g, state, at)
                summary["checked"] += 1
                summary[g.status] += 1
            if progress:
                progress(n, len(all_domains))
    except RegistryUnavailable as exc:
        exc.summary = summary
        raise
    finally:
        summary["requests"] = getattr(registry, "requests", 0)
        update_clinic_flags(db)
    return summary
