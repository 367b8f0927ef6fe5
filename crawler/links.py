"""Which links of a clinic site are worth a page of the budget, and in what order."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from clinicvet.seeds import site_key

# Files that are never clinic pages.
SKIP_EXTENSIONS = re.compile(
    r"\.(pdf|jpe?g|png|gif|webp|svg|ico|css|js|json|xml|txt|zip|gz|rar|mp[34]|mov|avi|wav|docx?|xlsx?|pptx?|woff2?|ttf|eot|ics)$", re.I)
# Portals, logins, carts, feeds, archives and calendars: no evidence, or endless.
SKIP_PATHS = re.compile(
    r"(^|/)(login|log-in|signin|sign-in|logout|register|account|my-account|portal|patient-portal|client-portal|"
    r"cart|checkout|wp-admin|wp-login|wp-json|feed|rss|tag|tags|category|categories|author|search|calendar|events?/\d|"
    r"page/\d+|\d{4}/\d{2}(/\d{2})?)(/|$)", re.I)
SKIP_QUERY = re.compile(r"(^|&)(replytocom|share|sessionid|sid|phpsessid|jsessionid|date|month|year|calendar|ical|page)=", re.I)

# Words in a URL path or its anchor text and how much they promise vetting evidence.
RELEVANCE = [
    (re.compile(r"team|provider|staff|physician|doctor|clinician|medical-director|who-we-are|our-people|people|meet|bio|about", re.I), 10),
    (re.compile(r"ketamine|spravato|esketamine|infusion|treatment|therapy|kap|service", re.I), 9),
    (re.compile(r"process|what-to-expect|expect|your-visit|how-it-works|safety|screening|candidate|eligib|consult|approach|program", re.I), 9),
    (re.compile(r"faq|question", re.I), 8),
    (re.compile(r"at-home|home|mail|telehealth|online", re.I), 7),
    (re.compile(r"pric|cost|fee|insurance|payment|plan|membership", re.I), 6),
    (re.compile(r"contact|location|visit|directions|office", re.I), 5),
    (re.compile(r"blog|news|article|journal|resources", re.I), 2),
]


def same_site(url: str, key: str) -> bool:
    """True when url is on the site whose key (host without www.) is given."""
    host = urlsplit(url).hostname or ""
    return site_key(host) == key


def skip_reason(url: str) -> str | None:
    """Why a link is not worth fetching, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "not http"
    if SKIP_EXTENSIONS.search(parts.path):
        return "not a web page"
    if SKIP_PATHS.search(parts.path):
        return "portal, archive or calendar"
    if parts.query and SKIP_QUERY.search(parts.query):
        return "session or calendar query"
    if len(url) > 300:
        return "URL too long"
    return None


def relevance(url: str, anchor: str = "") -> int:
    """Score a link: higher means more likely to hold vetting evidence."""
    parts = urlsplit(url)
    haystack = f"{parts.path} {anchor}"
    score = max((weight for pattern, weight in RELEVANCE if pattern.search(haystack)), default=3)
    depth = parts.path.strip("/").count("/")
    return score * 10 - depth * 2 - (5 if parts.query else 0)
