"""The clinicvet command line: crawl, score, publish, serve, and the demo."""
from __future__ import annotations

import atexit
import gc
import os
import subprocess
import sys
from pathlib import Path

import click

from clinicvet.review_cli import review, reviewer
from clinicvet.seeds import SeedsError, read_seeds

ROOT = Path(__file__).resolve().parent.parent
DATASETTE_DIR = ROOT / "datasette"
DB_OPTION = click.option("--db", "db_path", default="clinics.db", show_default=True,
                         type=click.Path(dir_okay=False), help="SQLite database file.")
SEEDS_OPTION = click.option("--seeds", "seeds_file", required=True, type=click.Path(exists=True, dir_okay=False),
                            help="CSV with name,url[,city,state].")


def fail(message: str) -> None:
    """Print a one-line error and exit 1."""
    raise click.ClickException(message)


def echo_progress(totals: dict) -> None:
    line = f"crawl: sites {totals['sites_done']}/{totals['sites']}  pages {totals['pages']}  errors {totals['errors']}"
    if sys.stderr.isatty():
        click.echo(f"\r{line}", nl=False, err=True)
    else:
        click.echo(line, err=True)


def crawl_options(fn):
    """The options every crawling command takes; they reach do_crawl as keyword arguments."""
    fn = click.option("--timeout", type=click.FloatRange(0.1),
                      help="Seconds to wait for one page before giving up on it (default 20).")(fn)
    fn = click.option("--max-pages", type=click.IntRange(1), help="Pages per site (default 25).")(fn)
    fn = click.option("--delay", type=click.FloatRange(0), help="Seconds between requests to one site (default 1).")(fn)
    fn = click.option("--depth", type=click.IntRange(0), help="Link depth from the home page (default 4).")(fn)
    fn = click.option("--unreachable-after", type=click.IntRange(1),
                      help="Failed crawls in a row before a site shows as unreachable (default 3).")(fn)
    fn = click.option("--silent", is_flag=True, help="No progress output.")(fn)
    return fn


def do_crawl(db_path: str, seeds_file: str, kind: str, max_pages=None, delay=None, depth=None, timeout=None,
             unreachable_after=None, silent=False, dead_link_days=None):
    # Importing Scrapy and Twisted makes a few hundred thousand objects and no garbage: the collector,
    # paused meanwhile, would only walk them again and again (a tenth of the import time).
    gc.disable()
    try:
        from crawler.run import LockedError, run_crawl
    finally:
        gc.enable()

    try:
        seeds = read_seeds(seeds_file)
    except SeedsError as exc:
        fail(str(exc))
    overrides = {}
    if max_pages:
        overrides["CLINICVET_MAX_PAGES"] = max_pages
    if delay is not None:
        overrides.update(DOWNLOAD_DELAY=delay, AUTOTHROTTLE_START_DELAY=delay,
                         AUTOTHROTTLE_ENABLED=delay > 0)
    if depth is not None:
        overrides["CLINICVET_DEPTH_LIMIT"] = depth
    if timeout:
        overrides["DOWNLOAD_TIMEOUT"] = timeout
    if unreachable_after:
        overrides["CLINICVET_UNREACHABLE_AFTER"] = unreachable_after
    if dead_link_days is not None:
        overrides["CLINICVET_DEAD_LINK_DAYS"] = dead_link_days
    try:
        summary = run_crawl(db_path, seeds, seeds_file=str(seeds_file), kind=kind, overrides=overrides,
                            progress=None if silent else echo_progress)
    except LockedError as exc:
        fail(str(exc))
    except OSError as exc:  # e.g. the lock file beside the database cannot be created
        fail(f"{exc.filename or db_path}: {exc.strerror or exc}")
    # A crawl leaves a large heap behind; the interpreter's last collection at exit would walk it all for
    # a tenth of a second, to free memory the process is about to give back. Files and databases are
    # closed explicitly before then.
    atexit.register(gc.freeze)
    if not silent and sys.stderr.isatty():
        click.echo(err=True)
    resumed = f" (resumed crawl, {summary.sites_skipped} sites already done)" if summary.resumed else ""
    unchanged = f", {summary.not_modified} unchanged" if kind == "recrawl" else ""
    if summary.dead_links_skipped:
        unchanged += f", {summary.dead_links_skipped} dead links not asked again"
    click.echo(f"{kind} {summary.crawl_id}: {summary.sites} sites, {summary.pages_fetched} pages{unchanged}, "
               f"{summary.errors} errors, {len(summary.failed_sites)} sites failed, "
               f"{summary.duration_s:.1f}s{resumed}", err=True)
    for site in summary.failed_sites[:20]:
        click.echo(f"  failed: {site['domain']}: {site['status_reason']}", err=True)
    if summary.status != "ok":
        fail(f"{kind} {summary.crawl_id} {summary.status}" +
             (": every site failed" if summary.status == "failed" else "; run the same command again to finish it"))
    return summary


