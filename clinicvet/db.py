"""Every table of the clinicvet database, in one place. Stages share nothing but these tables."""
from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlite_utils

QUESTIONS = ("physician_led", "monitoring", "screening", "integration_support", "at_home_mail_order")

# Table -> (columns, primary key). Columns are created in this order; new columns are added by
# ensure_schema on an existing database, so an older database upgrades in place.
TABLES: dict[str, tuple[dict, str | tuple]] = {
    # One row a clinic website, from the seeds file; the crawler keeps its health here.
    "sites": ({
        "domain": str, "name": str, "seed_url": str, "city": str, "state": str,
        "added_at": str, "updated_at": str,
        "status": str,          # new | ok | stale | unreachable
        "status_reason": str, "stale_since": str, "failed_crawls": int,
        "last_crawl_id": int, "last_success_at": str,
        "last_changed_crawl_id": int,  # the latest crawl that found a new, modified or gone page
        "has_sitemap": int,  # 1 when /sitemap.xml answered last time; a recrawl skips it when 0
    }, "domain"),
    # One row a crawl or recrawl run.
    "crawls": ({
        "id": int, "kind": str, "started_at": str, "finished_at": str,
        "status": str,          # running | ok | failed | interrupted
        "seeds_file": str, "sites": int, "pages_fetched": int, "not_modified": int,
        "errors": int, "bytes_fetched": int, "duration_s": float, "message": str,
        "dead_links_skipped": int,  # links that answered 404/410 lately, not asked again (recrawl)
    }, "id"),
    # One row a fetched URL: the newest good fetch; html_gz lets scoring re-run without a crawl.
    "pages": ({
        "url": str, "domain": str, "crawl_id": int, "first_seen_at": str, "fetched_at": str,
        "checked_at": str, "status": int, "content_type": str, "etag": str, "last_modified": str,
        "content_hash": str, "bytes": int, "depth": int, "title": str, "text": str,
        "jsonld": str, "links": str, "html_gz": bytes, "gone_at": str,
        "extract_version": int,  # crawler.extract.EXTRACT_VERSION that read text from html_gz
    }, "url"),
    # Every failed or refused fetch, with its reason.
    "fetch_log": ({
        "id": int, "crawl_id": int, "domain": str, "url": str, "at": str,
        "status": int, "reason": str,
    }, "id"),
    # One row a clinic and question. verdict is what the directory shows: the reviewed verdict
    # where an advocate set one, else the machine's.
    "verdicts": ({
        "domain": str, "question": str, "verdict": str, "machine_verdict": str,
        "reviewed_verdict": str, "confidence": float, "evidence_count": int,
        "rubric_version": str, "scored_at": str, "crawl_id": int,
    }, ("domain", "question")),
    # The quoted sentences behind each verdict.
    "evidence": ({
        "id": int, "domain": str, "question": str, "url": str, "quote": str,
        "rule_id": str, "polarity": str, "rubric_version": str,
    }, "id"),
    # The directory: one row a site, what a patient reads.
    "clinics": ({
        "domain": str, "name": str, "tier": str, "score": int, "red_flag": int,
        "physician_led": str, "monitoring": str, "screening": str,
        "integration_support": str, "at_home_mail_order": str,
        "street": str, "city": str, "state": str, "zip": str, "phone": str,
        "latitude": float, "longitude": float, "routes": str, "price_per_infusion": float,
        "credentials": str, "site_url": str, "site_status": str, "last_crawled_at": str,
        "scored_at": str, "rubric_version": str,
        "tier_rank": int,       # publish: 1 = strongest tier; insufficient and red flag sort last
        # score (scoring/costs.py): a summary of the costs rows, for facets and the price filter
        "price_stated": int,    # 1 when the site states a price per infusion or of a series
        "takes_insurance": str,  # yes | no | spravato (Spravato billed to insurance) | NULL: not stated
        "price_min": float, "price_max": float,  # range of the per-infusion prices stated (USD)
        "registry_checked_physician": int,  # verify: 1 when a named physician leader matched the NPI registry
        "registry_mismatch": int,           # verify: 1 when a named clinician's credential differs from the registry's
    }, "domain"),
    # What each clinic's pages say it costs: one row a fact, with the quote and page it came from.
    # kind: price_per_infusion | price_series | consultation | insurance | hsa_fsa | financing.
    "costs": ({
        "id": int, "domain": str, "kind": str, "value": str, "amount": float, "amount_max": float,
        "quote": str, "url": str, "rule_id": str, "costs_version": str,
    }, "id"),
    # Each scoring of a clinic, for the scorecard's history.
    "score_history": ({
        "id": int, "domain": str, "crawl_id": int, "scored_at": str, "score": int, "tier": str,
        "rubric_version": str,
    }, "id"),
    # Every change of a clinic's verdict, score or tier between scorings.
    "changes": ({
        "id": int, "domain": str, "question": str, "old": str, "new": str, "crawl_id": int,
        "at": str, "evidence": str,
    }, "id"),
    # Each host's robots.txt as the crawler last got it (not 5xx, not a failed fetch): a crawl
    # reuses it for CLINICVET_ROBOTS_MAX_AGE (24 h, as RFC 9309 allows) instead of asking again.
    "robots": ({"netloc": str, "status": int, "body": bytes, "fetched_at": str}, "netloc"),
    # verify: every clinician a clinic's pages name, one row a person, kept across recrawls (gone_at when
    # no longer named), with the NPI registry's answer: status match | ambiguous | not_found | mismatch
    # (NULL: not checked yet). check_error is the last lookup's failure; the answer before it stays.
    "clinicians": ({
        "domain": str, "person": str, "name": str, "first_name": str, "last_name": str,
        "credential": str, "family": str, "roles": str, "leader": int, "quote": str, "url": str,
        "first_seen_at": str, "last_seen_at": str, "gone_at": str,
        "status": str, "npi": str, "answer": str, "candidates": int, "searched": str,
        "checked_at": str, "check_error": str, "mismatch_since": str,
    }, ("domain", "person")),
    # verify: each registry record found under a clinician's name, as the registry gave it.
    "npi_candidates": ({
        "domain": str, "person": str, "npi": str, "name": str, "credential": str, "taxonomies": str,
        "primary_code": str, "primary_words": str, "family": str, "license_states": str,
        "location_state": str, "status": str, "last_updated": str, "fetched_at": str,
        "in_state": int, "consistent": int,
    }, ("domain", "person", "npi")),
    # verify: the registry's answer to each query, reused for 30 days (clinicvet.npi.CACHE_DAYS).
    "npi_cache": ({"query": str, "fetched_at": str, "result_count": int, "body": str}, "query"),
    # verify --nppes-file: individuals from the NPPES data file (names folded), each as an API result.
    "npi_records": ({
        "npi": str, "last_name": str, "first_name": str, "state": str, "license_states": str,
        "record": str, "source": str, "imported_at": str,
    }, "npi"),
    # Small facts the stages keep about their own work (e.g. what the search index was built from).
    "meta": ({"key": str, "value": str}, "key"),
    # Advocates' reviews; crawling and scoring only read them. A new review of the same clinic and
    # question supersedes the last (superseded_by), never erases it. question '*' is the whole
    # clinic; verdict NULL is a note only (the machine verdict shows). machine_verdict is what the
    # machine read when the review was made (for '*': the machine_snapshots string), so a later
    # different reading shows the review as needing a re-review.
    "reviews": ({
        "id": int, "domain": str, "question": str, "verdict": str, "note": str,
        "evidence_url": str, "reviewer": str, "reviewed_at": str, "machine_verdict": str,
        "superseded_by": int, "via": str,  # cli | web | import
    }, "id"),
}

