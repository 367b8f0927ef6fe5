"""Score sites: page records -> SiteScore, and a whole database -> verdicts, evidence, clinics."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

import sqlite_utils

from clinicvet.db import ensure_schema, now
from scoring.facts import ROUTE_TRIGGERS, ROUTES, Facts, extract_facts
from scoring.literals import required_cues
from scoring.lowered import lowered
from scoring.match import Matcher, engine
from scoring.rubric import Rubric, load_rubric
from scoring.text import Page, site_lines
from scoring.verdict import Verdict, decide, score_and_tier, staff_hit
from scoring.costs import Costs, extract_costs  # what it costs; kept apart from the scorer's imports

log = logging.getLogger(__name__)
_RUBRIC: Rubric | None = None
# Route id -> (pattern, literals one of which each of its matches holds).
_ROUTE_CUES = [(r, rx, lowered(rx), required_cues(rx.pattern, rx.flags)) for r, rx in ROUTES.items()]
_ROUTE_REGEXES = tuple(ROUTES.values())


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
    costs: Costs = field(default_factory=Costs)  # what it costs (scoring/costs.py)


def default_rubric() -> Rubric:
    """The packaged rubric, loaded once, with the prefilter and RE2 forms score_site uses."""
    global _RUBRIC
    if _RUBRIC is None:
        _RUBRIC = load_rubric()
        engine(_RUBRIC, (ROUTE_TRIGGERS,), _ROUTE_REGEXES)
    return _RUBRIC


def score_site(pages: list[Page], rubric: Rubric | None = None) -> SiteScore:
    """Score one site from its stored pages (no database needed)."""
    rubric = rubric or default_rubric()
    lines = site_lines(pages)
    matcher = Matcher(rubric, (ROUTE_TRIGGERS,), _ROUTE_REGEXES)
    hits = matcher.match(lines)
    # Routes come from the clinic's own plain statements: no blog, FAQ question, negation or warning.
    # Route patterns match within one sentence, so only sentences naming a route not yet found
    # need their context read (the costly part); the routes found are the same.
    own, found, skipped = [], set(), {}
    for idx in matcher.candidates(ROUTE_TRIGGERS):
        line = lines[idx]
        if line.url not in skipped:
            skipped[line.url] = any(c.url.search(line.url) for c in rubric.page_contexts)
        if line.question or skipped[line.url]:
            continue
        # A route named in a sentence is named in its line (no route word ends in '.', so no
        # match spans two sentences): only lines naming a route still missing are split.
        left = [(r, rx, fast, cues) for r, rx, fast, cues in _ROUTE_CUES
                if r not in found and matcher.search(line.text, rx, fast, cues)]
        if not left:
            continue
        sents = line.sentences()
        for _, s in sents:
            if len(sents) == 1 and s.text == line.text:
                new = {r for r, _, _, _ in left}
            else:
                new = {r for r, rx, fast, cues in left
                       if r not in found and matcher.search(s.text, rx, fast, cues)}
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
    return SiteScore(verdicts, facts, score, tier, red, rubric.version, len(pages), len(lines), hits,
                     extract_costs(pages))


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
    old_c = next(iter(db.query("select score, tier, routes from clinics where domain = ?", [domain])), None)
    return old_v, old_c


def current_reviews(db: sqlite_utils.Database, domain: str) -> dict[str, dict]:
    """The advocate review in force for each question of a clinic that sets a verdict (read only)."""
    return {r["question"]: r for r in db.query(
        "select question, verdict, reviewer, note from reviews where domain = ? and superseded_by is null "
        "and question != '*' and verdict is not null", [domain])}


def effective_verdicts(rubric: Rubric, machine: dict[str, str], reviewed: dict[str, str]
                       ) -> tuple[dict[str, str], int, str, bool]:
    """Shown verdicts (reviewed, else machine) with the score, tier and red flag they give."""
    shown = {q.id: reviewed.get(q.id) or machine.get(q.id) or q.verdicts["default"]
             for q in rubric.questions.values()}
    score, tier, red = score_and_tier(rubric, {q: Verdict(q, v, 0.0) for q, v in shown.items()})
    return shown, score, tier, red


def _routes(routes: list[str], red: bool) -> list[str]:
    # A red flag means ketamine goes home, whether the machine or a reviewer says so.
    routes = [r for r in routes if r != "at_home"]
    return routes + ["at_home"] if red else routes


def _changes(domain: str, old_v: dict, shown: dict, old_c: dict | None, score: int, tier: str,
             crawl_id, at: str, evidence: dict) -> list[dict]:
    changes = []
    for qid, new in shown.items():
        old = old_v.get(qid)
        if old and old["verdict"] != new:
            changes.append({"domain": domain, "question": qid, "old": old["verdict"], "new": new,
                            "crawl_id": crawl_id, "at": at, "evidence": evidence.get(qid)})
    for key, new in (("score", score), ("tier", tier)):
        if old_c and old_c[key] is not None and str(old_c[key]) != str(new):
            changes.append({"domain": domain, "question": key, "old": str(old_c[key]),
                            "new": str(new), "crawl_id": crawl_id, "at": at, "evidence": None})
    return changes


def _review_words(review: dict) -> str:
    return f"review by {review['reviewer']}" + (f": {review['note']}" if review.get("note") else "")


def _write_site(db, site: dict, result: SiteScore, at: str, rubric: Rubric) -> tuple[int, str, bool]:
    domain = site["domain"]
    crawl_id = site.get("last_crawl_id")
    old_v, old_c = _previous(db, domain)
    reviews = current_reviews(db, domain)
    reviewed = {q: r["verdict"] for q, r in reviews.items()}
    shown, score, tier, red = effective_verdicts(
        rubric, {q: v.verdict for q, v in result.verdicts.items()}, reviewed)
    verdict_rows, evidence_rows, quotes = [], [], {}
    for qid, v in result.verdicts.items():
        verdict_rows.append({
            "domain": domain, "question": qid, "verdict": shown[qid], "machine_verdict": v.verdict,
            "reviewed_verdict": reviewed.get(qid), "confidence": v.confidence,
            "evidence_count": len(v.evidence), "rubric_version": result.rubric_version,
            "scored_at": at, "crawl_id": crawl_id})
        evidence_rows += [{"domain": domain, "question": qid, "url": e.url, "quote": e.quote,
                           "rule_id": e.rule_id, "polarity": e.polarity,
                           "rubric_version": result.rubric_version} for e in v.evidence]
        quotes[qid] = v.evidence[0].quote if v.evidence else None
    changes = _changes(domain, old_v, shown, old_c, score, tier, crawl_id, at, quotes)
    f = result.facts
    clinic = {
        "domain": domain, "name": site.get("name") or f.name, "tier": tier,
        "score": score, "red_flag": int(red), **shown,
        "street": f.street, "city": f.city or site.get("city"), "state": f.state or site.get("state"),
        "zip": f.zip, "phone": f.phone, "routes": json.dumps(_routes(f.routes, red)),
        "price_per_infusion": f.price_per_infusion, "credentials": json.dumps(f.credentials),
        "site_url": site.get("seed_url") or f"https://{domain}/", "site_status": site.get("status"),
        "last_crawled_at": site.get("last_success_at"), "scored_at": at,
        "rubric_version": result.rubric_version}
    # What it costs: the costs rows with their quotes, and their summary on the clinic (its headline
    # price, which has a quote, replaces the facts' price per infusion).
    clinic.update(result.costs.summary())
    cost_rows = [{"domain": domain, "kind": c.kind, "value": c.value, "amount": c.amount,
                  "amount_max": c.amount_max, "quote": c.quote, "url": c.url, "rule_id": c.rule_id,
                  "costs_version": result.costs.version} for c in result.costs.facts]
    with db.conn:
        db.execute("delete from costs where domain = ?", [domain])
        if cost_rows:
            db["costs"].insert_all(cost_rows)
        db["verdicts"].upsert_all(verdict_rows, pk=("domain", "question"))
        db.execute("delete from evidence where domain = ?", [domain])
        if evidence_rows:
            db["evidence"].insert_all(evidence_rows)
        db["clinics"].upsert(clinic, pk="domain")
        if old_c is None or str(old_c["score"]) != str(score) or old_c["tier"] != tier:
            db["score_history"].insert({"domain": domain, "crawl_id": crawl_id, "scored_at": at,
                                        "score": score, "tier": tier,
                                        "rubric_version": result.rubric_version})
        if changes:
            db["changes"].insert_all(changes)
    return len(changes), tier, red


def apply_reviews(db: sqlite_utils.Database, domains: list[str], rubric: Rubric | None = None,
                  at: str | None = None) -> int:
    """Re-derive shown verdicts, score and tier of clinics from stored machine verdicts and the
    reviews in force, without reading pages; returns the number of changes recorded."""
    rubric = rubric or default_rubric()
    at = at or now()
    total = 0
    for domain in domains:
        old_v, old_c = _previous(db, domain)
        if not old_v or old_c is None:
            continue  # not scored yet: scoring will apply the reviews when it runs
        reviews = current_reviews(db, domain)
        reviewed = {q: r["verdict"] for q, r in reviews.items()}
        machine = {q: r["machine_verdict"] for q, r in old_v.items()}
        shown, score, tier, red = effective_verdicts(rubric, machine, reviewed)
        crawl_id = next(iter(db.query("select max(crawl_id) as c from verdicts where domain = ?", [domain])))["c"]
        why = {q: _review_words(reviews[q]) if q in reviews else None for q in shown}
        changes = _changes(domain, old_v, shown, old_c, score, tier, crawl_id, at, why)
        try:
            routes = json.loads(old_c["routes"] or "[]")
        except ValueError:
            routes = []
        with db.conn:
            for qid in old_v:
                db.execute("update verdicts set verdict = ?, reviewed_verdict = ? where domain = ? and question = ?",
                           [shown.get(qid, old_v[qid]["machine_verdict"]), reviewed.get(qid), domain, qid])
            db["clinics"].update(domain, {"score": score, "tier": tier, "red_flag": int(red),
                                          "routes": json.dumps(_routes(routes, red)), **shown})
            if str(old_c["score"]) != str(score) or old_c["tier"] != tier:
                db["score_history"].insert({"domain": domain, "crawl_id": crawl_id, "scored_at": at,
                                            "score": score, "tier": tier, "rubric_version": rubric.version})
            if changes:
                db["changes"].insert_all(changes)
        total += len(changes)
    return total


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
        changes, tier, red = _write_site(db, site, result, now(), rubric)
        summary["changes"] += changes
        summary["sites"] += 1
        summary["pages"] += len(pages)
        summary["red_flags"] += int(red)
        summary["tiers"][tier] = summary["tiers"].get(tier, 0) + 1
    return summary
