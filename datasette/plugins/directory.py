"""The directory's look: one metadata block for any database name, and plain-language cells.

Crawled text is hostile: every cell returned here is a plain string (Datasette escapes it) or
Markup built with Markup.format, which escapes its arguments; hrefs are only scorecard paths.
"""
from __future__ import annotations

import copy
import json

from datasette import hookimpl
from datasette.utils import tilde_encode
from markupsafe import Markup

# metadata.yml configures the directory under this database name; Datasette names a database
# after its file's stem, so the block is copied to every database served.
TEMPLATE_DATABASE = "clinics"
QUESTIONS = ("physician_led", "monitoring", "screening", "integration_support", "at_home_mail_order")
VERDICT_WORDS = {"yes": "Yes", "no": "No", "not_stated": "Not stated", "red_flag": "⚠ Red flag",
                 "none": "No sign"}
ROUTE_WORDS = {"iv": "IV infusion", "im": "injection (IM)", "nasal_esketamine": "esketamine nasal spray (Spravato)",
               "nasal_ketamine": "ketamine nasal spray", "oral_sublingual": "tablet / lozenge",
               "at_home": "at home"}
# The clinics table as patients see it by default: the columns they compare, with plain headers.
# Every other column stays in the JSON and CSV, and in the table with ?_cv_all=1 (or _col / _nocol).
PATIENT_COLUMNS = {
    "name": "Clinic", "tier": "Safety tier", "score": "Score", "city": "City", "state": "State",
    "physician_led": "Physician in charge?", "monitoring": "Watched during and after?",
    "screening": "Evaluated first?", "integration_support": "Therapy support?",
    "at_home_mail_order": "Sends ketamine home?", "price_per_infusion": "Price per infusion",
}
INSURANCE_WORDS = {"yes": "Takes insurance", "no": "Self-pay", "spravato": "Spravato only"}
# Tables where "domain" is the primary key: Datasette links those cells itself.
DOMAIN_PK_TABLES = {"clinics", "sites"}


@hookimpl
def startup(datasette):
    # Datasette 0.65 has no wildcard database in metadata, so alias the directory's block.
    databases = datasette._metadata_local.setdefault("databases", {})
    template = databases.get(TEMPLATE_DATABASE)
    if not template:
        return
    for name in datasette.databases:
        if name not in ("_internal", "_memory") and name not in databases:
            databases[name] = copy.deepcopy(template)


def scorecard_path(datasette, database: str, domain: str) -> str:
    """The path of a clinic's scorecard (its row page in the clinics table)."""
    return datasette.urls.row(database, "clinics", tilde_encode(str(domain)))


def routes_words(value) -> str | None:
    try:
        routes = json.loads(value)
    except (TypeError, ValueError):
        return None
    if not isinstance(routes, list):
        return None
    return ", ".join(ROUTE_WORDS.get(str(r), str(r)) for r in routes)


def credentials_words(value) -> str | None:
    try:
        people = json.loads(value)
    except (TypeError, ValueError):
        return None
    if not isinstance(people, list):
        return None
    parts = []
    for person in people:
        if isinstance(person, dict):
            creds = ", ".join(dict.fromkeys(str(c) for c in person.get("credentials") or []))
            parts.append(f"{person.get('name', '')} ({creds})" if creds else str(person.get("name", "")))
    return "; ".join(parts)


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if value is None:
        return None
    if table == "clinics":
        if column in QUESTIONS:
            return VERDICT_WORDS.get(value)
        if column == "name" and row is not None and "domain" in row.keys():
            return Markup('<a href="{}">{}</a>').format(scorecard_path(datasette, database, row["domain"]), value)
        if column == "red_flag":
            return "⚠ Red flag" if value else "No"
        if column == "routes":
            return routes_words(value)
        if column == "credentials":
            return credentials_words(value)
        if column in ("price_per_infusion", "price_min", "price_max") and isinstance(value, (int, float)):
            return f"${value:,.0f}" if float(value).is_integer() else f"${value:,.2f}"
        if column == "price_stated":
            return "Yes" if value else "No"
        if column == "takes_insurance":
            return INSURANCE_WORDS.get(value)
        return None
    if column == "domain" and table not in DOMAIN_PK_TABLES and isinstance(value, str):
        return Markup('<a href="{}">{}</a>').format(scorecard_path(datasette, database, value), value)
    return None


@hookimpl
def extra_template_vars(view_name, table, request):
    """The clinics table page shows PATIENT_COLUMNS unless every column (or a choice) is asked for."""
    if view_name != "table" or table != "clinics" or request is None:
        return None
    if any(k in request.args for k in ("_cv_all", "_col", "_nocol")):
        return {"cv_all_columns": True}
    return {"custom_table_templates": ["_clinics_table.html"], "patient_columns": PATIENT_COLUMNS}
