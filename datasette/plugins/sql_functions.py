"""SQL helpers for the directory: great-circle distance, ZIP code coordinates (offline), search words."""
from __future__ import annotations

import math
from functools import lru_cache

from datasette import hookimpl

EARTH_RADIUS_MILES = 3958.8


def distance_miles(lat1, lon1, lat2, lon2) -> float | None:
    """Haversine distance in miles; NULL when any coordinate is missing or not a number."""
    try:
        p1, p2 = math.radians(float(lat1)), math.radians(float(lat2))
        dp, dl = p2 - p1, math.radians(float(lon2) - float(lon1))
    except (TypeError, ValueError):
        return None
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(a)))


@lru_cache(maxsize=4096)
def zip_point(zip_code: str) -> tuple[float, float] | None:
    """(latitude, longitude) of a US ZIP code's centre from the bundled zipcodes data, or None."""
    import zipcodes

    code = zip_code.strip()[:5]
    if len(code) != 5 or not code.isdigit():
        return None
    try:
        match = zipcodes.matching(code)
    except (ValueError, TypeError):
        return None
    if not match:
        return None
    return float(match[0]["lat"]), float(match[0]["long"])


def zip_latitude(zip_code) -> float | None:
    point = zip_point(str(zip_code)) if zip_code is not None else None
    return point[0] if point else None


def zip_longitude(zip_code) -> float | None:
    point = zip_point(str(zip_code)) if zip_code is not None else None
    return point[1] if point else None


def fts_words(text) -> str:
    """An FTS5 query matching every word typed, each quoted so that no character is FTS syntax."""
    from datasette.utils import escape_fts

    return escape_fts(str(text or "")) or '""'


@hookimpl
def prepare_connection(conn):
    conn.create_function("fts_words", 1, fts_words, deterministic=True)
    conn.create_function("distance_miles", 4, distance_miles, deterministic=True)
    conn.create_function("zip_latitude", 1, zip_latitude, deterministic=True)
    conn.create_function("zip_longitude", 1, zip_longitude, deterministic=True)
