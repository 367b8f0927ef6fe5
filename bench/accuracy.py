"""Accuracy of the scorer on labelled sets of sites, read from their HTML as the crawler reads them.

Each set is a folder with sites/<domain>/... and labels.csv (the corpus layout). Prints one row a set:
accuracy per question and red-flag precision/recall; --wrong lists every disagreement with the
machine's top evidence. The same pages, crawled through the CLI, give the same verdicts
(tests/test_scoring_labelled.py and tests/test_scoring_db.py check both paths).
Usage: .venv/bin/python bench/accuracy.py [--wrong] [--labels FILE] FOLDER [FOLDER ...]
"""
from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scoring.corpus import load_corpus_pages  # noqa: E402
from scoring.run import score_site  # noqa: E402

QUESTIONS = ("physician_led", "monitoring", "screening", "integration_support")
# A patient's Ctrl-F: the question's verdict is "yes" (red flag) when one of these words is on any page.
CTRL_F = {
    "physician_led": ("physician", "md", "anesthesiologist", "psychiatrist", "doctor"),
    "monitoring": ("monitor", "vital signs", "blood pressure"),
    "screening": ("screening", "evaluation", "assessment"),
    "integration_support": ("integration", "therapy", "psychotherapy", "counseling"),
    "at_home_mail_order": ("ship", "mail", "deliver", "at-home", "at home"),
}


def ctrl_f(pages) -> dict[str, str]:
    """Verdicts of the keyword baseline for one site."""
    words = set(re.findall(r"[a-z][a-z-]*", " ".join(p.text for p in pages).lower()))
    text = " ".join(p.text for p in pages).lower()
    out = {}
    for q, keys in CTRL_F.items():
        hit = any((k in words) if " " not in k else (k in text) for k in keys) or any(
            w.startswith(k) for k in keys if " " not in k for w in words)
        out[q] = ("red_flag" if hit else "none") if q == "at_home_mail_order" else ("yes" if hit else "not_stated")
    return out


def measure(folder: Path, labels_file: Path | None = None, baseline: bool = False) -> tuple[dict, list]:
    """(figures, disagreements) of the scorer (or of the Ctrl-F baseline) on one labelled folder."""
    with open(labels_file or folder / "labels.csv", newline="", encoding="utf-8") as fh:
        labels = {r["domain"]: r for r in csv.DictReader(fh)}
    pages = load_corpus_pages(folder)
    right = {q: 0 for q in QUESTIONS}
    tp = fp = fn = 0
    wrong = []
    for domain, label in sorted(labels.items()):
        if baseline:
            got_all, evidence = ctrl_f(pages.get(domain, [])), {}
        else:
            result = score_site(pages.get(domain, []))
            got_all = {q: v.verdict for q, v in result.verdicts.items()}
            evidence = {q: v.evidence[:2] for q, v in result.verdicts.items()}
        for q in QUESTIONS + ("at_home_mail_order",):
            got = got_all[q]
            if got == label[q]:
                right[q] = right.get(q, 0) + 1
            else:
                wrong.append((domain, q, label[q], got, evidence.get(q, [])))
        want_red, got_red = label["at_home_mail_order"] == "red_flag", got_all["at_home_mail_order"] == "red_flag"
        tp, fp, fn = tp + (want_red and got_red), fp + (got_red and not want_red), fn + (want_red and not got_red)
    n = len(labels) or 1
    figures = {q: right[q] / n for q in QUESTIONS}
    figures["sites"] = len(labels)
    figures["rf_precision"] = tp / (tp + fp) if tp + fp else 1.0
    figures["rf_recall"] = tp / (tp + fn) if tp + fn else 1.0
    return figures, wrong


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+")
    ap.add_argument("--labels", help="labels file to use instead of FOLDER/labels.csv (one folder)")
    ap.add_argument("--wrong", action="store_true", help="list every disagreement with its evidence")
    ap.add_argument("--ctrl-f", action="store_true", help="score the keyword baseline instead of the scorer")
    args = ap.parse_args()
    print(f"{'set':<28}{'sites':>6}" + "".join(f"{q[:12]:>14}" for q in QUESTIONS) + f"{'RF P / R':>14}")
    for name in args.folders:
        folder = Path(name)
        figures, wrong = measure(folder, Path(args.labels) if args.labels else None, args.ctrl_f)
        print(f"{folder.name:<28}{figures['sites']:>6}" + "".join(f"{figures[q]:>14.2f}" for q in QUESTIONS)
              + f"{figures['rf_precision']:>8.2f} / {figures['rf_recall']:.2f}")
        if args.wrong:
            for domain, q, want, got, evidence in wrong:
                print(f"  - {domain} {q}: label {want}, scorer {got}")
                for e in evidence:
                    print(f"      [{e.polarity} {e.rule_id}] {e.url}: {e.quote[:200]!r}")


if __name__ == "__main__":
    main()
