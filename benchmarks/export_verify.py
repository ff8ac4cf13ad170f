"""QONNX export and the torch-vs-QONNX rung of the verification ladder.

Rows: the shipped default (addnn W8, BN as a float32 multiply-add in both) and the thesis
preset (float BatchNorm: PyTorch's kernel against onnxruntime's), exported as QONNX and, for
thesis, QCDQ. Images: the 256 shipped samples (CIFAR-10 training images 40000-40255, exact
pixels). The thesis model is a PTQ of the shipped float model calibrated on those same images:
it measures agreement, not accuracy.

    python benchmarks/export_verify.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from common import write_result

from addnn.checkpoint import load_model
from addnn.data import load_samples
from addnn.export import count_ops, export_model, load_graph
from addnn.quant.pipeline import quantize_model
from addnn.verify import print_report, verify

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def measure(name: str, model, fmt: str, samples, tmp: Path) -> dict:
    path = tmp / f"{name}.onnx"
    start = time.perf_counter()
    export_model(model, path, fmt)
    export_s = time.perf_counter() - start
    graph = load_graph(path)
    start = time.perf_counter()
    report = verify(path, graph, samples, model)
    total_s = time.perf_counter() - start
    print_report(report)
    cmp = report["comparisons"][0]
    return {"model": name, "format": fmt, "export_s": round(export_s, 2),
            "ops": dict(count_ops(graph)), "images": len(samples),
            "torch_top1": report["accuracy"]["torch"], "qonnx_top1": report["accuracy"]["qonnx"],
            **{k: cmp[k] for k in ("max_abs_diff", "mean_abs_diff", "logit_range",
                                   "max_diff_over_range", "argmax_agreement")},
            "verify_images_per_s": round(len(samples) / total_s, 1)}


def main() -> int:
    samples = load_samples(ASSETS / "samples" / "cifar10_val_exact_256.npz")
    default, _ = load_model(ASSETS / "models" / "resnet20_adder_addnn_w8.pt")
    official, _ = load_model(ASSETS / "models" / "resnet20_adder_official.pt")
    thesis, _ = quantize_model(official.eval(), "thesis", 8, samples)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, model, fmt in (("addnn-w8 (shipped)", default, "qonnx"),
                                 ("thesis-w8", thesis, "qonnx"), ("thesis-w8", thesis, "qcdq")):
            rows.append(measure(name.split()[0], model, fmt, samples, Path(tmp)))
    print(f"\n{'model':12} {'fmt':5} {'export s':>8} {'max|dlogit|/range':>18} "
          f"{'argmax agree':>12} {'torch':>7} {'qonnx':>7} {'img/s':>6}")
    for r in rows:
        print(f"{r['model']:12} {r['format']:5} {r['export_s']:8.1f} "
              f"{r['max_diff_over_range']:18.2e} {100 * r['argmax_agreement']:11.2f}% "
              f"{100 * r['torch_top1']:6.2f}% {100 * r['qonnx_top1']:6.2f}% "
              f"{r['verify_images_per_s']:6.1f}")
    write_result("export_verify", {"data": "assets/samples/cifar10_val_exact_256.npz: CIFAR-10 "
                                           "approximate copy, training images 40000-40255",
                                   "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
