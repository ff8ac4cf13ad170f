"""Stimulus for the SAD PE: cycle streams ``(ctrl [T], x [T, P], w [T, P])`` of uint8 operands.

Three kinds: every 8-bit operand pair in every lane, random windows up to ResNet-20's longest
(576 terms), and the edge cases the packing can get wrong.
"""

from __future__ import annotations

import numpy as np

from addnn.rtl.model import Ctrl

LONGEST_WINDOW = 64 * 3 * 3
SINGLE = Ctrl.VALID | Ctrl.FIRST | Ctrl.LAST
Stream = tuple[np.ndarray, np.ndarray, np.ndarray]


def exhaustive_pairs(lanes: int) -> Stream:
    """All 65,536 (x, w) pairs in every lane, one term per window; lane k sees them rotated
    by 4099 k, so neighbouring lanes (and the two halves of an Octo8 DSP lane) differ."""
    pairs = np.arange(1 << 16)
    idx = (pairs[:, None] + 4099 * np.arange(lanes)[None, :]) % (1 << 16)
    x, w = (idx >> 8).astype(np.uint8), (idx & 0xFF).astype(np.uint8)
    return np.full(len(pairs), SINGLE, dtype=np.int64), x, w


def windows(lengths, gaps=None) -> np.ndarray:
    """The control words of back-to-back windows of the given lengths; ``gaps[i]`` invalid
    cycles are inserted after the first term of window i (bubbles inside a window)."""
    ctrl = []
    for i, n in enumerate(lengths):
        c = [int(Ctrl.VALID)] * int(n)
        c[0] |= Ctrl.FIRST
        c[-1] |= Ctrl.LAST
        if gaps is not None and gaps[i]:
            c[1:1] = [0] * int(gaps[i])
        ctrl += c
    return np.array(ctrl, dtype=np.int64)


def random_windows(rng: np.random.Generator, terms: int, lanes: int,
                   longest: int = LONGEST_WINDOW) -> Stream:
    """Random operands in windows of random length (1..longest, ResNet-20 lengths 9..576 over-
    represented), with a few bubbles, totalling at least ``terms`` lane-terms."""
    cycles = -(-terms // lanes)
    lengths = []
    while sum(lengths) < cycles:
        lengths.append(int(rng.choice([1, 9, 16 * 9, 32 * 9, longest]))
                       if rng.random() < 0.3 else int(rng.integers(1, longest + 1)))
    gaps = rng.integers(0, 3, len(lengths)) * (rng.random(len(lengths)) < 0.2)
    ctrl = windows(lengths, gaps)
    x = rng.integers(0, 256, (len(ctrl), lanes), dtype=np.uint8)
    w = rng.integers(0, 256, (len(ctrl), lanes), dtype=np.uint8)
    return ctrl, x, w


def _cross(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.meshgrid(np.asarray(a), np.asarray(b), indexing="ij")
    return a.ravel(), b.ravel()


def edge_cases(lanes: int) -> Stream:
    """Extremes, borrows at every lane and guard-bit boundary, full-length and overflowing
    windows, bubbles, windows without a first (accumulate on) and a stream starting mid-window.
    """
    parts = []

    def add(ctrl, x, w):
        parts.append((np.asarray(ctrl, np.int64), np.asarray(x, np.uint8),
                      np.asarray(w, np.uint8)))

    # Extremes and sign boundaries in every lane, one term per window.
    vals = np.array([0, 1, 7, 8, 127, 128, 129, 248, 254, 255])
    xs, ws = _cross(vals, vals)
    add(np.full(len(xs), SINGLE), np.repeat(xs[:, None], lanes, 1), np.repeat(ws[:, None], lanes,
                                                                              1))
    # Octo8 split: even lanes (8 DSP bits + transfer bit; 2 LUT + 6 DSP bits in DSP lane 0)
    # against odd lanes (5 LUT + 3 DSP bits; 3 + 5 in DSP lane 0): every combination of an
    # even-lane borrow with an odd-lane low-part borrow and high bits.
    low = np.array([0x00, 0x03, 0x04, 0x07, 0x08, 0x80, 0xFF])
    odd = np.array([0x00, 0x07, 0x08, 0x0F, 0x1F, 0x20, 0x3F, 0x38, 0xE0, 0xF8, 0xFF])
    ea, eb = _cross(low, low)
    oa, ob = _cross(odd, odd)
    n = len(ea) * len(oa)
    x = np.empty((n, lanes), np.uint8)
    w = np.empty((n, lanes), np.uint8)
    x[:, 0::2] = np.repeat(ea, len(oa))[:, None]
    w[:, 0::2] = np.repeat(eb, len(oa))[:, None]
    x[:, 1::2] = np.tile(oa, len(ea))[:, None]
    w[:, 1::2] = np.tile(ob, len(ea))[:, None]
    add(np.full(n, SINGLE), x, w)
    # Alternating signs across lanes, so every lane boundary sees a borrow next to no borrow.
    alt = np.where(np.arange(lanes) % 2, 255, 0)
    add(np.full(2, SINGLE), np.stack([alt, 255 - alt]), np.stack([255 - alt, alt]))
    # Longest ResNet-20 window at the largest distance: 576 * 255 = 146,880 in every lane.
    for xv, wv in ((0, 255), (255, 0)):
        add(windows([LONGEST_WINDOW]), np.full((LONGEST_WINDOW, lanes), xv),
            np.full((LONGEST_WINDOW, lanes), wv))
    add(windows([LONGEST_WINDOW]), np.tile(alt, (LONGEST_WINDOW, 1)),
        np.tile(255 - alt, (LONGEST_WINDOW, 1)))
    # Past the 18-bit accumulator: 1,100 * 255 wraps modulo 2**18.
    add(windows([1100]), np.zeros((1100, lanes)), np.full((1100, lanes), 255))
    # Bubbles inside a window, then a window that continues after its last (no first).
    ctrl = np.concatenate([windows([5], [3]), [Ctrl.VALID, Ctrl.VALID | Ctrl.LAST]])
    add(ctrl, np.full((len(ctrl), lanes), 200), np.full((len(ctrl), lanes), 3))
    # Invalid cycles with first/last set must be ignored.
    add([Ctrl.FIRST | Ctrl.LAST, SINGLE, Ctrl.LAST], np.full((3, lanes), 9), np.zeros((3, lanes)))
    # Open with a window that has no first: the accumulators start from reset.
    add([Ctrl.VALID, Ctrl.VALID | Ctrl.LAST], np.full((2, lanes), 100), np.full((2, lanes), 40))
    parts.insert(0, parts.pop())
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))


def count_terms(ctrl: np.ndarray, lanes: int) -> int:
    """Lane-terms a stream carries (valid cycles x lanes)."""
    return int(((np.asarray(ctrl) & Ctrl.VALID) != 0).sum()) * lanes
