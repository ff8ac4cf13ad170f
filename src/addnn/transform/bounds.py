"""Worst-case accumulator bounds from the weights and the input ranges: the integer graph's
DataTypes are computed, never guessed. Zero padding needs no case of its own: every IntType
range holds 0."""

from __future__ import annotations

import numpy as np

from addnn.numeric import IntType


def adder_bounds(x: IntType, w: np.ndarray) -> tuple[int, int]:
    """Range of ``-sum |x - w|`` per output channel, over every input in range: the term
    of weight w lies between its distance to the range and to the farther end."""
    lo, hi = x.lo, x.hi
    w = w.reshape(len(w), -1).astype(np.int64)
    far = np.maximum(np.abs(hi - w), np.abs(w - lo)).sum(1)
    near = np.where(w < lo, lo - w, np.where(w > hi, w - hi, 0)).sum(1)
    return -int(far.max()), -int(near.min())


def mac_bounds(x: IntType, w: np.ndarray) -> tuple[int, int]:
    """Range of ``sum x * w`` per output channel: each product at its extreme input."""
    lo, hi = x.lo, x.hi
    w = w.reshape(len(w), -1).astype(np.int64)
    top = np.maximum(w * lo, w * hi).sum(1)
    bottom = np.minimum(w * lo, w * hi).sum(1)
    return int(bottom.min()), int(top.max())
