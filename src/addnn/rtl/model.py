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


def _dsp_sub4(z_lanes: np.ndarray, x_lanes: np.ndarray):
    """``sad_dsp_sub4``: FOUR12, ALUMODE 0011, Z = C, X = A:B, W = Y = 0."""
    return simd_alu(0, _pack12(x_lanes), 0, _pack12(z_lanes), alumode=3)


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


def octo8_low(xb, wb) -> np.ndarray:
    """``sad_octo8``'s LUT subtractor for the low 5 bits of the odd lanes, before the DSP:
    64 + xb[4:0] - wb[4:0], i.e. bits [4:0] = (xb - wb) mod 32, [5] = ~c, [6] = c with
    c = (xb[4:0] >= wb[4:0])."""
    return 64 + (np.asarray(xb, np.int64) & 31) - (np.asarray(wb, np.int64) & 31)


def octo8_fields(x, w, signed: bool = False):
    """The DSP words of ``sad_octo8`` for [..., 8] operands: ``(z, x, p, carryout)``, each lane j
    laid out as ``[11:9]`` = bits 7:5 of lane 2j+1 (Z = w, X = x), ``[8]`` = transfer bit
    (Z = ~c, X = c from :func:`octo8_low`), ``[7:0]`` = lane 2j (Z = x, X = w)."""
    xu, wu = _flip(x, signed).astype(np.int64), _flip(w, signed).astype(np.int64)
    xa, xb, wa, wb = xu[..., 0::2], xu[..., 1::2], wu[..., 0::2], wu[..., 1::2]
    lo = octo8_low(xb, wb)
    z_lanes = (wb >> 5) << 9 | (lo >> 5 & 1) << 8 | xa
    x_lanes = (xb >> 5) << 9 | (lo >> 6 & 1) << 8 | wa
    p, co = _dsp_sub4(z_lanes, x_lanes)
    return _pack12(z_lanes), _pack12(x_lanes), p, co


def octo8_diff(x, w, signed: bool = False) -> np.ndarray:
    """``sad_octo8``: [..., 8] operands -> [..., 8] differences, read as the RTL reads them:
    lane 2j = P[7:0] with sign ~P[8]; lane 2j+1 = {CARRYOUT[j], ~P[11:9], LUT bits [4:0]}."""
    xu, wu = _flip(x, signed).astype(np.int64), _flip(w, signed).astype(np.int64)
    _, _, p, co = octo8_fields(x, w, signed)
    out = np.empty(np.broadcast(xu, wu).shape, dtype=np.int64)
    for j in range(4):
        lane = _lane12(p, j)
        out[..., 2 * j] = _signed9((1 - (lane >> 8 & 1)) << 8 | (lane & 0xFF))
        lo = octo8_low(xu[..., 2 * j + 1], wu[..., 2 * j + 1]) & 31
        out[..., 2 * j + 1] = _signed9(_bit(co, j) << 8 | (~lane >> 9 & 7) << 5 | lo)
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
