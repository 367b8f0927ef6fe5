"""Score sites: page records -> SiteScore, and a whole database -> verdicts, evidence, clinics."""
from __future__ import annotations

import gzip
import json
import logging
import multiprocessing
import os
import sqlite3
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import sqlite_utils

from clinicvet.db import ensure_schema, now
from crawler.extract import EXTRACT_VERSION, extract_page
from scoring.facts import ROUTE_OF, ROUTES, Facts, extract_facts, physician_surnames, staff_credentials
from scoring.match import Matcher
from scoring.rubric import Rubric, load_rubric
from scoring.text import Page, site_lines
from scoring.costs import Costs, extract_costs
from scoring.verdict import Verdict, decide, implied, score_and_tier, staff_hit

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
    costs: Costs = field(default_factory=Costs)  # what it costs (scoring/costs.py)


def default_rubric() -> Rubric:
    """The packaged rubric, loaded once."""
    global _RUBRIC
    if _RUBRIC is None:
        _RUBRIC = load_rubric()
    return _RUBRIC


def _own_route_text(lines, matcher: Matcher, rubric: Rubric) -> str:
    """Sentences where the clinic names a route as its own: no blog, FAQ question, link, negation or
    warning. Only sentences naming a route not yet found have their context read."""
    own, found = [], set()
    for line in lines:
        if len(found) == len(ROUTES):
            break
        if line.question or line.link or line.quoted or matcher.page_weight(line.url) < 1.0:
            continue
        words = rubric.words(line.lower) if line.words is None else line.words
        named = {ROUTE_OF[w] for w in words if w in ROUTE_OF} - found
        missing = [r for r in named if ROUTES[r].search(line.norm)]
        for _, s in line.sentences() if missing else ():
            new = {r for r in missing if r not in found and ROUTES[r].search(s.norm)}
            if new and not matcher.sentence_categories(s.norm) - {"THIRD_PARTY", "SELF"}:
                own.append(s.norm)
                found |= new
    return "\n".join(own)


def score_site(pages: list[Page], rubric: Rubric | None = None) -> SiteScore:
    """Score one site from its stored pages (no database needed)."""
    rubric = rubric or default_rubric()
    rubric.add_words(ROUTE_OF)  # the route words are found in the same pass as the triggers
    lines = site_lines(pages)
    staff = staff_credentials(pages)
    physicians = physician_surnames(pages, staff, rubric.concept_regex.get("physician_training"))
    matcher = Matcher(rubric, physicians)
    hits = matcher.match(lines)
    facts = extract_facts(pages, _own_route_text(lines, matcher, rubric), staff)
    verdicts = {}
    for q in rubric.questions.values():
        extra = staff_hit(q, facts.credentials, facts.unnamed_leader)
        verdicts[q.id] = decide(q, hits[q.id] + extra)
    for q in rubric.questions.values():
        verdicts[q.id] = implied(q, verdicts) or verdicts[q.id]
    score, tier, red = score_and_tier(rubric, verdicts)
    if red and "at_home" not in facts.routes:
        facts.routes.append("at_home")
    elif not red and "at_home" in facts.routes:
        facts.routes.remove("at_home")
    return SiteScore(verdicts, facts, score, tier, red, rubric.version, len(pages), len(lines), hits,
                     extract_costs(pages))


def _site_pages(db: sqlite_utils.Database, domain: str) -> list[Page]:
    rows = db.query("select url, title, text, jsonld, links from pages where domain = ? and status = 200 "
                    "and gone_at is null and text is not null order by url", [domain])
    pages = []
    for r in rows:
        try:
            ld = json.loads(r["jsonld"]) if r["jsonld"] else []
        except ValueError:
            ld = []
        try:
            links = [link.get("text", "") for link in json.loads(r["links"] or "[]") if isinstance(link, dict)]
        except ValueError:
            links = []
        pages.append(Page(r["url"], r["text"] or "", r["title"] or "", ld if isinstance(ld, list) else [ld],
                          links))
    return pages


