"""The addnn accelerator's host driver for PYNQ (3.x on the Kria KV260), and its validation CLI.

This file runs on the board with numpy alone: ``addnn deploy`` copies it, unchanged, into the
overlay package as ``addnn_driver.py`` beside ``accelerator.json``, and addnn's tests import
the same file. ``pynq`` is imported only when an overlay is opened on a board.

The host side of the numeric contract:
- images (uint8, NCHW) are normalised in float32, ``(x / 255 - mean) / std``, as addnn's
  data loaders do, and quantized as the integer graph's ``QuantizeInput``:
  ``clamp(round_half_even(x * 2**-e))``, computed in float64 (exact: a power-of-two scale);
- a frame is the quantized elements in NHWC order, EB bytes each (two's complement,
  little-endian), packed into D-bit stream words, the last word zero-padded;
- one DMA transfer carries a batch of frames; the accelerator sets TLAST on the last word of
  the frame that ended the transfer, so one S2MM transfer receives the whole batch;
- the logits are the output elements times ``2**output_exponent``.

    python3 addnn_driver.py --bitfile addnn.bit --dataset-root DIR [--batch 256] [--images N]
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

CONFIG_FILE = "accelerator.json"
HERE = Path(__file__).resolve().parent


class DriverError(Exception):
    """Bad input or a failed transfer: the CLI prints it as one line."""


def load_config(path: str | Path | None = None) -> dict:
    path = Path(path) if path is not None else HERE / CONFIG_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DriverError(f"no accelerator description {path}: run `addnn deploy`") from None
    except json.JSONDecodeError as err:
        raise DriverError(f"{path} is corrupt ({err})") from err


def frame_bytes(fmt: dict) -> int:
    return fmt["WORDS"] * fmt["D"] // 8


def quantize_images(images: np.ndarray, config: dict) -> np.ndarray:
    """uint8 images [N, C, H, W] to input frames [N, H * W * C] (int32)."""
    images = np.asarray(images)
    shape = tuple(config["input"]["shape"])
    if images.ndim != 4 or images.shape[1:] != shape:
        raise DriverError(f"the accelerator takes images of shape [N, {', '.join(map(str, shape))}]"
                          f", not {list(images.shape)}")
    if images.dtype != np.uint8:
        raise DriverError(f"images must be uint8 pixels, not {images.dtype}")
    table = quantize_table(config).astype(np.int32)      # [C, 256]: every pixel value
    nhwc = images.transpose(0, 2, 3, 1)
    frames = np.empty(nhwc.shape, dtype=np.int32)
    for c in range(shape[0]):
        frames[..., c] = table[c].take(nhwc[..., c])
    return frames.reshape(len(images), -1)


def quantize_table(config: dict) -> np.ndarray:
    """The input integer of each channel's 256 pixel values [C, 256] (int64): the float32
    normalisation and the quantizer applied once per value, so that a frame is a lookup (a
    pixel's integer depends only on its channel and its value)."""
    c = config["input"]["shape"][0]
    pixels = np.arange(256, dtype=np.float32).reshape(1, 256)
    mean = np.asarray(config["mean"], dtype=np.float32).reshape(c, 1)
    std = np.asarray(config["std"], dtype=np.float32).reshape(c, 1)
    x = (pixels / np.float32(255) - mean) / std                      # float32, as torch
    fmt = config["input"]
    q = np.rint(x.astype(np.float64) * 2.0 ** -fmt["exponent"])
    lo, hi = element_range(fmt)
    return np.clip(q, lo, hi).astype(np.int64)


def element_range(fmt: dict) -> tuple[int, int]:
    bits = fmt["BITS"]
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if fmt["SIGNED"] else (0, (1 << bits) - 1)


def pack_frames(frames: np.ndarray, fmt: dict) -> np.ndarray:
    """Frames [N, ELEMS] of element values to the bytes of their stream words (uint8,
    N * WORDS * D / 8), as the DMA reads them from memory."""
    frames = np.asarray(frames)
    if frames.ndim != 2 or frames.shape[1] != fmt["ELEMS"]:
        raise DriverError(f"frames must be [N, {fmt['ELEMS']}], not {list(frames.shape)}")
    lo, hi = element_range(fmt)
    if frames.size and (frames.min() < lo or frames.max() > hi):
        raise DriverError(f"frame values outside the {fmt['BITS']}-bit input type [{lo}, {hi}]")
    # In range, the cast to an EB-byte little-endian integer is the two's complement bytes.
    raw = np.zeros((len(frames), fmt["WORDS"] * fmt["EPW"]),
                   dtype=f"{'<i' if fmt['SIGNED'] else '<u'}{fmt['EB']}")
    raw[:, :fmt["ELEMS"]] = frames
    return raw.view(np.uint8).reshape(-1)


def unpack_frames(buffer: np.ndarray, fmt: dict, n: int) -> np.ndarray:
    """The bytes of ``n`` output frames' words to their element values [n, ELEMS] (int64)."""
    raw = np.asarray(buffer, dtype=np.uint8).reshape(-1)
    if raw.size < n * frame_bytes(fmt):
        raise DriverError(f"{raw.size} bytes hold fewer than {n} output frames")
    kind = "<i" if fmt["SIGNED"] else "<u"
    values = raw[:n * frame_bytes(fmt)].view(f"{kind}{fmt['EB']}").astype(np.int64)
    return values.reshape(n, fmt["WORDS"] * fmt["EPW"])[:, :fmt["ELEMS"]]


def max_batch(config: dict) -> int:
    """The most frames one DMA transfer can carry: the length register counts bytes in
    ``dma_length_bits`` bits."""
    limit = (1 << config["dma_length_bits"]) - 1
    return limit // max(frame_bytes(config["input"]), frame_bytes(config["output"]))


def _pynq():
    try:
        import pynq
    except ImportError:
        raise DriverError("the board side needs the pynq package (PYNQ 3.x on the Kria "
                          "KV260): pip install pynq, or run on a PYNQ image") from None
    return pynq


class Accelerator:
    """The accelerator behind an AXI DMA. ``overlay`` and ``allocate`` default to
    ``pynq.Overlay(bitfile)`` and ``pynq.allocate``; a test passes stand-ins."""

    def __init__(self, bitfile: str | Path | None = None, config: dict | None = None,
                 overlay=None, allocate=None):
        self.config = config if config is not None else load_config()
        if overlay is None:
            pynq = _pynq()
            if bitfile is None or not Path(bitfile).is_file():
                raise DriverError(f"no bitstream {bitfile}: give --bitfile (the .hwh beside it)")
            overlay, allocate = pynq.Overlay(str(bitfile)), pynq.allocate
        name = self.config["dma"]
        self.dma = getattr(overlay, name, None)
        if self.dma is None:
            raise DriverError(f"the overlay has no {name}: is this addnn's bitstream?")
        if not hasattr(self.dma, "sendchannel"):
            # PYNQ binds its DMA driver to axi_dma 7.1 by VLNV; another version stays a
            # DefaultIP without channels.
            raise DriverError(f"{name} has no PYNQ DMA driver (its IP version is not the one "
                              "pynq.lib.dma binds to)")
        self.allocate = allocate
        self._buffers: dict[int, tuple] = {}

    def _buffers_for(self, n: int):
        if n not in self._buffers:
            for old in self._buffers.values():     # CMA memory is scarce: one pair at a time
                for buf in old:
                    getattr(buf, "freebuffer", lambda: None)()
            self._buffers = {n: (
                self.allocate(shape=(n * frame_bytes(self.config["input"]),), dtype=np.uint8),
                self.allocate(shape=(n * frame_bytes(self.config["output"]),), dtype=np.uint8))}
        return self._buffers[n]

    def run_frames(self, frames: np.ndarray, batch: int = 256) -> np.ndarray:
        """Input frames [N, ELEMS] through the accelerator, ``batch`` frames per transfer;
        the output elements [N, ELEMS_out]."""
        if not 1 <= batch <= max_batch(self.config):
            raise DriverError(f"--batch must be 1..{max_batch(self.config)} (the DMA length "
                              f"register), not {batch}")
        fin, fout = self.config["input"], self.config["output"]
        outputs = []
        for start in range(0, len(frames), batch):
            chunk = frames[start:start + batch]
            src, dst = self._buffers_for(len(chunk))
            src[:] = pack_frames(chunk, fin)
            src.flush()
            # S2MM first, so no output word waits for a receive that is not yet armed.
            self.dma.recvchannel.transfer(dst)
            self.dma.sendchannel.transfer(src)
            self.dma.sendchannel.wait()
            self.dma.recvchannel.wait()
            dst.invalidate()
            outputs.append(unpack_frames(np.asarray(dst), fout, len(chunk)))
        return np.concatenate(outputs) if outputs else np.zeros((0, fout["ELEMS"]), np.int64)

    def predict(self, images: np.ndarray, batch: int = 256) -> np.ndarray:
        """uint8 images [N, C, H, W] to float64 logits [N, classes]."""
        values = self.run_frames(quantize_images(images, self.config), batch)
        return values * 2.0 ** self.config["output"]["exponent"]


def load_images(dataset_root: str | Path | None, samples: str | Path | None,
                images: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Test images and labels: CIFAR-10's ``test_batch`` (python layout) under
    ``dataset_root``, or an addnn sample file (.npz with images and labels)."""
    if samples is not None:
        try:
            with np.load(samples, allow_pickle=False) as f:
                x, y = f["images"].astype(np.uint8), f["labels"].astype(np.int64)
        except (OSError, KeyError, ValueError) as err:
            raise DriverError(f"{samples} is not an addnn sample file: {err}") from err
    else:
        root = Path(dataset_root)
        candidates = [root / "test_batch", root / "cifar-10-batches-py" / "test_batch"]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            raise DriverError(f"no CIFAR-10 test_batch in {root} or "
                              f"{root / 'cifar-10-batches-py'}")
        try:
            with open(path, "rb") as f:
                batch = pickle.load(f, encoding="bytes")     # the official format is a pickle
            x = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            y = np.asarray(batch[b"labels"], dtype=np.int64)
        except Exception as err:       # a truncated or foreign file: say which one
            raise DriverError(f"corrupt CIFAR batch file {path}: {err}") from err
    n = len(x) if images is None else min(images, len(x))
    return x[:n], y[:n]


def validate(accelerator: Accelerator, x: np.ndarray, y: np.ndarray, batch: int) -> dict:
    """Accuracy and throughput over the images (FINN's validate.py in spirit). The time
    covers quantizing, packing, the transfers and unpacking: what a host application sees."""
    start = time.perf_counter()
    logits = accelerator.predict(x, batch)
    seconds = time.perf_counter() - start
    return {"images": int(len(x)), "batch": batch,
            "accuracy": float((logits.argmax(1) == y).mean()) if len(x) else 0.0,
            "seconds": seconds, "fps": len(x) / max(seconds, 1e-9)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Run the addnn accelerator on CIFAR-10 test images "
                                "and print accuracy and FPS.")
    p.add_argument("--bitfile", default=str(HERE / "addnn.bit"),
                   help="the bitstream (its .hwh beside it, same base name)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--dataset-root", help="CIFAR-10 in the python layout (test_batch)")
    src.add_argument("--samples", help="an addnn sample file (.npz), e.g. the shipped samples")
    p.add_argument("--batch", type=int, default=256, help="frames per DMA transfer")
    p.add_argument("--images", type=int, help="use the first N images")
    p.add_argument("--config", help=f"accelerator description (default: {CONFIG_FILE} here)")
    args = p.parse_args(argv)
    try:
        if args.images is not None and args.images < 1:
            raise DriverError(f"--images must be positive, not {args.images}")
        accelerator = Accelerator(args.bitfile, load_config(args.config))
        x, y = load_images(args.dataset_root, args.samples, args.images)
        r = validate(accelerator, x, y, args.batch)
    except DriverError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{r['images']} images, batch {r['batch']}: top-1 {100 * r['accuracy']:.2f}%, "
          f"{r['fps']:.1f} FPS ({r['seconds']:.3f} s, host time included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