def do_score(db_path: str, domains: list[str] | None = None) -> None:
    if domains is not None and not domains:
        click.echo("score: no site changed, nothing to re-score", err=True)
        return
    from clinicvet.db import open_db
    from scoring.run import score_db

    db = open_db(db_path)
    summary = score_db(db, domains=domains)
    tiers = ", ".join(f"{count} {tier}" for tier, count in sorted(summary.get("tiers", {}).items()))
    click.echo(f"score: {summary['sites']} sites, {summary['red_flags']} red flags, {summary['changes']} changes"
               f" (rubric {summary['rubric_version']}){': ' + tiers if tiers else ''}", err=True)


def do_publish(db_path: str) -> None:
    from clinicvet.db import open_db
    from clinicvet.publish import publish

    db = open_db(db_path)
    summary = publish(db)
    click.echo(f"publish: {summary['clinics']} clinics, {summary['located']} located on the map", err=True)


def do_verify(db_path: str, registry_url: str | None = None, nppes_file: str | None = None,
              domains: list[str] | None = None, fatal: bool = True, silent: bool = False) -> dict | None:
    """Run verify; errors end the command when fatal, else they are reported in one line and the run goes on."""
    from clinicvet.db import open_db
    from clinicvet.npi import LocalRegistry, NppesFileError, Registry, registry_url as default_url
    from clinicvet.verify import RegistryUnavailable, verify_db

    if domains is not None and not domains:
        click.echo("verify: no clinic changed or due, nothing to check", err=True)
        return None
    db = open_db(db_path)
    if nppes_file:
        try:
            counts = import_nppes_file(db, nppes_file)
        except NppesFileError as exc:
            fail(str(exc))
        click.echo(f"verify: {nppes_file}: {counts['rows']} rows, {counts['individuals']} individuals, "
                   f"{counts['kept']} kept (names the clinics give)", err=True)
        registry = LocalRegistry(db)
    else:
        registry = Registry(db, url=default_url(registry_url))
    progress = None
    if not silent and sys.stderr.isatty():
        def progress(done, total):
            click.echo(f"\rverify: clinics {done}/{total}", nl=False, err=True)
    try:
        summary = verify_db(db, registry, domains=domains, progress=progress)
    except RegistryUnavailable as exc:
        s = exc.summary
        message = (f"verify: NPI registry unavailable, stopped after {s['checked']} of {s['clinicians']} clinicians "
                   f"named so far (earlier answers kept): {exc}")
        if fatal:
            fail(message)
        click.echo(message, err=True)
        return s
    finally:
        if progress:
            click.echo(err=True)
    click.echo(f"verify: {summary['clinics']} clinics, {summary['clinicians']} clinicians named: "
               f"{summary['match']} match, {summary['ambiguous']} ambiguous, {summary['not_found']} not found, "
               f"{summary['mismatch']} mismatch; {summary['requests']} registry requests"
               f" ({registry.cache_hits} answers from the cache)", err=True)
    if summary["errors"]:
        message = (f"verify: {summary['errors']} lookups failed (earlier answers kept): {summary['first_error']}")
        if fatal:
            fail(message)
        click.echo(message, err=True)
    return summary


def import_nppes_file(db, path: str) -> dict:
    from clinicvet.npi import import_nppes
    from clinicvet.verify import last_names

    return import_nppes(db, path, last_names=last_names(db))


def verify_options(fn):
    """The registry options of commands that run verify."""
    fn = click.option("--no-verify", is_flag=True, help="Skip the NPI registry check.")(fn)
    fn = click.option("--registry-url", metavar="URL",
                      help="NPI registry API (default: $CLINICVET_NPI_URL, else the CMS NPPES API).")(fn)
    return fn


def datasette_command(db_path: str, port: int, host: str = "127.0.0.1") -> list[str]:
    """The datasette command line that serves db_path with the project's metadata, templates and plugins."""
    return [sys.executable, "-m", "datasette", "serve", str(db_path),
            "--metadata", str(DATASETTE_DIR / "metadata.yml"),
            "--template-dir", str(DATASETTE_DIR / "templates"),
            "--plugins-dir", str(DATASETTE_DIR / "plugins"),
            "--static", f"clinicvet-static:{DATASETTE_DIR / 'static'}",
            # Facet suggestions cost more than the rest of a table page; the facets are configured.
            "--setting", "suggest_facets", "off",
            "--host", host, "--port", str(port)]


