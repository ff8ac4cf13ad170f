"""Bit-accurate numpy models of the SAD units in ``sv/``: the DSP48E2 SIMD ALU, the per-lane
differences each unit forms, the abs-accumulate lane and the whole processing element.

Operands are 8-bit patterns (``uint8``). With ``signed=True`` they are int8: every unit flips bit
7 of both operands first, which adds 128 to each and leaves the differences unchanged.
Everything is vectorised over leading axes, so 10**6 lane-terms take well under a second.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

DSP_LANE_BITS = {"ONE48": 48, "TWO24": 24, "FOUR12": 12}
ACC_BITS = 18          # 576 terms of 255 = 146,880 < 2**18; wraps after 1,028 such terms
LANE_MASK12 = (1 << 12) - 1


class Variant(IntEnum):
    """The ``VARIANT`` parameter of ``sad_pe``."""

    LUT = 0
    QUAD12 = 1
    OCTO8 = 2

    @property
    def lanes_per_dsp(self) -> int:
        return {Variant.LUT: 0, Variant.QUAD12: 4, Variant.OCTO8: 8}[self]


class Ctrl(IntEnum):
    """Bits of the per-cycle control word: in_valid, in_first, in_last."""

    VALID = 1
    FIRST = 2
    LAST = 4


def simd_alu(w, x, y, z, alumode: int, cin=0, simd: str = "FOUR12"):
    """The DSP48E2 ALU on 48-bit words: returns ``(p, carryout)``.

    ALUMODE 0000: Z + W + X + Y + CIN; 0001: ~Z + W + X + Y + CIN; 0010: ~(Z + W + X + Y + CIN);
    0011: ~(~Z + W + X + Y + CIN) = Z - (W + X + Y + CIN). In SIMD mode each lane adds on its
    own, CARRYIN enters lane 0 only, and a lane's carry-out is bit ``lane`` of its sum (inverted
    for 0011). CARRYOUT bit ``(k + 1) * lane / 12 - 1`` belongs to lane k; the others read 0.
    """
    if alumode not in (0, 1, 2, 3):
        raise ValueError(f"ALUMODE {alumode:04b} is not an arithmetic mode")
    bits = DSP_LANE_BITS[simd]
    mask = (1 << bits) - 1
    w, x, y, z = (np.asarray(v, dtype=np.uint64) for v in (w, x, y, z))
    cin = np.asarray(cin, dtype=np.uint64)
    p = np.zeros(np.broadcast(w, x, y, z, cin).shape, dtype=np.uint64)
    carry = np.zeros_like(p)
    for k in range(48 // bits):
        sh = np.uint64(k * bits)
        lane = lambda v: (v >> sh) & np.uint64(mask)  # noqa: E731
        zk = lane(z) ^ np.uint64(mask) if alumode & 1 else lane(z)
        s = zk + lane(w) + lane(x) + lane(y) + (cin if k == 0 else np.uint64(0))
        r = s & np.uint64(mask)
        if alumode & 2:
            r ^= np.uint64(mask)
        co = ((s >> np.uint64(bits)) & np.uint64(1)) ^ np.uint64(alumode == 3)
        p |= r << sh
        carry |= co << np.uint64((k + 1) * bits // 12 - 1)
    return p, carry


def _flip(v, signed: bool) -> np.ndarray:
    v = np.asarray(v, dtype=np.uint8)
    return v ^ np.uint8(0x80) if signed else v


def _pack12(lanes: np.ndarray) -> np.ndarray:
    """[..., 4] 12-bit values -> [...] 48-bit words, lane 0 in the low bits."""
    lanes = lanes.astype(np.uint64)
    return sum(lanes[..., k] << np.uint64(12 * k) for k in range(4))


def _lane12(word: np.ndarray, k: int) -> np.ndarray:
    return ((word >> np.uint64(12 * k)) & np.uint64(LANE_MASK12)).astype(np.int64)


def _bit(word: np.ndarray, k: int) -> np.ndarray:
    return ((word >> np.uint64(k)) & np.uint64(1)).astype(np.int64)


def _dsp_sub4(z_lanes: np.ndarray, x_lanes: np.ndarray, cin=0):
    """``sad_dsp_sub4``: FOUR12, ALUMODE 0011, Z = C, X = A:B, W = Y = 0, CARRYIN ``cin``
    (lane 0 only: Z - (X + CIN))."""
    return simd_alu(0, _pack12(x_lanes), 0, _pack12(z_lanes), alumode=3, cin=cin)


def _signed9(v: np.ndarray) -> np.ndarray:
    v = v & 0x1FF
    return np.where(v >= 256, v - 512, v)


def lut_diff(x, w, signed: bool = False) -> np.ndarray:
    """``sad_lut``: d = x - w from a 9-bit subtractor, as a signed integer. [..., L] -> [..., L]."""
    x, w = _flip(x, signed).astype(np.int64), _flip(w, signed).astype(np.int64)
    return _signed9(x - w)


def quad12_diff(x, w, signed: bool = False) -> np.ndarray:
    """``sad_quad12``: [..., 4] operands -> [..., 4] differences: P's lanes, 9 bits each."""
    xu, wu = _flip(x, signed), _flip(w, signed)
    p, _ = _dsp_sub4(xu, wu)
    return _signed9(np.stack([_lane12(p, k) for k in range(4)], axis=-1))


