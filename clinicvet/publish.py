"""Make the database ready to browse: coordinates, directory order, full-text search, statistics."""
from __future__ import annotations

import hashlib
import importlib.resources
import logging

import sqlite_utils

log = logging.getLogger(__name__)

# Full-text index over each clinic's name, address and the text of its crawled pages. It is
# contentless (it stores only the index, not a second copy of every page) and its rowid is the
# clinic's rowid, which is what Datasette's table search matches on (metadata.yml fts_table).
CLINIC_SEARCH = "clinic_search"
CLINIC_SEARCH_COLUMNS = ["name", "domain", "street", "city", "state", "zip", "page_text"]
# Plain sqlite-utils FTS (with triggers) for advocates searching page text directly.
FTS = {"pages": ["title", "text"]}
# Tier order when the rubric cannot be read: strongest first. Anything unknown ranks with
# "insufficient", so an unrecognised tier never sorts above a good one.
FALLBACK_TIERS = ["Strong safety signals", "Some safety signals", "Few safety signals"]


def add_coordinates(db: sqlite_utils.Database) -> int:
    """Fill clinics.latitude/longitude from the ZIP code, offline; returns rows located."""
    import zipcodes

    points = {}
    for row in db.query("SELECT DISTINCT substr(zip, 1, 5) AS zip FROM clinics WHERE zip IS NOT NULL AND zip != ''"):
        try:
            match = zipcodes.matching(row["zip"])  # about 2 ms a call: once per distinct ZIP
        except (ValueError, TypeError):
            match = []
        if match:
            points[row["zip"]] = (float(match[0]["lat"]), float(match[0]["long"]))
    rows = list(db.query("SELECT domain, substr(zip, 1, 5) AS zip, latitude FROM clinics"))
    located = [{"domain": row["domain"], "latitude": points[row["zip"]][0], "longitude": points[row["zip"]][1]}
               for row in rows if row["zip"] in points]
    # A clinic whose ZIP is gone or no longer found must not keep the old place on the map.
    cleared = [{"domain": row["domain"], "latitude": None, "longitude": None}
               for row in rows if row["zip"] not in points and row["latitude"] is not None]
    if located or cleared:
        db["clinics"].upsert_all(located + cleared, pk="domain", batch_size=1000)
    return len(located)


def tier_order() -> tuple[list[str], str | None, str | None]:
    """Graded tier names strongest first, plus the names of the insufficient and red-flag tiers."""
    try:
        from scoring.rubric import RubricError, load_rubric
    except ImportError:
        return FALLBACK_TIERS, None, None
    try:
        tiers = load_rubric().tiers
    except (RubricError, OSError) as exc:
        log.warning("rubric unreadable, using the fallback tier order: %s", exc)
        return FALLBACK_TIERS, None, None
    graded = sorted((t for t in tiers if "min_score" in t), key=lambda t: -float(t["min_score"]))
    by_id = {t["id"]: t["name"] for t in tiers}
    return [t["name"] for t in graded], by_id.get("insufficient"), by_id.get("red_flag")


def rank_tiers(db: sqlite_utils.Database) -> int:
    """Set clinics.tier_rank: 1 = strongest tier; insufficient information next-to-last, red flags last."""
    graded, _insufficient, red_tier = tier_order()
    rank = {name: i + 1 for i, name in enumerate(graded)}
    unknown_rank, red_rank = len(graded) + 1, len(graded) + 2
    rows = []
    for row in db.query("SELECT domain, tier, red_flag FROM clinics"):
        if row["red_flag"] or (red_tier and row["tier"] == red_tier):
            value = red_rank
        else:
            value = rank.get(row["tier"], unknown_rank)
        rows.append({"domain": row["domain"], "tier_rank": value})
    if rows:
        db["clinics"].upsert_all(rows, pk="domain", batch_size=1000)
    return len(rows)


def rubric_bytes() -> bytes:
    """The packaged rubric file as it is now (the tier order comes from it), or b"" without one."""
    # Read as a package file, not through scoring.rubric: a recrawl that re-scores nothing then loads
    # neither the scorer nor YAML.
    try:
        return importlib.resources.files("scoring").joinpath("rubric.yaml").read_bytes()
    except (ImportError, OSError):
        return b""


