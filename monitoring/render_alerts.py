#!/usr/bin/env python3
"""Render the alert rules template with thresholds from the environment (standard library only).

    python monitoring/render_alerts.py                      # print, defaults or $VARIABLES
    python monitoring/render_alerts.py --out rules/alerts.yml
    python monitoring/render_alerts.py --check monitoring/prometheus/alerts.yml

Prometheus reads no environment in rule files, so thresholds are placeholders (``${NAME}``) in
``prometheus/alerts.yml.tmpl``. Every threshold must be a number; an unknown placeholder or a
non-numeric value stops with an error. ``--check FILE`` exits 1 unless FILE equals the rendering
with the defaults (CI keeps the committed ``alerts.yml`` in step with the template).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "prometheus" / "alerts.yml.tmpl"

DEFAULTS = {
    "PURCHASE_FAILURE_RATIO": "0.2",  # failed / (succeeded + failed) over 10 minutes
    "PENDING_PURCHASE_SPIKE": "50",  # purchases gone pending in 15 minutes
    "HTTP_5XX_RATIO": "0.02",
    "HTTP_P95_SECONDS": "0.5",
    "WS_ABNORMAL_DISCONNECTS_PER_SECOND": "1",
    "GROUP_FANOUT_P99_MS": "50",  # one public-group frame to all of a socket process's subscribers
    "CELERY_QUEUE_BACKLOG": "100",
    "PROJECTION_LAG_SECONDS": "10",  # oldest unapplied event of a projection
}
_NUMBER = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)\}")  # ${NAME}; Prometheus' own $value is left alone


def render(environ: Mapping[str, str]) -> str:
    values = {}
    for name, default in DEFAULTS.items():
        value = environ.get(f"ALERT_{name}", default).strip()
        if not _NUMBER.fullmatch(value):
            raise ValueError(f"ALERT_{name}={value!r} is not a number")
        values[name] = value

    def substitute(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise ValueError(f"unknown placeholder {match.group(0)} in {TEMPLATE.name}")
        return values[match.group(1)]

    return _PLACEHOLDER.sub(substitute, TEMPLATE.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write here instead of printing")
    parser.add_argument("--check", type=Path, help="compare FILE with the default rendering")
    args = parser.parse_args()
    if args.check:
        if args.check.read_text() != render({}):
            print(f"{args.check} is stale: run {Path(__file__).name} --out {args.check}")
            return 1
        return 0
    text = render(os.environ)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
