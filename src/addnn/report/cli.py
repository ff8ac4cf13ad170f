"""``addnn report``: a thin shell over ``addnn.report``."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_report(args: argparse.Namespace) -> int:
    """Gather the build's records into one HTML page."""
    from addnn.report.page import write_report

    out = args.output or args.build / "report.html"
    r = write_report(args.build, out, args.benchmarks)
    print(f"wrote {out}: {len(r.found)} records"
          + (f"; not in this build: {', '.join(sorted(r.missing))}" if r.missing else ""))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="the build's figures on one HTML page")
    p.add_argument("build", type=Path, help="the build directory of `make demo`")
    p.add_argument("-o", "--output", type=Path, help="the page (default: BUILD/report.html)")
    p.add_argument("--benchmarks", type=Path, default=Path("benchmarks/results"),
                   help="the repository's benchmark records (default: benchmarks/results)")
    p.set_defaults(func=cmd_report)