# Octo8's LUT share per DSP lane j: (low bits of lane 2j, low bits of lane 2j+1) formed in LUTs
# before the DSP. Lane 0's even-lane borrow enters through CARRYIN, so it keeps 2 + 3 bits
# there; the other lanes take the odd lane's low 5 bits.
OCTO8_SPLIT = ((2, 3), (0, 5), (0, 5), (0, 5))


def octo8_low(x, w, bits: int) -> np.ndarray:
    """``sad_octo8``'s LUT subtractor for the low ``bits`` bits of a lane, before the DSP:
    2**(bits+1) + x[bits-1:0] - w[bits-1:0], i.e. [bits-1:0] = (x - w) mod 2**bits,
    [bits] = borrow, [bits+1] = no borrow."""
    m = (1 << bits) - 1
    return (2 << bits) + (np.asarray(x, np.int64) & m) - (np.asarray(w, np.int64) & m)


def octo8_fields(x, w, signed: bool = False):
    """The DSP operands and result of ``sad_octo8`` for [..., 8] operands:
    ``(z, x, carryin, p, carryout)``. With (la, lb) = ``OCTO8_SPLIT[j]``, lane j is laid out
    as ``[11:4+lb]`` = bits 7:lb of lane 2j+1 (Z = w, X = x), ``[8-la]`` = transfer bit (Z = no
    borrow, X = borrow of lane 2j+1's LUT bits) and ``[7-la:0]`` = bits 7:la of lane 2j
    (Z = x, X = w); CARRYIN is the borrow of lane 0's LUT bits."""
    xu, wu = _flip(x, signed).astype(np.int64), _flip(w, signed).astype(np.int64)
    z_l, x_l = [], []
    for j, (la, lb) in enumerate(OCTO8_SPLIT):
        xa, wa, xb, wb = (v[..., 2 * j + k] for v, k in ((xu, 0), (wu, 0), (xu, 1), (wu, 1)))
        lo = octo8_low(xb, wb, lb)
        z_l.append((wb >> lb) << (4 + lb) | (lo >> lb & 1) << (8 - la) | xa >> la)
        x_l.append((xb >> lb) << (4 + lb) | (lo >> (lb + 1) & 1) << (8 - la) | wa >> la)
    la0 = OCTO8_SPLIT[0][0]
    cin = octo8_low(xu[..., 0], wu[..., 0], la0) >> la0 & 1
    z_l, x_l = np.stack(z_l, axis=-1), np.stack(x_l, axis=-1)
    p, co = _dsp_sub4(z_l, x_l, cin)
    return _pack12(z_l), _pack12(x_l), cin, p, co


