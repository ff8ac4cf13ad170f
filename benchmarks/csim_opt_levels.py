"""C simulation's two compile modes, optimised (-O2, the default) and debug (-O0,
``addnn csim --debug-build``): cold compile time and simulation time of a small random net
(the test suite's kind, ``tests/hls/netgen.py``) and of the shipped ResNet-20, each build
bit-exact against the integer graph. The ratios are debug over optimised, measured in the same
run on this machine.

    python benchmarks/csim_opt_levels.py [--images N] [--repeats R]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from common import write_result

from addnn.checkpoint import load_model
from addnn.export import export_model
from addnn.hls import generate_project
from addnn.hls.csim import compile_project, project_frames, run_frames
from addnn.hls.project import integer_graph, load_project

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "assets" / "samples" / "cifar10_val_exact_256.npz"


def small_net():
    sys.path.insert(0, str(ROOT / "tests" / "hls"))
    from netgen import random_resnet

    return random_resnet(7, (4, 6), 8, 8, 2)


def measure(prj: Path, data: str | None, images: int | None, optimize: bool,
            repeats: int) -> dict:
    """Best-of-``repeats`` cold compile (a fresh cache each time) and one simulation run."""
    meta = load_project(prj)
    inputs, expected, _, _ = project_frames(prj, meta, data, images)
    compiles = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="addnn-opt-") as cache:
            binary, seconds = compile_project(prj, cache=Path(cache), optimize=optimize)
            compiles.append(seconds)
            got, run_s = run_frames(binary, inputs, expected)
    return {"compile_s": round(min(compiles), 2), "run_s": round(run_s, 3),
            "frames": int(len(inputs)), "identical": float((got == expected).all(1).mean())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=32, help="ResNet-20 frames to simulate")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="addnn-opt-prj-") as tmp:
        small = Path(tmp) / "small"
        generate_project(small_net(), small)
        model, _ = load_model(ROOT / "assets" / "models" / "resnet20_adder_addnn_w8.pt")
        big = Path(tmp) / "resnet20"
        generate_project(integer_graph(export_model(model, Path(tmp) / "m.onnx")), big)
        nets = [("small random net (tb frames)", small, None, None),
                (f"ResNet-20 ({args.images} samples)", big, str(SAMPLES), args.images)]
        print(f"{'net':>30} {'build':>6} {'compile s':>10} {'run s':>8} {'identical':>9}")
        for name, prj, data, images in nets:
            got = {}
            for optimize, build in ((True, "-O2"), (False, "-O0")):
                r = measure(prj, data, images, optimize, args.repeats)
                got[build] = r
                print(f"{name:>30} {build:>6} {r['compile_s']:>10.2f} {r['run_s']:>8.3f} "
                      f"{100 * r['identical']:>8.2f}%")
            rows.append({"net": name, **{f"{k} {b}": v for b, r in got.items()
                                         for k, v in r.items()},
                         "compile_ratio_O0_over_O2": round(got["-O0"]["compile_s"]
                                                           / got["-O2"]["compile_s"], 3),
                         "run_ratio_O0_over_O2": round(got["-O0"]["run_s"]
                                                       / max(got["-O2"]["run_s"], 1e-9), 2)})
            print(f"{'':>30} -O0/-O2: compile x{rows[-1]['compile_ratio_O0_over_O2']}, run "
                  f"x{rows[-1]['run_ratio_O0_over_O2']}")
    write_result("csim_opt_levels", {"measured": "g++ compile (best of "
                                     f"{args.repeats}, cold cache) and simulation on this "
                                     "machine", "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
