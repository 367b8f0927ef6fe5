"""The patients' results page: clinics near a ZIP code or matching a search, as cards and a map.

/<database>/-/find?zip=43215&miles=25&q=&min_price=&max_price= runs the canned query find_clinics
(metadata.yml), so the page, its JSON and CSV (find_clinics.json / .csv) and the SQL advocates read
(find_clinics) are the same results. Crawled text reaches the template as plain strings (escaped
there); the map's data is JSON with <, > and & escaped, so it cannot close its script element.
"""
from __future__ import annotations

import json
import re
from urllib.parse import urlencode

from datasette import hookimpl
from datasette.utils import tilde_decode, tilde_encode
from datasette.utils.asgi import NotFound, Response
from markupsafe import Markup

QUERY = "find_clinics"
DEFAULT_MILES = 25
MILES_CHOICES = (10, 25, 50, 100, 250)
MAX_MILES = 500
TILE_LAYER = "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png"
TILE_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
# Tier rank (clinics.tier_rank) -> (tone, symbol); red flags are "red" whatever the rank.
TONES = {1: ("strong", "✓"), 2: ("some", "◑"), 3: ("few", "!")}
INSURANCE_WORDS = {"yes": "Takes insurance", "no": "Does not take insurance (self-pay)",
                   "spravato": "Spravato billed to insurance; ketamine is self-pay"}
_ZIP = re.compile(r"^\d{5}(?:-\d{4})?$")


def money(value) -> str | None:
    """$475 or $1,100 (no cents unless there are some)."""
    if not isinstance(value, (int, float)):
        return None
    return f"${value:,.0f}" if float(value).is_integer() else f"${value:,.2f}"


def price_words(row: dict) -> str | None:
    low, high, headline = row.get("price_min"), row.get("price_max"), row.get("price_per_infusion")
    if headline is None:
        return None
    words = f"{money(headline)} per infusion"
    if low is not None and high is not None and (low != headline or high != headline):
        words += f" ({money(low)}–{money(high)} by type)" if low != high else ""
    return words


def tel_href(phone) -> str | None:
    digits = re.sub(r"\D", "", str(phone or ""))
    return f"tel:+1{digits[-10:]}" if len(digits) in (10, 11) else None


def card(datasette, database: str, row: dict) -> dict:
    """One result as the template shows it; every value is plain data (escaped by the template)."""
    red = bool(row.get("red_flag"))
    tone, symbol = ("red", "⚠") if red else TONES.get(row.get("tier_rank"), ("unknown", "?"))
    return {
        "name": row.get("name") or row.get("domain"), "tier": row.get("tier") or "Not yet scored",
        "tone": tone, "symbol": symbol, "red_flag": red, "score": row.get("score"),
        "miles": row.get("miles"), "city": row.get("city"), "state": row.get("state"),
        "phone": row.get("phone"), "tel": tel_href(row.get("phone")),
        "price": price_words(row), "insurance": INSURANCE_WORDS.get(row.get("takes_insurance")),
        "href": datasette.urls.row(database, "clinics", tilde_encode(str(row["domain"]))),
        "lat": row.get("latitude"), "lon": row.get("longitude"),
    }


