"""Post-training quantization of the released AdderNet ResNet-20, every preset and bit width.

Calibration: 1,024 of the 4,068 exact-pixel images of data_batch_1..4 (CIFAR-10 approximate
copy). Evaluation: val-exact, the 1,017 exact-pixel images at the start of data_batch_5. Both
are training images of the released model (see the README's caution), so the figures compare
variants of one model, not generalisation.

    python benchmarks/quant_ptq.py [--checkpoint PATH] [--data DIR]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from common import add_shared_inputs, write_result

from addnn.data import load_cifar
from addnn.errors import AddnnError
from addnn.models import load_official
from addnn.quant.pipeline import calibration_subset, quantize_model
from addnn.train import evaluate

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
CASES = [("thesis", 8, False), ("thesis", 8, True), ("thesis-dwbn", 8, False),
         ("addnn", 8, False), ("addnn", 8, True), ("addnn", 6, False), ("addnn", 6, True),
         ("addnn", 4, False), ("addnn", 4, True)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_shared_inputs(parser)
    parser.add_argument("--calib-images", type=int, default=1024)
    args = parser.parse_args(argv)
    try:
        model = load_official(args.checkpoint).eval()
        full = load_cifar(args.data, "cifar10", "trainval")
        mask = np.load(args.data / "exact_train_mask.npy")
    except (AddnnError, OSError) as err:
        print(f"quant_ptq: {err}", file=sys.stderr)
        return 2
    exact = np.flatnonzero(mask)
    calib = calibration_subset(full.subset(exact[exact < 40000], "exact-pixel batches 1-4"),
                               args.calib_images)
    val = full.subset(np.arange(40000, 41017), "val-exact")
    rows = [{"model": "float official", "top1": evaluate(model, val, progress=False)["top1"]}]
    print(f"{'model':38} {'val-exact top-1':>16}")
    print(f"{'float official':38} {100 * rows[0]['top1']:15.2f}%")
    for preset, bits, reest in CASES:
        start = time.perf_counter()
        q, report = quantize_model(model, preset, bits, calib, reestimate=reest)
        res = evaluate(q, val, progress=False)
        name = f"{preset} W{bits}A{bits} PTQ" + (" + BN re-estimated" if reest else "")
        row = {"model": name, "preset": preset, "bits": bits, "bn_reestimated": reest,
               "top1": res["top1"], "correct": res["correct"],
               "integer_bn": preset == "addnn", "seconds": time.perf_counter() - start,
               "clamped_adder_weights": report.clamped_weights}
        if preset == "addnn":      # the same model with float BN, for comparison
            q.set_integer(False)
            row["top1_float_bn"] = evaluate(q, val, progress=False)["top1"]
        rows.append(row)
        extra = (f"  (float BN {100 * row['top1_float_bn']:.2f}%)" if "top1_float_bn" in row
                 else "")
        print(f"{name:38} {100 * row['top1']:15.2f}%{extra}")
    write_result("quant_ptq", {
        "data": "CIFAR-10 approximate copy: calibration = "
                f"{len(calib)} random exact-pixel images of data_batch_1..4; evaluation = "
                "val-exact, 1,017 images (training images of the released model)",
        "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
