"""Case-insensitive regexes recompiled to run case-sensitively on lowercased text (much faster in `re`).

A rubric regex compiled with re.IGNORECASE compares the lowercase of each text character with
lowercased pattern characters. The same parse tree with every literal and character class
lowercased (plus the extra case forms `re` adds, like long s for s) and IGNORECASE dropped,
run on `text.lower()`, makes the same comparisons, so it matches at the same spans whenever
lowercasing keeps each character one character (`literals.Probe.plain`). Without IGNORECASE, `re` can skip
alternatives by their first character, which is where the time goes.
"""
from __future__ import annotations

import re
from re import _compiler as sre_compile
from re import _constants as C
from re import _parser as sre_parse

_FIXES = sre_compile._EXTRA_CASES
_MAX_RANGE = 0x10000  # above the BMP `re` also compares uppercase forms in ranges: not mirrored
_REPEATS = (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT)
_KEEP = (C.ANY, C.AT, C.GROUPREF, C.CATEGORY, C.FAILURE)


class _Unsupported(Exception):
    """A part of the pattern that cannot be lowered (a case-sensitive group, an exotic node)."""


def _forms(code: int) -> list[int]:
    lo = sre_compile._sre.unicode_tolower(code)
    return [lo, *_FIXES.get(lo, ())]


def _lower_set(items) -> list:
    out, chars = [], set()
    for op, av in items:
        if op is C.LITERAL:
            chars.update(_forms(av))
        elif op is C.RANGE:
            if av[1] - av[0] >= _MAX_RANGE or av[1] >= _MAX_RANGE:
                raise _Unsupported("wide range")
            for code in range(av[0], av[1] + 1):
                chars.update(_forms(code))
        elif op in (C.NEGATE, C.CATEGORY):
            out.append((op, av))
        else:
            raise _Unsupported(str(op))
    return out + [(C.LITERAL, c) for c in sorted(chars)]


def _lower(items) -> list:
    out = []
    for op, av in items:
        if op in (C.LITERAL, C.NOT_LITERAL):
            forms = _forms(av)
            if len(forms) == 1:
                out.append((op, forms[0]))
            else:
                neg = [(C.NEGATE, None)] if op is C.NOT_LITERAL else []
                out.append((C.IN, neg + [(C.LITERAL, f) for f in forms]))
        elif op is C.IN:
            out.append((op, _lower_set(av)))
        elif op is C.SUBPATTERN:
            group, add, delete, sub = av
            if delete & re.I:
                raise _Unsupported("case-sensitive group")
            sub.data = _lower(sub.data)
            out.append((op, (group, add & ~re.I, delete, sub)))
        elif op is C.BRANCH:
            for alt in av[1]:
                alt.data = _lower(alt.data)
            out.append((op, av))
        elif op in _REPEATS:
            av[2].data = _lower(av[2].data)
            out.append((op, av))
        elif op in (C.ASSERT, C.ASSERT_NOT):
            av[1].data = _lower(av[1].data)
            out.append((op, av))
        elif op is C.ATOMIC_GROUP:
            av.data = _lower(av.data)
            out.append((op, av))
        elif op is C.GROUPREF_EXISTS:
            for sub in av[1:]:
                if sub is not None:
                    sub.data = _lower(sub.data)
            out.append((op, av))
        elif op in _KEEP:
            out.append((op, av))
        else:
            raise _Unsupported(str(op))
    return out


def lowered(regex: re.Pattern) -> re.Pattern | None:
    """regex (IGNORECASE) as a case-sensitive regex for lowercased plain text; None if not possible."""
    if not regex.flags & re.I or regex.flags & (re.LOCALE | re.ASCII | re.VERBOSE):
        return None
    flags = regex.flags & ~(re.I | re.UNICODE)
    try:
        tree = sre_parse.parse(regex.pattern, flags | re.I)
        tree.data = _lower(tree.data)
    except _Unsupported:
        return None
    tree.state.flags &= ~re.I
    return sre_compile.compile(tree, flags | re.UNICODE)



class Split:
    """An alternation searched in two parts: the alternatives lowered() handles run on the lowercased
    text, the rest (e.g. a case-sensitive 'MD') as written. Alternation picks the leftmost start and,
    there, the first alternative in order; each part does the same among its own alternatives, so the
    earlier of the two matches is the whole regex's match. When both start at the same place the
    order between parts is unknown and the whole regex decides."""

    __slots__ = ("whole", "low", "rest")

    def __init__(self, whole: re.Pattern, low: re.Pattern, rest: re.Pattern):
        self.whole, self.low, self.rest = whole, low, rest

    def search_in(self, text: str, low: str) -> re.Match | None:
        """whole.search(text), given low == text.lower() with every character kept one character."""
        a, b = self.low.search(low), self.rest.search(text)
        if a is None or b is None:
            return a or b
        if a.start() != b.start():
            return a if a.start() < b.start() else b
        return self.whole.search(text)


def split(whole: re.Pattern, patterns: list[str]) -> Split | None:
    """For a regex that lowered() cannot take whole: its alternatives (patterns) split by whether it can."""
    flags = whole.flags
    low, rest = [], []
    for p in patterns:
        (low if lowered(re.compile(p, flags)) is not None else rest).append(p)
    if not low or not rest:
        return None
    join = "|".join
    return Split(whole, lowered(re.compile(join(f"(?:{p})" for p in low), flags)),
                 re.compile(join(f"(?:{p})" for p in rest), flags))