def script_json(value) -> Markup:
    """JSON safe inside a <script> element: no <, > or & left to end it or open a comment (so it is
    Markup: HTML-escaping it would break the JSON, and it holds nothing HTML reads)."""
    return Markup(json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _number(text: str) -> float | None:
    try:
        value = float(text.replace("$", "").replace(",", "").strip())
    except ValueError:
        return None
    return value if value >= 0 else None


def read_params(args) -> tuple[dict, list[str]]:
    """The search as typed, cleaned, and the problems to show (a malformed ZIP, a bad number)."""
    problems = []
    zip_code = (args.get("zip") or "").strip()
    q = (args.get("q") or "").strip()[:200]
    miles_text = (args.get("miles") or "").strip()
    miles = _number(miles_text) if miles_text else DEFAULT_MILES
    if miles is None or miles <= 0:
        problems.append(f"“{miles_text}” is not a distance in miles; showing {DEFAULT_MILES} miles.")
        miles = DEFAULT_MILES
    miles = min(miles, MAX_MILES)
    prices = {}
    for key, words in (("min_price", "lowest"), ("max_price", "highest")):
        text = (args.get(key) or "").strip()
        value = _number(text) if text else None
        if text and value is None:
            problems.append(f"“{text}” is not an amount in dollars; the {words} price was left out.")
        prices[key] = "" if value is None else f"{value:g}"
    if zip_code and not _ZIP.match(zip_code):
        problems.append(f"“{zip_code}” is not a ZIP code. Type the 5 digits of a US ZIP code, "
                        "for example 43215.")
        zip_code = None  # malformed: nothing is searched
    miles_value = int(miles) if float(miles).is_integer() else miles
    return {"zip": zip_code, "q": q, "miles": miles_value, **prices}, problems


def query_string(params: dict, **changes) -> str:
    merged = {**params, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "")})


async def find_page(request, datasette):
    database = tilde_decode(request.url_vars["database"])
    if database not in datasette.databases or database.startswith("_"):
        raise NotFound(f"Database not found: {database}")
    params, problems = read_params(request.args)
    zip_code, q = params["zip"], params["q"]
    here, rows, unknown_zip = None, [], False
    searched = bool(zip_code or q)
    db = datasette.get_database(database)
    if zip_code:
        point = (await db.execute("select zip_latitude(:z) as lat, zip_longitude(:z) as lon",
                                  {"z": zip_code[:5]})).first()
        here = (point["lat"], point["lon"]) if point and point["lat"] is not None else None
        unknown_zip = here is None
    query = await datasette.get_canned_query(database, QUERY, request.actor)
    if query is None:
        raise NotFound(f"{database}: the canned query {QUERY} is not configured")
    sql_params = {"zip": (zip_code or "")[:5], "miles": str(params["miles"]), "q": q,
                  "min_price": params["min_price"], "max_price": params["max_price"]}
    if searched and not unknown_zip:
        result = await db.execute(query["sql"], sql_params)
        rows = [dict(r) for r in result.rows]
    cards = [card(datasette, database, r) for r in rows]
    points = [{k: c[k] for k in ("name", "tier", "tone", "miles", "href", "lat", "lon")}
              for c in cards if isinstance(c["lat"], (int, float)) and isinstance(c["lon"], (int, float))]
    base = datasette.urls.path(f"/{tilde_encode(database)}/-/find")
    query_path = datasette.urls.query(database, QUERY)
    qs = urlencode(sql_params)
    wider = [m for m in MILES_CHOICES + (MAX_MILES,) if m > params["miles"]][:2]
    price_filtered = bool(params["min_price"] or params["max_price"])
    config = datasette.plugin_config("datasette-cluster-map") or {}
    context = {
        "database": database, "params": params, "problems": problems, "searched": searched,
        "unknown_zip": unknown_zip, "here": here, "cards": cards, "price_filtered": price_filtered,
        "map_json": script_json({"points": points, "here": list(here) if here else None,
                                 "tiles": config.get("tile_layer") or TILE_LAYER,
                                 "attribution": TILE_ATTRIBUTION}),
        "has_map": bool(points),
        "miles_choices": sorted(set(MILES_CHOICES) | {params["miles"]}),
        "wider": [{"miles": m, "href": f"{base}?{query_string(params, miles=m)}"} for m in wider],
        "without_price_href": f"{base}?{query_string(params, min_price=None, max_price=None)}",
        "json_href": f"{query_path}.json?{qs}&_shape=array",
        "csv_href": f"{query_path}.csv?{qs}&_size=max",
        "sql_href": f"{query_path}?{qs}",
        "action": base,
        "table_href": datasette.urls.table(database, "clinics"),
    }
    return Response.html(await datasette.render_template("find.html", context, request=request,
                                                         view_name="find"))


@hookimpl
def register_routes():
    return [(r"^/(?P<database>[^/]+)/-/find$", find_page)]

