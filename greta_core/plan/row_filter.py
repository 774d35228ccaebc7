"""The row filter language of ``data.row_filter``: parsed and checked, never run as Python.

A filter keeps the rows whose values match it::

    age >= 18 and country == 'NL'
    `unit price` < 9.5 or region in ["north", "south"]
    not (status is missing) and score != 0

Grammar (``or`` binds loosest, then ``and``, then ``not``)::

    filter     := or_expr
    or_expr    := and_expr (("or" | "|") and_expr)*
    and_expr   := not_expr (("and" | "&") not_expr)*
    not_expr   := "not" not_expr | "(" or_expr ")" | condition
    condition  := column op constant | constant op column
                | column ["not"] "in" list | column "is" ["not"] "missing"
    op         := "==" | "=" | "!=" | "<" | "<=" | ">" | ">="
    list       := "[" constant ("," constant)* [","] "]"   (or the same in parentheses)
    constant   := number | 'text' | "text" | true | false
    column     := identifier | `any name`

``parse`` turns the text into an immutable tree (frozen dataclasses); a ``RowFilter``
evaluates it on a pandas batch with vectorised pandas/numpy operations only, and translates
it to a Spark Column. A comparison with a missing value is False (so is ``x != 3`` and
``x not in [...]`` when ``x`` is missing); ``is missing`` is True for NaN, None and NaT.

The module imports neither pandas nor pyspark at import time: the CLI checks a filter's
syntax with it before anything is queued.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Union

from greta_core.errors import ColumnNotFoundError, InvalidConfigError, did_you_mean

MAX_LENGTH = 20_000  # characters of a filter
MAX_DEPTH = 50  # nested parentheses and "not"
OPS = ("==", "!=", "<", "<=", ">", ">=")
ALLOWED = ("A row filter compares a column with a constant (==, !=, <, <=, >, >=; numbers, 'text' "
           "or true/false), or tests `column in [...]`, `column not in [...]`, `column is missing`, "
           "`column is not missing`, combined with and, or, not and parentheses; write a column "
           "name with spaces in backquotes (`unit price` > 3). It is never run as Python.")
TRUE_TEXT = {"true": True, "t": True, "yes": True, "y": True, "1": True,
             "false": False, "f": False, "no": False, "n": False, "0": False}
Constant = Union[bool, int, float, str]


# ------------------------------------------------------------------------------------ the tree
@dataclass(frozen=True, slots=True)
class Compare:
    """``column op value``."""

    column: str
    op: str
    value: Constant


@dataclass(frozen=True, slots=True)
class Member:
    """``column in values`` (``negated``: ``not in``)."""

    column: str
    values: tuple[Constant, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Missing:
    """``column is missing`` (``negated``: ``is not missing``)."""

    column: str
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]


Node = Union[Compare, Member, Missing, Not, And, Or]


# ------------------------------------------------------------------------------- the tokens
@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # name | column | number | string | op | punct | end
    text: str  # as written
    pos: int  # 1-based character position
    value: Any = None


_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"(?:\d+(?:_\d+)*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?![\w.])")
_NAME = re.compile(r"[^\W\d]\w*")
_OPS = ("==", "!=", "<=", ">=", "<", ">", "=", "&", "|")
_PUNCT = "()[],"
_KEYWORDS = {"and", "or", "not", "in", "is", "missing", "true", "false", "True", "False"}
_HINTS = {
    "@": "local variables (@name) are not allowed",
    ".": "attributes and methods (x.isna()) are not allowed; write `x is missing`",
    "\\": "backslashes are not allowed (to include a quote in text, quote it with the other kind)",
    "+": "arithmetic is not allowed", "-": "arithmetic is not allowed", "*": "arithmetic is not allowed",
    "/": "arithmetic is not allowed", "%": "arithmetic is not allowed", "~": "write `not` instead of ~",
    "{": "sets and dictionaries are not allowed", ":": "lambdas and slices are not allowed",
    "!": "write `not` or !=",
}


def _fail(tok_text: str, pos: int, why: str = "") -> InvalidConfigError:
    shown = tok_text if len(tok_text) <= 40 else tok_text[:37] + "..."
    what = f"unexpected {shown!r}" if tok_text else "unexpected end of the filter"
    msg = f"Invalid row filter (data.row_filter): {what} at position {pos}{f': {why}' if why else ''}. {ALLOWED}"
    return InvalidConfigError(msg)


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, ending with an ``end`` token. Where a character starts no token
    of the language, a ``bad`` token (its ``value`` says why) ends the list: the parser reports
    it when it gets there, so the first problem in the text is the one reported."""
    out: list[Token] = []
    i, n = 0, len(text)

    def bad(shown: str, pos: int, why: str) -> list[Token]:
        return [*out, Token("bad", shown, pos, why), Token("end", "", n + 1)]

    while i < n:
        ch = text[i]
        if m := _SPACE.match(text, i):
            i = m.end()
            continue
        if ch in "'\"":
            j = text.find(ch, i + 1)
            if j < 0:
                return bad(text[i:], i + 1, f"the text starting here has no closing {ch}")
            value = text[i + 1:j]
            if "\\" in value:
                return bad("\\", i + 2 + value.index("\\"), _HINTS["\\"])
            out.append(Token("string", text[i:j + 1], i + 1, value))
            i = j + 1
        elif ch == "`":
            j = text.find("`", i + 1)
            if j < 0:
                return bad(text[i:], i + 1, "the column name starting here has no closing `")
            if j == i + 1:
                return bad("``", i + 1, "a column name cannot be empty")
            out.append(Token("column", text[i:j + 1], i + 1, text[i + 1:j]))
            i = j + 1
        elif m := _NUMBER.match(text, i):
            raw = m.group()
            number = raw.replace("_", "")
            value: Any = int(number) if number.isdigit() else float(number)
            out.append(Token("number", raw, i + 1, value))
            i = m.end()
        elif m := _NAME.match(text, i):
            out.append(Token("name", m.group(), i + 1))
            i = m.end()
        elif op := next((o for o in _OPS if text.startswith(o, i)), None):
            out.append(Token("op", op, i + 1))
            i += len(op)
        elif ch in _PUNCT:
            out.append(Token("punct", ch, i + 1))
            i += 1
        elif ch in "+-" and i + 1 < n and _NUMBER.match(text, i + 1):
            out.append(Token("sign", ch, i + 1))
            i += 1
        else:
            if ch.isdigit():
                word = re.match(r"[\w.]+", text[i:])
                return bad(word.group() if word else ch, i + 1, "this is not a number (write 12, -0.5, 1e6 or 1_000)")
            return bad(ch, i + 1, _HINTS.get(ch, "this character is not part of the filter language"))
    out.append(Token("end", "", n + 1))
    return out


