"""`clinicvet discover` turns a listing page, served on 127.0.0.1, into valid seed rows."""
import pytest

from clinicvet.demo.server import start_in_thread
from clinicvet.seeds import read_seeds
from conftest import run_cli

LISTING = """<html><body><h1>Ketamine clinics</h1>
<div class="card"><h3 class="n">Alpha  Ketamine</h3><a class="site" href="http://www.alpha.test/">Website</a>
  <span class="c">Austin</span><span class="s">TX</span></div>
<div class="card"><h3 class="n">Beta Infusions</h3><a class="site" href="https://beta.test">Website</a>
  <span class="c">Reno</span><span class="s">NV</span></div>
<div class="card"><h3 class="n">Alpha again</h3><a class="site" href="http://alpha.test/about">Website</a></div>
<div class="card"><h3 class="n">Broken</h3><a class="site" href="ftp://gamma.test/">Website</a></div>
<a class="next" href="/page2.html">Next</a></body></html>"""
PAGE2 = """<html><body><div class="card"><h3 class="n">Delta Mind</h3><a class="site" href="http://www.delta.test/">W</a>
<span class="c">Boise</span><span class="s">ID</span></div></body></html>"""
CONFIG = """url: http://www.listing.test/
item: div.card
name: h3.n::text
link: a.site::attr(href)
city: span.c::text
state: span.s::text
next: a.next::attr(href)
"""


@pytest.fixture
def listing_web(tmp_path):
    site = tmp_path / "sites" / "www.listing.test"
    site.mkdir(parents=True)
    (site / "index.html").write_text(LISTING)
    (site / "page2.html").write_text(PAGE2)
    server = start_in_thread(tmp_path / "sites")
    yield server
    server.shutdown()


def test_discover_writes_valid_seeds(listing_web, tmp_path):
    config = tmp_path / "listing.yml"
    config.write_text(CONFIG)
    out = tmp_path / "seeds.csv"
    result = run_cli(["discover", config, "--out", out], proxy_url=listing_web.url)
    seeds = read_seeds(out)
    assert [(s.name, s.domain, s.city, s.state) for s in seeds] == [
        ("Alpha Ketamine", "www.alpha.test", "Austin", "TX"),
        ("Beta Infusions", "beta.test", "Reno", "NV"),
        ("Delta Mind", "www.delta.test", "Boise", "ID"),
    ]
    assert "http://www.listing.test/ item 4: URL must start with http" in result.stderr


def test_discover_config_with_unknown_key_is_refused(tmp_path):
    config = tmp_path / "listing.yml"
    config.write_text(CONFIG + "selector: oops\n")
    result = run_cli(["discover", config], check=False)
    assert result.returncode == 1
    assert f"{config}: unknown key(s) selector" in result.stderr
