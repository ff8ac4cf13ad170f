"""The numeric contract: how integers, exponents, adders and BatchNorm maps compute.

Every backend (the PyTorch emulation, the integer graph, HLS, the RTL models) imports these
definitions instead of restating them. A quantized tensor is an integer ``q`` with a
power-of-two scale ``2**e``: its value is ``q * 2**e``.

- Requantizing to exponent ``eo``: ``clamp(round_half_even(q * 2**(e - eo)), lo, hi)``, done
  here with integer shifts only (Brevitas's ``torch.round`` is half-to-even as well).
- Adder2d: align input and weight to ``e = min(ex, ew)`` by left shifts, then
  ``acc = -sum |x' - w'|`` over channels and the window; zero padding takes part (a padded
  position contributes ``|w'|``).
- BatchNorm followed by requantization: a monotone per-channel map from integers to integers,
  ``round_half_even((v * a + b) / 2**eo)`` with the float64 constants ``a``, ``b`` of
  ``BNAffine`` (the same two the exported graph holds), computed offline in float64 and stored
  as a table (inputs of at most 8 bits) or as thresholds on the accumulator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

TABLE_MAX_INPUT_BITS = 8


@dataclass(frozen=True)
class IntType:
    """A fixed-point integer type: ``bits`` wide, signed or not, scaled by ``2**exponent``."""

    bits: int
    signed: bool
    exponent: int = 0

    def __post_init__(self):
        if self.bits < 1 or self.bits > 62:
            raise ValueError(f"IntType: bit width {self.bits} outside 1..62")

    @property
    def lo(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def hi(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def scale(self) -> float:
        return 2.0 ** self.exponent

    def contains(self, q: np.ndarray | torch.Tensor) -> bool:
        return bool((q >= self.lo).all() and (q <= self.hi).all())

    @staticmethod
    def for_range(lo: int, hi: int, exponent: int = 0) -> "IntType":
        """The narrowest type holding every integer in [lo, hi]."""
        if lo > hi:
            raise ValueError(f"empty range [{lo}, {hi}]")
        signed = lo < 0
        bits = 1
        while not (IntType(bits, signed).lo <= lo and hi <= IntType(bits, signed).hi):
            bits += 1
        return IntType(bits, signed, exponent)


def exponent_of(scale: float, what: str = "scale") -> int:
    """The integer ``e`` with ``scale == 2**e``; a clear error when the scale is not one."""
    scale = float(scale)
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"{what} is {scale}, not a positive power of two")
    mantissa, exp = np.frexp(scale)
    if mantissa != 0.5:
        raise ValueError(f"{what} is {scale!r}, not a power of two")
    return int(exp) - 1


def shift_round(q, shift: int):
    """``round_half_even(q * 2**shift)`` for integer ``q`` (numpy or torch int64), exactly."""
    if shift >= 0:
        return q * (1 << shift)
    d = -shift
    floor = q >> d                      # arithmetic shift: floor division by 2**d
    rem = q - (floor << d)
    half = 1 << (d - 1)
    up = (rem > half) | ((rem == half) & ((floor & 1) == 1))
    return floor + up


def requantize(q, exponent: int, out: IntType):
    """Integer ``q`` at ``2**exponent`` re-expressed in ``out``: shift, round half-even, clamp."""
    r = shift_round(q, exponent - out.exponent)
    if isinstance(r, torch.Tensor):
        return r.clamp(out.lo, out.hi)
    return np.clip(r, out.lo, out.hi)


def adder_align(ex: int, ew: int) -> tuple[int, int, int]:
    """Common exponent of an adder's input and weight and the left shift of each."""
    e = min(ex, ew)
    return e, ex - e, ew - e


def adder_int(qx: torch.Tensor, ex: int, qw: torch.Tensor, ew: int, stride: int = 1,
              padding: int = 0) -> tuple[torch.Tensor, int]:
    """The integer adder layer, written directly from the contract (int64, slow).

    Returns ``(acc, e)`` with ``acc = -sum |x' - w'|`` at exponent ``e``.
    """
    e, sx, sw = adder_align(ex, ew)
    x = F.pad(qx.long() << sx, (padding,) * 4)
    w = qw.long() << sw
    n, c, hp, wp = x.shape
    o, _, k, _ = w.shape
    ho, wo = (hp - k) // stride + 1, (wp - k) // stride + 1
    acc = torch.zeros(n, o, ho, wo, dtype=torch.int64)
    for u in range(k):
        for v in range(k):
            win = x[:, :, u:u + stride * (ho - 1) + 1:stride, v:v + stride * (wo - 1) + 1:stride]
            acc -= (win[:, None] - w[None, :, :, u, v, None, None]).abs().sum(2)
    return acc, e


