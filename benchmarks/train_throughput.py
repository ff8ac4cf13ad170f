"""Training throughput of ResNet-20 (AdderNet and CNN) on this CPU, in images/s.

Runs a few hundred optimisation steps of the ``thesis-final`` recipe at batch 128 with
augmentation, and extrapolates the time of one 45,000-image CIFAR-10 training epoch. Image
content does not change the speed, so synthetic CIFAR-shaped data stands in when no CIFAR
directory is given.

    python benchmarks/train_throughput.py [--steps N] [--data DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from common import write_result

from addnn.train import load_config, train

EPOCH_IMAGES = 45_000


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--data", help="CIFAR-10 directory (default: synthetic images)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="throughput_"))
    rows = {}
    try:
        for kind in ("adder", "cnn"):
            data = ([f"data.root={args.data}", "data.dataset=cifar10"] if args.data else
                    ["data.dataset=synthetic-cifar10",
                     f"data.synthetic_size={args.steps * args.batch_size}"])
            cfg = load_config(None, [f"model.kind={kind}", *data,
                                     f"data.batch_size={args.batch_size}", "train.epochs=1",
                                     f"train.max_steps_per_epoch={args.steps}",
                                     f"train.out={work / kind}", "train.plot=false",
                                     "train.tensorboard=false"])
            metrics = train(cfg)
            ips = metrics["images_per_s"]
            rows[kind] = {"images_per_s": ips, "steps": args.steps,
                          "batch_size": args.batch_size,
                          "epoch_minutes_45k": EPOCH_IMAGES / ips / 60}
            print(f"ResNet-20 {kind:5}: {ips:.0f} training images/s "
                  f"({args.steps} steps of {args.batch_size}), one 45,000-image epoch "
                  f"~{EPOCH_IMAGES / ips / 60:.1f} min")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_result("train_throughput", {
        "data": args.data or "synthetic CIFAR-10-shaped images", "recipe": "thesis-final "
        "(Adam), augmentation on", "models": rows,
        "ratio_adder_vs_cnn": rows["adder"]["images_per_s"] / rows["cnn"]["images_per_s"]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
