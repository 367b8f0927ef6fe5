"""Rubric regexes rewritten for RE2, which searches ASCII text several times faster than `re`.

`exact(regex)` gives an RE2 regex that finds the same match (same start and end) as `regex` in any
ASCII text without newlines (every line and sentence the matcher reads): both engines pick the
leftmost match and, there, the first alternative in order, and on ASCII text they agree on case,
word characters and word boundaries. It exists only when the pattern has nothing RE2 lacks
(lookarounds, backreferences, atomic groups) or reads differently (a character that `re` folds onto
ASCII: Kelvin sign, long s, dotted or dotless i).

`looser(regex)` is for the rest: an RE2 regex that matches wherever `regex` can, with lookarounds
dropped. When it finds nothing, `regex` cannot match either, and `re` is spared the search.
"""
from __future__ import annotations

import re
from re import _constants as C
from re import _parser as sre_parse

import re2
from re2 import _re2

from scoring.literals import FOLDS_TO_ASCII

# Python's \s on ASCII: \t \n \v \f \r, the four information separators and space.
_SPACE = r"\t-\r\x1c-\x1f "
_CATEGORY = {C.CATEGORY_DIGIT: "0-9", C.CATEGORY_WORD: "0-9A-Za-z_", C.CATEGORY_SPACE: _SPACE,
             C.CATEGORY_NOT_DIGIT: r"\D", C.CATEGORY_NOT_WORD: r"\W",
             C.CATEGORY_UNI_DIGIT: "0-9", C.CATEGORY_UNI_WORD: "0-9A-Za-z_", C.CATEGORY_UNI_SPACE: _SPACE,
             C.CATEGORY_UNI_NOT_DIGIT: r"\D", C.CATEGORY_UNI_NOT_WORD: r"\W"}
_NOT_SPACE = (C.CATEGORY_NOT_SPACE, C.CATEGORY_UNI_NOT_SPACE)
_AT = {C.AT_BEGINNING: "^", C.AT_BEGINNING_STRING: r"\A", C.AT_END: r"\z", C.AT_END_STRING: r"\z",
       C.AT_BOUNDARY: r"\b", C.AT_NON_BOUNDARY: r"\B",
       C.AT_UNI_BOUNDARY: r"\b", C.AT_UNI_NON_BOUNDARY: r"\B"}
_REPEAT_MAX = 1000  # RE2's largest counted repeat
ANCHOR = _re2.RE2.Anchor.UNANCHORED


class _Unsupported(Exception):
    """A construct RE2 has not, or reads differently on ASCII text."""


def _char(code: int) -> str:
    if code in FOLDS_TO_ASCII:
        raise _Unsupported("character re folds onto ASCII")
    return f"\\x{{{code:x}}}"


class _Writer:
    def __init__(self, loose: bool):
        self.loose = loose  # drop lookarounds (and loosen what cannot be kept) instead of failing

    def cls(self, items) -> str:
        neg = bool(items) and items[0][0] is C.NEGATE
        body = items[1:] if neg else items
        parts = []
        for op, av in body:
            if op is C.LITERAL:
                parts.append(_char(av))
            elif op is C.RANGE:
                if any(av[0] <= c <= av[1] for c in FOLDS_TO_ASCII):
                    raise _Unsupported("range holds a character re folds onto ASCII")
                parts.append(f"{_char(av[0])}-{_char(av[1])}")
            elif op is C.CATEGORY and av in _CATEGORY:
                parts.append(_CATEGORY[av])
            elif op is C.CATEGORY and av in _NOT_SPACE and len(body) == 1:
                return f"[{'' if neg else '^'}{_SPACE}]"
            else:
                raise _Unsupported(f"class member {op} {av}")
        return ("[^" if neg else "[") + "".join(parts) + "]"

    def seq(self, items) -> str:
        return "".join(self.node(op, av) for op, av in items)

    def node(self, op, av) -> str:
        if op is C.LITERAL:
            return _char(av)
        if op is C.NOT_LITERAL:
            return f"[^{_char(av)}]"
        if op is C.ANY:
            return "."  # no DOTALL (checked): any character but newline, in both engines
        if op is C.IN:
            return self.cls(av)
        if op is C.SUBPATTERN:
            _, add, delete, sub = av
            if (add | delete) & ~re.I:
                raise _Unsupported("inline flag other than i")
            flag = "(?i:" if add & re.I else "(?-i:" if delete & re.I else "(?:"
            return flag + self.seq(sub.data) + ")"
        if op is C.BRANCH:
            return "(?:" + "|".join(self.seq(alt.data) for alt in av[1]) + ")"
        if op in (C.MAX_REPEAT, C.MIN_REPEAT):
            lo, hi, sub = av
            body = "(?:" + self.seq(sub.data) + ")"
            if hi is C.MAXREPEAT:
                count = "*" if lo == 0 else "+" if lo == 1 else f"{{{lo},}}"
            elif hi > _REPEAT_MAX:
                if not self.loose:
                    raise _Unsupported("repeat count over RE2's limit")
                count = f"{{{min(lo, _REPEAT_MAX)},}}"
            else:
                count = f"{{{lo},{hi}}}"
            return body + count + ("?" if op is C.MIN_REPEAT else "")
        if op is C.AT and av in _AT:
            return _AT[av]
        if self.loose and op in (C.ASSERT, C.ASSERT_NOT):
            return ""  # a lookaround only ever removes matches
        if self.loose and op in (C.POSSESSIVE_REPEAT, C.ATOMIC_GROUP):
            sub = av[2] if op is C.POSSESSIVE_REPEAT else av
            return "(?:" + self.seq(sub.data) + ")*"
        raise _Unsupported(str(op))


def _compile(regex: re.Pattern, loose: bool):
    if regex.flags & (re.LOCALE | re.VERBOSE | re.DOTALL | re.MULTILINE):
        return None
    try:
        source = _Writer(loose).seq(sre_parse.parse(regex.pattern, regex.flags).data)
    except _Unsupported:
        return None
    options = re2.Options()
    options.case_sensitive = not regex.flags & re.I
    options.never_capture = True
    options.log_errors = False
    compiled = _re2.RE2(source.encode(), options)
    return compiled if compiled.ok() else None


def exact(regex: re.Pattern):
    """RE2 regex with regex's matches on ASCII text without newlines, or None."""
    return _compile(regex, loose=False)


def looser(regex: re.Pattern):
    """RE2 regex matching wherever regex can on ASCII text without newlines, or None."""
    return _compile(regex, loose=True)


class Span:
    """Where an RE2 search matched, read like an re.Match: start(), end()."""
    __slots__ = ("_start", "_end")

    def __init__(self, start: int, end: int):
        self._start, self._end = start, end

    def start(self) -> int:
        return self._start

    def end(self) -> int:
        return self._end
