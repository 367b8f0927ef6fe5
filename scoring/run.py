"""Score sites: page records -> SiteScore, and a whole database -> verdicts, evidence, clinics."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

import sqlite_utils

from clinicvet.db import ensure_schema, now
from scoring.facts import ROUTE_TRIGGERS, ROUTES, Facts, extract_facts
from scoring.match import Matcher
from scoring.rubric import Rubric, load_rubric
from scoring.text import Page, site_lines
from scoring.verdict import Verdict, decide, score_and_tier, staff_hit

log = logging.getLogger(__name__)
_RUBRIC: Rubric | None = None


@dataclass
class SiteScore:
    """Everything the scorer concludes about one site."""
    verdicts: dict[str, Verdict]
    facts: Facts
    score: int
    tier: str
    red_flag: bool
    rubric_version: str
    pages: int = 0
    lines: int = 0
    hits: dict = field(default_factory=dict)


def default_rubric() -> Rubric:
    """The packaged rubric, loaded once."""
    global _RUBRIC
    if _RUBRIC is None:
        _RUBRIC = load_rubric()
    return _RUBRIC


def score_site(pages: list[Page], rubric: Rubric | None = None) -> SiteScore:
    """Score one site from its stored pages (no database needed)."""
    rubric = rubric or default_rubric()
    lines = site_lines(pages)
    matcher = Matcher(rubric, (ROUTE_TRIGGERS,))
    hits = matcher.match(lines)
    # Routes come from the clinic's own plain statements: no blog, FAQ question, negation or warning.
    # Route patterns match within one sentence, so only sentences naming a route not yet found
    # need their context read (the costly part); the routes found are the same.
    own, found = [], set()
    for idx in matcher.candidates(ROUTE_TRIGGERS):
        line = lines[idx]
        if line.question or any(c.url.search(line.url) for c in rubric.page_contexts):
            continue
        for _, s in line.sentences():
            new = {r for r, rx in ROUTES.items() if r not in found and rx.search(s.text)}
            if new and not matcher.sentence_categories(s.text) - {"THIRD_PARTY", "SELF"}:
                own.append(s.text)
                found |= new
    own = "\n".join(own)
    facts = extract_facts(pages, own)
    verdicts = {}
    for q in rubric.questions.values():
        extra = staff_hit(q, facts.credentials, pages[0].url if pages else "")
        verdicts[q.id] = decide(q, hits[q.id] + ([extra] if extra else []))
    score, tier, red = score_and_tier(rubric, verdicts)
    if red and "at_home" not in facts.routes:
        facts.routes.append("at_home")
    elif not red and "at_home" in facts.routes:
        facts.routes.remove("at_home")
    return SiteScore(verdicts, facts, score, tier, red, rubric.version, len(pages), len(lines), hits)


def _site_pages(db: sqlite_utils.Database, domain: str) -> list[Page]:
    rows = db.query("select url, title, text, jsonld from pages where domain = ? and status = 200 "
                    "and gone_at is null and text is not null order by url", [domain])
    pages = []
    for r in rows:
        try:
            ld = json.loads(r["jsonld"]) if r["jsonld"] else []
        except ValueError:
            ld = []
        pages.append(Page(r["url"], r["text"] or "", r["title"] or "", ld if isinstance(ld, list) else [ld]))
    return pages


def _previous(db: sqlite_utils.Database, domain: str) -> tuple[dict, dict | None]:
    old_v = {r["question"]: r for r in db.query(
        "select question, machine_verdict, verdict from verdicts where domain = ?", [domain])}
    old_c = next(iter(db.query("select score, tier from clinics where domain = ?", [domain])), None)
    return old_v, old_c


def _write_site(db, site: dict, result: SiteScore, at: str) -> int:
    domain = site["domain"]
    crawl_id = site.get("last_crawl_id")
    old_v, old_c = _previous(db, domain)
    reviewed = {r["question"]: r["reviewed_verdict"] for r in db.query(
        "select question, reviewed_verdict from verdicts where domain = ?", [domain])}
    changes, verdict_rows, evidence_rows = [], [], []
    for qid, v in result.verdicts.items():
        shown = reviewed.get(qid) or v.verdict
        verdict_rows.append({
            "domain": domain, "question": qid, "verdict": shown, "machine_verdict": v.verdict,
            "reviewed_verdict": reviewed.get(qid), "confidence": v.confidence,
            "evidence_count": len(v.evidence), "rubric_version": result.rubric_version,
            "scored_at": at, "crawl_id": crawl_id})
        evidence_rows += [{"domain": domain, "question": qid, "url": e.url, "quote": e.quote,
                           "rule_id": e.rule_id, "polarity": e.polarity,
                           "rubric_version": result.rubric_version} for e in v.evidence]
        old = old_v.get(qid)
        if old and old["verdict"] != shown:
            quote = v.evidence[0].quote if v.evidence else None
            changes.append({"domain": domain, "question": qid, "old": old["verdict"], "new": shown,
                            "crawl_id": crawl_id, "at": at, "evidence": quote})
    for key, new in (("score", result.score), ("tier", result.tier)):
        if old_c and old_c[key] is not None and str(old_c[key]) != str(new):
            changes.append({"domain": domain, "question": key, "old": str(old_c[key]),
                            "new": str(new), "crawl_id": crawl_id, "at": at, "evidence": None})
    f = result.facts
    shown_v = {r["question"]: r["verdict"] for r in verdict_rows}
    clinic = {
        "domain": domain, "name": site.get("name") or f.name, "tier": result.tier,
        "score": result.score, "red_flag": int(result.red_flag), **shown_v,
        "street": f.street, "city": f.city or site.get("city"), "state": f.state or site.get("state"),
        "zip": f.zip, "phone": f.phone, "routes": json.dumps(f.routes),
        "price_per_infusion": f.price_per_infusion, "credentials": json.dumps(f.credentials),
        "site_url": site.get("seed_url") or f"https://{domain}/", "site_status": site.get("status"),
        "last_crawled_at": site.get("last_success_at"), "scored_at": at,
        "rubric_version": result.rubric_version}
    with db.conn:
        db["verdicts"].upsert_all(verdict_rows, pk=("domain", "question"))
        db.execute("delete from evidence where domain = ?", [domain])
        if evidence_rows:
            db["evidence"].insert_all(evidence_rows)
        db["clinics"].upsert(clinic, pk="domain")
        if old_c is None or str(old_c["score"]) != str(result.score) or old_c["tier"] != result.tier:
            db["score_history"].insert({"domain": domain, "crawl_id": crawl_id, "scored_at": at,
                                        "score": result.score, "tier": result.tier,
                                        "rubric_version": result.rubric_version})
        if changes:
            db["changes"].insert_all(changes)
    return len(changes)


def score_db(db: sqlite_utils.Database | str, domains: list[str] | None = None,
             rubric: Rubric | None = None) -> dict:
    """Score every site (or the given domains) in the database; returns a summary dict."""
    if not isinstance(db, sqlite_utils.Database):
        from clinicvet.db import open_db
        db = open_db(db)
    ensure_schema(db)
    rubric = rubric or default_rubric()
    sites = list(db.query("select * from sites order by domain"))
    if domains:
        wanted = set(domains)
        sites = [s for s in sites if s["domain"] in wanted]
    summary = {"sites": 0, "pages": 0, "red_flags": 0, "changes": 0, "no_pages": 0,
               "tiers": {}, "rubric_version": rubric.version}
    for site in sites:
        pages = _site_pages(db, site["domain"])
        if not pages:
            summary["no_pages"] += 1
            log.info("%s: no stored pages, scored as insufficient", site["domain"])
        result = score_site(pages, rubric)
        summary["changes"] += _write_site(db, site, result, now())
        summary["sites"] += 1
        summary["pages"] += len(pages)
        summary["red_flags"] += int(result.red_flag)
        summary["tiers"][result.tier] = summary["tiers"].get(result.tier, 0) + 1
    return summary
