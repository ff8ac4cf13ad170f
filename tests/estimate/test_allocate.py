"""The folding allocation (HiGHS) against brute force on small cases, and its refusals."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from addnn.errors import AddnnError
from addnn.estimate.allocate import Option, allocate, pareto
from addnn.estimate.boards import RESOURCES
from addnn.hls.folding import Fold


def _options(draw, layers):
    out = {}
    for li in range(layers):
        n = draw(st.integers(1, 5))
        opts = []
        for j in range(n):
            res = {r: float(draw(st.integers(0, 40))) for r in RESOURCES}
            opts.append(Option(Fold(j + 1, 1), draw(st.integers(10, 200)), res))
        out[f"L{li}"] = opts
    return out


def brute_force(options, fixed_cycles, fixed, budget):
    """Smallest period, then the smallest resource sum (fractions of the budget) at it."""
    names = list(options)
    best = None
    for combo in itertools.product(*(options[n] for n in names)):
        used = {r: fixed[r] + sum(o.res[r] for o in combo) for r in RESOURCES}
        if any(used[r] > budget[r] + 1e-9 for r in RESOURCES):
            continue
        period = max([fixed_cycles] + [o.cycles for o in combo])
        cost = sum(used[r] / budget[r] for r in RESOURCES)
        key = (period, round(cost, 9))
        if best is None or key < best[0]:
            best = (key, combo)
    return best


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_allocation_equals_brute_force(data):
    layers = data.draw(st.integers(1, 4))
    options = _options(data.draw, layers)
    fixed = {r: float(data.draw(st.integers(0, 10))) for r in RESOURCES}
    budget = {r: float(data.draw(st.integers(20, 120))) for r in RESOURCES}
    fixed_cycles = data.draw(st.integers(1, 100))
    expect = brute_force(options, fixed_cycles, fixed, budget)
    if expect is None:
        with pytest.raises(AddnnError):
            allocate(options, fixed_cycles, fixed, budget, 250.0)
        return
    got = allocate(options, fixed_cycles, fixed, budget, 250.0)
    assert got.period == expect[0][0]
    cost = sum(got.used[r] / budget[r] for r in RESOURCES)
    assert cost == pytest.approx(expect[0][1], rel=1e-6, abs=1e-6)
    assert all(got.used[r] <= budget[r] + 1e-6 for r in RESOURCES)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_fps_target_meets_the_period_at_least_cost(data):
    options = _options(data.draw, data.draw(st.integers(1, 3)))
    fixed = {r: 0.0 for r in RESOURCES}
    budget = {r: 1000.0 for r in RESOURCES}
    limit = data.draw(st.integers(10, 200))
    clock = 1.0                                      # MHz: fps_target = 1e6 / limit cycles
    feasible = [c for c in itertools.product(*options.values())
                if max(o.cycles for o in c) <= limit]
    if not feasible:
        with pytest.raises(AddnnError):
            allocate(options, 1, fixed, budget, clock, fps_target=1e6 / limit)
        return
    got = allocate(options, 1, fixed, budget, clock, fps_target=1e6 / limit)
    best = min(sum(sum(o.res[r] for o in c) / 1000.0 for r in RESOURCES) for c in feasible)
    assert got.period <= limit
    assert sum(got.used[r] / 1000.0 for r in RESOURCES) == pytest.approx(best, abs=1e-6)


def test_pareto_drops_only_dominated_options():
    a = Option(Fold(1, 1), 100, {r: 1.0 for r in RESOURCES})
    b = Option(Fold(2, 1), 50, {r: 2.0 for r in RESOURCES})
    c = Option(Fold(4, 1), 100, {r: 3.0 for r in RESOURCES})       # worse than a
    kept = pareto([a, b, c])
    assert len(kept) == 2 and a in kept and b in kept


def test_a_budget_that_fits_nothing_is_refused_in_one_line():
    opts = {"L0": [Option(Fold(1, 1), 10, {r: 5.0 for r in RESOURCES})]}
    budget = {r: 100.0 for r in RESOURCES}
    budget["lut"] = 4.0
    with pytest.raises(AddnnError) as err:
        allocate(opts, 1, {r: 0.0 for r in RESOURCES}, budget, 250.0)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("nothing fits") and "LUT" in msg
    with pytest.raises(AddnnError, match="stages that do not fold"):
        allocate(opts, 1, {**{r: 0.0 for r in RESOURCES}, "dsp": 200.0},
                 {r: 100.0 for r in RESOURCES}, 250.0)


def test_the_solver_scales_to_resnet20_sizes():
    """22 layers of 35 options each (the ResNet-20 order), solved to optimality."""
    rng = np.random.default_rng(0)
    options = {f"L{i}": [Option(Fold(j + 1, 1), int(rng.integers(1000, 100000)),
                                {r: float(rng.integers(0, 5000)) for r in RESOURCES})
                         for j in range(35)] for i in range(22)}
    budget = {r: 60000.0 for r in RESOURCES}
    got = allocate(options, 500, {r: 0.0 for r in RESOURCES}, budget, 250.0)
    assert "Optimal" in got.status
    assert all(got.used[r] <= budget[r] + 1e-6 for r in RESOURCES)
