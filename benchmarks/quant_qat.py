"""Quantization-aware fine-tuning of PTQ models of the released ResNet-20.

Fine-tuning data: the 4,068 exact-pixel images of data_batch_1..4 (CIFAR-10 approximate copy),
with augmentation; validation and the reported figure: val-exact (1,017 images, training images
of the released model). Each case: PTQ as in quant_ptq.py, then E epochs of the training loop
(Adam, cosine from LR, BN statistics frozen unless --free-bn, integer BN maps for `addnn`,
optionally distillation from the float model), best epoch kept; every epoch's accuracy is
recorded too, since picking the best epoch on val-exact flatters it.

    python benchmarks/quant_qat.py [--epochs E] [--lr LR] [--cases addnn:4,addnn:8,...]
        [--free-bn] [--distill WEIGHT --temperature T] [--out JSON]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from common import add_shared_inputs, write_result

from addnn.checkpoint import load_model, save_model
from addnn.data import load_cifar
from addnn.models import load_official
from addnn.quant.pipeline import calibration_subset, finetune, quant_spec, quantize_model
from addnn.train import evaluate
from addnn.train.metrics_log import read_csv


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_shared_inputs(parser)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--cases", default="addnn:8,addnn:6,addnn:4,thesis:8")
    parser.add_argument("--free-bn", action="store_true",
                        help="BN statistics and quantizer scales adapt while fine-tuning")
    parser.add_argument("--distill", type=float, default=0.0, metavar="WEIGHT",
                        help="distil from the float model with this soft-loss weight (0: off)")
    parser.add_argument("--temperature", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="JSON path (default results/quant_qat.json)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="qat_"))
    try:
        model = load_official(args.checkpoint).eval()
        full = load_cifar(args.data, "cifar10", "trainval")
        exact = np.flatnonzero(np.load(args.data / "exact_train_mask.npy"))
        np.savetxt(work / "train.txt", exact[exact < 40000], fmt="%d")
        np.savetxt(work / "val.txt", np.arange(40000, 41017), fmt="%d")
        teacher = None
        if args.distill > 0:
            teacher = work / "teacher.pt"
            save_model(teacher, model, {"arch": "resnet20", "kind": "adder", "num_classes": 10})
        calib = calibration_subset(full.subset(exact[exact < 40000]), 1024)
        val = full.subset(np.arange(40000, 41017), "val-exact")
        rows = []
        for case in args.cases.split(","):
            preset, bits = case.split(":")
            q, _ = quantize_model(model, preset, int(bits), calib)
            ptq_top1 = evaluate(q, val, progress=False)["top1"]
            ptq = work / f"{preset}{bits}.ptq.pt"
            save_model(ptq, q, quant_spec(q, "resnet20"))
            out = work / f"{preset}{bits}.pt"
            finetune(ptq, out, work / f"{preset}{bits}.run", str(args.data), "cifar10",
                     str(work / "train.txt"), str(work / "val.txt"), args.epochs, args.lr,
                     freeze=not args.free_bn, seed=args.seed,
                     teacher=str(teacher) if teacher else None, distill_weight=args.distill,
                     distill_temperature=args.temperature)
            tuned, meta = load_model(out)
            curve = [r["val_acc"] for r in read_csv(work / f"{preset}{bits}.run" / "metrics.csv")]
            top1 = evaluate(tuned, val, progress=False)["top1"]
            rows.append({"preset": preset, "bits": int(bits), "ptq_top1": ptq_top1,
                         "finetuned_top1": top1, "epochs": args.epochs, "lr": args.lr,
                         "free_bn_and_scales": args.free_bn, "seed": args.seed,
                         "distill_weight": args.distill,
                         "distill_temperature": args.temperature if args.distill else None,
                         "best_epoch": meta["finetune"]["best_epoch"],
                         "val_top1_per_epoch": curve})
            print(f"{preset} W{bits}A{bits}: PTQ {100 * ptq_top1:.2f}% -> fine-tuned "
                  f"{100 * top1:.2f}% (best of {args.epochs} epochs: epoch "
                  f"{meta['finetune']['best_epoch']}) on val-exact")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_result("quant_qat", {
        "data": "CIFAR-10 approximate copy: fine-tuning on the 4,068 exact-pixel images of "
                "data_batch_1..4; validation = val-exact, 1,017 images (training images of "
                "the released model)", "rows": rows}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
