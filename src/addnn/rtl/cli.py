"""``addnn rtl``: the RTL subcommand (a thin shell over ``addnn.rtl.report`` and
``addnn.rtl.calibrate``)."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_report(args: argparse.Namespace) -> int:
    """Synthesize the SAD PE variants with yosys and write the resource tables."""
    from addnn.rtl.report import run_report

    record = run_report(args.sizes, args.out)
    for r in record["results"]:
        print(f"P={r['lanes']:3d} {r['variant']:6s} DSP48E2 {r['dsp48e2']:3d}  LUT {r['lut']:5d} "
              f"({r['lut'] / r['lanes']:.1f}/lane)  CARRY4 {r['carry4']:4d}  FF {r['ff']:5d}")
    print(f"wrote {args.out / 'rtl_report.json'} and {args.out / 'rtl_report.md'}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Synthesize the SAD datapath grid with yosys, fit it and write the calibration files."""
    from addnn.rtl.calibrate import DATA_FILE, NAME, run_calibration

    data = None if args.no_data else (args.data or DATA_FILE)
    record = run_calibration(args.out, data)
    for f in record["fits"].values():
        print(f"B={f['B']} DIFF_IN={f['DIFF_IN']}  " + "  ".join(
            f"{q.upper()} {f[q]['per_lane']:.2f}/lane + {f[q]['per_pe']:.1f}"
            for q in ("lut", "ff", "carry4")))
    wrote = [args.out / f"{NAME}.json", args.out / f"{NAME}.md"] + ([data] if data else [])
    print(f"{record['seconds']:.0f} s; wrote {', '.join(map(str, wrote))}")
    return 0


def register(subparsers) -> None:
    """Add ``rtl`` with its actions to the ``addnn`` subcommands."""
    rtl = subparsers.add_parser("rtl", help="DSP48E2 SAD units: synthesis report, "
                                            "resource calibration")
    actions = rtl.add_subparsers(dest="rtl_action", metavar="ACTION", required=True)
    rep = actions.add_parser("report", help="yosys synth_xilinx -family xcup of the SAD PE "
                                            "(LUT, Quad12, Octo8) for each size")
    rep.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32, 64],
                     help="PE lane counts (multiples of 8)")
    rep.add_argument("--out", type=Path, default=Path("benchmarks/results"),
                     help="directory for rtl_report.json and rtl_report.md")
    rep.set_defaults(func=cmd_report)
    cal = actions.add_parser("calibrate", help="yosys resource calibration of the SAD datapath "
                                               "(sad_tree) for the estimator")
    cal.add_argument("--out", type=Path, default=Path("benchmarks/results"),
                     help="directory for lane_calibration.json and lane_calibration.md")
    cal.add_argument("--data", type=Path, default=None,
                     help="the estimator's data file (default: the package's "
                          "estimate/data/lane_calibration.json)")
    cal.add_argument("--no-data", action="store_true", help="do not write the data file")
    cal.set_defaults(func=cmd_calibrate)