def refresh_text(db: sqlite_utils.Database, domains: list[str] | None = None) -> int:
    """Re-read the text of stored pages an older extractor read (crawler.extract.EXTRACT_VERSION) from
    their stored HTML, so an upgrade scores what the current extractor sees; returns pages re-read."""
    where = "status = 200 and html_gz is not null and coalesce(extract_version, 0) < ?"
    params: list = [EXTRACT_VERSION]
    if domains:
        where += f" and domain in ({', '.join('?' for _ in domains)})"
        params += list(domains)
    rows = list(db.query(f"select url, html_gz from pages where {where}", params))
    updates = []
    for r in rows:
        try:
            page = extract_page(gzip.decompress(r["html_gz"]), r["url"])
        except (OSError, EOFError) as exc:
            log.warning("%s: stored HTML unreadable (%s); keeping its text", r["url"], exc)
            continue
        updates.append({"url": r["url"], "text": page.text, "title": page.title,
                        "jsonld": json.dumps(page.jsonld, ensure_ascii=False),
                        "links": json.dumps(page.links, ensure_ascii=False), "extract_version": EXTRACT_VERSION})
    if updates:
        with db.conn:
            db["pages"].upsert_all(updates, pk="url", batch_size=500)
    return len(updates)


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
        "credentials": json.dumps([{"name": p["name"], "credentials": p["credentials"]} for p in f.credentials]),
        "site_url": site.get("seed_url") or f"https://{domain}/", "site_status": site.get("status"),
        "last_crawled_at": site.get("last_success_at"), "scored_at": at,
        "rubric_version": result.rubric_version}
    # What it costs: the costs rows with their quotes, and their summary on the clinic (its headline
    # price per infusion, which has a quote).
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


# Sites scored in worker processes when there are at least this many (one process each core, up to
# MAX_WORKERS); each worker reads its sites' pages itself and the parent writes every result.
PARALLEL_FROM, MAX_WORKERS = 40, 4
_WORKER_DB: sqlite_utils.Database | None = None


def _start_worker(path: str) -> None:
    global _WORKER_DB
    _WORKER_DB = sqlite_utils.Database(sqlite3.connect(f"file:{path}?mode=ro", uri=True))


def _score_domain(domain: str) -> tuple[int, SiteScore]:
    """In a worker: one site's pages read and scored (the per-sentence hits are not sent back)."""
    pages = _site_pages(_WORKER_DB, domain)
    result = score_site(pages)
    result.hits = {}
    return len(pages), result


def _scored(db: sqlite_utils.Database, domains: list[str], rubric: Rubric, workers: int):
    """(pages, SiteScore) for each domain in order: in worker processes or in this one."""
    path = db.execute("pragma database_list").fetchone()[2]
    if workers > 1 and path and rubric is default_rubric():
        db.conn.commit()  # the workers read what this connection wrote (refreshed text)
        ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_start_worker, initargs=(path,)) as pool:
            yield from pool.map(_score_domain, domains, chunksize=8)
        return
    for domain in domains:
        pages = _site_pages(db, domain)
        yield len(pages), score_site(pages, rubric)


def score_db(db: sqlite_utils.Database | str, domains: list[str] | None = None,
             rubric: Rubric | None = None, workers: int | None = None) -> dict:
    """Score every site (or the given domains) in the database; returns a summary dict. workers: processes
    to score in (default: one a core, up to MAX_WORKERS, from PARALLEL_FROM sites on; 1 = this one)."""
    if not isinstance(db, sqlite_utils.Database):
        from clinicvet.db import open_db
        db = open_db(db)
    ensure_schema(db)
    rubric = rubric or default_rubric()
    refreshed = refresh_text(db, domains)
    if refreshed:
        log.info("re-read the text of %d pages stored by an older extractor", refreshed)
    sites = list(db.query("select * from sites order by domain"))
    if domains:
        wanted = set(domains)
        sites = [s for s in sites if s["domain"] in wanted]
    if workers is None:
        workers = min(os.cpu_count() or 1, MAX_WORKERS) if len(sites) >= PARALLEL_FROM else 1
    summary = {"sites": 0, "pages": 0, "red_flags": 0, "changes": 0, "no_pages": 0,
               "tiers": {}, "rubric_version": rubric.version}
    for site, (pages, result) in zip(sites, _scored(db, [s["domain"] for s in sites], rubric, workers)):
        if not pages:
            summary["no_pages"] += 1
            log.info("%s: no stored pages, scored as insufficient", site["domain"])
        changes, tier, red = _write_site(db, site, result, now(), rubric)
        summary["changes"] += changes
        summary["sites"] += 1
        summary["pages"] += pages
        summary["red_flags"] += int(red)
        summary["tiers"][tier] = summary["tiers"].get(tier, 0) + 1
    return summary
