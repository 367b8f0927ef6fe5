"""Advocate review in the browser: reviewers sign in (datasette-auth-passwords), everyone else reads.

Reviewers and their PBKDF2 password hashes live beside each served database in
<db>.reviewers.json (`clinicvet reviewer add NAME`), never in metadata or the repository. This
plugin hands them to datasette-auth-passwords only when it asks for its plugin configuration, so
/-/metadata.json never shows them, and re-reads the file when it changes. Writing is one POST
route (CSRF-checked by Datasette) allowed only to an actor who is a reviewer of that database now.
"""
from __future__ import annotations

import logging
from pathlib import Path

from datasette import hookimpl
from datasette.utils import tilde_encode
from datasette.utils.asgi import Response
from markupsafe import escape

log = logging.getLogger(__name__)

ACTION = "clinicvet-review"
AUTH_PLUGIN = "datasette-auth-passwords"
REVIEW_PATH = "/-/review"
_CACHE: dict[Path, tuple[float, dict]] = {}


def _reviewers_file(datasette, database: str) -> Path | None:
    from clinicvet.review import reviewers_path

    db = datasette.databases.get(database)
    if db is None or not getattr(db, "path", None) or database.startswith("_"):
        return None
    return reviewers_path(db.path)


def reviewers(datasette, database: str) -> dict:
    """The reviewers of one served database (name -> entry), re-read when the file changes."""
    from clinicvet.review import ReviewError, load_reviewers

    path = _reviewers_file(datasette, database)
    if path is None:
        return {}
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return {}
    cached = _CACHE.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    try:
        entries = load_reviewers(path)
    except ReviewError as exc:
        log.error("%s", exc)
        entries = {}
    _CACHE[path] = (mtime, entries)
    return entries


@hookimpl
def get_metadata(datasette, key, database, table):
    # Only plugin_config() asks for key "plugins"; whole-metadata dumps ask for key None.
    if key != "plugins" or database is not None:
        return {}
    config, actors = {}, {}
    for name in datasette.databases:
        for reviewer, entry in reviewers(datasette, name).items():
            if reviewer not in actors and isinstance(entry, dict) and entry.get("password_hash"):
                config[f"{reviewer}_password_hash"] = entry["password_hash"]
                actors[reviewer] = {"id": reviewer, "clinicvet_reviewer": True}
    if not config:
        return {}
    return {"plugins": {AUTH_PLUGIN: {**config, "actors": actors}}}


@hookimpl
def permission_allowed(datasette, actor, action, resource):
    if action != ACTION:
        return None
    # Checked against the file on every write, so removing a reviewer takes effect at once.
    return bool(actor and actor.get("clinicvet_reviewer") and actor.get("id") in reviewers(datasette, resource))


async def can_review(datasette, actor, database: str) -> bool:
    return await datasette.permission_allowed(actor, ACTION, database, default=False)


def _refuse(datasette, status: int, message: str) -> Response:
    login = datasette.urls.path("/-/login")
    return Response.html(f"<!DOCTYPE html><title>Not allowed</title><p>{escape(message)}</p>"
                         f'<p><a href="{escape(login)}">Reviewers sign in here</a>.</p>', status=status)


async def review_post(request, datasette):
    from clinicvet.review import ReviewError, set_review

    if request.method != "POST":
        return _refuse(datasette, 405, "Reviews are sent from the form on a clinic's scorecard.")
    form = await request.post_vars()
    database = form.get("database") or ""
    if database not in datasette.databases or database.startswith("_"):
        return _refuse(datasette, 404, "No such database.")
    if not await can_review(datasette, request.actor, database):
        return _refuse(datasette, 403, "Only signed-in reviewers can change reviews; everyone else can read them.")
    domain, question = form.get("domain") or "", form.get("question") or ""
    reviewer = request.actor["id"]

    def write(conn):
        import sqlite_utils

        return set_review(sqlite_utils.Database(conn), domain, question, form.get("verdict") or None,
                          form.get("note"), form.get("evidence_url") or None, reviewer, via="web")

    back = datasette.urls.row(database, "clinics", tilde_encode(domain)) + (
        f"#q-{question}" if question != "*" else "")
    try:
        row = await datasette.get_database(database).execute_write_fn(write, block=True)
    except ReviewError as exc:
        datasette.add_message(request, f"Review not saved: {exc}", datasette.ERROR)
        return Response.redirect(back)
    datasette.add_message(request, f"Review {row['id']} saved: {question} "
                                   f"{row['verdict'] or '(note only)'} by {reviewer}.", datasette.INFO)
    return Response.redirect(back)


@hookimpl
def register_routes():
    return [(rf"^{REVIEW_PATH}$", review_post)]
