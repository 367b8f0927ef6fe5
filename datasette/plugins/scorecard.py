"""A clinic's scorecard: the data behind templates/row.html for rows of the clinics table.

Everything returned is plain data; the template escapes it. Links are checked here: only http(s)
URLs (or same-site paths) become hrefs, anything else is shown as text.
"""
from __future__ import annotations

import logging
import sqlite3
from urllib.parse import urlsplit

from datasette import hookimpl
from datasette.utils import urlsafe_components

log = logging.getLogger(__name__)

QUESTIONS = ("physician_led", "monitoring", "screening", "integration_support", "at_home_mail_order")
GOOD = {"yes", "none"}
BAD = {"no", "red_flag"}
HISTORY_LIMIT = 20
CHANGES_LIMIT = 10
_RUBRIC: dict | None = None


def safe_href(url) -> str | None:
    """url when it is safe as an href (http, https or a same-site path), else None."""
    if not isinstance(url, str) or not url or any(ord(ch) < 33 or ch in "\"'<>`\\" for ch in url):
        return None
    if url.startswith("/") and not url.startswith("//"):
        return url
    parts = urlsplit(url)
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def rubric_text() -> dict:
    """Question wording and tier meanings from scoring/rubric.yaml, once; {} when unavailable."""
    global _RUBRIC
    if _RUBRIC is None:
        try:
            from scoring.rubric import load_rubric

            rubric = load_rubric()
            _RUBRIC = {
                "questions": {q.id: {"ask": q.ask, "why": q.why, "verdicts": q.verdicts}
                              for q in rubric.questions.values()},
                "tiers": {t["name"]: t.get("meaning", "") for t in rubric.tiers},
                "red_tier": next((t["name"] for t in rubric.tiers if t["id"] == "red_flag"), None),
            }
        except (ImportError, OSError, ValueError) as exc:  # optional: metadata has fallbacks
            log.warning("scorecard: rubric unavailable, using metadata wording: %s", exc)
            _RUBRIC = {}
    return _RUBRIC


def confidence_words(value) -> str:
    if not isinstance(value, (int, float)):
        return "unknown"
    return "high" if value >= 0.8 else "medium" if value >= 0.6 else "low"


