"""Advocate reviews: set, list, queue, export and import; and the reviewers who may sign in.

A review overrides (or confirms) the machine verdict on one question of a clinic, or notes the
whole clinic (question '*'). Reviews are never edited or deleted: a new one supersedes the last.
After a review the clinic's shown verdicts, score and tier are re-derived from the stored machine
verdicts (scoring.run.apply_reviews); nothing is recrawled.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import sqlite_utils

from clinicvet.db import now

WHOLE_CLINIC = "*"
CLINIC_VERDICTS = ("confirmed", "disputed")  # a whole-clinic review's verdict; it never changes the score
EXPORT_COLUMNS = ("id", "domain", "question", "verdict", "note", "evidence_url", "reviewer", "reviewed_at",
                  "machine_verdict", "superseded_by", "via")
REVIEWER_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")
NOTE_MAX = 4000


class ReviewError(ValueError):
    """A review that cannot be recorded; the message says which field and why."""


def allowed_verdicts(question: str) -> tuple[str, ...]:
    """The verdicts a reviewer may give on a question, from the rubric."""
    if question == WHOLE_CLINIC:
        return CLINIC_VERDICTS
    from scoring.run import default_rubric

    q = default_rubric().questions.get(question)
    if q is None:
        return ()
    return tuple(dict.fromkeys((q.verdicts["for"], q.verdicts["against"], q.verdicts["default"])))


def _check(db: sqlite_utils.Database, domain: str, question: str, verdict: str | None,
           note: str | None, evidence_url: str | None, reviewer: str) -> None:
    if not list(db.query("select 1 from clinics where domain = ?", [domain])):
        raise ReviewError(f"domain {domain!r}: no such clinic in the directory")
    choices = allowed_verdicts(question)
    if not choices:
        raise ReviewError(f"question {question!r}: not a rubric question or '*' (the whole clinic)")
    if verdict is not None and verdict not in choices:
        raise ReviewError(f"verdict {verdict!r}: for {question} use one of {', '.join(choices)} "
                          "(or none for a note only)")
    if verdict is None and not (note or "").strip():
        raise ReviewError("a review needs a verdict, a note, or both")
    if note and len(note) > NOTE_MAX:
        raise ReviewError(f"note: {len(note)} characters, at most {NOTE_MAX}")
    if evidence_url:
        parts = urlsplit(evidence_url)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise ReviewError(f"evidence URL {evidence_url!r}: must be an http(s) URL")
    if not reviewer or not reviewer.strip():
        raise ReviewError("reviewer: a name is required")


def machine_reading(db: sqlite_utils.Database, domain: str, question: str) -> str | None:
    """What the machine reads now: the question's machine verdict, or for '*' all of them as one string."""
    if question == WHOLE_CLINIC:
        sql, params = "select machine as m from machine_snapshots where domain = ?", [domain]
    else:
        sql, params = "select machine_verdict as m from verdicts where domain = ? and question = ?", [domain, question]
    row = next(iter(db.query(sql, params)), None)
    return row["m"] if row else None


def _link(db: sqlite_utils.Database, domain: str, question: str) -> None:
    """Point each review of (domain, question) at the next one; the last is the one in force."""
    ids = [r["id"] for r in db.query("select id from reviews where domain = ? and question = ? "
                                     "order by reviewed_at, id", [domain, question])]
    for this, following in zip(ids, ids[1:] + [None]):
        db.execute("update reviews set superseded_by = ? where id = ? and superseded_by is not ?",
                   [following, this, following])


def _rescore(db: sqlite_utils.Database, domains: list[str], at: str | None = None) -> None:
    from clinicvet.publish import rank_tiers
    from scoring.run import apply_reviews

    apply_reviews(db, domains, at=at)
    with db.conn:
        rank_tiers(db)


def set_review(db: sqlite_utils.Database, domain: str, question: str, verdict: str | None,
               note: str | None, evidence_url: str | None, reviewer: str, via: str = "cli") -> dict:
    """Record a review (superseding the one in force) and re-derive the clinic's score; returns the row."""
    verdict = verdict or None
    _check(db, domain, question, verdict, note, evidence_url, reviewer)
    at = now()
    row = {"domain": domain, "question": question, "verdict": verdict, "note": (note or "").strip() or None,
           "evidence_url": evidence_url or None, "reviewer": reviewer.strip(), "reviewed_at": at,
           "machine_verdict": machine_reading(db, domain, question), "superseded_by": None, "via": via}
    with db.conn:
        row["id"] = db["reviews"].insert(row).last_pk
        _link(db, domain, question)
    _rescore(db, [domain], at=at)
    return row


def list_reviews(db: sqlite_utils.Database, domain: str | None = None, history: bool = False) -> list[dict]:
    """Reviews in force (or every review with history=True), with whether each needs a re-review."""
    where, params = [], []
    if domain:
        where.append("r.domain = ?")
        params.append(domain)
    if not history:
        where.append("r.superseded_by is null")
    sql = ("select r.*, coalesce(c.needs_re_review, 0) as needs_re_review from reviews r "
           "left join current_reviews c on c.id = r.id"
           + (" where " + " and ".join(where) if where else "") + " order by r.domain, r.question, r.id")
    return list(db.query(sql, params))


