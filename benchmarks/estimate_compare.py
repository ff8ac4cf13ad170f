"""`addnn estimate` of ResNet-20 on the KV260 at W8, W6 and W4, for each SAD unit (LUT only,
Quad12 and Octo8 DSP packing), beside the reference design and NN2FPGA. Every addnn figure is
modelled (see the estimator's provenance); nothing here comes from Vivado or a board.

Networks: W8 is the shipped default (assets/models/resnet20_adder_addnn_w8.pt). W6 and W4 are
the shipped float model quantized post-training with `addnn quantize --bits 6|4` on the 256
shipped samples: they give the structure and bit widths of those networks, not their accuracy
(issue 15 ships trained W4/W6 models).

    python benchmarks/estimate_compare.py [--bits 8 6 4] [--sad lut quad12 octo8]

It also records the W8A8 headroom: `quad12` within 85% of the LUTs, and the 12,000 frames/s
target with no resource limit, each with its LUTs by part.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from common import write_result

from addnn.atomic import atomic_write_text
from addnn.checkpoint import load_model
from addnn.estimate.boards import RESOURCES, load_board
from addnn.estimate.estimate import estimate
from addnn.estimate.report import (
    NN2FPGA,
    REFERENCE,
    comparison_row,
    comparison_table,
    separate_map_names,
)
from addnn.export import export_model
from addnn.hls.project import integer_graph
from addnn.hls.stages import build_stages

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "assets"
SAMPLES = ASSETS / "samples" / "cifar10_val_exact_256.npz"
WORK = ROOT / "build" / "estimate_compare"


def checkpoint(bits: int) -> Path:
    if bits == 8:
        return ASSETS / "models" / "resnet20_adder_addnn_w8.pt"
    path = WORK / f"resnet20_addnn_w{bits}_ptq.pt"
    if not path.exists():
        from addnn.data import load_dataset
        from addnn.quant.pipeline import calibration_subset, quantize_checkpoint

        calib = calibration_subset(load_dataset("cifar10", str(SAMPLES), "train"), 256)
        quantize_checkpoint(ASSETS / "models" / "resnet20_adder_official.pt", path, "addnn",
                            bits, calib)
    return path


def run(graph, board, clock_mhz: float, bits: int, sad: str, util: float,
        fps_target: float | None = None) -> dict:
    """One estimate as a row, with its LUTs by part, printed as a line."""
    start = time.perf_counter()
    est = estimate(graph, board, clock_mhz, sad, util, fps_target)
    frac = est.fraction()
    lut_parts: dict[str, float] = {}
    for r in est.rows:
        for part, res in (r.parts.items() if r.parts else [(r.kind, r.res)]):
            lut_parts[part] = lut_parts.get(part, 0.0) + res["lut"]
    lut_parts["streams"] = sum(v["lut"] for v in est.streams.values())
    row = {**comparison_row(est, f"addnn W{bits}A{bits}, SAD {sad}"
                            + (f", util {util:g}" if util != 0.8 else "")
                            + (f", target {fps_target:g} FPS" if fps_target else ""),
                            "modelled by addnn estimate"),
           "bits": bits, "sad": sad, "util": util, "fps_target": fps_target,
           "period_cycles": est.period,
           "fraction_of_board": {r: round(frac[r], 4) for r in RESOURCES},
           "lut_by_part": {k: round(v) for k, v in lut_parts.items()},
           "separate_maps": len(separate_map_names(est)),
           "lanes": sum(r.pe * r.simd for r in est.rows if r.kind == "ConvStage"),
           "seconds": round(time.perf_counter() - start, 1)}
    print(f"{row['design']:44s} {row['fps']:9,.0f} FPS  LUT {100 * frac['lut']:5.1f}%  "
          f"FF {100 * frac['ff']:5.1f}%  DSP {100 * frac['dsp']:5.1f}%  "
          f"BRAM {100 * frac['bram36']:5.1f}%  lanes {row['lanes']:5d}  ({row['seconds']} s)")
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bits", type=int, nargs="+", default=[8, 6, 4])
    ap.add_argument("--sad", nargs="+", default=["lut", "quad12", "octo8"])
    ap.add_argument("--board", default="kv260")
    ap.add_argument("--clock-mhz", type=float, default=250.0)
    ap.add_argument("--util", type=float, default=0.8)
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    board = load_board(args.board)
    rows, headroom = [], []
    for bits in args.bits:
        model, _ = load_model(checkpoint(bits))
        graph = build_stages(integer_graph(export_model(model, WORK / f"w{bits}.onnx")))
        for sad in args.sad:
            rows.append(run(graph, board, args.clock_mhz, bits, sad, args.util))
        if bits == 8 and "quad12" in args.sad:
            # What W8A8 would need: more LUTs, or the 12,000 frames/s target with no limit.
            headroom.append(run(graph, board, args.clock_mhz, 8, "quad12", 0.85))
            headroom.append(run(graph, board, args.clock_mhz, 8, "quad12", 1.0, 12000.0))
    table = comparison_table([REFERENCE, NN2FPGA, *rows])
    print(table)
    write_result("estimate_compare", {
        "board": board.name, "util": args.util, "clock_mhz": args.clock_mhz,
        "networks": {"8": "shipped default", "6": "PTQ of the shipped float model on the 256 "
                     "shipped samples", "4": "the same at 4 bits"},
        "reference": REFERENCE, "nn2fpga": NN2FPGA, "rows": rows,
        "w8_headroom": headroom,
        "note": "addnn figures are modelled (addnn estimate); the reference design's are its "
                "Vitis estimates, NN2FPGA's a board measurement"})
    atomic_write_text(ROOT / "benchmarks" / "results" / "estimate_compare.md", table + "\n")


if __name__ == "__main__":
    main()
