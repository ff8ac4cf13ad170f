"""Worst-case accumulator bounds from the weights and the input ranges: the integer graph's
DataTypes are computed, never guessed."""

from __future__ import annotations

import numpy as np

from addnn.numeric import IntType


def _input_range(x: IntType, padded: bool) -> tuple[int, int]:
    """Zero padding adds the value 0 to what the window can read."""
    return (min(x.lo, 0), max(x.hi, 0)) if padded else (x.lo, x.hi)


def adder_bounds(x: IntType, w: np.ndarray, padded: bool) -> tuple[int, int]:
    """Range of ``-sum |x - w|`` per output channel, over every input in range: the term
    of weight w lies between its distance to the range and to the farther end."""
    lo, hi = _input_range(x, padded)
    w = w.reshape(len(w), -1).astype(np.int64)
    far = np.maximum(np.abs(hi - w), np.abs(w - lo)).sum(1)
    near = np.where(w < lo, lo - w, np.where(w > hi, w - hi, 0)).sum(1)
    return -int(far.max()), -int(near.min())


def mac_bounds(x: IntType, w: np.ndarray, padded: bool) -> tuple[int, int]:
    """Range of ``sum x * w`` per output channel: each product at its extreme input."""
    lo, hi = _input_range(x, padded)
    w = w.reshape(len(w), -1).astype(np.int64)
    top = np.maximum(w * lo, w * hi).sum(1)
    bottom = np.minimum(w * lo, w * hi).sum(1)
    return int(bottom.min()), int(top.max())
