"""The generated HLS accelerator of the shipped default under g++ C simulation: generation
time, cold compile time, simulation speed of the fast, exact-type and bounded builds, and
agreement with the integer graph (every figure measured here; nothing from Vitis).

Images: the 256 shipped samples (assets/samples), and val-exact (CIFAR-10 approximate copy,
the 1,017 exact-pixel images at the start of data_batch_5) when ../shared is present. Also
run: the DSP-packed variants (--sad quad12, octo8) and the reference design's float32 BN
(--bn float32) on the samples, each against its own integer graph.

    python benchmarks/hls_csim.py [--data DIR] [--exact-images N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import SHARED, write_result

from addnn.checkpoint import load_model
from addnn.errors import AddnnError
from addnn.export import export_model
from addnn.hls import generate_project
from addnn.estimate import stage_iterations
from addnn.hls.csim import CsimFailure, compile_project, project_frames, run_frames
from addnn.hls.depths import stream_depths
from addnn.hls.folding import read_folding
from addnn.hls.project import integer_graph, load_project
from addnn.hls.stages import AddStage, build_stages

ASSETS = Path(__file__).resolve().parents[1] / "assets"
SAMPLES = ASSETS / "samples" / "cifar10_val_exact_256.npz"


def simulate(prj: Path, data: str, images: int | None, exact=False, bounded=False,
             cache: Path | None = None, split: str = "test", label: str = "") -> dict:
    meta = load_project(prj)
    inputs, expected, labels, what = project_frames(prj, meta, data, images, split)
    binary, compile_s = compile_project(prj, exact, bounded, cache)
    got, seconds = run_frames(binary, inputs, expected)
    row = {"images": what, "count": int(len(inputs)), "compile_seconds": round(compile_s, 2),
           "seconds": round(seconds, 3), "images_per_s": round(len(inputs) / seconds, 1),
           "identical": float((got == expected).all(1).mean()),
           "build": ("exact" if exact else "fast") + (" bounded" if bounded else "")}
    if labels is not None:
        row["top1"] = float((got.argmax(1) == labels).mean())
    print(f"  {label or row['build']:>13}: {row['count']} {what.split(' of ')[-1]}, compile "
          f"{row['compile_seconds']} s, {row['images_per_s']} images/s, identical "
          f"{100 * row['identical']:.2f}%" + (f", top-1 {100 * row['top1']:.2f}%"
                                               if "top1" in row else ""))
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "cifar-10-batches-py")
    parser.add_argument("--exact-images", type=int, default=64)
    args = parser.parse_args(argv)
    model, _ = load_model(ASSETS / "models" / "resnet20_adder_addnn_w8.pt")
    rows, variants = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        graph = export_model(model, tmp / "w8.onnx")
        start = time.perf_counter()
        generate_project(graph, tmp / "hls", source="resnet20_addnn_w8 (shipped default)")
        gen_s = time.perf_counter() - start
        print(f"ResNet-20 (shipped default): project generated in {gen_s:.1f} s")
        cold = tmp / "cache"
        rows.append(simulate(tmp / "hls", str(SAMPLES), None, cache=cold))
        rows[-1]["images"] = "the 256 shipped samples (assets/samples)"
        rows.append(simulate(tmp / "hls", str(SAMPLES), args.exact_images, exact=True,
                             cache=cold))
        rows.append(simulate(tmp / "hls", str(SAMPLES), 16, bounded=True, cache=cold))
        try:
            val = load_val_exact(args.data)
        except (AddnnError, OSError) as err:
            print(f"  val-exact skipped: {err}")
            val = None
        if val is not None:
            rows.append(simulate(tmp / "hls", str(val), None, cache=cold, label="val-exact"))
            rows[-1]["images"] = "val-exact: CIFAR-10 approximate copy, data_batch_5[0:1017]"
        for kw in ({"sad": "quad12"}, {"sad": "octo8"}, {"bn": "float32"}):
            name = next(iter(kw.values()))
            generate_project(graph, tmp / name, **kw)
            # The packed units' C models are bit-level DSP48E2 models: slower to simulate.
            count = None if name == "float32" else args.exact_images
            row = simulate(tmp / name, str(SAMPLES), count, cache=cold,
                           label=f"{'sad' if 'sad' in kw else 'bn'} {name}")
            variants.append({"variant": kw, **row})
        iterations = modelled_iterations(graph, tmp / "hls")
        sweep = skip_depth_sweep(graph, tmp, cold)
    write_result("hls_csim", {
        "model": "resnet20_addnn_w8 (assets/models, the shipped default)",
        "generation_seconds": round(gen_s, 2), "runs": rows, "variants": variants,
        "loop_iterations": iterations, "skip_fifo_sweep": sweep,
        "measured": "everything here is g++ C simulation on this machine; no Vitis figures",
        "targets": {"cold_compile_s": 60, "fast_images_per_s": 100, "goal_images_per_s": 500}})
    return 0


def modelled_iterations(graph, prj: Path, clock_mhz: float = 250.0) -> dict:
    """The loop-iteration model of every stage under the project's folding (modelled: II = 1,
    no pipeline depth, fill or stalls; equal to the counting build, tests/hls/test_cycles.py)."""
    stages = build_stages(integer_graph(graph))
    it = stage_iterations(stages, read_folding(prj / "folding.json", stages))
    slowest = max(it, key=it.get)
    fps = clock_mhz * 1e6 / it[slowest]
    print(f"  modelled: slowest stage {slowest}, {it[slowest]} loop iterations a frame, at most "
          f"{fps:.0f} frames/s at {clock_mhz:.0f} MHz (II = 1, no pipeline fill or stalls)")
    return {"kind": "modelled", "clock_mhz": clock_mhz, "slowest_stage": slowest,
            "slowest_iterations": it[slowest], "fps_upper_bound": round(fps, 1),
            "per_stage": it}


def skip_depth_sweep(graph, tmp: Path, cache: Path) -> dict:
    """The first residual add's skip FIFO at the generated depth and below, under --bounded
    on one frame: which depths pass and which deadlock (measured)."""
    stages = build_stages(integer_graph(graph))
    depths = stream_depths(stages)
    add = next(s for s in stages.stages if isinstance(s, AddStage))
    skip = max(add.inputs, key=depths.get)
    runs = []
    for depth in (depths[skip], 64, 60):
        generate_project(graph, tmp / f"depth{depth}", depth_overrides={skip: depth})
        try:
            row = simulate(tmp / f"depth{depth}", str(SAMPLES), 1, bounded=True, cache=cache,
                           label=f"skip depth {depth}")
            runs.append({"depth": depth, "result": "pass", "identical": row["identical"]})
        except CsimFailure:
            print(f"  skip depth {depth}: deadlock")
            runs.append({"depth": depth, "result": "deadlock"})
    return {"kind": "measured (bounded-FIFO C simulation, 1 frame)", "stream": skip,
            "generated_depth": depths[skip], "runs": runs}


def load_val_exact(root: Path) -> Path:
    """val-exact as a temporary .npz sample file (the format every command reads)."""
    import numpy as np

    from addnn.data import load_cifar, save_samples

    full = load_cifar(root, "cifar10", "trainval")
    val = full.subset(np.arange(40000, 41017))
    path = Path(tempfile.mkdtemp()) / "val_exact.npz"
    save_samples(path, val, "cifar10",
                 "CIFAR-10 approximate copy, val-exact = data_batch_5[0:1017]")
    return path


if __name__ == "__main__":
    raise SystemExit(main())
