"""``addnn hls`` and ``addnn csim``: thin shells over ``addnn.hls``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from addnn.errors import AddnnError


def cmd_hls(args: argparse.Namespace) -> int:
    """Generate the Vitis HLS project of an integer (or exported QONNX) graph."""
    from addnn.export import load_graph
    from addnn.hls.project import DEFAULT_TB_FRAMES, generate_project

    check_positive(args.tb_images, "--tb-images")
    start = time.perf_counter()
    graph = load_graph(args.model)
    images = None
    if args.tb_data:
        from addnn.data import load_dataset

        ds = load_dataset(args.dataset, args.tb_data, args.split)
        ds = ds.subset(range(min(args.tb_images or DEFAULT_TB_FRAMES, len(ds))))
        images = ds.normalize(ds.images).numpy()
    meta = generate_project(graph, args.output, source=Path(args.model).name,
                            folding_path=args.folding, sad=args.sad, clock_ns=args.clock_ns,
                            bn=args.bn, images=images,
                            tb_frames=args.tb_images or DEFAULT_TB_FRAMES,
                            thresholds=args.thresholds, fifo_depths=args.fifo_depths)
    stages = len(meta["stages"])
    skips = sum(1 for s in meta["streams"] if s["depth"] > 2)
    print(f"wrote {args.output} in {time.perf_counter() - start:.1f} s: {stages} dataflow "
          f"stages, {len(meta['streams'])} streams ({skips} deeper than 2, depths "
          f"{meta['fifo_depths']}), SAD {meta['sad']}, BN {meta['bn']}, {meta['tb_frames']} testbench frames")
    return 0


def cmd_csim(args: argparse.Namespace) -> int:
    """Compile the project with g++ and compare it with the integer graph, bit for bit."""
    from addnn.hls.csim import csim, print_report, write_report

    check_positive(args.images, "--images")
    check_positive(args.jobs, "--jobs")
    check_positive(args.batch, "--batch")
    report = csim(args.project, args.data, args.images, exact=args.exact_types,
                  bounded=args.bounded, jobs=args.jobs, split=args.split, dataset=args.dataset,
                  batch=args.batch, optimize=not args.debug_build)
    print_report(report)
    if args.json:
        write_report(report, args.json)
    if report["identical"] < 1.0:
        print(f"FAIL: {100 * (1 - report['identical']):.2f}% of the frames differ from the "
              "integer graph")
        return 1
    return 0


def register(subparsers) -> None:
    hls = subparsers.add_parser("hls", help="generate the Vitis HLS dataflow accelerator")
    hls.add_argument("model", type=Path, help="integer graph (`addnn lower`) or exported QONNX")
    hls.add_argument("-o", "--output", type=Path, required=True, help="project directory")
    hls.add_argument("--board", default="kv260", choices=["kv260"])
    hls.add_argument("--folding", type=Path, help="PE and SIMD per layer (FINN's JSON format)")
    hls.add_argument("--sad", default="lut", choices=["lut", "quad12", "octo8"],
                     help="SAD lanes in LUTs, or packed into DSP48E2 slices (RTL black box)")
    hls.add_argument("--clock-ns", type=float, default=4.0)
    hls.add_argument("--bn", default="integer", choices=["integer", "float32"],
                     help="BN + requantization as exact integer maps, or the reference "
                          "design's float32 BN")
    hls.add_argument("--fifo-depths", default="sim", choices=["sim", "untimed"],
                     help="stream depths from the dataflow simulation (default), or from the "
                          "untimed read-before-write model only")
    hls.add_argument("--thresholds", default="auto", choices=["auto", "stored"],
                     help="threshold maps: computed in the search where they form a "
                          "progression (auto), or all stored in ROM")
    hls.add_argument("--tb-data", help="images for the testbench (dataset directory or .npz); "
                                       "default: random frames")
    hls.add_argument("--tb-images", type=int, help="testbench frames (default 8)")
    hls.add_argument("--dataset", default="cifar10")
    hls.add_argument("--split", default="test", choices=["train", "val", "trainval", "test"])
    hls.set_defaults(func=cmd_hls)

    cs = subparsers.add_parser("csim", help="g++ C simulation of a generated project against "
                                            "the integer graph")
    cs.add_argument("project", type=Path)
    cs.add_argument("--data", help="dataset directory or .npz samples (default: the "
                                   "testbench's frames)")
    cs.add_argument("--images", type=int, help="use the first N images")
    cs.add_argument("--dataset", default="cifar10")
    cs.add_argument("--split", default="test", choices=["train", "val", "trainval", "test"])
    cs.add_argument("--exact-types", action="store_true",
                    help="ap_int/ap_uint everywhere, as Vitis builds it (slow)")
    cs.add_argument("--bounded", action="store_true",
                    help="one thread per process, streams bounded at their depths: deadlocks")
    cs.add_argument("--debug-build", action="store_true",
                    help="compile without optimisation (-O0), as Vitis HLS's csim_design "
                         "without -O: about half the compile time of a small net, many "
                         "times the run time of a large one")
    cs.add_argument("--jobs", type=int, help="simulation processes (default: CPU count)")
    cs.add_argument("--batch", type=int, default=1,
                    help="frames per DMA transfer: input TLAST on the last word of each "
                         "transfer, output TLAST checked at the end of each packet (default 1)")
    cs.add_argument("--json", type=Path, help="also write the report as JSON")
    cs.set_defaults(func=cmd_csim)


def check_positive(value: int | None, what: str) -> None:
    if value is not None and value < 1:
        raise AddnnError(f"{what} must be at least 1")