class Commands(click.Group):
    """The command group; a database file that cannot be used ends any command with one line."""

    def invoke(self, ctx):
        from clinicvet.db import DatabaseFileError

        try:
            return super().invoke(ctx)
        except DatabaseFileError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=Commands)
@click.version_option(package_name="clinicvet")
def cli():
    """Find ketamine clinics and see, question by question, whether they look safe."""


@cli.command()
@SEEDS_OPTION
@DB_OPTION
@crawl_options
def crawl(db_path, seeds_file, **options):
    """Crawl each seed clinic website politely and store its pages."""
    do_crawl(db_path, seeds_file, "crawl", **options)


@cli.command()
@DB_OPTION
def score(db_path):
    """Rate every crawled clinic on the vetting questions, with quoted evidence."""
    if not Path(db_path).exists():
        fail(f"{db_path}: no such database; run `clinicvet crawl` first")
    do_score(db_path)


@cli.command()
@DB_OPTION
def publish(db_path):
    """Build search indexes and map coordinates so the database is ready to browse."""
    if not Path(db_path).exists():
        fail(f"{db_path}: no such database; run `clinicvet crawl` first")
    do_publish(db_path)


@cli.command()
@DB_OPTION
@click.option("--port", default=8001, show_default=True, type=click.IntRange(0, 65535))
@click.option("--host", default="127.0.0.1", show_default=True)
def serve(db_path, port, host):
    """Serve the directory as a browsable Datasette."""
    if not Path(db_path).exists():
        fail(f"{db_path}: no such database")
    from clinicvet.db import DatabaseFileError, open_db

    try:  # an older database gains the tables and views the directory reads (reviews, review queue)
        open_db(db_path).conn.close()
    except DatabaseFileError as exc:  # e.g. a read-only copy: serve it as it is, without reviewing
        import sqlite3

        try:  # but a file that cannot even be read is no directory: say so now, not on every page
            with sqlite3.connect(f"file:{Path(db_path).resolve()}?mode=ro", uri=True) as conn:
                conn.execute("SELECT count(*) FROM clinics").fetchone()
        except sqlite3.DatabaseError as unreadable:
            fail(f"{db_path}: not a usable SQLite database ({unreadable}); nothing to serve")
        click.echo(f"serve: not upgrading the database: {exc}", err=True)
    os.execv(sys.executable, datasette_command(db_path, port, host))


@cli.command()
@DB_OPTION
@click.option("--registry-url", metavar="URL",
              help="NPI registry API (default: $CLINICVET_NPI_URL, else the CMS NPPES API).")
@click.option("--nppes-file", type=click.Path(exists=True, dir_okay=False),
              help="Read the monthly NPPES data file (CSV) instead of asking the API.")
@click.option("--silent", is_flag=True, help="No progress output.")
def verify(db_path, registry_url, nppes_file, silent):
    """Look up the clinicians each clinic names in the national NPI registry."""
    if not Path(db_path).exists():
        fail(f"{db_path}: no such database; run `clinicvet crawl` first")
    do_verify(db_path, registry_url, nppes_file, silent=silent)


@cli.command()
@SEEDS_OPTION
@DB_OPTION
@crawl_options
@verify_options
def run(db_path, seeds_file, registry_url, no_verify, **options):
    """Crawl, score, check named clinicians in the NPI registry and publish in one go."""
    do_crawl(db_path, seeds_file, "crawl", **options)
    do_score(db_path)
    if not no_verify:
        do_verify(db_path, registry_url, fatal=False, silent=options.get("silent"))
    do_publish(db_path)


@cli.command()
@SEEDS_OPTION
@DB_OPTION
@crawl_options
@click.option("--recheck-dead-links-after", "dead_link_days", type=click.FloatRange(0), metavar="DAYS",
              help="Ask a link that answered 404/410 again only this many days later (default 7; 0: every time).")
