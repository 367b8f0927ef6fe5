"""`clinicvet review` and `clinicvet reviewer`: advocate reviews from the command line."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from clinicvet.review import ReviewError

DB_OPTION = click.option("--db", "db_path", default="clinics.db", show_default=True,
                         type=click.Path(dir_okay=False), help="SQLite database file.")


def _open(db_path: str):
    from clinicvet.db import open_db

    if not Path(db_path).exists():
        raise click.ClickException(f"{db_path}: no such database")
    return open_db(db_path)


def _line(row: dict) -> str:
    verdict = row.get("verdict") or "(note only)"
    flag = "  NEEDS RE-REVIEW" if row.get("needs_re_review") else ""
    old = "  (superseded)" if row.get("superseded_by") else ""
    note = f"  \"{row['note']}\"" if row.get("note") else ""
    return (f"{row['id']:>5}  {row['reviewed_at']}  {row['domain']}  {row['question']}: {verdict}"
            f"  (machine read {row.get('machine_verdict') or '?'}) by {row['reviewer']}{note}{flag}{old}")


@click.group()
def review():
    """Advocates' reviews: confirm or correct machine verdicts, with a note."""


@review.command("set")
@click.argument("domain")
@click.argument("question")
@click.option("--verdict", help="The reviewed verdict (e.g. yes, no, not_stated; red_flag or none; "
                                "confirmed or disputed for '*'). Leave out for a note only.")
@click.option("--note", help="Why: what the reviewer checked.")
@click.option("--evidence-url", help="The page the reviewer relied on (http or https).")
@click.option("--by", "reviewer", required=True, help="The reviewer's name.")
@DB_OPTION
def review_set(domain, question, verdict, note, evidence_url, reviewer, db_path):
    """Review QUESTION of the clinic at DOMAIN (QUESTION '*' is the whole clinic); the score follows."""
    from clinicvet.review import set_review

    db = _open(db_path)
    try:
        row = set_review(db, domain, question, verdict, note, evidence_url, reviewer, via="cli")
    except ReviewError as exc:
        raise click.ClickException(str(exc)) from None
    clinic = next(iter(db.query("select score, tier from clinics where domain = ?", [domain])))
    click.echo(f"review {row['id']}: {domain} {question} {row['verdict'] or '(note only)'} by {row['reviewer']}; "
               f"score {clinic['score']}, {clinic['tier']}", err=True)


@review.command("list")
@click.option("--domain", help="Only this clinic.")
@click.option("--history", is_flag=True, help="Include superseded reviews.")
@DB_OPTION
def review_list(domain, history, db_path):
    """Reviews in force (with --history, every review), flagging those that need a re-review."""
    from clinicvet.review import list_reviews

    rows = list_reviews(_open(db_path), domain, history)
    for row in rows:
        click.echo(_line(row))
    click.echo(f"{len(rows)} reviews, {sum(r['needs_re_review'] for r in rows)} need a re-review", err=True)


@review.command("queue")
@click.option("--limit", type=click.IntRange(1), help="Show at most this many.")
@DB_OPTION
def review_queue(limit, db_path):
    """What to review next, oldest first: re-reviews, red flags, changed and unsure verdicts, unreviewed clinics."""
    from clinicvet.review import review_queue as queue

    rows = queue(_open(db_path), limit)
    for row in rows:
        click.echo(f"{row['since']}  {row['domain']}  {row['question']}  [{row['reasons']}]  {row['details']}")
    click.echo(f"{len(rows)} items in the review queue", err=True)


@review.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="File to write (default: standard output).")
@DB_OPTION
def review_export(fmt, out, db_path):
    """Every review, history included, as CSV or JSON (`review import` reads it back)."""
    from clinicvet.review import export_reviews

    text = export_reviews(_open(db_path), fmt)
    if out:
        Path(out).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@review.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@DB_OPTION
def review_import(file, db_path):
    """Add reviews from a `review export` file (CSV or JSON); reviews already present are skipped."""
    from clinicvet.review import import_reviews, parse_export

    db = _open(db_path)
    try:
        counts = import_reviews(db, parse_export(file.read(), file.name))
    except ReviewError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"import: {counts['added']} reviews added, {counts['already_present']} already present, "
               f"{counts['unknown_clinic']} for clinics not in this directory", err=True)


@click.group()
def reviewer():
    """Who may sign in to the web directory to review (hashed passwords in <db>.reviewers.json)."""


@reviewer.command("add")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input, not a prompt.")
@DB_OPTION
def reviewer_add(name, password_stdin, db_path):
    """Add reviewer NAME (or set a new password); takes effect in a running `serve` at once."""
    from clinicvet.review import add_reviewer, reviewers_path

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    path = reviewers_path(db_path)
    try:
        is_new = add_reviewer(path, name, password)
    except ReviewError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"reviewer {name} {'added' if is_new else 'password changed'} in {path}", err=True)


@reviewer.command("remove")
@click.argument("name")
@DB_OPTION
def reviewer_remove(name, db_path):
    """Remove reviewer NAME; their signed-in sessions can no longer write."""
    from clinicvet.review import remove_reviewer, reviewers_path

    try:
        remove_reviewer(reviewers_path(db_path), name)
    except ReviewError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"reviewer {name} removed", err=True)


@reviewer.command("list")
@DB_OPTION
def reviewer_list(db_path):
    """Names of the reviewers who may sign in."""
    from clinicvet.review import load_reviewers, reviewers_path

    try:
        reviewers = load_reviewers(reviewers_path(db_path))
    except ReviewError as exc:
        raise click.ClickException(str(exc)) from None
    for name, entry in sorted(reviewers.items()):
        click.echo(f"{name}  added {entry.get('added_at', '?')}")

