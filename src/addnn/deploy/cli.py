"""``addnn deploy``: a thin shell over ``addnn.deploy``."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_deploy(args: argparse.Namespace) -> int:
    """Write the board package; with --check-driver run its driver against C simulation."""
    from addnn.hls.cli import check_positive
    from addnn.deploy.package import deploy

    check_positive(args.check_driver, "--check-driver")
    check_positive(args.batch, "--batch")
    record = deploy(args.project, args.output, args.board, args.dataset, args.samples,
                    args.clock_mhz, args.check_driver, args.batch)
    check = record["tcl_check"]
    print(f"wrote {record['output']}: build.sh, build_bd.tcl ({len(check['cells'])} cells, "
          f"{len(check['interfaces'])} interfaces and {len(check['pins'])} pins checked against "
          f"the IPs' ports: no errors), pynq/ driver; PL clock {record['clock_mhz']} MHz")
    if "driver_check" in record:
        from addnn.deploy.simulate import print_driver_report

        print_driver_report(record["driver_check"])
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("deploy", help="the board package of an HLS project: Vivado block "
                              "design, build script, PYNQ driver")
    p.add_argument("project", type=Path, help="the HLS project (`addnn hls`)")
    p.add_argument("--board", default="kv260", choices=["kv260"])
    p.add_argument("-o", "--output", type=Path,
                   help="package directory (default: beside the project, <project>_<board>)")
    p.add_argument("--dataset", default="cifar10", choices=["cifar10", "cifar100"],
                   help="the normalisation the driver applies (default cifar10)")
    p.add_argument("--samples", type=Path, help="sample images (.npz) to ship in pynq/")
    p.add_argument("--clock-mhz", type=float,
                   help="PL clock 0 (default: the HLS project's clock)")
    p.add_argument("--check-driver", type=int, metavar="N",
                   help="run the packaged driver on N sample images through the C simulation "
                        "(a stand-in DMA) and require the integer graph's logits")
    p.add_argument("--batch", type=int, default=8, help="frames per DMA transfer in the check")
    p.set_defaults(func=cmd_deploy)