def review_queue(db: sqlite_utils.Database, limit: int | None = None) -> list[dict]:
    """What needs an advocate's eye, oldest first (the review_queue view)."""
    sql = "select * from review_queue" + (f" limit {int(limit)}" if limit else "")
    return list(db.query(sql))


def export_reviews(db: sqlite_utils.Database, fmt: str) -> str:
    """Every review, history included, as CSV or JSON text."""
    rows = [{k: r[k] for k in EXPORT_COLUMNS} for r in db.query("select * from reviews order by id")]
    if fmt == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def parse_export(text: str, source: str = "export") -> list[dict]:
    """Rows of a CSV or JSON export; ReviewError naming the row when one is malformed."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            rows = json.loads(text)
        except ValueError as exc:
            raise ReviewError(f"{source}: not valid JSON ({exc})") from None
    else:
        rows = list(csv.DictReader(io.StringIO(text)))
    parsed = []
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict) or not {"domain", "question", "reviewer", "reviewed_at"} <= row.keys():
            raise ReviewError(f"{source}: row {n}: needs domain, question, reviewer and reviewed_at")
        clean = {k: (row.get(k) if row.get(k) not in ("",) else None) for k in EXPORT_COLUMNS}
        for key in ("id", "superseded_by"):
            if clean[key] is not None:
                try:
                    clean[key] = int(clean[key])
                except (TypeError, ValueError):
                    raise ReviewError(f"{source}: row {n}: {key} {clean[key]!r} is not a number") from None
        parsed.append(clean)
    return parsed


def import_reviews(db: sqlite_utils.Database, rows: list[dict]) -> dict:
    """Add exported reviews; ones already present (same clinic, question, reviewer and time) are skipped.
    Clinics not in this directory are skipped too. Returns counts."""
    known = {r["domain"] for r in db.query("select domain from clinics")}
    have = {(r["domain"], r["question"], r["reviewer"], r["reviewed_at"])
            for r in db.query("select domain, question, reviewer, reviewed_at from reviews")}
    used_ids = {r["id"] for r in db.query("select id from reviews")}
    added, skipped, unknown, touched = 0, 0, 0, set()
    with db.conn:
        for row in rows:
            if row["domain"] not in known:
                unknown += 1
                continue
            key = (row["domain"], row["question"], row["reviewer"], row["reviewed_at"])
            if key in have:
                skipped += 1
                continue
            _check(db, row["domain"], row["question"], row["verdict"], row["note"], row["evidence_url"],
                   row["reviewer"])
            new = {k: row[k] for k in EXPORT_COLUMNS if k not in ("id", "superseded_by")}
            new["via"] = row["via"] or "import"
            if row["id"] is not None and row["id"] not in used_ids:
                new["id"] = row["id"]  # keep ids where free, so an export into a fresh database round-trips
            used_ids.add(db["reviews"].insert(new).last_pk)
            have.add(key)
            touched.add((row["domain"], row["question"]))
            added += 1
        for domain, question in sorted(touched):
            _link(db, domain, question)
    if touched:
        _rescore(db, sorted({d for d, _ in touched}))
    return {"added": added, "already_present": skipped, "unknown_clinic": unknown}


# Reviewers who may sign in to the web directory. Only PBKDF2 hashes are kept, in a file beside the
# database (never in the repository): <db>.reviewers.json.

def reviewers_path(db_path: str | Path) -> Path:
    """The reviewers file that belongs to a database file."""
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".reviewers.json")


def load_reviewers(path: str | Path) -> dict[str, dict]:
    """name -> {"password_hash", "added_at"}; {} when the file does not exist."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise ReviewError(f"{path}: not a reviewers file ({exc})") from None
    reviewers = data.get("reviewers") if isinstance(data, dict) else None
    if not isinstance(reviewers, dict):
        raise ReviewError(f"{path}: not a reviewers file (no 'reviewers' object)")
    return reviewers


def _save_reviewers(path: Path, reviewers: dict) -> None:
    # Written whole to a private temporary file, then moved into place: never half a file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"reviewers": reviewers}, handle, indent=2, sort_keys=True)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def add_reviewer(path: str | Path, name: str, password: str) -> bool:
    """Add a reviewer or change their password; True when the name is new."""
    from datasette_auth_passwords.utils import hash_password

    if not REVIEWER_NAME.match(name or ""):
        raise ReviewError(f"reviewer name {name!r}: use 1-40 lowercase letters, digits, '.', '_' or '-'")
    if len(password or "") < 10:
        raise ReviewError("password: at least 10 characters")
    path = Path(path)
    reviewers = load_reviewers(path)
    is_new = name not in reviewers
    reviewers[name] = {"password_hash": hash_password(password), "added_at": now()}
    _save_reviewers(path, reviewers)
    return is_new


def remove_reviewer(path: str | Path, name: str) -> None:
    path = Path(path)
    reviewers = load_reviewers(path)
    if name not in reviewers:
        raise ReviewError(f"{path}: no reviewer {name!r}")
    del reviewers[name]
    _save_reviewers(path, reviewers)