def page_label(url: str) -> str:
    parts = urlsplit(url) if isinstance(url, str) else None
    if not parts or not parts.netloc:
        return str(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _rows(conn, sql: str, params) -> list[dict]:
    try:
        cursor = conn.execute(sql, params)
    except sqlite3.OperationalError as exc:  # an older database without this table or column
        log.warning("scorecard query failed: %s", exc)
        return []
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def fetch(conn, domain: str) -> dict:
    """Every row the scorecard shows, in one trip to the database thread."""
    p = [domain]
    return {
        "clinic": (_rows(conn, "select * from clinics where domain = ?", p) or [None])[0],
        "site": (_rows(conn, "select status, status_reason, stale_since, last_success_at "
                             "from sites where domain = ?", p) or [{}])[0],
        "verdicts": _rows(conn, "select question, verdict, machine_verdict, reviewed_verdict, "
                                "confidence, evidence_count, scored_at from verdicts where domain = ?", p),
        "evidence": _rows(conn, "select question, url, quote, rule_id, polarity from evidence "
                                "where domain = ? order by id", p),
        "history": _rows(conn, "select scored_at, score, tier, rubric_version from score_history "
                               f"where domain = ? order by id desc limit {HISTORY_LIMIT}", p),
        "changes": _rows(conn, "select question, old, new, at from changes where domain = ? "
                               f"order by id desc limit {CHANGES_LIMIT}", p),
        "costs": _rows(conn, "select kind, value, amount, amount_max, quote, url from costs "
                             "where domain = ? order by id", p),
        "reviews": _rows(conn, "select r.question, r.verdict, r.note, r.evidence_url, r.reviewer, r.reviewed_at, "
                               "r.machine_verdict, c.machine_now, c.needs_re_review, "
                               "(select count(*) from reviews o where o.domain = r.domain and o.question = r.question "
                               "and o.superseded_by is not null) as earlier "
                               "from current_reviews c join reviews r on r.id = c.id where r.domain = ?", p),
    }


def review_card(row: dict | None, words: dict) -> dict | None:
    """The review in force on a question, as shown beside the machine reading."""
    if not row:
        return None
    verdict = row.get("verdict")
    return {**row, "words": (words.get(verdict) or verdict.replace("_", " ")) if verdict else None,
            "evidence_href": safe_href(row.get("evidence_url")), "stale": bool(row.get("needs_re_review"))}


def quotes(rows: list[dict]) -> list[dict]:
    """Evidence rows as quotes to show; one quote per sentence and page, listing every rule it matched."""
    shown: dict[tuple, dict] = {}
    for e in rows:
        key = (e["quote"], e["url"], e["polarity"])
        if key in shown:
            shown[key]["rules"].append(e["rule_id"])
            continue
        shown[key] = {"quote": e["quote"], "href": safe_href(e["url"]), "url": e["url"],
                      "page": page_label(e["url"]), "rules": [e["rule_id"]],
                      "supports": e["polarity"] == "for"}
    return list(shown.values())


def question_cards(config: dict, data: dict) -> list[dict]:
    """One card a question: wording, verdict in plain words, evidence, and what to ask."""
    rubric = rubric_text().get("questions", {})
    wording = config.get("questions") or {}
    verdicts = {v["question"]: v for v in data["verdicts"]}
    reviews = {r["question"]: r for r in data.get("reviews", [])}
    order = [q for q in rubric if q in QUESTIONS] or list(QUESTIONS)
    order += [q for q in QUESTIONS if q not in order]
    cards = []
    for qid in order:
        text = {**wording.get(qid, {}), **{k: v for k, v in rubric.get(qid, {}).items() if v}}
        row = verdicts.get(qid) or {}
        verdict = row.get("verdict") or (data["clinic"] or {}).get(qid) or "not_stated"
        default = (text.get("verdicts") or {}).get("default", "none" if qid == "at_home_mail_order" else "not_stated")
        evidence = quotes([e for e in data["evidence"] if e["question"] == qid])
        cards.append({
            "id": qid, "title": text.get("title") or qid.replace("_", " "),
            "ask": text.get("ask"), "why": text.get("why"),
            "verdict": verdict,
            "words": (text.get("words") or {}).get(verdict) or verdict.replace("_", " "),
            "state": "good" if verdict in GOOD else "bad" if verdict in BAD else "unknown",
            "is_default": verdict == default or verdict == "not_stated",
            "reviewed": bool(row.get("reviewed_verdict")),
            "machine_verdict": row.get("machine_verdict"),
            "machine_words": (text.get("words") or {}).get(row.get("machine_verdict") or "")
            or (row.get("machine_verdict") or "").replace("_", " "),
            "review": review_card(reviews.get(qid), text.get("words") or {}),
            "choices": list(dict.fromkeys((text.get("verdicts") or {}).values()))
            or (["red_flag", "none"] if qid == "at_home_mail_order" else ["yes", "no", "not_stated"]),
            "confidence": row.get("confidence"),
            "confidence_words": confidence_words(row.get("confidence")),
            "evidence": evidence,
        })
    return cards


# What it costs: one section a kind of fact, in the order a patient asks; words for each value.
COST_SECTIONS = (
    ("price_per_infusion", "Price of one infusion or session"),
    ("price_series", "Price of a series or package"),
    ("consultation", "First consultation"),
    ("insurance", "Insurance"),
    ("hsa_fsa", "HSA / FSA cards"),
    ("financing", "Financing or payment plans"),
)
COST_WORDS = {
    ("consultation", "free"): "Free", ("insurance", "accepted"): "Takes insurance",
    ("insurance", "not_accepted"): "Does not take insurance (self-pay)",
    ("insurance", "spravato"): "Spravato (esketamine) billed to insurance",
    ("hsa_fsa", "accepted"): "HSA / FSA cards accepted", ("financing", "offered"): "Financing or a payment plan offered",
}


def _money(value) -> str:
    return f"${value:,.0f}" if float(value).is_integer() else f"${value:,.2f}"


def cost_words(row: dict) -> str:
    """A cost fact in words: "$475", "$700–$1,050", "Free", "Takes insurance"."""
    amount, high = row.get("amount"), row.get("amount_max")
    if isinstance(amount, (int, float)) and (row.get("value") != "free"):
        return _money(amount) + (f"–{_money(high)}" if isinstance(high, (int, float)) else "")
    return COST_WORDS.get((row.get("kind"), row.get("value"))) or str(row.get("value") or "").replace("_", " ")


def cost_sections(rows: list[dict]) -> list[dict]:
    """The scorecard's "What it costs": every kind of fact, stated (with quotes) or not."""
    sections = []
    for kind, title in COST_SECTIONS:
        facts = [{"words": cost_words(r), "quote": r["quote"], "href": safe_href(r["url"]), "url": r["url"],
                  "page": page_label(r["url"])} for r in rows if r.get("kind") == kind]
        sections.append({"kind": kind, "title": title, "facts": facts})
    return sections


async def build_scorecard(datasette, database: str, domain: str, actor: dict | None = None) -> dict | None:
    data = await datasette.get_database(database).execute_fn(lambda conn: fetch(conn, domain))
    clinic = data["clinic"]
    if not clinic:
        return None
    config = datasette.plugin_config("clinicvet", database=database) or datasette.plugin_config("clinicvet") or {}
    rubric = rubric_text()
    red_tier = rubric.get("red_tier")
    return {
        "clinic": clinic,
        "site_href": safe_href(clinic.get("site_url")),
        "red_flag": bool(clinic.get("red_flag")) or (red_tier is not None and clinic.get("tier") == red_tier),
        "tier_meaning": rubric.get("tiers", {}).get(clinic.get("tier"), ""),
        "site": data["site"],
        "questions": question_cards(config, data),
        "costs": cost_sections(data.get("costs") or []),
        "history": data["history"],
        "changes": data["changes"],
        "clinic_review": review_card(next((r for r in data["reviews"] if r["question"] == "*"), None), {}),
        "can_review": await datasette.permission_allowed(actor, "clinicvet-review", database, default=False),
        "reviewer": (actor or {}).get("id"),
        "review_action": datasette.urls.path("/-/review"),
        "login_href": datasette.urls.path("/-/login"),
        "database": database,
    }


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    if view_name != "row" or table != "clinics" or request is None:
        return None

    async def scorecard_vars():
        pks = urlsafe_components(request.url_vars.get("pks", ""))
        if len(pks) != 1:
            return {}
        return {"scorecard": await build_scorecard(datasette, database, pks[0], request.actor)}

    return scorecard_vars