@verify_options
def recrawl(db_path, seeds_file, registry_url, no_verify, **options):
    """Recrawl incrementally, re-score changed sites and publish; exit 1 with a reason if anything failed."""
    summary = do_crawl(db_path, seeds_file, "recrawl", **options)
    from clinicvet.db import open_db

    db = open_db(db_path)
    # Judged from the tables, not from this run alone: a run killed between storing a changed page and
    # scoring it leaves that page newer than the clinic's score, and the next run scores it.
    outdated = [r["domain"] for r in db.query("""
        SELECT s.domain FROM sites s LEFT JOIN clinics c ON c.domain = s.domain
        WHERE c.scored_at IS NULL OR EXISTS (
            SELECT 1 FROM pages p WHERE p.domain = s.domain AND (p.fetched_at > c.scored_at OR p.gone_at > c.scored_at))""")]
    db.conn.close()
    changed = sorted(set(summary.changed_domains) | set(outdated))
    do_score(db_path, changed)
    if not no_verify:
        # A registry failure never fails the recrawl: reported in one line, earlier answers kept.
        from clinicvet.npi import CACHE_DAYS
        from clinicvet.verify import domains_due

        db = open_db(db_path)
        due = sorted(set(changed) | set(domains_due(db, CACHE_DAYS)))
        db.conn.close()
        do_verify(db_path, registry_url, domains=due, fatal=False, silent=options.get("silent"))
    do_publish(db_path)
    if summary.failed_sites:
        first = summary.failed_sites[0]
        fail(f"recrawl {summary.crawl_id}: {len(summary.failed_sites)} of {summary.sites} sites failed "
             f"(kept their last good data), e.g. {first['domain']}: {first['status_reason']}")


@cli.command()
@DB_OPTION
@click.option("--port", default=8001, show_default=True, type=click.IntRange(0, 65535))
@click.option("--no-serve", is_flag=True, help="Stop after publishing.")
def demo(db_path, port, no_serve):
    """Start the bundled demo web on 127.0.0.1, crawl, score, publish, then serve it."""
    from clinicvet.demo import SEEDS_FILE, SITES_DIR
    from clinicvet.demo.server import start_in_thread

    from clinicvet.demo.registry import start_registry

    web = start_in_thread(SITES_DIR)
    registry = start_registry()
    os.environ.update(http_proxy=web.url, HTTP_PROXY=web.url, no_proxy="", NO_PROXY="")
    click.echo(f"demo web of {len(list(SITES_DIR.iterdir()))} sites on {web.url}; "
               f"NPI registry replay (fictional people) on {registry.url}", err=True)
    do_crawl(db_path, str(SEEDS_FILE), "crawl", delay=0.0)
    do_score(db_path)
    do_verify(db_path, registry.url, fatal=False)
    do_publish(db_path)
    if no_serve:
        return
    click.echo(f"serving on http://127.0.0.1:{port}/  (Ctrl-C to stop)", err=True)
    sys.exit(subprocess.call(datasette_command(db_path, port)))


@cli.command()
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), help="Write the seeds CSV here (default: standard output).")
def discover(config, out):
    """Turn a directory listing page (URL + CSS selectors in a YAML file) into seed rows."""
    from clinicvet.discover import DiscoverError, discover as find, load_listing, to_csv

    try:
        rows, problems = find(load_listing(config))
    except DiscoverError as exc:
        fail(str(exc))
    for problem in problems:
        click.echo(f"skipped: {problem}", err=True)
    if not rows:
        fail(f"{config}: no clinics found on the listing")
    if out:
        Path(out).write_text(to_csv(rows), encoding="utf-8")
    else:
        click.echo(to_csv(rows), nl=False)
    click.echo(f"discover: {len(rows)} seed rows", err=True)


@cli.command("eval")
@click.argument("labels", type=click.Path(exists=True, dir_okay=False))
@DB_OPTION
@click.option("--shown", is_flag=True, help="Compare the shown verdicts (reviews applied), not the machine's.")
def evaluate(labels, db_path, shown):
    """Compare verdicts with a labelled corpus: confusion tables, accuracy, red-flag precision and recall."""
    from scoring.eval import evaluate as compare, format_report

    if not Path(db_path).exists():
        fail(f"{db_path}: no such database; run `clinicvet run` over the labelled sites first")
    report = compare(db_path, labels, use_machine=not shown)
    click.echo(format_report(report))
    if report.sites == 0:
        fail(f"{labels}: no labelled site is in {db_path}")


@cli.command("demo-web")
@click.option("--root", type=click.Path(exists=True, file_okay=False), help="Folder of sites/<domain>/ (default: the bundled demo web).")
@click.option("--port", default=0, type=click.IntRange(0, 65535), help="0 picks a free port.")
def demo_web(root, port):
    """Serve a folder of fictional sites on 127.0.0.1, as web server and HTTP proxy."""
    from clinicvet.demo import SITES_DIR
    from clinicvet.demo.server import SiteServer

    server = SiteServer(root or SITES_DIR, port)
    click.echo(f"{server.url}", err=False)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


cli.add_command(review)
cli.add_command(reviewer)
