"""A row filter as a pyspark Column, with the pandas evaluation's meaning exactly.

Only comparisons Spark makes as pandas does are translated: a number with a numeric column,
text with a text column, true/false with a boolean column, and missing-value tests. Each
comparison is False on a missing value (null, and NaN in a floating column; also the text
values the per-batch reader counts as missing), so ``not`` and ``or`` work on two values, as
the pandas mask does. Anything else (text compared with a number, dates) gives None: the
per-batch filter then does all the work.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

from greta_core.plan.row_filter import And, Compare, Constant, Member, Missing, Node, Not, Or


class _Inexact(Exception):
    """This comparison is not translated (Spark would convert differently from pandas)."""


def translate(node: Node, schema: T.StructType, text_nulls: tuple[str, ...] = ()) -> Column | None:
    types = {f.name: f.dataType for f in schema.fields}
    try:
        return _node(node, types, text_nulls)
    except _Inexact:
        return None


def _node(node: Node, types: dict[str, Any], nulls: tuple[str, ...]) -> Column:
    if isinstance(node, Not):
        return ~_node(node.operand, types, nulls)
    if isinstance(node, (And, Or)):
        parts = [_node(p, types, nulls) for p in node.operands]
        return reduce((lambda a, b: a & b) if isinstance(node, And) else (lambda a, b: a | b), parts)
    if node.column not in types:
        raise _Inexact(node.column)
    dtype = types[node.column]
    col = F.col("`" + node.column.replace("`", "``") + "`")
    present = _present(col, dtype, nulls)
    if isinstance(node, Missing):
        return present if node.negated else ~present
    if isinstance(node, Compare):
        _exact(dtype, node.value)
        ops = {"==": col.__eq__, "!=": col.__ne__, "<": col.__lt__, "<=": col.__le__, ">": col.__gt__,
               ">=": col.__ge__}
        return F.coalesce(present & ops[node.op](F.lit(node.value)), F.lit(False))
    for v in node.values:
        _exact(dtype, v)
    hit = F.coalesce(col.isin(list(node.values)), F.lit(False))
    return present & (~hit if node.negated else hit)


def _present(col: Column, dtype: Any, nulls: tuple[str, ...]) -> Column:
    out = col.isNotNull()
    if isinstance(dtype, (T.FloatType, T.DoubleType)):
        out = out & ~F.isnan(col)
    if isinstance(dtype, T.StringType) and nulls:
        out = out & ~col.isin(list(nulls))
    return F.coalesce(out, F.lit(False))


def _exact(dtype: Any, value: Constant) -> None:
    if isinstance(value, bool):
        ok = isinstance(dtype, T.BooleanType)
    elif isinstance(value, (int, float)):
        ok = isinstance(dtype, (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.FloatType, T.DoubleType)) \
            and (not isinstance(value, int) or abs(value) < 2**63)
    else:
        ok = isinstance(dtype, T.StringType)
    if not ok:
        raise _Inexact(value)
