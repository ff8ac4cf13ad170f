"""The folding of every layer chosen by integer programming (HiGHS through
``scipy.optimize.milp``), NN2FPGA's formulation with every board resource in it.

One binary per (layer, legal PE x SIMD): each layer takes exactly one. The period T (cycles a
frame) is at least every layer's cycles and every fixed stage's. Within ``util`` x each board
resource (LUT, FF, DSP, BRAM36, URAM), after the stages that do not fold:
- ``fps_target`` None: minimise T (the most frames a second), then, with T at its optimum,
  minimise the resources (their sum as fractions of the board);
- ``fps_target`` F: T <= f_clk / F, and minimise the resources.
Options of a layer that another option beats on cycles and on every resource are dropped first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from addnn.errors import AddnnError
from addnn.estimate.boards import RESOURCES
from addnn.hls.folding import Fold


@dataclass(frozen=True)
class Option:
    fold: Fold
    cycles: int
    res: dict[str, float]          # in board units (RESOURCES)
    map_pe: int | None = None      # the layer's BN map in a process of its own, with these units
    map_serial: bool = False       # ... searching one level a cycle


@dataclass
class Allocation:
    period: int                    # cycles a frame (the slowest stage)
    used: dict[str, float]         # whole design, board units
    status: str
    choices: dict[str, Option]     # the option taken for each layer

    @property
    def folding(self) -> dict[str, Fold]:
        return {name: o.fold for name, o in self.choices.items()}


def pareto(options: list[Option]) -> list[Option]:
    """Drop options that another option equals or beats on cycles and every resource."""
    def key(o):
        return (o.cycles, *(o.res[r] for r in RESOURCES))

    keep = []
    for o in sorted(options, key=key):
        if not any(all(a <= b for a, b in zip(key(k), key(o))) for k in keep):
            keep.append(o)
    return keep


def allocate(options: dict[str, list[Option]], fixed_cycles: int, fixed_res: dict[str, float],
             budget: dict[str, float], clock_mhz: float, fps_target: float | None = None,
             time_limit: float = 30.0) -> Allocation:
    """Choose one option per layer. ``budget``: the usable amount of each resource."""
    layers = list(options)
    opts = {name: pareto(options[name]) for name in layers}
    cols = [(name, o) for name in layers for o in opts[name]]
    n = len(cols) + 1                                  # the last variable is T
    room = {r: budget[r] - fixed_res.get(r, 0.0) for r in RESOURCES}
    short = [r for r in RESOURCES if room[r] < 0]
    if short:
        raise AddnnError(_nothing_fits(short, fixed_res, budget, "the stages that do not fold"))
    least = {r: fixed_res.get(r, 0.0) + sum(min(o.res[r] for o in opts[name]) for name in layers)
             for r in RESOURCES}
    short = [r for r in RESOURCES if least[r] > budget[r]]
    if short:
        raise AddnnError(_nothing_fits(short, least, budget, "the smallest folding of every "
                                       "layer"))

    rows, lo, hi = [], [], []
    for name in layers:                                # one option per layer
        row = np.zeros(n)
        row[[i for i, (nm, _) in enumerate(cols) if nm == name]] = 1
        rows.append(row), lo.append(1), hi.append(1)
    for name in layers:                                # T >= the layer's cycles
        row = np.zeros(n)
        for i, (nm, o) in enumerate(cols):
            if nm == name:
                row[i] = o.cycles
        row[-1] = -1
        rows.append(row), lo.append(-np.inf), hi.append(0)
    for r in RESOURCES:
        row = np.zeros(n)
        row[:-1] = [o.res[r] for _, o in cols]
        rows.append(row), lo.append(-np.inf), hi.append(room[r])
    a = np.array(rows)
    integrality = np.ones(n)
    integrality[-1] = 0
    t_lo = float(fixed_cycles)
    t_hi = float(max(max(o.cycles for o in opts[name]) for name in layers) + fixed_cycles)
    weights = np.zeros(n)
    weights[:-1] = [sum(o.res[r] / max(budget[r], 1e-9) for r in RESOURCES if budget[r] > 0)
                    for _, o in cols]
    opts_milp = {"time_limit": time_limit}

    def solve(c, t_max):
        bounds = Bounds(np.r_[np.zeros(n - 1), t_lo], np.r_[np.ones(n - 1), t_max])
        return milp(c, constraints=LinearConstraint(a, lo, hi), integrality=integrality,
                    bounds=bounds, options=opts_milp)

    if fps_target is None:
        c = np.zeros(n)
        c[-1] = 1
        first = solve(c, t_hi)
        if first.x is None:
            raise AddnnError(f"the integer program found no folding ({first.message})")
        t_best = float(np.ceil(first.x[-1] - 1e-6))
    else:
        t_best = float(np.floor(clock_mhz * 1e6 / fps_target + 1e-9))
        if t_best < t_lo:
            raise AddnnError(f"{fps_target:g} frames/s needs {t_best:.0f} cycles a frame at "
                             f"{clock_mhz:g} MHz; the stages that do not fold take {t_lo:.0f}")
    second = solve(weights, max(t_best, t_lo))
    if second.x is None:
        raise AddnnError(f"no folding reaches {clock_mhz * 1e6 / t_best:,.0f} frames/s within "
                         f"the budget ({second.message})")
    chosen = [cols[i] for i in range(n - 1) if second.x[i] > 0.5]
    used = {r: fixed_res.get(r, 0.0) + sum(o.res[r] for _, o in chosen) for r in RESOURCES}
    period = max([o.cycles for _, o in chosen] + [fixed_cycles])
    return Allocation(period, used, second.message, dict(chosen))


def _nothing_fits(short, need, budget, what) -> str:
    parts = ", ".join(f"{need[r]:,.0f} {r.upper()} of {budget[r]:,.0f} usable" for r in short)
    return f"nothing fits: {what} need {parts}"
