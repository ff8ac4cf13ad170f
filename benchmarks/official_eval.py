"""The released AdderNet ResNet-20 through load_official, on the CIFAR-10 approximate copy.

Two sets from the approximate copy of the CIFAR-10 training split (see its README):
- val-exact: the 1,017 exact-pixel images at the start of data_batch_5 (indices 40000-41016);
- the JPEG-approximated rest of data_batch_5 (indices 41017-49999, 8,983 images).

    python benchmarks/official_eval.py [--checkpoint PATH] [--data DIR]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from common import add_shared_inputs, write_result

from addnn.data import load_cifar
from addnn.errors import AddnnError
from addnn.models import load_official
from addnn.train import evaluate


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_shared_inputs(parser)
    args = parser.parse_args(argv)
    try:
        model = load_official(args.checkpoint)
        full = load_cifar(args.data, "cifar10", "trainval")
    except AddnnError as err:
        print(f"official_eval: {err}", file=sys.stderr)
        return 2
    sets = {"val-exact (data_batch_5[0:1017], exact pixels)": np.arange(40000, 41017),
            "data_batch_5[1017:10000] (JPEG-approximated)": np.arange(41017, 50000)}
    rows = {}
    print(f"{'set':52} {'images':>7} {'top-1':>8} {'loss':>7} {'img/s':>7}")
    for name, idx in sets.items():
        res = evaluate(model, full.subset(idx), batch_size=256)
        rows[name] = res
        print(f"{name:52} {res['images']:7d} {100 * res['top1']:7.2f}% {res['loss']:7.4f} "
              f"{res['images_per_s']:7.0f}")
    write_result("official_eval", {
        "checkpoint": str(args.checkpoint.name), "data": "CIFAR-10 approximate copy, "
        "training split", "note": "the released model was trained on the whole CIFAR-10 "
        "training split, so both sets are training images for it", "sets": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
