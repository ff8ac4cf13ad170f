"""Quantization-aware fine-tuning of PTQ models of the released ResNet-20, judged on unseen images.

Data (CIFAR-10 approximate copy, ../shared/data/cifar-10-batches-py):
- fine-tuning: ``--train-set exact``, the 4,068 exact-pixel images of data_batch_1..4; or
  ``all``, all 48,983 training images except val-exact (JPEG-approximated ones included);
- val-exact: the 1,017 exact-pixel images at the start of data_batch_5, training images of the
  released model (agreement with the float model, not generalisation);
- dev: the 8,983 JPEG-approximated CIFAR-10 *test* images (../shared/data/cifar10-test-jpeg),
  never trained on. The best epoch is chosen on dev (``--select dev``, the default) or on
  val-exact; epoch 0, the PTQ model itself, counts.

Each case: PTQ as in quant_ptq.py, then E epochs of the training loop (Adam, cosine from LR,
integer BN maps for ``addnn``, BN statistics and quantizer scales free with ``--free-bn``,
distillation from the float model with ``--distill``). The case ``float`` fine-tunes the float
model with the same recipe: the fair baseline for a fine-tuned quantized model, since the extra
epochs on this data help the float model too. Every row reports both data sets and the gap to
float official on each.

    python benchmarks/quant_qat.py [--epochs E] [--lr LR] [--cases addnn:4,addnn:6,thesis:8,float]
        [--train-set exact|all] [--select dev|val-exact] [--free-bn]
        [--distill WEIGHT --temperature T] [--save DIR] [--out JSON]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from common import add_dev_data, add_shared_inputs, write_result

from addnn.checkpoint import load_model, save_model
from addnn.data import load_cifar
from addnn.data.copy_indices import copy_index_sets
from addnn.errors import AddnnError
from addnn.models import load_official
from addnn.quant.pipeline import calibration_subset, finetune, quant_spec, quantize_model
from addnn.train import evaluate, load_config, train
from addnn.train.metrics_log import read_csv

FLOAT_SPEC = {"arch": "resnet20", "kind": "adder", "num_classes": 10}


def finetune_float(args, start: Path, teacher: Path | None, index: Path, run: Path,
                   out: Path) -> int:
    """The float model through the same recipe as ``finetune`` (BN free, as with --free-bn);
    returns the epoch kept."""
    overrides = ["model.arch=resnet20", "model.kind=adder", f"data.root={args.data}",
                 f"data.train_index={index}", "data.batch_size=128",
                 "train.recipe=thesis-adam-cosine-low", f"train.epochs={args.epochs}",
                 f"train.lr={args.lr}", f"train.init={start}", f"train.out={run}",
                 f"train.seed={args.seed}"]
    overrides += ([f"data.val_root={args.dev_data}", "data.val_split=test"]
                  if args.select == "dev" else [f"data.val={run.parent / 'val.txt'}"])
    if teacher:
        overrides += [f"train.teacher={teacher}", f"train.distill_weight={args.distill}",
                      f"train.distill_temperature={args.temperature}"]
    train(load_config(None, overrides))
    best, data = load_model(run / "best.pt")
    save_model(out, best, FLOAT_SPEC)
    return data["train_state"]["epoch"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_shared_inputs(parser)
    add_dev_data(parser)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--cases", default="addnn:8,addnn:6,addnn:4,thesis:8")
    parser.add_argument("--train-set", choices=["exact", "all"], default="exact")
    parser.add_argument("--select", choices=["dev", "val-exact"], default="dev",
                        help="the images that choose the best epoch")
    parser.add_argument("--free-bn", action="store_true",
                        help="BN statistics and quantizer scales adapt while fine-tuning")
    parser.add_argument("--distill", type=float, default=0.0, metavar="WEIGHT",
                        help="distil from the float model with this soft-loss weight (0: off)")
    parser.add_argument("--temperature", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", type=Path, metavar="DIR",
                        help="keep each fine-tuned checkpoint as DIR/<preset>_w<bits>.pt")
    parser.add_argument("--out", type=Path, help="JSON path (default results/quant_qat.json)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="qat_"))
    try:
        model = load_official(args.checkpoint).eval()
        full = load_cifar(args.data, "cifar10", "trainval")
        mask = np.load(args.data / "exact_train_mask.npy")
        dev = load_cifar(args.dev_data, "cifar10", "test")
    except (AddnnError, OSError) as err:
        print(f"quant_qat: {err}", file=sys.stderr)
        return 2
    rows = []
    try:
        sets = copy_index_sets(mask)
        # Named as scripts/cifar_copy_indices.py names them: checkpoints record the name.
        index = work / ("exact_calib.txt" if args.train_set == "exact" else "train_all.txt")
        np.savetxt(index, sets[index.stem], fmt="%d")
        np.savetxt(work / "val.txt", sets["val_exact"], fmt="%d")
        val = full.subset(sets["val_exact"], "val-exact")
        start = work / "float.pt"
        save_model(start, model, FLOAT_SPEC)
        teacher = start if args.distill > 0 else None
        calib = calibration_subset(full.subset(sets["exact_calib"]), 1024)

        def both(m) -> dict:
            return {"val_exact": evaluate(m, val, progress=False)["top1"],
                    "dev": evaluate(m, dev, progress=False)["top1"]}

        reference = both(model)
        print(f"float official: val-exact {100 * reference['val_exact']:.2f}%, dev "
              f"{100 * reference['dev']:.2f}%")
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
        for case in args.cases.split(","):
            preset, _, bits = case.partition(":")
            name = f"{preset}_w{bits}" if bits else preset
            out, run = work / f"{name}.pt", work / f"{name}.run"
            if preset == "float":
                before = reference
                best_epoch = finetune_float(args, start, teacher, index, run, out)
            else:
                q, _ = quantize_model(model, preset, int(bits), calib)
                before = both(q)
                ptq = work / f"{name}.ptq.pt"
                save_model(ptq, q, quant_spec(q, "resnet20"), data={"dataset": "cifar10"},
                           source=f"benchmarks/quant_qat.py: PTQ {preset} W{bits}A{bits}",
                           calibration={"images": len(calib), "dataset": "exact_calib.txt "
                                        "(exact-pixel images of data_batch_1..4)",
                                        "bn_reestimated": False})
                finetune(ptq, out, run, str(args.data), "cifar10", str(index),
                         str(work / "val.txt"), args.epochs, args.lr,
                         freeze=not args.free_bn, seed=args.seed,
                         teacher=str(teacher) if teacher else None,
                         distill_weight=args.distill, distill_temperature=args.temperature,
                         val_data=str(args.dev_data) if args.select == "dev" else None)
            tuned, meta = load_model(out)
            if preset != "float":
                best_epoch = meta["finetune"]["best_epoch"]
            after = both(tuned)
            curve = [r["val_acc"] for r in read_csv(run / "metrics.csv")]
            if args.save:
                shutil.copyfile(out, args.save / f"{name}.pt")
            row = {"preset": preset, "bits": int(bits) if bits else None,
                   "before": before, "finetuned": after,
                   "gap_to_float_official": {k: after[k] - reference[k] for k in after},
                   "best_epoch": best_epoch, f"{args.select}_top1_per_epoch": curve,
                   "epochs": args.epochs, "lr": args.lr, "free_bn_and_scales":
                   args.free_bn or preset == "float", "seed": args.seed,
                   "distill_weight": args.distill,
                   "distill_temperature": args.temperature if args.distill else None}
            rows.append(row)
            print(f"{name}: {'PTQ' if bits else 'start'} val-exact "
                  f"{100 * before['val_exact']:.2f}% dev {100 * before['dev']:.2f}% -> "
                  f"fine-tuned val-exact {100 * after['val_exact']:.2f}% dev "
                  f"{100 * after['dev']:.2f}% (gap to float on dev "
                  f"{100 * row['gap_to_float_official']['dev']:+.2f}; epoch {best_epoch} of "
                  f"{args.epochs}, chosen on {args.select})")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    train_desc = ("the 4,068 exact-pixel images of data_batch_1..4 (exact_calib.txt of "
                  "scripts/cifar_copy_indices.py)" if args.train_set == "exact"
                  else "all 48,983 training images but val-exact (train_all.txt of "
                       "scripts/cifar_copy_indices.py)")
    write_result("quant_qat", {
        "data": {"fine_tuning": f"CIFAR-10 approximate copy: {train_desc}, augmented",
                 "val_exact": "CIFAR-10 approximate copy, val-exact = the 1,017 exact-pixel "
                              "images at the start of data_batch_5 (training images of the "
                              "released model)",
                 "dev": "CIFAR-10 test, JPEG-approximated (8,983 images), never trained on",
                 "epoch_chosen_on": args.select},
        "float_official": reference, "rows": rows}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
