#!/usr/bin/env python3
"""The smallest memory limit each backend runs in: `greta run` in a kernel memory cgroup (as in a
container or a systemd slice), with no engine settings, bisected. Prints a table.

usage: python bench/memory_limits.py [--rows 1000000,4000000] [--backends pandas,dask,spark]
                                     [--step 32] [--out bench/out]

Needs root and a cgroup v1 memory hierarchy or a cgroup v2 tree with the memory controller
delegated (the group is made under this process's own and removed afterwards). Data: the planted
layout of greta_core.datasets (20 numeric columns, two categoricals, y; about 185 bytes a row as
CSV). A limit "works" when `greta run` exits 0 with the same confirmed hypotheses as the first
run at the largest limit; the search between --low and --high MiB stops at --step MiB. Also
printed: the wall time at the smallest working limit.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path[:0] = [str(Path(__file__).parent), str(TESTS / "core" / "backends"), str(TESTS)]
from backends_kit import MemoryCgroup  # noqa: E402 - the tests' cgroup helper
from main_job import data_file  # noqa: E402 - the same planted files as `make bench`

GRETA = str(Path(sys.executable).with_name("greta"))
MiB = 2**20


def run(path: Path, backend: str, limit_mib: int, out: Path) -> tuple[bool, list, float]:
    """(finished, confirmed hypotheses, wall seconds) under the limit."""
    results, log = out / f"limit-{backend}.json", out / f"limit-{backend}.log"
    results.unlink(missing_ok=True)
    cmd = [GRETA, "run", "--data", str(path), "--target", "y", "--backend", backend, "--seed", "1",
           "-o", str(results), "-q"]
    with MemoryCgroup(limit_mib * MiB) as group:
        t = time.perf_counter()
        status = group.run(cmd, log)
        wall = time.perf_counter() - t
    if status != 0:
        return False, [], wall
    doc = json.loads(results.read_text())
    return True, [h["terms"] for h in doc["hypotheses"] if h["confirmed"]], wall


def smallest(path: Path, backend: str, low: int, high: int, step: int, out: Path) -> dict:
    ok, want, wall = run(path, backend, high, out)
    if not ok:
        return {"limit": None, "note": f"fails even at {high} MiB"}
    best = {"limit": high, "wall": wall}
    while high - low > step:
        mid = (low + high) // 2
        ok, got, wall = run(path, backend, mid, out)
        print(f"  {backend} {path.name} {mid} MiB: {'ok' if ok else 'killed'}"
              f"{'' if not ok or got == want else ' (different answer)'}", file=sys.stderr)
        if ok and got == want:
            high, best = mid, {"limit": mid, "wall": wall}
        else:
            low = mid
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", default="1000000,4000000")
    ap.add_argument("--backends", default="pandas,dask,spark")
    ap.add_argument("--low", type=int, default=128)
    ap.add_argument("--high", type=int, default=4096)
    ap.add_argument("--step", type=int, default=32)
    ap.add_argument("--out", default="bench/out")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in (int(float(r)) for r in args.rows.split(",")):
        path = data_file(out, n)
        for backend in args.backends.split(","):
            r = smallest(path, backend, args.low, args.high, args.step, out)
            rows.append((backend, n, path.stat().st_size / MiB, r))
    print(f"\n{'backend':8} {'rows':>10} {'file MiB':>9} {'smallest limit MiB':>19} {'wall s':>7}")
    for backend, n, size, r in rows:
        if r["limit"] is None:
            print(f"{backend:8} {n:>10,} {size:>9,.0f} {r['note']:>19}")
        else:
            print(f"{backend:8} {n:>10,} {size:>9,.0f} {r['limit']:>19,} {r['wall']:>7.1f}")
    print(f"(bisected to {args.step} MiB; a limit works when `greta run` finishes with the answer it gives "
          f"at {args.high} MiB)")


if __name__ == "__main__":
    main()
