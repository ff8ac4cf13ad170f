"""AdderNet LeNet-5-BN against the CNN LeNet-5-BN on Fashion-MNIST, same budget, from scratch.

Both train for the same epochs with the same recipe on the first 55,000 training images
(the last 5,000 are the validation split), then are evaluated on the 10,000 test images.

    python benchmarks/fashion_lenet.py [--epochs N] [--data DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from common import RESULTS, write_result

from addnn.checkpoint import load_model
from addnn.data import load_dataset
from addnn.errors import AddnnError
from addnn.train import evaluate, load_config, train
from addnn.train.metrics_log import read_csv


def plot(curves: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for color, (kind, rows) in zip(("C0", "C1"), curves.items()):
        epochs = [r["epoch"] for r in rows]
        ax_loss.plot(epochs, [r["train_loss"] for r in rows], color=color, marker=".",
                     label=f"{kind} train")
        ax_loss.plot(epochs, [r["val_loss"] for r in rows], "--", color=color, marker=".",
                     label=f"{kind} validation")
        ax_acc.plot(epochs, [100 * r["train_acc"] for r in rows], color=color, marker=".",
                    label=f"{kind} train")
        ax_acc.plot(epochs, [100 * r["val_acc"] for r in rows], "--", color=color, marker=".",
                    label=f"{kind} validation")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss")
    ax_acc.set(xlabel="epoch", ylabel="top-1 accuracy (%)")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("LeNet-5-BN on Fashion-MNIST: AdderNet vs CNN")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--data", help="IDX directory (default: Debian's)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="fashion_lenet_"))
    results, curves = {}, {}
    try:
        test = load_dataset("fashion-mnist", args.data, "test")
        for kind in ("adder", "cnn"):
            cfg = load_config(Path(__file__).parents[1] / "configs" / "lenet5_fmnist.yaml",
                              [f"model.kind={kind}", f"train.epochs={args.epochs}",
                               f"train.out={work / kind}", "train.plot=false",
                               "train.tensorboard=false"] +
                              ([f"data.root={args.data}"] if args.data else []))
            metrics = train(cfg)
            model, _ = load_model(work / kind / "last.pt")
            res = evaluate(model, test)
            curves[kind] = read_csv(work / kind / "metrics.csv")
            results[kind] = {"test_top1": res["top1"], "test_images": res["images"],
                             "final_val_top1": metrics["val_acc"],
                             "train_images_per_s": sum(r["images_per_s"] for r in curves[kind])
                             / len(curves[kind]),
                             "epochs": args.epochs, "curve": curves[kind]}
            print(f"LeNet-5-BN {kind:5}: test top-1 {100 * res['top1']:.2f}% on "
                  f"{res['images']} Fashion-MNIST test images after {args.epochs} epochs")
    except AddnnError as err:
        print(f"fashion_lenet: {err}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(work, ignore_errors=True)
    png = RESULTS / "fashion_lenet_curves.png"
    plot(curves, png)
    print(f"wrote {png}")
    write_result("fashion_lenet", {
        "data": "Fashion-MNIST: train = first 55,000 training images, val = last 5,000, "
                "test = 10,000 test images", "recipe": "configs/lenet5_fmnist.yaml",
        "models": results, "curves_png": png.name})
    return 0


if __name__ == "__main__":
    sys.exit(main())
