"""Make the database ready to browse: coordinates, full-text search, indexes."""
from __future__ import annotations

import logging

import sqlite_utils

log = logging.getLogger(__name__)

FTS = {
    "clinics": ["name", "city", "state", "zip", "street"],
    "pages": ["title", "text"],
}


def add_coordinates(db: sqlite_utils.Database) -> int:
    """Fill clinics.latitude/longitude from the ZIP code, offline; returns rows located."""
    import zipcodes

    located = []
    for row in db.query("SELECT domain, zip FROM clinics WHERE zip IS NOT NULL AND zip != ''"):
        try:
            match = zipcodes.matching(row["zip"][:5])
        except (ValueError, TypeError):
            match = []
        if match:
            located.append({"domain": row["domain"], "latitude": float(match[0]["lat"]),
                            "longitude": float(match[0]["long"])})
    if located:
        db["clinics"].upsert_all(located, pk="domain")
    return len(located)


def publish(db: sqlite_utils.Database) -> dict:
    """Build coordinates and search indexes; safe to run again."""
    located = add_coordinates(db)
    for table, columns in FTS.items():
        db[table].enable_fts(columns, create_triggers=True, replace=True, tokenize="porter")
    db.execute("ANALYZE")
    return {"clinics": db["clinics"].count, "located": located}