def adder_acc_type(x: IntType, w_lo: int, w_hi: int, w_exponent: int, window: int) -> IntType:
    """Worst-case accumulator type of an adder: ``window`` = C * k * k terms, each at most the
    largest distance between an aligned input (padding 0 included) and an aligned weight."""
    e, sx, sw = adder_align(x.exponent, w_exponent)
    x_lo, x_hi = min(x.lo, 0) << sx, max(x.hi, 0) << sx
    w_lo, w_hi = w_lo << sw, w_hi << sw
    largest = max(abs(x_hi - w_lo), abs(w_hi - x_lo))
    return IntType.for_range(-largest * window, 0, e)


@dataclass
class BNParams:
    """BatchNorm in eval form, float64: y = gamma (v - mean) / sqrt(var + eps) + beta."""

    gamma: np.ndarray
    beta: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    eps: float

    @staticmethod
    def from_module(bn: torch.nn.BatchNorm2d) -> "BNParams":
        as64 = lambda t: t.detach().double().cpu().numpy()  # noqa: E731
        gamma = as64(bn.weight) if bn.weight is not None else np.ones(bn.num_features)
        beta = as64(bn.bias) if bn.bias is not None else np.zeros(bn.num_features)
        return BNParams(gamma, beta, as64(bn.running_mean), as64(bn.running_var), float(bn.eps))

    @property
    def channels(self) -> int:
        return len(self.gamma)

    def affine(self) -> "BNAffine":
        """The BN as the per-channel affine map the exported graph holds (see ``BNAffine``)."""
        a = self.gamma / np.sqrt(self.var + self.eps)
        return BNAffine(a, self.beta - self.mean * a)


@dataclass
class BNAffine:
    """Eval-mode BatchNorm as ``y = v * a + b`` with float64 ``a`` [C] and ``b`` [C]:
    ``a = gamma / sqrt(var + eps)`` and ``b = beta - mean * a``. These two constants are what
    the exported graph stores (a Mul and an Add in double precision), so every backend derives
    its BN from the same numbers.

    - float64 matters: an adder's accumulator is large against its BN output, so ``v * a`` and
      ``b`` nearly cancel, and rounding ``b`` to float32 moves some outputs by a whole output
      step (at W6 that cost accuracy on val-exact).
    - The float path (PyTorch eval, the QONNX graph) evaluates ``v * a + b`` in float64 and
      rounds the result to float32 before quantizing; the integer map quantizes the float64
      result directly.
    - ``float32()`` gives the reference design's float32 BN (``realbn``)."""

    a: np.ndarray
    b: np.ndarray

    def __post_init__(self):
        self.a = np.asarray(self.a, dtype=np.float64)
        self.b = np.asarray(self.b, dtype=np.float64)

    @property
    def channels(self) -> int:
        return len(self.a)

    def float32(self) -> tuple[np.ndarray, np.ndarray]:
        return self.a.astype(np.float32), self.b.astype(np.float32)


def _affine64(bn: "BNParams | BNAffine") -> tuple[np.ndarray, np.ndarray]:
    aff = bn.affine() if isinstance(bn, BNParams) else bn
    return aff.a, aff.b


def bn_requant_reference(acc: np.ndarray, exponent: int, bn: BNParams | BNAffine,
                         out: IntType, relu: bool) -> np.ndarray:
    """The map itself, evaluated in float64: acc [C, ...] (integers at 2**exponent) -> out,
    ``round_half_even((v * a + b) / 2**out.exponent)`` clamped (``BNAffine``)."""
    a, b = _affine64(bn)
    shape = (len(a),) + (1,) * (acc.ndim - 1)
    v = acc.astype(np.float64) * 2.0 ** exponent
    y = v * a.reshape(shape) + b.reshape(shape)
    if relu:
        y = np.maximum(y, 0.0)
    q = np.rint(y / 2.0 ** out.exponent)          # np.rint rounds half to even
    return np.clip(q, out.lo, out.hi).astype(np.int64)


