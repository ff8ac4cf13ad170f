"""adder2d against the slow float64 unfold reference, on both backends.

Tolerances: float64 results agree to 1e-9 relative to the largest reference magnitude (the
kernels only reorder sums). float32 results are compared with the float64 reference of the
same float32 inputs, within 2e-6 times the sum of |x| + |w| magnitudes that feed one output
(about 16 float32 ulps of the partial sums).
"""

from __future__ import annotations

import contextlib
import math
import os
import platform

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import addnn.ops.adder_autograd as adder2d_module
from addnn.ops import adder2d, reference, sad_cpu, sad_torch

BACKENDS = ["cpp", "torch"]


@contextlib.contextmanager
def forced(backend: str):
    """Run adder2d on one backend: the C++ kernels or the generic torch path."""
    module = {"cpp": sad_cpu, "torch": sad_torch}[backend]
    if module is sad_cpu and not sad_cpu.available():
        pytest.skip("C++ kernels could not be built here (no g++?)")
    saved = adder2d_module._backend
    adder2d_module._backend = lambda x, w: module
    try:
        yield
    finally:
        adder2d_module._backend = saved


@pytest.fixture(params=BACKENDS)
def backend(request):
    with forced(request.param):
        yield request.param


@st.composite
def layer_cases(draw, kernels=(1, 3), strides=(1, 2), paddings=(0, 1)):
    k = draw(st.sampled_from(kernels))
    stride = draw(st.sampled_from(strides))
    padding = draw(st.sampled_from(paddings))
    low = max(1, k - 2 * padding)
    return dict(n=draw(st.integers(1, 3)), c=draw(st.integers(1, 20)),
                o=draw(st.integers(1, 35)), h=draw(st.integers(low, 13)),
                w=draw(st.integers(low, 13)), k=k, stride=stride, padding=padding,
                seed=draw(st.integers(0, 2**31 - 1)))


def _tensors(case, dtype=torch.float64, scale=1.0):
    gen = torch.Generator().manual_seed(case["seed"])
    x = torch.randn(case["n"], case["c"], case["h"], case["w"], generator=gen, dtype=dtype)
    w = torch.randn(case["o"], case["c"], case["k"], case["k"], generator=gen, dtype=dtype)
    return x * scale, w * scale


def _run(x, w, stride, padding, g=None, eta=0.2):
    x = x.clone().requires_grad_(True)
    w = w.clone().requires_grad_(True)
    out = adder2d(x, w, stride, padding, eta=eta)
    if g is None:
        g = torch.randn_like(out)
    out.backward(g)
    return out.detach(), x.grad, w.grad, g


def _close(actual, expected, rel):
    tol = rel * max(expected.abs().max().item(), 1.0)
    err = (actual - expected).abs().max().item() if expected.numel() else 0.0
    assert err <= tol, f"max error {err:.3g} > {tol:.3g}"


