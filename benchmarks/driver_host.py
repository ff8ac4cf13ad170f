"""The PYNQ driver's host work per frame, on this CPU: quantizing uint8 images, packing them
into stream words, and unpacking the logits, against the torch normalisation of addnn's data
loader (the same float32 arithmetic) measured in the same run. The board's Cortex-A53 is
slower than this CPU, so these are not board figures: they say how the host side compares
with the accelerator's modelled frame rate, not what a KV260 achieves.

    python benchmarks/driver_host.py [--images 4096] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from common import write_result

from addnn.data.samples import load_samples
from addnn.deploy import pynq_driver as driver
from addnn.deploy.package import driver_config

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "assets" / "samples" / "cifar10_val_exact_256.npz"
# The frame formats of the shipped default's project (addnn hls of resnet20_adder_addnn_w8):
# 3,072 int8 inputs at 2**-5 in 384 words, 10 int16 logits at 2**-11 in 3 words.
META = {"top": "addnn_top", "source": "resnet20_addnn_w8_int.onnx", "clock_ns": 4.0,
        "input": {"D": 64, "EB": 1, "EPW": 8, "ELEMS": 3072, "WORDS": 384, "CH": 3, "BITS": 8,
                  "SIGNED": 1, "exponent": -5, "shape": [3, 32, 32]},
        "output": {"D": 64, "EB": 2, "EPW": 4, "ELEMS": 10, "WORDS": 3, "CH": 10, "BITS": 16,
                   "SIGNED": 1, "exponent": -11}}


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--images", type=int, default=4096)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    ds = load_samples(SAMPLES)
    reps = -(-args.images // len(ds))
    images = np.concatenate([ds.images.numpy()] * reps)[:args.images]
    cfg = driver_config(META, "cifar10")
    frames = driver.quantize_images(images, cfg)
    words = driver.pack_frames(frames, cfg["input"])
    out = driver.pack_frames(np.zeros((len(images), 10), np.int64), cfg["output"])
    timed = {
        "torch normalise (baseline)": lambda: ds.normalize(torch.from_numpy(images)),
        "quantize_images": lambda: driver.quantize_images(images, cfg),
        "pack_frames": lambda: driver.pack_frames(frames, cfg["input"]),
        "unpack_frames (logits)": lambda: driver.unpack_frames(out, cfg["output"], len(images)),
    }
    rows = []
    base = None
    for name, fn in timed.items():
        s = best(fn, args.repeats)
        base = base or s
        rows.append({"step": name, "seconds": round(s, 5), "images_per_s": round(len(images) / s),
                     "x_baseline": round(s / base, 2)})
        print(f"{name:28s} {len(images) / s:12,.0f} images/s  {s / base:5.2f}x baseline")
    host = sum(r["seconds"] for r in rows[1:])
    print(f"host total (quantize + pack + unpack): {len(images) / host:,.0f} images/s on this CPU")
    write_result("driver_host", {
        "images": len(images), "input_bytes_per_frame": int(words.size // len(images)),
        "rows": rows, "host_images_per_s": round(len(images) / host),
        "note": "measured on this CPU with numpy; the board's Cortex-A53 is slower, and the DMA "
                "transfers and PYNQ's register calls are not included",
        "formats": META})


if __name__ == "__main__":
    main()
