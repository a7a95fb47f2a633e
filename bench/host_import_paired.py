"""The host import against an older tree of linkolis_host, paired on this machine: a script that prints ratios.

    git worktree add /tmp/old fe2e28f
    .venv/bin/python bench/host_import_paired.py /tmp/old                  # N = 10,000 and 50,000, 3 pairs
    .venv/bin/python bench/host_import_paired.py /tmp/old 10000 --pairs 5

Both sides run THIS tree's ``bench/host_import.py --one N status`` in a fresh process, one with the older tree first
on ``PYTHONPATH`` (the script imports ``linkolis_host`` from whichever tree is first), with the same venv and no
entry-point plugins loaded (``LINKOLIS_LOAD_PLUGINS=""``: the synthetic plugin is the only one). The runs of a pair
go old then new, the next pair new then old, so a drift in the machine's load falls on both sides alike. A ratio is
new orders/s over old orders/s of one pair (> 1: the new tree is faster), printed as the median with its min-max,
beside the load average before and after each shape. "CPU old/new" is the same ratio of the process's CPU seconds
over the same span (> 1: the new tree spends less), which a shared machine's waits for a core do not blur. The clock
is ``perf_counter`` around ``import_orders`` only: it hides the process start, the install and the database's
creation, and includes the plugin's share (making the orders, the same code on both sides).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

SCRIPT = str(Path(__file__).with_name("host_import.py"))


def run(tree: str | None, n: int, status: str) -> dict:
    env = dict(os.environ, LINKOLIS_LOAD_PLUGINS="")
    if tree:
        env["PYTHONPATH"] = tree + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, SCRIPT, "--one", str(n), status], capture_output=True, text=True, env=env, check=False
    )
    if out.returncode:
        sys.exit(f"{tree or 'new'} N={n} {status} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", help="the older tree (a git worktree): the directory holding its linkolis_host")
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 50_000])
    parser.add_argument("--new", help="the newer tree, if not this one (to pair two commits before this one)")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--shapes", default="open,history")
    args = parser.parse_args(argv)
    shapes = {"open": "unshipped", "history": "shipped"}
    print(
        f"{'orders':>7} {'shape':>7} {'old o/s':>17} {'new o/s':>17} {'new/old median':>14} {'min-max':>11} "
        f"{'CPU old/new':>10} {'min-max':>11}  load"
    )
    for n in args.sizes:
        for shape in args.shapes.split(","):
            before = load()
            old, new, ratios, cpu = [], [], [], []
            for pair in range(args.pairs):
                sides = [("old", args.old), ("new", args.new)]
                got = {side: run(tree, n, shapes[shape]) for side, tree in (sides if pair % 2 == 0 else sides[::-1])}
                old.append(got["old"]["orders_per_s"])
                new.append(got["new"]["orders_per_s"])
                ratios.append(got["new"]["orders_per_s"] / got["old"]["orders_per_s"])
                cpu.append(got["old"]["cpu_s"] / got["new"]["cpu_s"])
            print(
                f"{n:>7,} {shape:>7} {_spread(old):>17} {_spread(new):>17} {statistics.median(ratios):>14.3f} "
                f"{min(ratios):.3f}-{max(ratios):.3f} {statistics.median(cpu):>10.3f} {min(cpu):.3f}-{max(cpu):.3f}  "
                f"{before} -> {load()}",
                flush=True,
            )


def _spread(values: list[int]) -> str:
    return f"{statistics.median(values):,.0f} ({min(values):,}-{max(values):,})"


if __name__ == "__main__":
    main(sys.argv[1:])