# Views: what the reviewers read. Recreated by ensure_schema whenever their SQL changes.
VIEWS = {
    # Each clinic's machine verdicts as one string, e.g. "at_home_mail_order=none;monitoring=yes;...".
    "machine_snapshots": """SELECT domain, group_concat(question || '=' || coalesce(machine_verdict, ''), ';') AS machine
FROM (SELECT domain, question, machine_verdict FROM verdicts ORDER BY domain, question)
GROUP BY domain""",
    # The review in force for each clinic and question, and whether the site now reads differently.
    "current_reviews": """SELECT r.*, CASE WHEN r.question = '*' THEN s.machine ELSE v.machine_verdict END AS machine_now,
  CASE WHEN r.machine_verdict IS NOT (CASE WHEN r.question = '*' THEN s.machine ELSE v.machine_verdict END)
       THEN 1 ELSE 0 END AS needs_re_review
FROM reviews r
LEFT JOIN verdicts v ON v.domain = r.domain AND v.question = r.question
LEFT JOIN machine_snapshots s ON s.domain = r.domain
WHERE r.superseded_by IS NULL""",
    # What advocates should look at next, oldest first: one row a clinic and question, with reasons.
    "review_queue": """WITH items AS (
  SELECT domain, question, 'needs re-review' AS reason,
         'reviewed when the machine read ' || coalesce(machine_verdict, '?') || '; it now reads ' || coalesce(machine_now, '?') AS detail,
         reviewed_at AS since
  FROM current_reviews WHERE needs_re_review = 1
  UNION ALL
  SELECT v.domain, v.question, 'new red flag', 'the site reads as sending ketamine home or mailing it',
         coalesce((SELECT max(ch.at) FROM changes ch WHERE ch.domain = v.domain AND ch.question = v.question
                   AND ch.new = v.machine_verdict), v.scored_at)
  FROM verdicts v
  WHERE v.question = 'at_home_mail_order' AND v.machine_verdict = 'red_flag'
    AND NOT EXISTS (SELECT 1 FROM current_reviews r WHERE r.domain = v.domain AND r.question = v.question)
  UNION ALL
  SELECT ch.domain, ch.question, 'verdict changed', ch.old || ' -> ' || ch.new, min(ch.at)
  FROM changes ch LEFT JOIN current_reviews r ON r.domain = ch.domain AND r.question = ch.question
  WHERE ch.question IN (SELECT question FROM verdicts WHERE domain = ch.domain)
    AND ch.at > coalesce(r.reviewed_at, '') AND ch.new IS NOT r.verdict
  GROUP BY ch.domain, ch.question
  UNION ALL
  SELECT v.domain, v.question, 'low confidence', 'machine confidence ' || round(v.confidence, 2), v.scored_at
  FROM verdicts v
  WHERE v.confidence < 0.6
    AND NOT EXISTS (SELECT 1 FROM current_reviews r WHERE r.domain = v.domain AND r.question = v.question)
  UNION ALL
  SELECT cl.domain, 'physician_led', 'registry mismatch', cl.name || ': ' || coalesce(cl.answer, ''), cl.mismatch_since
  FROM clinicians cl
  WHERE cl.status = 'mismatch' AND cl.gone_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM current_reviews r WHERE r.domain = cl.domain AND r.question = 'physician_led'
                    AND r.reviewed_at >= cl.mismatch_since)
  UNION ALL
  SELECT c.domain, '*', 'never reviewed', 'no advocate has reviewed this clinic yet',
         coalesce((SELECT min(h.scored_at) FROM score_history h WHERE h.domain = c.domain), c.scored_at)
  FROM clinics c WHERE NOT EXISTS (SELECT 1 FROM reviews r WHERE r.domain = c.domain)
)
SELECT i.domain, c.name, i.question, group_concat(i.reason, '; ') AS reasons,
       group_concat(i.detail, '; ') AS details, min(i.since) AS since
FROM items i LEFT JOIN clinics c ON c.domain = i.domain
GROUP BY i.domain, i.question
ORDER BY since, i.domain, i.question""",
}

