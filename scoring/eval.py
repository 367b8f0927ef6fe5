"""Compare stored verdicts with a labelled corpus: confusion tables, accuracy, red-flag precision/recall."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from clinicvet.db import QUESTIONS

RED_FLAG = "at_home_mail_order"


@dataclass
class Report:
    """Agreement between machine verdicts and labels."""
    sites: int
    confusion: dict[str, dict[tuple[str, str], int]]  # question -> (label, verdict) -> count
    accuracy: dict[str, float]
    red_flag_precision: float
    red_flag_recall: float
    disagreements: list[dict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _open(db) -> sqlite_utils.Database:
    if isinstance(db, sqlite_utils.Database):
        return db
    from clinicvet.db import open_db
    return open_db(db, create=False)


def evaluate(db: sqlite_utils.Database | str, labels_csv: str | Path,
             use_machine: bool = True) -> Report:
    """Compare machine (or shown, if use_machine=False) verdicts in db with labels_csv."""
    db = _open(db)
    column = "machine_verdict" if use_machine else "verdict"
    with open(labels_csv, newline="", encoding="utf-8") as fh:
        labels = {r["domain"].strip(): r for r in csv.DictReader(fh)}
    got: dict[str, dict[str, str]] = {}
    for r in db.query(f"select domain, question, {column} as v from verdicts"):
        got.setdefault(r["domain"], {})[r["question"]] = r["v"]
    confusion = {q: {} for q in QUESTIONS}
    correct = {q: 0 for q in QUESTIONS}
    disagreements, missing = [], []
    tp = fp = fn = 0
    scored = 0
    for domain, label in sorted(labels.items()):
        if domain not in got:
            missing.append(domain)
            continue
        scored += 1
        for q in QUESTIONS:
            want, have = label[q].strip(), got[domain].get(q) or "missing"
            confusion[q][(want, have)] = confusion[q].get((want, have), 0) + 1
            if want == have:
                correct[q] += 1
            else:
                quotes = list(db.query(
                    "select quote, url, rule_id, polarity from evidence where domain = ? and "
                    "question = ? order by id limit 5", [domain, q]))
                disagreements.append({"domain": domain, "question": q, "label": want,
                                      "verdict": have, "evidence": quotes})
        want_red = label[RED_FLAG].strip() == "red_flag"
        have_red = got[domain].get(RED_FLAG) == "red_flag"
        tp += want_red and have_red
        fp += have_red and not want_red
        fn += want_red and not have_red
    accuracy = {q: (correct[q] / scored if scored else 0.0) for q in QUESTIONS}
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return Report(scored, confusion, accuracy, precision, recall, disagreements, missing)


def format_report(report: Report) -> str:
    """Plain-text report: a confusion table and accuracy per question, red-flag figures, disagreements."""
    out = [f"Sites compared: {report.sites}"]
    if report.missing:
        out.append(f"Labelled but not scored ({len(report.missing)}): {', '.join(report.missing)}")
    for q in QUESTIONS:
        cells = report.confusion[q]
        values = sorted({k for pair in cells for k in pair})
        width = max([len(v) for v in values] + [12])
        out += ["", f"{q}: accuracy {report.accuracy[q]:.3f}",
                "  " + "label \\ verdict".ljust(width + 2) + "".join(v.rjust(width + 2) for v in values)]
        for want in values:
            row = "".join(str(cells.get((want, have), 0)).rjust(width + 2) for have in values)
            out.append("  " + want.ljust(width + 2) + row)
    out += ["", f"Red flag precision {report.red_flag_precision:.3f}, "
                f"recall {report.red_flag_recall:.3f}"]
    if report.disagreements:
        out += ["", f"Disagreements ({len(report.disagreements)}):"]
    for d in report.disagreements:
        out.append(f"- {d['domain']} {d['question']}: label {d['label']}, scorer {d['verdict']}")
        for e in d["evidence"]:
            out.append(f"    [{e['polarity']} {e['rule_id']}] {e['url']}: {e['quote'][:240]}")
        if not d["evidence"]:
            out.append("    (no evidence found)")
    return "\n".join(out)
