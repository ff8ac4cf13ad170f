"""Post-training quantization of the released AdderNet ResNet-20, every preset and bit width.

Calibration: 1,024 of the 4,068 exact-pixel images of data_batch_1..4 (CIFAR-10 approximate
copy). Evaluation on two sets:
- val-exact, the 1,017 exact-pixel images at the start of data_batch_5: training images of the
  released model (see the README's caution), so it compares variants of one model;
- dev, the 8,983 JPEG-approximated CIFAR-10 test images, never trained on: generalisation,
  reported with the gap to the float model on the same images.

    python benchmarks/quant_ptq.py [--checkpoint PATH] [--data DIR] [--dev-data DIR]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from common import add_dev_data, add_shared_inputs, write_result

from addnn.data import load_cifar
from addnn.errors import AddnnError
from addnn.models import load_official
from addnn.quant.pipeline import calibration_subset, quantize_model
from addnn.train import evaluate

CASES = [("thesis", 8, False), ("thesis", 8, True), ("thesis-dwbn", 8, False),
         ("addnn", 8, False), ("addnn", 8, True), ("addnn", 6, False), ("addnn", 6, True),
         ("addnn", 4, False), ("addnn", 4, True)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_shared_inputs(parser)
    add_dev_data(parser)
    parser.add_argument("--calib-images", type=int, default=1024)
    args = parser.parse_args(argv)
    try:
        model = load_official(args.checkpoint).eval()
        full = load_cifar(args.data, "cifar10", "trainval")
        mask = np.load(args.data / "exact_train_mask.npy")
        dev = load_cifar(args.dev_data, "cifar10", "test")
    except (AddnnError, OSError) as err:
        print(f"quant_ptq: {err}", file=sys.stderr)
        return 2
    exact = np.flatnonzero(mask)
    calib = calibration_subset(full.subset(exact[exact < 40000], "exact-pixel batches 1-4"),
                               args.calib_images)
    val = full.subset(np.arange(40000, 41017), "val-exact")

    def score(m) -> dict:
        return {"top1": evaluate(m, val, progress=False)["top1"],
                "dev_top1": evaluate(m, dev, progress=False)["top1"]}

    ref = score(model)
    rows = [{"model": "float official", **ref}]
    print(f"{'model':38} {'val-exact':>10} {'dev':>8} {'dev gap':>8}")

    def show(name: str, row: dict, extra: str = "") -> None:
        print(f"{name:38} {100 * row['top1']:9.2f}% {100 * row['dev_top1']:7.2f}% "
              f"{100 * (row['dev_top1'] - ref['dev_top1']):+8.2f}{extra}")

    show("float official", ref)
    for preset, bits, reest in CASES:
        start = time.perf_counter()
        q, report = quantize_model(model, preset, bits, calib, reestimate=reest)
        name = f"{preset} W{bits}A{bits} PTQ" + (" + BN re-estimated" if reest else "")
        row = {"model": name, "preset": preset, "bits": bits, "bn_reestimated": reest,
               **score(q), "integer_bn": preset == "addnn",
               "clamped_adder_weights": report.clamped_weights}
        row["dev_gap_to_float"] = row["dev_top1"] - ref["dev_top1"]
        row["val_exact_gap_to_float"] = row["top1"] - ref["top1"]
        if preset == "addnn":      # the same model with float BN, for comparison
            q.set_integer(False)
            row["top1_float_bn"] = evaluate(q, val, progress=False)["top1"]
        row["seconds"] = time.perf_counter() - start
        rows.append(row)
        show(name, row, f"  (float BN on val-exact {100 * row['top1_float_bn']:.2f}%)"
             if "top1_float_bn" in row else "")
    write_result("quant_ptq", {
        "data": "CIFAR-10 approximate copy: calibration = "
                f"{len(calib)} random exact-pixel images of data_batch_1..4; evaluation = "
                "val-exact, 1,017 images (training images of the released model): top1; "
                "dev = CIFAR-10 test, JPEG-approximated (8,983 images, never trained on): "
                "dev_top1", "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
