"""Literal words every match of a regex must contain, so text without any can skip the regex."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from re import _compiler as sre_compile  # noqa: F401  (_EXTRA_CASES below)
from re import _constants as C
from re import _parser as sre_parse

# Characters that re.IGNORECASE matches to a letter although str.lower() maps them elsewhere
# (Kelvin sign ~ k, long s ~ s, dotted/dotless i, Greek sigma forms ...). Text holding one is
# read by the regex itself; for all other text a lowercase substring test is exact.
# The non-ASCII ones that re.IGNORECASE matches to an ASCII letter.
FOLDS_TO_ASCII = frozenset({0x130, 0x131, 0x17F, 0x212A})
_ODD = set(FOLDS_TO_ASCII)
_ODD |= {c for k, v in sre_compile._EXTRA_CASES.items() for c in (k, *v) if c > 0x7F}
ODD_CHARS = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_ODD)) + "]")
_WORD = re.compile(r"\w+")


def odd_case(text: str) -> bool:
    """Whether text holds a character whose case rules differ between re, str.lower() and RE2."""
    return not text.isascii() and ODD_CHARS.search(text) is not None
_IS_WORD = re.compile(r"\w+\Z")


@dataclass(frozen=True)
class Cue:
    """A lowercase literal; word=True when the regex matches it as a whole word (\\b both sides)."""
    text: str
    word: bool


_MAX = 256  # largest set of strings a part of the pattern is spelt out into
_RUN_MAX = 16  # largest set of cues a run becomes: more are slower to look for than they save
_ZERO_WIDTH = (C.AT, C.ASSERT, C.ASSERT_NOT)


def _score(cues: frozenset[Cue]) -> tuple:
    # Longer shortest literal = fewer false candidates (whole words count extra), up to a point;
    # past it, fewer literals to look for is cheaper.
    return (min(7, min(len(c.text) + 4 * c.word for c in cues)), -len(cues))


def _char(code: int) -> str | None:
    ch = chr(code).lower()
    return ch if code not in _ODD and len(ch) == 1 else None


def _exact(op, av) -> set[str] | None:
    """Every string (lowercased) the node can match, when few; None otherwise."""
    if op is C.LITERAL:
        ch = _char(av)
        return {ch} if ch else None
    if op is C.IN:
        chars = set()
        for iop, iav in av:
            if iop is C.LITERAL and _char(iav):
                chars.add(_char(iav))
            elif iop is C.RANGE and iav[1] - iav[0] < 16 and all(_char(c) for c in range(iav[0], iav[1] + 1)):
                chars |= {_char(c) for c in range(iav[0], iav[1] + 1)}
            else:
                return None
        return chars
    if op is C.SUBPATTERN:
        return _exact_seq(av[3].data)
    if op is C.BRANCH:
        out: set[str] = set()
        for alt in av[1]:
            sub = _exact_seq(alt.data)
            if sub is None:
                return None
            out |= sub
        return out if len(out) <= _MAX else None
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT) and av[1] <= 3:
        body = _exact_seq(av[2].data)
        if body is None:
            return None
        out, cur = set(), {""}
        for k in range(av[1] + 1):
            if k >= av[0]:
                out |= cur
            cur = {a + b for a in cur for b in body}
            if len(cur) > _MAX:
                return None
        return out
    return None


def _exact_seq(items) -> set[str] | None:
    out = {""}
    for op, av in items:
        if op in _ZERO_WIDTH:
            continue
        sub = _exact(op, av)
        if sub is None:
            return None
        out = {a + b for a in out for b in sub}
        if len(out) > _MAX:
            return None
    return out


def _run_cues(strings: set[str], left: bool, right: bool) -> frozenset[Cue] | None:
    if "" in strings:
        return None
    return frozenset(Cue(s, left and right and bool(_IS_WORD.match(s))) for s in strings)


def _seq(items, left: bool, right: bool) -> frozenset[Cue] | None:
    """Cues of a sequence; left/right: a \\b stands just outside its first/last item."""
    found: list[frozenset[Cue]] = []
    n, i = len(items), 0
    bound = (C.AT, C.AT_BOUNDARY)
    while i < n:
        # A run of items spelt out exactly (zero-width ones pass through), concatenated.
        j, strings, run_left, last, lit = i, {""}, i == 0 and left, None, ""
        while j < n:
            op, av = items[j]
            if op in _ZERO_WIDTH:
                run_left = run_left or (last is None and items[j] == bound)
                j += 1
                continue
            sub = _exact(op, av)
            # A stretch of plain literals inside the run is a candidate of its own (one string).
            if op is C.LITERAL and sub:
                lit += next(iter(sub))
            elif lit:
                found.append(frozenset([Cue(lit, False)]))
                lit = ""
            if sub is None:
                break
            alone = _node(op, av, False, False) if op is not C.LITERAL else None
            if alone:
                found.append(alone)
            nxt = {a + b for a in strings for b in sub}
            if len(nxt) > _RUN_MAX:
                break
            strings, last, j = nxt, j, j + 1
        if lit:
            found.append(frozenset([Cue(lit, False)]))
        if last is not None:
            k, run_right = last + 1, False
            while k < n and items[k][0] in _ZERO_WIDTH:
                run_right = run_right or items[k] == bound
                k += 1
            cues = _run_cues(strings, run_left, run_right or (k == n and right))
            if cues:
                found.append(cues)
        if j >= n:
            break
        op, av = items[j]
        before = items[j - 1] == bound if j else left
        after = items[j + 1] == bound if j < n - 1 else right
        sub = _node(op, av, before, after)
        if sub:
            found.append(sub)
        i = j + 1
    return _minimal(max(found, key=_score)) if found else None


def _minimal(cues: frozenset[Cue]) -> frozenset[Cue]:
    """Drop cues implied by a shorter substring cue of the same set."""
    subs = [c.text for c in cues if not c.word]
    return frozenset(c for c in cues if not any(s != c.text and s in c.text for s in subs)
                     and not (c.word and c.text in subs))


def _node(op, av, left: bool, right: bool) -> frozenset[Cue] | None:
    if op is C.SUBPATTERN:
        return _seq(av[3].data, left, right)
    if op is C.ATOMIC_GROUP:
        return _seq(av.data, left, right)
    if op is C.BRANCH:
        out: set[Cue] = set()
        for alt in av[1]:
            sub = _seq(alt.data, left, right)
            if not sub:
                return None
            out |= sub
        return _minimal(frozenset(out))
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT) and av[0] >= 1:
        # One copy of the body is certain; a \\b outside holds only when exactly one copy is made.
        single = av[1] == 1
        return _seq(av[2].data, left and single, right and single)
    return None


_SUBS_REGEX_MIN = 4  # from this many substrings on, one regex finds them faster than a loop of `in`


def _trie(words: list[str]) -> str:
    """Regex source matching any of words (no flags), as a trie: `re` skips to their first letters."""
    root: dict = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:
        if "" in node:
            return ""  # a shorter word is enough for a substring test
        alts = [re.escape(ch) + build(sub) for ch, sub in sorted(node.items())]
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return build(root)


@dataclass(frozen=True)
class CueSet:
    """Whole words and substrings (lowercase), one of which every match of a regex holds."""
    words: frozenset[str]
    subs: tuple[str, ...]
    # The substrings as one case-sensitive regex, when there are many.
    subs_regex: re.Pattern | None = field(default=None, compare=False)

    def __post_init__(self):
        if len(self.subs) >= _SUBS_REGEX_MIN:
            object.__setattr__(self, "subs_regex", re.compile(_trie(list(self.subs))))


def required_cues(pattern: str, flags: int = re.I) -> CueSet | None:
    """Cues one of which every match of pattern contains (lowercased), or None if none is certain."""
    cues = _seq(sre_parse.parse(pattern, flags).data, False, False)
    if not cues:
        return None
    return CueSet(frozenset(c.text for c in cues if c.word),
                  tuple(sorted((c.text for c in cues if not c.word), key=lambda t: (len(t), t))))


class Probe:
    """One text, lowercased once, asked whether it holds any of a set of cues."""
    __slots__ = ("low", "exact", "plain", "_words", "_text")

    def __init__(self, text: str):
        self._text = text
        self.low = low = text.lower()
        # Positions and case-insensitive literal matches carry over only for ordinary text.
        if text.isascii():
            self.exact = self.plain = True
        else:
            self.exact = not odd_case(text)
            # Lowered regexes (lowered.py) hold where lowercasing keeps every character one.
            self.plain = self.exact and len(low) == len(text) and not ODD_CHARS.search(low)
        self._words: set[str] | None = None

    def search(self, regex: re.Pattern, fast: re.Pattern | None) -> re.Match | None:
        """regex.search(text), by its lowered form fast on the lowercased text where that is exact."""
        if fast is not None and self.plain:
            if type(fast) is re.Pattern:
                return fast.search(self.low)
            return fast.search_in(self._text, self.low)  # a lowered.Split
        return regex.search(self._text)

    def finditer(self, regex: re.Pattern, fast: re.Pattern | None):
        """regex.finditer(text), as search."""
        if fast is not None and self.plain:
            return fast.finditer(self.low)
        return regex.finditer(self._text)

    @property
    def words(self) -> set[str]:
        if self._words is None:
            self._words = set(_WORD.findall(self.low)) if self.low.isascii() else {
                w.lower() for w in _WORD.findall(self._text)}
        return self._words

    def has(self, cues: CueSet | None) -> bool:
        """False only when no match of the regex behind cues can occur in the text."""
        if cues is None or not self.exact:
            return True
        words = cues.words
        if words and not words.isdisjoint(self._words if self._words is not None else self.words):
            return True
        low = self.low
        rx = cues.subs_regex
        if rx is not None:
            return rx.search(low) is not None
        for sub in cues.subs:
            if sub in low:
                return True
        return False