# ------------------------------------------------------------------------------- the parser
class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens, self.i, self.depth = tokens, 0, 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def word(self, *words: str) -> bool:
        return self.tok.kind in ("name", "op") and self.tok.text in words

    def expect(self, text: str, why: str) -> Token:
        if self.tok.text != text or self.tok.kind in ("string", "column"):
            raise self.error(why)
        return self.take()

    def error(self, why: str = "") -> InvalidConfigError:
        tok = self.tok
        if tok.kind == "bad":
            return _fail(tok.text, tok.pos, str(tok.value))
        nxt = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else tok
        if tok.kind == "name" and nxt.text == "(" and not why:
            why = "function calls are not allowed"
        return _fail(tok.text, tok.pos, why)

    def filter(self) -> Node:
        node = self.or_expr()
        if self.tok.kind != "end":
            raise self.error(self._after_condition())
        return node

    def _after_condition(self) -> str:
        tok = self.tok
        if tok.kind in ("op", "sign") and tok.text in OPS + ("=", "+", "-"):
            return "compare a column with one constant (write `1 < x and x < 5`, not `1 < x < 5`)"
        if tok.text == "(":
            return "function calls are not allowed"
        return "expected and, or or the end of the filter"

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while self.word("or", "|"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_expr(self) -> Node:
        parts = [self.not_expr()]
        while self.word("and", "&"):
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def not_expr(self) -> Node:
        if self.word("not") or self.tok.text == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.error(f"the filter nests parentheses and `not` more than {MAX_DEPTH} deep")
            if self.take().text == "not":
                node: Node = Not(self.not_expr())
            else:
                node = self.or_expr()
                self.expect(")", "expected ) to close the ( opened before")
            self.depth -= 1
            return node
        return self.condition()

    def condition(self) -> Node:
        tok = self.tok
        if tok.kind in ("number", "string", "sign") or self.word("true", "false", "True", "False"):
            value = self.constant()
            op = self.operator()
            column = self.column()
            flipped = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
            return self._compare(column, flipped, value)
        column = self.column()
        if self.word("is"):
            self.take()
            negated = self.word("not")
            if negated:
                self.take()
            if not self.word("missing"):
                raise self.error("expected `missing` (x is missing, x is not missing)")
            self.take()
            return Missing(column, negated)
        if self.word("not", "in"):
            negated = self.take().text == "not"
            if negated:
                self.expect("in", "expected `in` after `not` (x not in [...])")
            return Member(column, self.values(), negated)
        op = self.operator()
        return self._compare(column, op, self.constant(after_column=True))

    def _compare(self, column: str, op: str, value: Constant) -> Compare:
        if isinstance(value, bool) and op not in ("==", "!="):
            raise _fail(op, self.tokens[self.i - 2].pos, "true and false can only be compared with == or !=")
        return Compare(column, op, value)

    def column(self) -> str:
        tok = self.tok
        if tok.kind == "column":
            self.take()
            return str(tok.value)
        if tok.kind == "name" and tok.text not in _KEYWORDS:
            self.take()
            nxt = self.tok
            if nxt.text == "(":
                raise _fail(tok.text, tok.pos, "function calls are not allowed")
            return tok.text
        if tok.kind == "name":
            raise self.error(f"{tok.text!r} is a keyword; write a column with that name as `{tok.text}`")
        raise self.error("expected a column name")

    def operator(self) -> str:
        tok = self.tok
        if tok.kind == "op" and tok.text in OPS + ("=",):
            self.take()
            return "==" if tok.text == "=" else tok.text
        if tok.text == "(":
            raise self.error("function calls are not allowed")
        if tok.kind == "sign":
            raise self.error("arithmetic is not allowed")
        prev = self.tokens[self.i - 1]
        if tok.kind == "string" and prev.kind == "name" and prev.pos + len(prev.text) == tok.pos:
            raise _fail(prev.text + tok.text, prev.pos, "string prefixes (f'...', b'...') are not allowed")
        raise self.error("expected a comparison (==, !=, <, <=, >, >=), `in`, `not in` or `is missing`")

    def constant(self, after_column: bool = False) -> Constant:
        tok = self.take()
        if tok.kind == "sign":
            num = self.take()
            return -num.value if tok.text == "-" else num.value
        if tok.kind in ("number", "string"):
            return tok.value  # type: ignore[no-any-return]
        if tok.kind == "name" and tok.text in ("true", "false", "True", "False"):
            return tok.text.lower() == "true"
        self.i -= 1
        if tok.kind == "name" and tok.text in ("None", "null", "nan", "NaN", "NA"):
            raise self.error("test missing values with `x is missing` or `x is not missing`")
        if after_column and (tok.kind == "column" or (tok.kind == "name" and tok.text not in _KEYWORDS)):
            nxt = self.tokens[self.i + 1]
            if tok.kind == "name" and nxt.kind == "string" and tok.pos + len(tok.text) == nxt.pos:
                raise _fail(tok.text + nxt.text, tok.pos, "string prefixes (f'...', b'...') are not allowed")
            why = ("function calls are not allowed" if nxt.text == "(" else
                   "a column is compared with a constant (a number, 'text', true or false), not with "
                   "another column; quote text")
            raise self.error(why)
        raise self.error("expected a constant (a number, 'text', true or false)")

    def values(self) -> tuple[Constant, ...]:
        close = {"[": "]", "(": ")"}.get(self.tok.text) if self.tok.kind == "punct" else None
        if close is None:
            raise self.error("expected a list of constants in [ ] after `in`")
        self.take()
        out: list[Constant] = []
        while True:
            if out and self.tok.text == close and self.tok.kind == "punct":
                break
            start = self.tok
            out.append(self.constant())
            if _family(out[-1]) != _family(out[0]):
                raise _fail(start.text, start.pos, "a list after `in` holds constants of one kind only "
                            "(all numbers, all 'text' or all true/false)")
            if self.tok.text == "," and self.tok.kind == "punct":
                self.take()
                continue
            if not (self.tok.text == close and self.tok.kind == "punct"):
                raise self.error(f"expected , or {close} in the list")
        self.take()
        return tuple(out)


def _family(v: Constant) -> str:
    return "bool" if isinstance(v, bool) else "text" if isinstance(v, str) else "number"


def parse(text: str) -> RowFilter:
    """Parse ``text`` into a :class:`RowFilter`; InvalidConfigError (one line naming the
    offending token and its position) if it is not in the filter language."""
    if not isinstance(text, str):
        msg = f"Invalid row filter (data.row_filter): expected text, got {type(text).__name__}."
        raise InvalidConfigError(msg)
    if len(text) > MAX_LENGTH:
        msg = (f"Invalid row filter (data.row_filter): it is {len(text):,} characters long; at most "
               f"{MAX_LENGTH:,} are allowed. Shorten it (a long `in [...]` list can often become a range).")
        raise InvalidConfigError(msg)
    if not text.strip():
        raise _fail("", 1, "the filter is empty (null keeps every row)")
    return RowFilter(text, _Parser(tokenize(text)).filter())


def parse_optional(text: str | None) -> RowFilter | None:
    """``parse(text)``, or None for no filter (None or empty text)."""
    return parse(text) if text else None


# ---------------------------------------------------------------------------- the filter
@dataclass(frozen=True, slots=True)
class RowFilter:
    """A parsed row filter: ``text`` as written and its tree ``node``. Calling it on a pandas
    DataFrame returns the rows it keeps."""

    text: str
    node: Node

    def columns(self) -> tuple[str, ...]:
        """The columns the filter reads, in order of first use."""
        return tuple(dict.fromkeys(_columns(self.node)))

    def check_columns(self, columns: list[str]) -> None:
        """ColumnNotFoundError (one line, with "did you mean") for a column not in ``columns``."""
        known = set(columns)
        for c in self.columns():
            if c not in known:
                msg = f"Column {c!r} (in data.row_filter) is not in the data.{did_you_mean(c, list(columns))}"
                raise ColumnNotFoundError(msg)

    def check_types(self, sample: Any) -> None:
        """InvalidConfigError when a constant cannot be compared with its column's values in
        ``sample`` (a pandas DataFrame): text with a column of numbers, a number with a column
        of text, true/false with dates..."""
        from greta_core.plan import _filter_eval as ev

        for node in _atoms(self.node):
            values = node.values if isinstance(node, Member) else (node.value,) if isinstance(node, Compare) else ()
            for v in values:
                ev.check(sample[node.column], node.column, v)

    def mask(self, df: Any) -> Any:
        """The boolean numpy mask of the rows of ``df`` (pandas) that the filter keeps."""
        from greta_core.plan import _filter_eval as ev

        return ev.mask(self.node, df)

    def __call__(self, df: Any) -> Any:
        return df[self.mask(df)]

    def to_dask(self, frame: Any) -> Any:
        """The rows of a Dask DataFrame the filter keeps (the same mask, per partition)."""
        keep = frame.map_partitions(self.mask_series, meta=(None, "bool"))
        return frame[keep]

    def mask_series(self, df: Any) -> Any:
        import pandas as pd

        return pd.Series(self.mask(df), index=df.index, dtype=bool)

    def to_spark(self, schema: Any, text_nulls: tuple[str, ...] = ()) -> Any:
        """The filter as a pyspark Column for a DataFrame of ``schema``, or None when a
        comparison needs a conversion Spark would not do exactly as pandas (text compared with
        a number, dates, ...). ``text_nulls``: text values that count as missing (as the
        per-batch reader makes them)."""
        from greta_core.plan import _filter_spark

        return _filter_spark.translate(self.node, schema, text_nulls)

    def __str__(self) -> str:
        return self.text


def _atoms(node: Node) -> list[Compare | Member | Missing]:
    out: list[Compare | Member | Missing] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, (And, Or)):
            stack.extend(reversed(n.operands))
        elif isinstance(n, Not):
            stack.append(n.operand)
        else:
            out.append(n)
    return out


def _columns(node: Node) -> list[str]:
    return [a.column for a in _atoms(node)]


__all__ = ["ALLOWED", "And", "Compare", "Member", "Missing", "Not", "Or", "RowFilter", "parse",
           "parse_optional", "tokenize"]
