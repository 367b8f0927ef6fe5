"""One RE2 pass per text that tells which rubric regexes can match in it and which trigger words it holds.

A rubric regex has literal cues, one of which each of its matches contains (`literals.py`; a regex
without known cues is reported for every text), and every signal has trigger words. All of them,
one group of literals per key, go into one `re2.Set`: its automaton reads a text once and reports
every group that occurs in it, as a case-insensitive substring. A regex whose cues are absent
cannot match, so the matcher runs the exact regexes only for the keys reported, and gets the same
results as running every regex on every text.

RE2 and `str.lower()` agree on case except for a few characters (`literals.ODD_CHARS`: dotless i,
long s, Kelvin sign ...); a text holding one is not prefiltered (`ids` returns None) and the caller
checks it the slow way.
"""
from __future__ import annotations

import re2

from scoring.literals import CueSet, odd_case


class Prefilter:
    """Keys, each a group of literal words, and which of them occur in a text, in one RE2 pass.

    Each key gets a small int id; `ids(text)` answers with the set of ids found (ints hash fast).
    """

    def __init__(self):
        self._ids: dict = {}
        self._groups: list[str] = []
        self._group_ids: list[int] = []
        self._always: list[int] = []
        self._set = None

    def add(self, key, words) -> int:
        """Register key as present in any text holding one of words (case-insensitive substrings)."""
        if key in self._ids:
            return self._ids[key]
        kid = self._ids[key] = len(self._ids)
        words = sorted({w for w in words if w})
        if not words:
            self._always.append(kid)  # nothing to look for: reported for every text
        else:
            self._group_ids.append(kid)
            self._groups.append("|".join(re2.escape(w) for w in words))
        return kid

    def add_cues(self, key, cues: CueSet | None) -> int:
        """Register a regex's key by its cues (None, no cue known: reported for every text)."""
        return self.add(key, () if cues is None else (*cues.words, *cues.subs))

    def compile(self) -> "Prefilter":
        options = re2.Options()
        options.case_sensitive = False
        rset = re2.Set.SearchSet(options)
        for group in self._groups:
            rset.Add(group)
        rset.Compile()
        # The bound C++ set: its Match takes UTF-8 bytes and returns indexes, with no wrapper between.
        self._set = rset._set
        # Set indexes are the order groups were added; ids count keys with no words too.
        self._identity = self._group_ids == list(range(len(self._group_ids)))
        return self

    def id(self, key) -> int | None:
        """The id of a registered key (None if it was never added)."""
        return self._ids.get(key)

    def ids(self, text: str) -> set[int] | None:
        """Ids of the keys whose words occur in text; None when text holds a character RE2 folds differently."""
        if odd_case(text):
            return None
        found = self._set.Match(text.encode())
        if found and not self._identity:
            found = [self._group_ids[i] for i in found]
        out = set(found) if found else set()
        if self._always:
            out.update(self._always)
        return out
