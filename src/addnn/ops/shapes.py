"""Output geometry shared by every adder2d implementation."""

from __future__ import annotations


def output_hw(h: int, w: int, k: int, stride: int, padding: int) -> tuple[int, int]:
    """Spatial output size of a k x k window sliding with ``stride`` over a padded input."""
    return (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1
