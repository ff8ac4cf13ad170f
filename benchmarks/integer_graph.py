"""The integer graph of the shipped default against its PyTorch emulation, on many images.

Data (CIFAR-10 approximate copy, ../shared by default): val-exact, the 1,017 exact-pixel
images at the start of data_batch_5, and the first 5,000 images of data_batch_1 (agreement
only: any images will do). Rungs: PyTorch with integer BN (the emulation), the integer graph
(batch path), the integer graph with the reference design's float32 BN, and PyTorch with
float32 BN. Speed: images/s of the batch path against qonnx's executor on the same graph.

    python benchmarks/integer_graph.py [--data DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import SHARED, write_result

from addnn.checkpoint import load_model
from addnn.data import load_cifar
from addnn.errors import AddnnError
from addnn.export import export_model, with_batch_size
from addnn.transform import lower_to_integer, run_integer
from addnn.verify import compare, run_integer_graph, run_torch, torch_in_mode

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def rungs(model, graphs, data) -> dict:
    out = {"torch-int": run_torch(torch_in_mode(model, True), data, 128, "torch-int")}
    out["integer"] = run_integer_graph(graphs["integer"], data, 128)
    out["torch"] = run_torch(torch_in_mode(model, False), data, 128, "torch")
    out["integer-fbn"] = run_integer_graph(graphs["float32"], data, 128, "integer-fbn")
    return out


def speed(graph, images: np.ndarray, fast: bool) -> float:
    g = with_batch_size(graph, len(images))
    start = time.perf_counter()
    run_integer(g, images, fast=fast)
    return len(images) / (time.perf_counter() - start)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "cifar-10-batches-py")
    args = parser.parse_args(argv)
    try:
        full = load_cifar(args.data, "cifar10", "trainval")
    except (AddnnError, OSError) as err:
        print(f"integer_graph: {err}", file=sys.stderr)
        return 2
    sets = {"val-exact (data_batch_5[0:1017])": full.subset(np.arange(40000, 41017)),
            "data_batch_1[0:5000]": full.subset(np.arange(5000))}
    model, _ = load_model(ASSETS / "models" / "resnet20_adder_addnn_w8.pt")
    with tempfile.TemporaryDirectory() as tmp:
        exported = export_model(model, Path(tmp) / "m.onnx")
    graphs = {bn: lower_to_integer(exported, bn) for bn in ("integer", "float32")}
    rows = []
    for name, data in sets.items():
        r = rungs(model, graphs, data)
        row = {"images": name, "count": len(data),
               "top1": {k: v.accuracy for k, v in r.items()},
               "integer_vs_torch_int": compare(r["torch-int"], r["integer"]),
               "fbn_vs_torch": compare(r["torch"], r["integer-fbn"]),
               "integer_vs_fbn": compare(r["integer"], r["integer-fbn"])}
        rows.append(row)
        print(f"{name} ({len(data)} images): " + ", ".join(
            f"{k} {100 * v:.2f}%" for k, v in row["top1"].items()))
        for key in ("integer_vs_torch_int", "fbn_vs_torch", "integer_vs_fbn"):
            c = row[key]
            print(f"  {key}: identical logits {100 * c['identical_logits']:.2f}%, argmax "
                  f"agreement {100 * c['argmax_agreement']:.2f}%, max |dlogit| "
                  f"{c['max_abs_diff']:.3g}")
    images = sets["val-exact (data_batch_5[0:1017])"]
    x = images.normalize(images.images[:256]).numpy()
    fast, slow = speed(graphs["integer"], x, True), speed(graphs["integer"], x, False)
    print(f"integer graph, 256 images in one batch: batch path {fast:.0f} img/s, qonnx "
          f"execute_onnx {slow:.0f} img/s ({fast / slow:.1f}x)")
    write_result("integer_graph", {
        "data": f"CIFAR-10 approximate copy in {args.data}", "model": "assets/models/"
        "resnet20_adder_addnn_w8.pt", "rows": rows,
        "speed": {"batch_path_images_per_s": round(fast, 1),
                  "execute_onnx_images_per_s": round(slow, 1), "batch": 256}})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
