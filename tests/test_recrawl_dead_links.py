"""A link that answered 404/410 is not asked again by every recrawl, only days later; stored pages always are."""
from conftest import backdate, crawl_requests, rows

SITE = "www.lanternway-ketamine.test"
DEAD = "/our-doctors/"  # linked from the home page, no such page (yet)


def link_a_missing_page(root):
    home = root / SITE / "index.html"
    html = home.read_text(encoding="utf-8")
    home.write_text(html.replace("</main>", f'<p><a href="{DEAD}">Meet our doctors</a></p></main>', 1),
                    encoding="utf-8")


def test_dead_link_is_asked_again_only_after_the_recheck_period(recording_web, tmp_path):
    root, server = recording_web
    db = tmp_path / "clinics.db"
    link_a_missing_page(root)
    assert (SITE, DEAD) in crawl_requests("run", db, server)
    assert rows(db, "SELECT status FROM fetch_log WHERE url = ?", [f"http://{SITE}{DEAD}"]) == [{"status": 404}]

    again = crawl_requests("recrawl", db, server)
    assert (SITE, DEAD) not in again
    assert (SITE, "/") in again and (SITE, "/pricing/") in again, "the site's stored pages are still checked"
    dead = rows(db, "SELECT count(DISTINCT url) AS n FROM fetch_log WHERE crawl_id = 1 AND status IN (404, 410)")
    crawl = rows(db, "SELECT errors, dead_links_skipped FROM crawls WHERE id = 2")[0]
    assert crawl == {"errors": 0, "dead_links_skipped": dead[0]["n"]} and dead[0]["n"] > 1

    # The page appears; six days after the 404 the link still waits, after eight it is asked and stored.
    (root / SITE / DEAD.strip("/")).mkdir()
    (root / SITE / DEAD.strip("/") / "index.html").write_text(
        "<html><body><main><h1>Our doctors</h1><p>Dr. Ada Lin, MD, a board-certified anesthesiologist, "
        "leads every infusion.</p></main></body></html>", encoding="utf-8")
    backdate(db, "fetch_log", "at", "6 days")
    assert (SITE, DEAD) not in crawl_requests("recrawl", db, server)
    backdate(db, "fetch_log", "at", "8 days")
    assert (SITE, DEAD) in crawl_requests("recrawl", db, server)
    page = rows(db, "SELECT status, text FROM pages WHERE url = ?", [f"http://{SITE}{DEAD}"])
    assert page and page[0]["status"] == 200 and "anesthesiologist" in page[0]["text"]


def test_recheck_period_zero_asks_every_time_and_a_gone_page_is_always_asked(recording_web, tmp_path):
    root, server = recording_web
    db = tmp_path / "clinics.db"
    link_a_missing_page(root)
    crawl_requests("run", db, server)
    assert (SITE, DEAD) in crawl_requests("recrawl", db, server, "--recheck-dead-links-after", "0")

    # A stored page that went missing is evidence that may come back: every recrawl asks for it.
    (root / SITE / "faq" / "index.html").unlink()
    crawl_requests("recrawl", db, server)
    assert rows(db, "SELECT gone_at IS NOT NULL AS gone FROM pages WHERE url = ?", [f"http://{SITE}/faq/"]) == [
        {"gone": 1}]
    assert (SITE, "/faq/") in crawl_requests("recrawl", db, server)
