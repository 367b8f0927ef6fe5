"""The page budget goes to evidence pages first, and a sitemap reveals pages no link points to."""
import sqlite3

import pytest

from clinicvet.demo.server import start_in_thread
from conftest import run_cli

JUNK = [f"gallery-{i}" for i in range(20)]


@pytest.fixture
def web(tmp_path):
    site = tmp_path / "sites" / "www.budget.test"
    links = "".join(f'<a href="/{p}/">{p}</a>' for p in JUNK) + '<a href="/our-team/">Our team</a><a href="/faq/">FAQ</a>'
    (site).mkdir(parents=True)
    (site / "index.html").write_text(f"<html><body><nav>{links}</nav><p>Welcome.</p></body></html>")
    for page in JUNK + ["our-team", "faq", "hidden-pricing"]:
        (site / page).mkdir()
        (site / page / "index.html").write_text(f"<html><body><h1>{page}</h1></body></html>")
    (site / "sitemap.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>http://www.budget.test/hidden-pricing/</loc></url></urlset>")
    (tmp_path / "seeds.csv").write_text("name,url\nBudget Clinic,http://www.budget.test/\n")
    server = start_in_thread(tmp_path / "sites")
    yield tmp_path, server
    server.shutdown()


def fetched(db):
    return {r[0].split("/")[3] for r in sqlite3.connect(db).execute("SELECT url FROM pages")}


def test_budget_is_spent_on_evidence_pages_first(web):
    root, server = web
    db = root / "budget.db"
    run_cli(["crawl", "--seeds", root / "seeds.csv", "--db", db, "--delay", "0", "--max-pages", "4", "--silent"],
            proxy_url=server.url)
    assert fetched(db) == {"", "our-team", "faq", "hidden-pricing"}


def test_sitemap_pages_are_crawled(web):
    root, server = web
    db = root / "all.db"
    run_cli(["crawl", "--seeds", root / "seeds.csv", "--db", db, "--delay", "0", "--silent"], proxy_url=server.url)
    assert "hidden-pricing" in fetched(db)
    assert len(fetched(db)) == 24  # home + 20 gallery pages + team + faq + sitemap-only page: under the cap of 25