@pytest.mark.parametrize("backend", BACKENDS)
@given(case=layer_cases())
def test_float64_matches_reference(backend, case):
    x, w = _tensors(case)
    with forced(backend):
        out, gx, gw, g = _run(x, w, case["stride"], case["padding"])
    ref_out = reference.forward(x, w, case["stride"], case["padding"])
    ref_gx, ref_gw = reference.backward(x, w, g, case["stride"], case["padding"])
    assert out.shape == ref_out.shape
    _close(out, ref_out, 1e-9)
    _close(gx, ref_gx, 1e-9)
    _close(gw, ref_gw, 1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
@given(case=layer_cases(kernels=(2, 4, 5), strides=(1, 2, 3), paddings=(0, 1, 2, 3)))
def test_any_geometry_matches_reference(backend, case):
    """Even kernels, strides above the kernel, padding wider than half the kernel."""
    x, w = _tensors(case)
    with forced(backend):
        out, gx, gw, g = _run(x, w, case["stride"], case["padding"])
    ref_gx, ref_gw = reference.backward(x, w, g, case["stride"], case["padding"])
    _close(out, reference.forward(x, w, case["stride"], case["padding"]), 1e-9)
    _close(gx, ref_gx, 1e-9)
    _close(gw, ref_gw, 1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
@given(case=layer_cases())
def test_float32_matches_float64_reference(backend, case):
    x, w = _tensors(case, torch.float32, scale=3.0)
    with forced(backend):
        out, gx, gw, g = _run(x, w, case["stride"], case["padding"], eta=None)
    x64, w64, g64 = x.double(), w.double(), g.double()
    ref_out = reference.forward(x64, w64, case["stride"], case["padding"])
    ref_gx, ref_gw = reference.backward(x64, w64, g64, case["stride"], case["padding"], eta=None)
    window = case["c"] * case["k"] ** 2
    magnitude = window * (x.abs().max() + w.abs().max()).item()
    assert (out.double() - ref_out).abs().max().item() <= 2e-6 * magnitude
    fan_out = case["o"] * case["k"] ** 2
    assert (gx.double() - ref_gx).abs().max().item() <= 2e-6 * fan_out * g.abs().max().item()
    gw_mag = case["n"] * out.shape[2] * out.shape[3] * magnitude / window * g.abs().max().item()
    assert (gw.double() - ref_gw).abs().max().item() <= 2e-6 * gw_mag


def test_integer_grid_is_exact(backend):
    """Values on a power-of-two grid: every partial sum is exact, so results are bit-equal."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randint(0, 256, (2, 16, 9, 9), generator=gen).float() / 16
    w = torch.randint(0, 256, (32, 16, 3, 3), generator=gen).float() / 16
    for stride, padding in ((1, 1), (2, 1), (2, 0)):
        with torch.no_grad():
            out = adder2d(x, w, stride, padding)
        ref = reference.forward(x.double(), w.double(), stride, padding)
        assert torch.equal(out.double(), ref)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_clamp_edges(backend, dtype):
    """|w - x| exactly 1, just inside and just outside: the HardTanh clamp of grad_input."""
    eps = torch.finfo(dtype).eps * 4
    diffs = torch.tensor([-1 - eps, -1, -1 + eps, -0.5, 0, 0.5, 1 - eps, 1, 1 + eps, 3, -3],
                         dtype=dtype)
    # One input channel; weights are x + diff for a single 1x1 filter per output channel.
    x = torch.full((1, 1, 1, diffs.numel()), 0.25, dtype=dtype)
    w = (0.25 + diffs).view(-1, 1, 1, 1)
    g = torch.ones(1, diffs.numel(), 1, diffs.numel(), dtype=dtype)
    _, gx, _, _ = _run(x, w, 1, 0, g=g)
    expected = (w.view(-1) - 0.25).clamp(-1, 1).sum()
    assert torch.allclose(gx, torch.full_like(gx, expected.item()), rtol=0, atol=1e-12)
    # And per element against the reference, which clamps explicitly.
    gx_ref, _ = reference.backward(x, w, g, 1, 0)
    assert torch.equal(gx, gx_ref) or torch.allclose(gx, gx_ref, rtol=0, atol=8 * eps)


@pytest.mark.parametrize("value", [0.75, 0.7])
def test_all_equal_inputs_give_zero_and_no_nan(backend, value):
    x = torch.full((2, 3, 5, 5), value, dtype=torch.float64)
    w = torch.full((4, 3, 3, 3), value, dtype=torch.float64)
    g = torch.full((2, 4, 3, 3), 0.5, dtype=torch.float64)
    out, gx, gw_raw, _ = _run(x, w, 1, 0, g=g, eta=None)
    # The C++ forward sums x, w and min(x, w) separately and grad_weight is computed as
    # conv2d_weight(x, g) - w * sum(g): both exact on a binary grid (0.75), within rounding
    # of those sums otherwise (0.7). A SAD is never reported negative.
    exact = value == 0.75
    assert out.max().item() <= 0
    assert out.abs().max().item() <= (0 if exact else 1e-15 * 4 * 27 * value)
    assert torch.equal(gx, torch.zeros_like(gx))
    assert gw_raw.abs().max().item() <= (0 if exact else 1e-15 * value * g.abs().sum().item())
    _, _, gw, _ = _run(x, w, 1, 0, g=g)
    assert not torch.isnan(gw).any()
    if value == 0.75:
        assert torch.equal(gw, torch.zeros_like(gw))   # the guarded norm keeps zero at zero


def test_zero_gradient_is_guarded(backend):
    x, w = _tensors(dict(n=2, c=3, h=6, w=6, o=4, k=3, seed=3))
    out, gx, gw, _ = _run(x, w, 1, 1, g=torch.zeros(2, 4, 6, 6, dtype=torch.float64))
    assert not torch.isnan(gw).any() and not torch.isnan(gx).any()
    assert torch.equal(gw, torch.zeros_like(gw))


def test_weight_grad_scaling(backend):
    """The adaptive rule: ||grad_w|| == eta * sqrt(numel); eta=None leaves it raw."""
    x, w = _tensors(dict(n=2, c=3, h=6, w=6, o=4, k=3, seed=4))
    g = torch.randn(2, 4, 6, 6, dtype=torch.float64)
    _, _, gw_raw, _ = _run(x, w, 1, 1, g=g, eta=None)
    _, _, gw, _ = _run(x, w, 1, 1, g=g, eta=0.3)
    assert math.isclose(gw.norm().item(), 0.3 * math.sqrt(w.numel()), rel_tol=1e-12)
    assert torch.allclose(gw, gw_raw / gw_raw.norm() * gw.norm(), rtol=1e-12, atol=0)


def test_padding_takes_part_in_forward(backend):
    """A padded position contributes |w| (the reference pads the unfolded input with zeros)."""
    x = torch.zeros(1, 1, 1, 1, dtype=torch.float64)
    w = torch.arange(1.0, 10.0, dtype=torch.float64).view(1, 1, 3, 3)
    with torch.no_grad():
        out = adder2d(x, w, 1, 1)
    assert out.item() == -w.abs().sum().item()


def test_non_contiguous_inputs(backend):
    x, w = _tensors(dict(n=2, c=5, h=7, w=7, o=6, k=3, seed=5))
    x_nc = x.transpose(2, 3).contiguous().transpose(2, 3)       # same values, other strides
    x_cl = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        ref = reference.forward(x, w, 1, 1)
        for variant in (x_nc, x_cl):
            _close(adder2d(variant, w, 1, 1), ref, 1e-12)


@pytest.mark.parametrize("kwargs, error", [
    (dict(groups=2), NotImplementedError),
    (dict(dilation=2), NotImplementedError),
    (dict(stride=(1, 2)), ValueError),
    (dict(stride=0), ValueError),
    (dict(padding=-1), ValueError),
])
def test_unsupported_arguments_raise(kwargs, error):
    x, w = torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3, 3)
    with pytest.raises(error, match="adder2d"):
        adder2d(x, w, **kwargs)


@pytest.mark.parametrize("x_shape, w_shape", [
    ((1, 2, 5, 5), (3, 4, 3, 3)),       # channel mismatch
    ((1, 2, 5, 5), (3, 2, 3, 1)),       # non-square kernel
    ((2, 5, 5), (3, 2, 3, 3)),          # 3-D input
    ((1, 2, 2, 2), (3, 2, 3, 3)),       # input smaller than the kernel
])
def test_bad_shapes_raise(x_shape, w_shape):
    with pytest.raises(ValueError, match="adder2d"):
        adder2d(torch.randn(x_shape), torch.randn(w_shape))


def test_mixed_dtypes_raise():
    with pytest.raises(ValueError, match="adder2d"):
        adder2d(torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3, 3, dtype=torch.float64))


def test_other_dtypes_use_torch_path():
    """bfloat16 has no C++ kernel: the torch path serves it, close to float64."""
    x, w = _tensors(dict(n=1, c=3, h=6, w=6, o=4, k=3, seed=6))
    with torch.no_grad():
        out = adder2d(x.bfloat16(), w.bfloat16(), 1, 1)
    ref = reference.forward(x.bfloat16().double(), w.bfloat16().double(), 1, 1)
    assert out.dtype == torch.bfloat16
    assert (out.double() - ref).abs().max().item() <= 0.02 * ref.abs().max().item()


def test_fallback_warns_and_matches(monkeypatch):
    monkeypatch.setattr(sad_cpu, "available", lambda: False)
    monkeypatch.setattr(adder2d_module._backend, "warned", False)
    x, w = _tensors(dict(n=1, c=3, h=6, w=6, o=4, k=3, seed=7))
    with pytest.warns(RuntimeWarning, match="torch path"):
        with torch.no_grad():
            out = adder2d(x, w, 1, 1)
    _close(out, reference.forward(x, w, 1, 1), 1e-12)


def test_thread_count_does_not_change_results():
    """Each output is summed by one thread in a fixed order: bit-identical for any count."""
    if not sad_cpu.available():
        pytest.skip("C++ kernels could not be built here")
    x, w = _tensors(dict(n=3, c=20, h=11, w=11, o=35, k=3, seed=8), dtype=torch.float32)
    g = torch.randn(3, 35, 6, 6)
    saved = torch.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            torch.set_num_threads(threads)
            results.append((sad_cpu.forward(x, w, 2, 1), sad_cpu.grad_input(x, w, g, 2, 1)))
    finally:
        torch.set_num_threads(saved)
    for out, gi in results[1:]:
        assert torch.equal(out, results[0][0]) and torch.equal(gi, results[0][1])


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 targets")
@pytest.mark.parametrize("march", ["x86-64-v3", "x86-64"])       # AVX2, portable code
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_other_simd_targets_match_reference(monkeypatch, march, dtype):
    """The AVX2 and portable branches of the kernels, built for generic targets."""
    if not sad_cpu.available():
        pytest.skip("C++ kernels could not be built here")
    monkeypatch.setattr(sad_cpu, "_library", lambda: sad_cpu.load_library(march))
    for case in (dict(n=2, c=20, h=9, w=11, o=35, k=3, stride=1, padding=1, seed=9),
                 dict(n=2, c=5, h=8, w=8, o=17, k=3, stride=2, padding=1, seed=10),
                 dict(n=1, c=3, h=7, w=7, o=4, k=1, stride=2, padding=0, seed=11)):
        x, w = _tensors(case, dtype)
        s, p = case["stride"], case["padding"]
        g = torch.randn(*reference.forward(x, w, s, p).shape, dtype=dtype)
        x64, w64, g64 = x.double(), w.double(), g.double()
        rel = 1e-9 if dtype == torch.float64 else 1e-5
        _close(sad_cpu.forward(x, w, s, p).double(), reference.forward(x64, w64, s, p), rel)
        _close(sad_cpu.grad_input(x, w, g, s, p).double(),
               reference.backward(x64, w64, g64, s, p)[0], rel)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(stride=(1, 2)), ValueError, r"stride=\(1, 2\) must be the same in both dimensions"),
    (dict(padding=(1, 1, 1)), ValueError, r"padding=\(1, 1, 1\) must be the same"),
    (dict(padding=(1, 0)), ValueError, r"padding=\(1, 0\) must be the same"),
    (dict(stride=True), TypeError, "stride must be an int, got True"),
    (dict(padding=1.0), TypeError, "padding must be an int, got 1.0"),
    (dict(stride=(2, 2.0)), TypeError, "stride must be an int, got 2.0"),
    (dict(stride=(2.0, 2)), TypeError, "stride must be an int, got 2.0"),
    (dict(padding=[1, True]), TypeError, "padding must be an int, got True"),
    (dict(dilation=(2, 2)), NotImplementedError, "^adder2d: dilation other than 1"),
    (dict(dilation="1"), TypeError, "dilation must be an int"),
    (dict(groups=2), NotImplementedError, "^adder2d: groups other than 1 are not supported$"),
])
def test_argument_errors_name_the_argument(kwargs, error, message):
    x, w = torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3, 3)
    with pytest.raises(error, match=message):
        adder2d(x, w, **kwargs)


def test_pairs_of_equal_ints_are_the_int():
    x, w = _tensors(dict(n=1, c=2, h=7, w=7, o=3, k=3, seed=8))
    with torch.no_grad():
        assert torch.equal(adder2d(x, w, (2, 2), [1, 1], dilation=(1, 1)), adder2d(x, w, 2, 1))


@pytest.mark.parametrize("x_shape, w_shape, message", [
    ((1, 2, 5, 5), (3, 4, 3, 3), "input has 2 channels but weight expects 4$"),
    ((1, 2, 5, 5), (3, 2, 3, 1), r"kernel must be square, got \(3, 1\)$"),
    ((1, 2, 5, 5), (3, 2, 3), r"4-D input and weight, got \(1, 2, 5, 5\) and \(3, 2, 3\)"),
    ((2, 5, 5), (3, 2, 3, 3), r"4-D input and weight, got \(2, 5, 5\)"),
    ((1, 2, 2, 8), (3, 2, 3, 3), r"input \(2, 8\) with padding 0 is smaller than the kernel 3"),
    ((1, 2, 8, 2), (3, 2, 3, 3), r"input \(8, 2\) with padding 0 is smaller"),
])
def test_shape_errors_give_the_shapes(x_shape, w_shape, message):
    with pytest.raises(ValueError, match=message):
        adder2d(torch.randn(x_shape), torch.randn(w_shape))


def test_padding_counts_twice_toward_the_kernel():
    """H + 2p >= k is the smallest legal input: H=2, p=1 fits k=4 but not k=5."""
    x = torch.randn(1, 1, 2, 2)
    with torch.no_grad():
        assert adder2d(x, torch.randn(1, 1, 4, 4), 1, 1).shape == (1, 1, 1, 1)
    with pytest.raises(ValueError, match="smaller than the kernel 5"):
        adder2d(x, torch.randn(1, 1, 5, 5), 1, 1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_defaults_are_stride_1_padding_0_eta_0_2(backend):
    x, w = _tensors(dict(n=2, c=3, h=6, w=6, o=4, k=3, seed=9))
    x.requires_grad_(True)
    w.requires_grad_(True)
    with forced(backend):
        out = adder2d(x, w)
        g = torch.randn_like(out)
        out.backward(g)
    _close(out.detach(), reference.forward(x.detach(), w.detach()), 1e-12)
    assert out.shape == (2, 4, 4, 4)
    ref_x, ref_w = reference.backward(x.detach(), w.detach(), g, 1, 0, 0.2)
    _close(x.grad, ref_x, 1e-12)
    _close(w.grad, ref_w, 1e-12)
    assert reference.forward(x.detach(), w.detach()).shape == (2, 4, 4, 4)
    _close(reference.backward(x.detach(), w.detach(), g)[1], ref_w, 1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_input_gradient_with_a_frozen_weight(backend):
    """Only x requires a gradient: it is computed, and the weight gets none."""
    x, w = _tensors(dict(n=1, c=2, h=5, w=5, o=3, k=3, seed=10))
    x.requires_grad_(True)
    with forced(backend):
        out = adder2d(x, w, 1, 1)
        g = torch.randn_like(out)
        out.backward(g)
    _close(x.grad, reference.backward(x.detach(), w, g, 1, 1)[0], 1e-12)
    assert w.grad is None


def test_fallback_warns_once_at_the_callers_line(monkeypatch):
    monkeypatch.setattr(sad_cpu, "available", lambda: False)
    monkeypatch.setattr(adder2d_module._backend, "warned", False)
    x, w = _tensors(dict(n=1, c=2, h=5, w=5, o=3, k=3, seed=11))
    with pytest.warns(RuntimeWarning) as caught:
        with torch.no_grad():
            adder2d(x, w)
            adder2d(x, w)
    assert [str(c.message) for c in caught] == [
        "addnn: C++ SAD kernels unavailable, using the slower torch path"]
    # The caller's line, as warnings.warn intends; under mutmut every mutated function gains
    # a trampoline frame, which then stands in for the caller.
    assert caught[0].filename == __file__ or caught[0].filename.endswith(
        os.path.join("mutmut", "mutation", "trampoline.py")), caught[0].filename


def test_torchscript_export_declares_the_output_shape():
    """The symbolic gives the Adder2d output its [N, O, H', W'] (non-square, strided, padded:
    the eager output's shape), so the exporter's own shape inference reaches the nodes after
    it."""
    import io
    import warnings

    import onnx

    class One(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.randn(4, 3, 3, 3))

        def forward(self, x):
            return adder2d(x, self.w, 2, 1) * 2

    x, buf = torch.randn(2, 3, 7, 5), io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = list(One()(x).shape)
        torch.onnx.export(One().eval(), (x,), buf, dynamo=False, opset_version=13)
    graph = onnx.load_from_string(buf.getvalue()).graph
    adder = next(n for n in graph.node if n.op_type == "Adder2d")
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in [*graph.value_info, *graph.output]}
    assert expected == [2, 4, 4, 3]
    assert shapes[adder.output[0]] == expected and shapes[graph.output[0].name] == expected
