"""``addnn estimate``: a thin shell over ``addnn.estimate``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from addnn.errors import AddnnError


def _graph_and_settings(args: argparse.Namespace):
    """The stage graph, and the SAD unit, clock and folding a project fixes (if a directory)."""
    from addnn.export import load_graph
    from addnn.hls.folding import folding_maps, read_folding
    from addnn.hls.project import GRAPH_FILE, integer_graph, load_project
    from addnn.hls.stages import build_stages, separate_maps

    def folded(graph, path, sad):
        graph = separate_maps(graph, folding_maps(path, graph))
        return graph, read_folding(path, graph, sad)

    src = Path(args.model)
    if src.is_dir():
        meta = load_project(src)
        graph = build_stages(integer_graph(load_graph(src / GRAPH_FILE), meta["bn"]))
        sad = args.sad or meta["sad"]
        clock = args.clock_mhz or 1e3 / meta["clock_ns"]
        graph, folding = folded(graph, args.folding or (src / "folding.json"), sad)
        return graph, sad, clock, folding
    if not src.exists():
        raise AddnnError(f"{src}: no such model or HLS project")
    graph = build_stages(integer_graph(load_graph(src), args.bn))
    sad = args.sad or "lut"
    folding = None
    if args.folding:
        graph, folding = folded(graph, args.folding, sad)
    return graph, sad, args.clock_mhz or 250.0, folding


def cmd_estimate(args: argparse.Namespace) -> int:
    """Choose the folding by integer programming (or take the given one), simulate the
    dataflow for FIFO depths and throughput, cost the resources, write FOLD.json beside its
    estimate (JSON) and charts (PNG)."""
    from addnn.estimate.boards import load_board
    from addnn.estimate.estimate import estimate
    from addnn.estimate.report import comparison_table, record, table, write_all

    if not 0 < args.util <= 1:
        raise AddnnError(f"--util {args.util} outside (0, 1]")
    for value, name in ((args.clock_mhz, "--clock-mhz"), (args.fps_target, "--fps-target")):
        if value is not None and value <= 0:
            raise AddnnError(f"{name} must be positive, not {value:g}")
    if args.output.suffix != ".json":
        raise AddnnError(f"-o {args.output}: the folding file is JSON (FOLD.json)")
    start = time.perf_counter()
    board = load_board(args.board)
    graph, sad, clock, folding = _graph_and_settings(args)
    est = estimate(graph, board, clock, sad, args.util, args.fps_target, folding)
    paths = write_all(est, args.output, source=Path(args.model).name)
    print(table(est))
    print()
    print(comparison_table(record(est, Path(args.model).name)["comparison"]))
    print()
    print("Modelled, not measured: cycles beyond the counted loop iterations, FPS, latency, "
          "memories, DSPs and control; SAD lanes, comparators and adders are yosys-calibrated.")
    print(f"wrote {paths['folding']}, {paths['json']}, {paths['cycles_png']} and "
          f"{paths['resources_png']} in {time.perf_counter() - start:.1f} s")
    return 0


def register(subparsers) -> None:
    from addnn.estimate.boards import board_names
    from addnn.hls.folding import SAD_LANES

    est = subparsers.add_parser(
        "estimate", help="throughput, FIFO depths and resources; folding by integer programming")
    est.add_argument("model", type=Path,
                     help="integer graph or exported QONNX (folding chosen), or an `addnn hls` "
                          "project directory (its folding estimated)")
    est.add_argument("-o", "--output", type=Path, required=True,
                     help="FOLD.json to write (FINN's folding format); FOLD.estimate.json, "
                          "FOLD.cycles.png and FOLD.resources.png go beside it")
    est.add_argument("--board", default="kv260", choices=board_names())
    est.add_argument("--clock-mhz", type=float, default=None,
                     help="clock (default 250, or the project's)")
    est.add_argument("--sad", choices=list(SAD_LANES), default=None,
                     help="SAD lanes: LUT only, or packed into DSP48E2 (default lut, or the "
                          "project's)")
    est.add_argument("--bn", choices=["integer", "float32"], default="integer",
                     help="BN when lowering an exported QONNX graph")
    est.add_argument("--util", type=float, default=0.8,
                     help="usable fraction of every board resource (default 0.8)")
    est.add_argument("--fps-target", type=float, default=None,
                     help="meet this frame rate with the fewest resources, instead of the most "
                          "frames within the budget")
    est.add_argument("--folding", type=Path, default=None,
                     help="estimate this folding instead of choosing one")
    est.set_defaults(func=cmd_estimate)