def directory_fingerprint(db: sqlite_utils.Database) -> str:
    """What coordinates and tier ranks are computed from (ZIP, tier, red flag, rubric) and what they
    were set to: while it matches the last publish's, both are already right."""
    digest = hashlib.sha256(rubric_bytes())
    for row in db.conn.execute("SELECT domain, zip, tier, red_flag, latitude, longitude, tier_rank "
                               "FROM clinics ORDER BY domain"):
        digest.update(repr(row).encode())
    return digest.hexdigest()


def meta_value(db: sqlite_utils.Database, key: str) -> str | None:
    row = db.conn.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone() if db["meta"].exists() else None
    return row[0] if row else None


def search_fingerprint(db: sqlite_utils.Database) -> str:
    """What the clinics' search index was built from: it needs a rebuild only when this changes."""
    clinics = next(db.query("SELECT count(*) AS n, max(scored_at) AS scored, max(rowid) AS last FROM clinics"))
    pages = next(db.query("SELECT count(*) AS n, max(fetched_at) AS fetched, max(gone_at) AS gone FROM pages"))
    return "|".join(str(v) for v in (*clinics.values(), *pages.values()))


def build_clinic_search(db: sqlite_utils.Database) -> bool:
    """Rebuild the clinics' full-text index from clinics and their live pages, unless nothing it reads
    has changed since the last build; returns whether it rebuilt."""
    fingerprint = search_fingerprint(db)
    built = meta_value(db, "clinic_search")
    if built == fingerprint and db[CLINIC_SEARCH].exists():
        return False
    if db["clinics_fts"].exists():
        # An earlier publish indexed clinics with sqlite-utils triggers; the new index replaces it.
        db["clinics"].disable_fts()
    db.execute(f"DROP TABLE IF EXISTS [{CLINIC_SEARCH}]")
    columns = ", ".join(CLINIC_SEARCH_COLUMNS)
    db.execute(f"CREATE VIRTUAL TABLE [{CLINIC_SEARCH}] USING fts5({columns}, content='', "
               "tokenize='porter unicode61')")
    db.execute(f"""
        INSERT INTO [{CLINIC_SEARCH}] (rowid, {columns})
        SELECT c.rowid, c.name, c.domain, c.street, c.city, c.state, c.zip,
               (SELECT group_concat(coalesce(p.title, '') || ' ' || coalesce(p.text, ''), ' ')
                  FROM pages p WHERE p.domain = c.domain AND p.gone_at IS NULL)
        FROM clinics c""")
    db["meta"].upsert({"key": "clinic_search", "value": fingerprint}, pk="key")
    return True


def sync_site_health(db: sqlite_utils.Database) -> None:
    """Show each clinic's crawl health (ok, stale, unreachable) even when it was not re-scored."""
    db.execute("""UPDATE clinics SET
        site_status = (SELECT status FROM sites WHERE sites.domain = clinics.domain),
        last_crawled_at = COALESCE((SELECT last_success_at FROM sites WHERE sites.domain = clinics.domain),
                                   last_crawled_at)""")


def publish(db: sqlite_utils.Database) -> dict:
    """Build coordinates, the directory order and search indexes; safe to run again, and cheap when
    nothing they are built from has changed (a recrawl of an unchanged web)."""
    with db.conn:
        sync_site_health(db)
        if directory_fingerprint(db) != meta_value(db, "directory"):
            add_coordinates(db)
            rank_tiers(db)
            db["meta"].upsert({"key": "directory", "value": directory_fingerprint(db)}, pk="key")
        located = db.conn.execute("SELECT count(*) FROM clinics WHERE latitude IS NOT NULL").fetchone()[0]
        build_clinic_search(db)
    for table, columns in FTS.items():
        if not db[f"{table}_fts"].exists():  # its triggers keep it current from then on
            db[table].enable_fts(columns, create_triggers=True, tokenize="porter")
    db.execute("ANALYZE")
    return {"clinics": db["clinics"].count, "located": located}