INDEXES = [
    ("pages", ["domain"]), ("fetch_log", ["crawl_id"]), ("fetch_log", ["at"]), ("evidence", ["domain", "question"]),
    ("score_history", ["domain"]), ("costs", ["domain"]), ("changes", ["domain"]), ("changes", ["at"]),
    ("clinics", ["state", "city"]), ("clinics", ["tier"]), ("verdicts", ["question", "verdict"]),
    ("reviews", ["domain", "question"]), ("clinicians", ["status"]), ("npi_records", ["last_name", "first_name"]),
]


def now(ago: timedelta = timedelta(0)) -> str:
    """UTC timestamp as stored in every table: now, or `ago` before now (a cutoff to compare with)."""
    return (datetime.now(timezone.utc) - ago).strftime("%Y-%m-%dT%H:%M:%SZ")


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create missing tables, columns and indexes; never drops anything."""
    for name, (columns, pk) in TABLES.items():
        table = db[name]
        if not table.exists():
            table.create(columns, pk=pk)
        else:
            missing = {c: t for c, t in columns.items() if c not in table.columns_dict}
            for column, col_type in missing.items():
                table.add_column(column, col_type)
    for table, columns in INDEXES:
        db[table].create_index(columns, if_not_exists=True)
    for name, sql in VIEWS.items():
        db.create_view(name, sql, replace=True)


class DatabaseFileError(RuntimeError):
    """A database file that cannot be used (corrupt, read-only or locked); the message names it."""


# Seconds to wait for another process's write transaction when opening, before giving up.
LOCK_WAIT_S = 5.0


def _describe(path: Path, exc: sqlite3.DatabaseError, lock_wait: float) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return (f"{path}: database is locked by another process (waited {lock_wait:g} s); "
                "try again when that process has finished")
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return f"{path}: cannot write the database ({text}); check the permissions of the file and its folder"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return f"{path}: not a usable SQLite database ({text}); restore it from a backup or pick another --db"
    return f"{path}: {text}"


def open_db(path: str | Path, create: bool = True, lock_wait: float = LOCK_WAIT_S) -> sqlite_utils.Database:
    """Open (and by default create and migrate) the database at path; DatabaseFileError if unusable."""
    path = Path(path)
    if not create and not path.exists():
        raise FileNotFoundError(f"{path}: no such database")
    try:
        conn = sqlite3.connect(str(path), timeout=lock_wait)
        db = sqlite_utils.Database(conn)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        # Take the write lock once and let it go: a file that is corrupt, read-only or held by
        # another writer fails here, before any work, instead of midway or after a long wait.
        conn.execute("BEGIN IMMEDIATE")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute(f"PRAGMA user_version = {int(version)}")  # a real write: read-only files fail here
        conn.execute("ROLLBACK")
        conn.execute("PRAGMA busy_timeout = 30000")
        ensure_schema(db)
    except sqlite3.DatabaseError as exc:
        raise DatabaseFileError(_describe(path, exc, lock_wait)) from None
    return db