def octo8_diff(x, w, signed: bool = False) -> np.ndarray:
    """``sad_octo8``: [..., 8] operands -> [..., 8] differences, read as the RTL reads them:
    lane 2j = {~P[8-la], P[7-la:0], LUT bits}; lane 2j+1 = {CARRYOUT[j], ~P[11:4+lb], LUT bits}."""
    xu, wu = _flip(x, signed).astype(np.int64), _flip(w, signed).astype(np.int64)
    _, _, _, p, co = octo8_fields(x, w, signed)
    out = np.empty(np.broadcast(xu, wu).shape, dtype=np.int64)
    for j, (la, lb) in enumerate(OCTO8_SPLIT):
        lane = _lane12(p, j)
        a, b = 2 * j, 2 * j + 1
        lo_a = octo8_low(xu[..., a], wu[..., a], la) & ((1 << la) - 1)
        out[..., a] = _signed9((1 - (lane >> (8 - la) & 1)) << 8
                               | (lane & ((1 << (8 - la)) - 1)) << la | lo_a)
        lo_b = octo8_low(xu[..., b], wu[..., b], lb) & ((1 << lb) - 1)
        hi_b = ~lane >> (4 + lb) & ((1 << (8 - lb)) - 1)
        out[..., b] = _signed9(_bit(co, j) << 8 | hi_b << lb | lo_b)
    return out


def abs_term(d: np.ndarray) -> np.ndarray:
    """What ``sad_absacc`` adds for a 9-bit difference: (d[7:0] ^ {8{s}}) + s."""
    d = np.asarray(d, dtype=np.int64)
    s = (d >> 8) & 1
    return ((d & 0xFF) ^ (0xFF * s)) + s


def unit_diff(variant: Variant, x, w, signed: bool = False) -> np.ndarray:
    """Differences a PE of ``variant`` forms for operands [..., P] (P a multiple of 8)."""
    x, w = np.asarray(x, dtype=np.uint8), np.asarray(w, dtype=np.uint8)
    lanes = x.shape[-1]
    if lanes % 8:
        raise ValueError(f"a PE has a multiple of 8 lanes, not {lanes}")
    if variant == Variant.LUT:
        return lut_diff(x, w, signed)
    group, fn = (4, quad12_diff) if variant == Variant.QUAD12 else (8, octo8_diff)
    shape = x.shape[:-1] + (lanes // group, group)
    return fn(x.reshape(shape), w.reshape(shape), signed).reshape(x.shape)


def pe_run(variant: Variant, ctrl, x, w, signed: bool = False, acc_bits: int = ACC_BITS):
    """The SAD PE on a stream of cycles: ``ctrl`` [T] (Ctrl bits), ``x``, ``w`` [T, P].

    Returns the SADs [n_out, P] it emits, one row per valid cycle with in_last, in order.
    Each lane does acc <= (first ? 0 : acc) + |d| on valid cycles (acc is 0 after reset),
    modulo ``2**acc_bits``: a window's sum is a difference of prefix sums since its first.
    """
    ctrl = np.asarray(ctrl, dtype=np.int64)
    valid = (ctrl & Ctrl.VALID) != 0
    first = valid & ((ctrl & Ctrl.FIRST) != 0)
    last = valid & ((ctrl & Ctrl.LAST) != 0)
    terms = abs_term(unit_diff(variant, x, w, signed)) * valid[:, None]
    prefix = np.concatenate([np.zeros((1, terms.shape[1]), np.int64), np.cumsum(terms, 0)])
    t = np.arange(len(ctrl))
    start = np.maximum.accumulate(np.where(first, t, 0))       # cycle of the latest first
    ends = np.flatnonzero(last)
    sums = prefix[ends + 1] - prefix[start[ends]]
    return sums & ((1 << acc_bits) - 1)


def sad_reference(x, w, signed: bool = False) -> np.ndarray:
    """Plain integers: sum |x - w| over axis 0 of [T, ...] operands."""
    dt = np.int8 if signed else np.uint8
    xi = np.asarray(x, dtype=np.uint8).view(dt).astype(np.int64)
    wi = np.asarray(w, dtype=np.uint8).view(dt).astype(np.int64)
    return np.abs(xi - wi).sum(0)
