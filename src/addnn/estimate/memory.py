"""Memories mapped to LUTRAM, BRAM18 or flip-flops by depth, width and read ports, with FINN's
rules (``finn.custom_op.fpgadataflow``: MVAU ``bram_estimation`` / ``lut_estimation``,
StreamingFIFO) and the UltraScale+ primitives (UG573, UG574). All of it is **modelled**: Vivado
decides the real mapping.

- A ROM of depth 1 is a constant and costs nothing (it folds into the logic reading it).
- A ROM or RAM of at most ``LUTRAM_DEPTH`` words is distributed: a ROM takes one LUT6 per
  64 x 1 bits (FINN's ``c2`` term), or per 32 x 2 bits up to 32 words (each bit a function of
  the 5 address bits, two to a LUT6_2); a simple dual-port RAM the RAM64M8 / RAM32M16 rate of
  8 LUTs per 64 x 7 or 32 x 14 bits.
- Deeper ones take BRAM18 in simple dual-port mode by width (FINN's ladder: 16K x 1 .. 512 x
  36), replicated for every two read ports.
- UltraRAM is not used: on UltraScale+ it has no initial contents, so it cannot hold the
  weights or thresholds, and the streams and line buffers are small.
- Streams: where ``addnn.hls.storage.fifo_impl`` binds them (the generator renders the same
  choice as BIND_STORAGE pragmas).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from addnn.hls.storage import fifo_impl

LUTRAM_DEPTH = 128          # FINN: internal_embedded weights with wmem <= 128 go to LUTRAM
BRAM18_BITS = 18 * 1024


@dataclass(frozen=True)
class Memory:
    lut: int = 0
    ff: int = 0
    bram18: int = 0
    kind: str = "none"      # const, lutram, bram, ff, srl


def bram18_count(depth: int, width: int) -> int:
    """BRAM18 blocks for depth x width in simple dual-port mode (FINN's ladder)."""
    if width <= 0 or depth <= 0:
        return 0
    if width == 1:
        return math.ceil(depth / 16384)
    if width == 2:
        return math.ceil(depth / 8192)
    if width <= 4:
        return math.ceil(depth / 4096) * math.ceil(width / 4)
    if width <= 9:
        return math.ceil(depth / 2048) * math.ceil(width / 9)
    if width <= 18 or depth > 512:
        return math.ceil(depth / 1024) * math.ceil(width / 18)
    return math.ceil(depth / 512) * math.ceil(width / 36)


def rom(depth: int, width: int, ports: int = 1) -> Memory:
    if depth <= 1 or width <= 0:
        return Memory(kind="const")
    if depth <= 32:       # a 5-input function a bit: two bits a LUT6_2 (shared address)
        return Memory(lut=math.ceil(width / 2) * ports, kind="lutram")
    if depth <= LUTRAM_DEPTH:
        return Memory(lut=width * math.ceil(depth / 64) * ports, kind="lutram")
    return Memory(bram18=bram18_count(depth, width) * math.ceil(ports / 2), kind="bram")


def ram(depth: int, width: int) -> Memory:
    """A buffer with one write and one read port a cycle."""
    if depth <= 0 or width <= 0:
        return Memory()
    if depth <= 2:
        return Memory(ff=depth * width, kind="ff")
    if depth <= LUTRAM_DEPTH:
        per = (32, 14) if depth <= 32 else (64, 7)
        return Memory(lut=8 * math.ceil(depth / per[0]) * math.ceil(width / per[1]),
                      kind="lutram")
    return Memory(bram18=bram18_count(depth, width), kind="bram")


def fifo(depth: int, width: int) -> Memory:
    """An hls::stream FIFO where ``addnn.hls.storage.fifo_impl`` puts it, plus FINN's
    2 log2(depth) LUTs of pointer logic."""
    ctrl = 2 * max(1, math.ceil(math.log2(max(depth, 2))))
    impl = fifo_impl(depth, width)
    if impl is None:
        return Memory(lut=ctrl, ff=depth * width, kind="ff")
    if impl == "srl":
        return Memory(lut=ctrl + width * math.ceil(depth / 32), ff=width, kind="srl")
    if impl == "lutram":
        m = ram(depth, width)
        return Memory(lut=ctrl + m.lut, ff=width, kind="lutram")
    return Memory(lut=ctrl, bram18=bram18_count(depth, width), kind="bram")