def bn_requant_torch(acc: torch.Tensor, exponent: int, bn: BNParams | BNAffine, out: IntType,
                     relu: bool) -> torch.Tensor:
    """``bn_requant_reference`` on a torch int64 tensor [N, C, ...], operation for operation in
    float64 (IEEE, so bit-identical): the fast way to evaluate the map in emulation."""
    a, b = _affine64(bn)
    shape = (1, len(a)) + (1,) * (acc.dim() - 2)
    v = acc.double() * 2.0 ** exponent
    y = v * torch.from_numpy(a).view(shape) + torch.from_numpy(b).view(shape)
    if relu:
        y = torch.clamp(y, min=0.0)
    q = torch.round(y / 2.0 ** out.exponent)      # torch.round rounds half to even
    return q.clamp(out.lo, out.hi).long()


@dataclass
class IntegerMap:
    """A monotone per-channel integer map on inputs in [lo, hi] (BN + requantization).

    ``table`` [C, hi - lo + 1] when the input has at most 8 bits. Otherwise ``start`` [C] (the
    output at ``lo``), ``direction`` [C] (+1, -1 or 0) and ``thresholds`` [C, L] (sorted; entries
    of ``hi + 1`` are unused): out = start + direction * #{t <= acc}.
    """

    input_type: IntType
    output_type: IntType
    table: np.ndarray | None = None
    start: np.ndarray | None = None
    direction: np.ndarray | None = None
    thresholds: np.ndarray | None = None

    @property
    def kind(self) -> str:
        return "table" if self.table is not None else "thresholds"

    def __call__(self, acc: torch.Tensor) -> torch.Tensor:
        """Apply to an int64 tensor [N, C, ...] (torch, vectorised)."""
        if not self.input_type.contains(acc):
            raise ValueError(f"integer map input outside {self.input_type}: "
                             f"[{int(acc.min())}, {int(acc.max())}]")
        n, c = acc.shape[:2]
        flat = acc.transpose(0, 1).reshape(c, -1)
        if self.table is not None:
            table = torch.from_numpy(self.table)
            out = torch.gather(table, 1, flat - self.input_type.lo)
        else:
            t = torch.from_numpy(np.ascontiguousarray(self.thresholds))
            count = torch.searchsorted(t, flat.contiguous(), right=True)
            out = (torch.from_numpy(self.start)[:, None]
                   + torch.from_numpy(self.direction)[:, None] * count)
        return out.reshape(c, n, *acc.shape[2:]).transpose(0, 1)


def bn_requant_map(bn: BNParams | BNAffine, input_type: IntType, out: IntType,
                   relu: bool = False) -> IntegerMap:
    """Build the exact integer map of BN (+ ReLU) + requantization for inputs of ``input_type``."""
    lo, hi = input_type.lo, input_type.hi
    if input_type.bits <= TABLE_MAX_INPUT_BITS:
        grid = np.broadcast_to(np.arange(lo, hi + 1), (bn.channels, hi - lo + 1))
        table = bn_requant_reference(grid, input_type.exponent, bn, out, relu)
        return IntegerMap(input_type, out, table=table)
    f = lambda a: bn_requant_reference(a, input_type.exponent, bn, out, relu)  # noqa: E731
    ends = f(np.array([[lo, hi]] * bn.channels).reshape(-1, 2))          # [C, 2], C >= 0
    start, stop = ends[:, 0], ends[:, 1]
    direction = np.sign(stop - start).astype(np.int64)
    steps = np.abs(stop - start)
    levels = max(int(steps.max()) if bn.channels else 0, 1)
    # Threshold k of a channel is the smallest acc whose output has moved k levels from
    # ``start``: bisection on the monotone float64 map, every channel and level at once.
    k = np.arange(1, levels + 1)[None, :].repeat(bn.channels, 0)          # [C, L]
    a = np.full(k.shape, lo, dtype=np.int64)
    b = np.full(k.shape, hi, dtype=np.int64)
    while (a < b).any():
        mid = (a + b) // 2
        ok = np.abs(f(mid) - start[:, None]) >= k
        b = np.where(ok, mid, b)
        a = np.where(ok, a, mid + 1)
    thresholds = np.where(k <= steps[:, None], a, hi + 1)
    return IntegerMap(input_type, out, start=start.astype(np.int64), direction=direction,
                      thresholds=thresholds)


def avgpool_int(q: torch.Tensor, area_log2: int) -> torch.Tensor:
    """Global average pool of an area of ``2**area_log2`` positions: sum, then a rounded shift
    (same exponent in and out)."""
    return shift_round(q.long().sum((2, 3)), -area_log2)
