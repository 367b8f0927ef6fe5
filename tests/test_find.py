"""The patients' pages over a real `clinicvet serve` of the demo web: the results page (cards, map,
messages, price range, downloads), the clinics table's default columns, and "What it costs"."""
from __future__ import annotations

import csv
import html
import io
import json
import re
import urllib.parse

import pytest

from datasette.utils import tilde_encode

NORTHGATE = "www.northgate-ketamine.test"  # Columbus, OH 43215; $525 per infusion
BRIGHTPATH = "www.brightpath-ketamine.test"  # Albuquerque, NM; states no price
# Text that only SQL would put on a page.
SQL_TEXT = re.compile(r"\bselect\b[\s\S]{0,200}\bfrom\b|distance_miles\(|zip_latitude\(|\bwhere\b\s+c\.", re.I)


@pytest.fixture(scope="module")
def site(demo_datasette):
    names = [d["name"] for d in demo_datasette.json("/-/databases.json") if not d["name"].startswith("_")]
    return demo_datasette, names[0]


def find(site, **params) -> tuple[int, str]:
    server, db = site
    return server.get(f"/{db}/-/find?" + urllib.parse.urlencode(params))


def visible_text(body: str) -> str:
    """The page's text as a reader sees it: no scripts, styles or tags, entities decoded."""
    body = re.sub(r"<(script|style)\b[\s\S]*?</\1>", " ", body, flags=re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def cards(body: str) -> list[str]:
    return re.findall(r'<li class="cv-card[^"]*">([\s\S]*?)</li>', body)


def test_clinics_near_a_zip_are_cards_with_tier_distance_and_scorecard_link(site):
    server, db = site
    status, body = find(site, zip="43215", miles="25")
    assert status == 200
    [card] = cards(body)
    text = " ".join(visible_text(card).split())
    assert "Northgate Ketamine Clinic" in text
    assert "Strong safety signals" in text and "cv-tone-strong" in card  # words and colour
    assert "Less than a mile away" in text and "Columbus, OH" in text
    assert "$525 per infusion" in text and "(614) 555-0126" in text
    assert f'href="/{db}/clinics/{tilde_encode(NORTHGATE)}"' in card
    assert 'id="cv-map"' in body and "cv-map-data" in body


def test_results_are_ordered_by_distance_and_show_red_flags(site):
    status, body = find(site, zip="84101", miles="500")
    assert status == 200
    miles = [float(m) for m in re.findall(r"<strong>([\d.]+) miles away</strong>", body)]
    assert len(miles) >= 3 and miles == sorted(miles)
    assert "Red flag:" in visible_text(body) and "cv-tone-red" in body


def test_results_page_has_no_sql_but_links_to_it(site):
    server, db = site
    status, body = find(site, zip="43215", miles="25")
    assert not SQL_TEXT.search(visible_text(body)), "SQL text on the patients' results page"
    assert "<textarea" not in body and 'class="sql"' not in body
    assert re.search(rf'href="/{db}/find_clinics\?[^"]*zip=43215', body), "no link to the SQL for advocates"


def test_json_and_csv_are_the_same_results(site):
    server, db = site
    status, body = find(site, zip="84101", miles="500")
    on_page = re.findall(r'<h2 class="cv-card-name"><a href="[^"]+">([^<]+)</a>', body)
    json_href = html.unescape(re.search(r'href="([^"]+\.json\?[^"]+)"', body).group(1))
    csv_href = html.unescape(re.search(r'href="([^"]+\.csv\?[^"]+)"', body).group(1))
    as_json = server.json(json_href)
    assert [html.unescape(n) for n in on_page] == [r["name"] for r in as_json]
    status, text = server.get(csv_href)
    assert status == 200
    assert [r["name"] for r in csv.DictReader(io.StringIO(text))] == [r["name"] for r in as_json]


@pytest.mark.parametrize("zip_code", ["abc", "4321", "432150", "43215x"])
def test_malformed_zip_says_so(site, zip_code):
    status, body = find(site, zip=zip_code)
    assert status == 200
    assert "is not a ZIP code" in visible_text(body) and 'role="alert"' in body
    assert not cards(body)


def test_unknown_zip_says_so(site):
    status, body = find(site, zip="00000", miles="25")
    assert status == 200
    assert "We could not find the ZIP code 00000" in visible_text(body)
    assert not cards(body) and "cv-map-data" not in body


def test_no_clinic_in_range_offers_a_wider_radius(site):
    server, db = site
    status, body = find(site, zip="04101", miles="10")  # Portland, Maine: no demo clinic near
    assert status == 200
    text = " ".join(visible_text(body).split())
    assert "No clinic found within 10 miles of 04101" in text
    wider = re.findall(r'<a href="([^"]+)">Search within (\d+) miles</a>', body)
    assert [int(m) for _, m in wider] == [25, 50]
    status, body = server.get(html.unescape(wider[0][0]))
    assert status == 200 and "Clinics within 25 miles of 04101" in visible_text(body)


def test_search_by_place_without_a_zip(site):
    status, body = find(site, q="Columbus")
    assert status == 200
    assert "Northgate Ketamine Clinic" in visible_text(body)
    status, body = find(site, q='"unbalanced AND (')  # FTS syntax typed by a patient is just words
    assert status == 200 and "No clinic found" in visible_text(body)


def test_price_range_filter(site):
    status, body = find(site, zip="84101", miles="500", max_price="420")
    names = visible_text(body)
    assert "Riverbend Infusion Care" in names  # $395
    assert "Summitcrest Infusions" not in names  # $450
    assert "BrightPath Ketamine" not in names  # states no price
    assert "do not state a price are left out" in " ".join(names.split())
    status, body = find(site, zip="84101", miles="500", min_price="420")
    assert "Summitcrest Infusions" in visible_text(body) and "Riverbend Infusion Care" not in visible_text(body)


def test_bad_price_is_named_not_an_error(site):
    status, body = find(site, zip="43215", max_price="cheap")
    assert status == 200 and "is not an amount in dollars" in visible_text(body)
    assert len(cards(body)) == 1


def test_clinic_with_no_price_says_ask_the_clinic(site):
    server, db = site
    status, body = find(site, q="BrightPath")
    assert "Price not stated on the website: ask the clinic" in " ".join(visible_text(body).split())
    status, body = server.get(f"/{db}/clinics/{tilde_encode(BRIGHTPATH)}")
    section = re.search(r'<section class="cv-costs"[\s\S]*?</section>', body).group(0)
    text = " ".join(visible_text(section).split())
    assert "What it costs" in text
    assert text.count("Not stated: ask the clinic.") >= 4
    assert "Price of one infusion or session Not stated: ask the clinic." in text


def test_scorecard_lists_each_cost_with_its_quote_and_page(site):
    server, db = site
    facts = server.json(f"/{db}/costs.json?_shape=array&domain=www.lanternway-ketamine.test")
    assert {"price_per_infusion", "price_series", "consultation", "insurance", "hsa_fsa", "financing"} <= \
        {f["kind"] for f in facts}
    status, body = server.get(f"/{db}/clinics/{tilde_encode('www.lanternway-ketamine.test')}")
    section = re.search(r'<section class="cv-costs"[\s\S]*?</section>', body).group(0)
    for fact in facts:
        assert html.escape(fact["quote"], quote=False) in section
        assert f'href="{html.escape(fact["url"])}"' in section
    assert "$475" in section and "Not stated" not in section


def test_clinics_table_shows_the_patients_columns_and_keeps_the_rest_in_json(site):
    server, db = site
    status, body = server.get(f"/{db}/clinics")
    assert status == 200
    table = re.search(r'<table class="rows-and-columns cv-clinics">[\s\S]*?</table>', body).group(0)
    headers = [" ".join(visible_text(h).split()).rstrip(" ▼▲") for h in re.findall(r"<th (?!hidden)[\s\S]*?</th>", table)]
    assert headers == ["Clinic", "Safety tier", "Score", "City", "State", "Physician in charge?",
                       "Watched during and after?", "Evaluated first?", "Therapy support?",
                       "Sends ketamine home?", "Price per infusion"]
    assert "col-latitude" not in table and "$525" in table
    row = server.json(f"/{db}/clinics.json?_shape=array&domain={NORTHGATE}")[0]
    assert {"latitude", "domain", "credentials", "price_stated", "takes_insurance", "price_min"} <= set(row)
    status, everything = server.get(f"/{db}/clinics?_cv_all=1")
    assert 'class="rows-and-columns"' in everything and "col-latitude" in everything
    assert '<th hidden data-column="latitude">' in table  # so datasette-cluster-map still draws the map


def test_price_and_insurance_facets(site):
    server, db = site
    facets = server.json(f"/{db}/clinics.json?_size=0")["facet_results"]
    assert {"price_stated", "takes_insurance"} <= set(facets)
    stated = {v["value"]: v["count"] for v in facets["price_stated"]["results"]}
    assert stated.get(1) and stated.get(0)


def test_home_page_forms_lead_to_the_results_page(site):
    server, db = site
    status, body = server.get("/")
    actions = re.findall(r'<form class="cv-form" action="([^"]+)"', body)
    assert actions == [f"/{db}/-/find"] * 2
    assert 'name="zip"' in body and 'name="q"' in body


def test_map_data_cannot_end_its_script_element(site):
    server, db = site
    status, body = find(site, zip="84101", miles="500")
    data = re.search(r'<script type="application/json" id="cv-map-data">([\s\S]*?)</script>', body).group(1)
    assert "<" not in data and ">" not in data
    points = json.loads(data)["points"]
    assert points and all(p["href"].startswith(f"/{db}/clinics/") for p in points)
