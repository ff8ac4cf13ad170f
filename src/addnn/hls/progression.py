"""Threshold maps as arithmetic progressions: the HLS kernel ``map_progression`` computes each
threshold it compares against instead of storing it.

A BN map's thresholds are the levels of an affine function of the accumulator, rounded up, so
they lie on a "digital straight line". Row c of thresholds [C, N] (sorted) has
``cap[c] = #{k : t_k <= hi}`` thresholds that an accumulator in [lo, hi] can ever pass; the
rest only pad the row. ``fit_progression`` finds integers ``K0[c]``, ``DN[c] >= 0`` and one
``F`` per layer with, for every k = 1..cap[c]:

- lo < t_k <= hi: (t_k - 1) * 2**F < K0 + k*DN <= t_k * 2**F;
- t_k <= lo: K0 + k*DN <= lo * 2**F.

Then, for every integer acc in [lo, hi] and every k = 1..N,
``(t_k <= acc) <=> (k <= cap and K0 + k*DN <= acc * 2**F)``, so
``#{t <= acc} = min(cap, #{k : K0 + k*DN <= acc * 2**F})`` and the map
``start + direction * #{t <= acc}`` is unchanged. The kernel's binary search then needs K0, DN
and cap per channel and one shift-and-add per level: no threshold ROM and no multiplier.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

# Every value the fit allows (K0, k*DN, DN << b, acc * 2**F) stays below this in magnitude,
# so the kernel's remainder acc * 2**F - K0 - count*DN, less DN << b, still fits int64.
LIMIT = 1 << 61
CANDIDATES = 16              # integer slopes tried per channel and F
PASSES = 32                  # vectorised hull passes before the exact stack walk


@dataclass(frozen=True)
class Progression:
    """Threshold k (1..cap[c]) of channel c is represented by ``k0[c] + k * dn[c]`` at
    ``2**-frac``; ``n`` is the row length N (the kernel's NTHR)."""

    frac: int
    k0: np.ndarray           # [C] int64
    dn: np.ndarray           # [C] int64, >= 0
    cap: np.ndarray          # [C] int64, <= n
    n: int

    def counts(self, acc: np.ndarray) -> np.ndarray:
        """#{t <= acc} per channel for integer ``acc`` [C, M] in [lo, hi], from the
        progression alone (exact integer arithmetic, as the kernel's search ends)."""
        acc = np.asarray(acc, dtype=np.int64)
        v = acc * (1 << self.frac) - self.k0[:, None]          # < 2**63 by the fit's limits
        dn = self.dn[:, None]
        steps = np.floor_divide(v, np.maximum(dn, 1))
        below = np.where(dn > 0, np.clip(steps, 0, self.n), np.where(v >= 0, self.n, 0))
        return np.minimum(below, self.cap[:, None])


def search_slots(n: int) -> int:
    """2**LOG2 of the kernel's search: its candidates reach 2**LOG2 - 1 >= n."""
    return 1 << max(1, int(n).bit_length())


def stage_progression(stage) -> Progression | None:
    """The progression of a layer's (or separate map's) threshold map; None for another map
    kind or thresholds that are none."""
    from addnn.hls.stages import MapKind

    if stage.map.kind is not MapKind.THRESHOLDS:
        return None
    return fit_progression(np.asarray(stage.map.arrays["thresholds"], dtype=np.int64),
                           stage.acc.lo, stage.acc.hi)


def fit_progression(thresholds: np.ndarray, lo: int, hi: int,
                    max_frac: int = 32) -> Progression | None:
    """The progression of thresholds [C, N] on accumulators in [lo, hi] with the smallest F
    shared by all channels, F <= ``max_frac``; None when some channel is no digital straight
    line at any such F, or when the kernel's 64-bit arithmetic would not hold the values."""
    t = np.asarray(thresholds, dtype=np.int64)
    if t.ndim != 2:
        raise ValueError(f"thresholds must be [C, N], not {t.shape}")
    t = np.sort(t, axis=1)                       # a count ignores the order
    if lo > hi:
        raise ValueError(f"empty accumulator range [{lo}, {hi}]")
    channels, n = t.shape
    cap = (t <= hi).sum(axis=1).astype(np.int64)
    bound = max(abs(int(lo)), abs(int(hi)), 1)
    frac_cap = min(max_frac, 60 - bound.bit_length())        # bound * 2**F < LIMIT
    if frac_cap < 0:
        return None
    slots = search_slots(n)
    points = [_points(t[c, :cap[c]], lo) for c in range(channels)]
    slopes = _slope_ranges(points, n, lo, hi)
    if slopes is None:
        return None
    fits = []
    for pts, slope in zip(points, slopes):
        found = _smallest_frac(pts, slope, frac_cap, slots, n)
        if found is None:
            return None
        fits.append(found)
    frac = max((f for f, _, _ in fits), default=0)
    # A fit at F stays one at F + 1 with K0 and DN doubled (every inequality scales), so the
    # channels found at smaller F join the shared one exactly.
    k0 = [k << (frac - f) for f, k, _ in fits]
    dn = [d << (frac - f) for f, _, d in fits]
    if any(abs(k) >= LIMIT for k in k0) or any(d * slots >= LIMIT for d in dn):
        return None
    p = Progression(frac, np.array(k0, dtype=np.int64).reshape(channels),
                    np.array(dn, dtype=np.int64).reshape(channels), cap, n)
    return p if _verify(p, t, lo, hi) else None


def _points(t: np.ndarray, lo: int):
    """A channel's countable thresholds (all <= hi) as two point sets (k, value): the line
    must stay on or below the upper points and strictly above the lower points (times 2**F).
    Only their convex hulls bind a straight line, so only hull vertices are kept."""
    k = np.arange(1, len(t) + 1, dtype=np.int64)
    inside = t > lo
    uy = np.maximum(t, lo)
    dk, dy = k[inside], t[inside] - 1
    iu = _lower_hull(k, uy)
    idn = _lower_hull(dk, -dy)                  # the upper hull, mirrored
    return k[iu], uy[iu], dk[idn], dy[idn]


def _lower_hull(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the lower convex hull of integer points with increasing x. Points on or above
    the chord of their neighbours are dropped together, pass after pass: each dropped one is
    implied by the points that remain, and a digital line needs fewer than ten passes (a Python
    stack walk over 65535 points costs more). Inputs that peel slowly finish with that walk."""
    keep = np.arange(len(x))
    if len(x) and (int(np.abs(y).max()) * 2 + 1) * (int(x[-1] - x[0]) + 1) >= LIMIT:
        x, y = x.astype(object), y.astype(object)          # the cross products need > int64
    for _ in range(PASSES):
        if len(keep) <= 2:
            return keep
        xs, ys = x[keep], y[keep]
        left = (ys[1:-1] - ys[:-2]) * (xs[2:] - xs[:-2])
        drop = left >= (ys[2:] - ys[:-2]) * (xs[1:-1] - xs[:-2])
        if not drop.any():
            return keep
        mask = np.ones(len(keep), dtype=bool)
        mask[1:-1] = ~drop
        keep = keep[mask]
    hull: list[int] = []
    for i in keep.tolist():
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            if (int(y[b]) - int(y[a])) * (int(x[i]) - int(x[a])) < \
                    (int(y[i]) - int(y[a])) * (int(x[b]) - int(x[a])):
                break
            hull.pop()
        hull.append(i)
    return np.array(hull, dtype=np.int64)


def _slope_ranges(points, n: int, lo: int, hi: int) -> list[tuple[float, float]] | None:
    """[min, max] of the real slope of each channel's lines c + k*Delta between its point sets
    (closed), from two LPs over all channels at once: the blocks are independent, and one
    HiGHS call per objective costs far less than one per channel. None if infeasible."""
    cap = float(hi - lo + 2)      # a steeper line is never needed: one step spans [lo, hi]
    rows, cols, vals, rhs, bounds, refs = [], [], [], [], [], []
    r = 0
    for c, (uk, uy, dk, dy) in enumerate(points):
        # Corrections to a reference line through the data, with k scaled to at most 1: the
        # feasible slopes span ~1/N**2, and HiGHS's absolute tolerances resolve them only on
        # O(1) numbers.
        if len(uk) >= 2:
            d0 = max(float(uy[-1] - uy[0]) / float(uk[-1] - uk[0]), 0.0)
            c0 = float(uy[0]) - float(uk[0]) * d0
        else:
            d0, c0 = 0.0, float(uy[0]) if len(uy) else 0.0
        refs.append(d0)
        for k, y, sign in ((uk, uy, 1.0), (dk, dy, -1.0)):
            idx = r + np.arange(len(k))
            rows += [idx, idx]
            cols += [np.full(len(k), 2 * c), np.full(len(k), 2 * c + 1)]
            vals += [np.full(len(k), sign), sign * k / n]
            rhs.append(sign * ((y - c0) - k * d0))
            r += len(k)
        bounds += [(None, None), (-d0 * n, (cap - d0) * n)]
    if r == 0:                      # no channel has a countable threshold
        return [(0.0, cap)] * len(points)
    a = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(r, 2 * len(points)))
    b = np.concatenate(rhs)
    ends = []
    for sense in (1.0, -1.0):
        cost = np.zeros(2 * len(points))
        cost[1::2] = sense
        res = linprog(cost, A_ub=a, b_ub=b, bounds=bounds, method="highs",
                      options={"primal_feasibility_tolerance": 1e-10,
                               "dual_feasibility_tolerance": 1e-10})
        if res.status != 0:
            return None
        ends.append(res.x[1::2])
    return [(d0 + lo_ / n, d0 + hi_ / n) for d0, lo_, hi_ in zip(refs, *ends)]


def _smallest_frac(pts, slope: tuple[float, float], frac_cap: int, slots: int, n: int):
    """(F, K0, DN) for the smallest F at which one of the integer slopes in the LP's range
    has a non-empty K0 interval, computed exactly on the hull points; None if no F works."""
    uk, uy, dk, dy = pts
    if not len(uk):
        return 0, 0, 0                           # nothing countable: any line will do
    tol = 1e-6 / n                 # the LP's slopes are accurate to its tolerance over N
    for frac in range(frac_cap + 1):
        scale = 1 << frac
        first = max(math.ceil((slope[0] - tol) * scale), 0)
        last = min(math.floor((slope[1] + tol) * scale), (LIMIT - 1) // slots)
        if first > last:
            continue
        if last - first < CANDIDATES:
            cand = list(range(first, last + 1))
        else:
            cand = sorted({first + j * (last - first) // (CANDIDATES - 1)
                           for j in range(CANDIDATES)})
        d = np.array(cand, dtype=np.int64)[:, None]
        # Exact in int64: |value| * 2**F < LIMIT and k * DN < slots * DN < LIMIT.
        top = (uy * scale - uk * d).min(axis=1)
        bottom = (dy * scale - dk * d).max(axis=1) + 1 if len(dk) else None
        for j, dn in enumerate(cand):
            low = int(bottom[j]) if bottom is not None else None
            if low is not None and low > top[j]:
                continue
            k0 = min(max(0, low) if low is not None else 0, int(top[j]))  # nearest 0
            if abs(k0) < LIMIT:
                return frac, k0, dn
    return None


def _verify(p: Progression, t: np.ndarray, lo: int, hi: int) -> bool:
    """Every inequality of the module docstring, on every countable threshold (the hulls and
    the LP only steered the search)."""
    scale = 1 << p.frac
    k = np.arange(1, p.n + 1, dtype=np.int64)[None, :]
    line = p.k0[:, None] + k * p.dn[:, None]
    tc = np.clip(t, lo, hi)                      # the value matters only where it is used
    inside = ((tc - 1) * scale < line) & (line <= tc * scale)
    ok = np.where(t <= lo, line <= lo * scale, inside)
    return bool((ok | (k > p.cap[:, None])).all())
