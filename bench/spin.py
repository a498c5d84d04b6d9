"""Slot spin (or shop buy) against the reference only: ``make bench``'s REST part for one route.

    make bench-spin                                   # = bench/run.py --only rest --routes spin
    make bench-buy BENCH_ARGS="--skip-reference"      # = ... --routes buy --skip-reference
    .venv/bin/python bench/spin.py [--route spin|buy] [any option of bench/run.py]

Kept for the commands the decisions and older results name; ``bench/run.py`` does the work (see
its docstring). Defaults here: one route, 32 connections, gunicorn.
"""

from __future__ import annotations

import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from bench import run


def main() -> int:
    argv = sys.argv[1:]
    route = "spin"
    if "--route" in argv:
        index = argv.index("--route")
        route = argv[index + 1]
        del argv[index : index + 2]
    return run.main(["--only", "rest", "--routes", route, "--connections", "32", *argv])


if __name__ == "__main__":
    sys.exit(main())
