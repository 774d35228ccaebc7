"""A local copy of the rows, written by the statistics pass (DESIGN §3).

The exact robust variance needs the rows once more after the search
(``greta_core.confirm.sandwich``): every held-out row for the tested hypotheses, every row for
the models fixed before looking (``greta_core.confirm.all_rows``). Reading the source again costs
what the statistics pass' reading costs (parsing, type conversion and the split hash of every
column), while the rows it needs are in a compact form. So, when the batches are summarised in
this process (the local backend), the statistics pass writes each batch's rows as the design is
built from them — numeric values minus their centres, missing masks, categorical codes and the
target columns, in split order with the number of discovery rows — to one file in a private
temporary folder (mode 0700), and the second pass reads those files back one at a time instead
of the source. Memory stays flat; the disk used is
bounded by a budget (the free space of the temporary folder minus a margin), beyond which the
copy stops and the second pass reads the source again. The folder is removed when the run
ends, also on an error or a cancel.

Each summary carries which files hold its rows as a tree that mirrors how the summaries
were merged, so the second pass adds the per-file sums in exactly the order the second read
would add the per-batch sums: the same numbers, to the last bit.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from greta_core.plan.design import Rows

MARGIN = 1 << 30  # disk space left free in the temporary folder
PREFIX = "greta-rows-"


def join(a: Any, b: Any) -> Any:
    """The tree of two merged summaries' files (None: no file)."""
    if a is None:
        return b
    if b is None:
        return a
    return (a, b)


def fold(tree: Any, leaf: Callable[[str], Any], merge: Callable[[Any, Any], Any], empty: Any) -> Any:
    """``tree`` evaluated with ``leaf`` for each file and ``merge`` for each node, left before
    right, without recursion (a tree of thousands of merges is as deep)."""
    if tree is None:
        return empty
    out: list[Any] = []
    stack: list[tuple[Any, bool]] = [(tree, False)]
    while stack:
        node, ready = stack.pop()
        if not isinstance(node, tuple):
            out.append(leaf(node))
        elif ready:
            b = out.pop()
            out.append(merge(out.pop(), b))
        else:
            stack += [(node, True), (node[1], False), (node[0], False)]
    return out[0]


def leaves(tree: Any) -> list[str]:
    """The tree's files, left to right (the order its summaries merged in)."""
    return fold(tree, lambda path: [path], lambda a, b: a + b, [])


def _drop_cache(f: Any) -> None:
    """Tell the kernel a file's cached pages are not needed again (where it can be told): dirty
    ones are written out at once and clean ones dropped. The copy is written once and read once,
    and under a memory limit (a container's cgroup) cached pages count against it."""
    if hasattr(os, "posix_fadvise"):
        try:
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        except OSError:
            pass


class RowsCopy:
    """The private folder of one run's rows. ``budget``: bytes it may use (default:
    the folder's free space minus 1 GiB); ``root``: where the folder goes (default: the system's
    temporary folder)."""

    def __init__(self, budget: int | None = None, root: str | None = None) -> None:
        self.dir = tempfile.mkdtemp(prefix=PREFIX, dir=root)  # readable by this user only
        if budget is None:
            budget = max(shutil.disk_usage(self.dir).free - MARGIN, 0)
        self.budget = int(budget)
        self.bytes = 0
        self.full = False  # a batch did not fit: the copy is incomplete
        self._lock = threading.Lock()
        self._files = 0
        self._closed = False

    def __enter__(self) -> RowsCopy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def complete(self) -> bool:
        return not self.full and not self._closed

    def write(self, rows: Rows) -> str | None:
        """Write a batch's rows; the file's path, or None when there is no row or the copy would
        exceed its budget (it is then incomplete)."""
        if not len(rows):
            return None
        parts = [np.asfortranarray(rows.values), np.asfortranarray(rows.missing), np.ascontiguousarray(rows.y),
                 np.array([rows.n_discovery], dtype=np.int64)]
        parts += [v.astype(np.int32) for v in rows.codes.values()]
        size = sum(p.nbytes + 128 for p in parts)
        with self._lock:
            if self.full or self._closed or self.bytes + size > self.budget:
                self.full = True
                return None
            self.bytes += size
            self._files += 1
            path = os.path.join(self.dir, f"{self._files}.npy")
        try:
            with open(path, "wb") as f:
                for p in parts:
                    np.save(f, p, allow_pickle=False)
                f.flush()
                _drop_cache(f)  # its writing starts now, and it does not wait in memory until read
        except OSError:  # the disk filled up after all
            self.full = True
            return None
        return path

    @staticmethod
    def read(path: str, names: list[str]) -> Rows:
        """The rows of one file, in split order; ``names``: the categorical terms, as the
        builder lists them."""
        with open(path, "rb") as f:
            values, missing, y, nd = (np.load(f, allow_pickle=False) for _ in range(4))
            codes = {name: np.load(f, allow_pickle=False).astype(np.int64) for name in names}
            _drop_cache(f)  # read once: its pages are of no further use
        return Rows(values, missing, codes, y, np.zeros(len(y)), int(nd[0]))

    def discard(self, full: bool = False) -> None:
        """Remove every file: before a pass writes (what an earlier pass wrote is not used), or
        after it when the copy is incomplete (``full``: it stays marked so)."""
        with self._lock:
            for name in os.listdir(self.dir) if not self._closed else ():
                os.unlink(os.path.join(self.dir, name))
            self.bytes, self.full = 0, full

    def close(self) -> None:
        with self._lock:
            self._closed = True
        shutil.rmtree(self.dir, ignore_errors=True)


__all__ = ["RowsCopy", "fold", "join", "leaves"]
