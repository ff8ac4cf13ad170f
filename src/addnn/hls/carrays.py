"""Constant arrays as C++ initializers of native types (``int8_t`` ... ``int64_t``, ``float``),
and the element types of the generated code."""

from __future__ import annotations

import numpy as np

from addnn.numeric import IntType


def native_type(lo: int, hi: int) -> str:
    """The narrowest native integer type holding [lo, hi]."""
    for bits in (8, 16, 32, 64):
        if lo >= 0 and hi < (1 << bits):
            return f"uint{bits}_t"
        if -(1 << (bits - 1)) <= lo and hi < (1 << (bits - 1)):
            return f"int{bits}_t"
    raise ValueError(f"no native integer type holds [{lo}, {hi}]")


def native_of(t: IntType) -> str:
    return native_type(t.lo, t.hi)


def switch_type(t: IntType) -> str:
    """The computation type of ``t`` under the typedef switch (ap_int in the exact build)."""
    return f"addnn::{'int' if t.signed else 'uint'}_t<{t.bits}>"


def signed_width(lo: int, hi: int) -> int:
    """Bits of the narrowest signed type holding [lo, hi]."""
    return IntType.for_range(min(lo, -1), hi).bits


def unsigned_width(hi: int) -> int:
    return max(int(hi).bit_length(), 1)


def _literal(a: np.ndarray) -> list[str]:
    if a.dtype.kind == "f":
        return [f"{float(v):.9g}f" if np.isfinite(v) else "0.0f"
                for v in a.astype(np.float32).ravel()]
    return [str(int(v)) for v in a.ravel()]


def initializer(a: np.ndarray) -> str:
    """Nested braces of ``a``'s values, the last dimension on one line."""
    a = np.asarray(a)
    if a.ndim == 0:
        a = a.reshape(1)
    rows = np.asarray(_literal(a), dtype=object).reshape(-1, a.shape[-1])
    text = ["{" + ", ".join(r) + "}" for r in rows]
    for dim in reversed(a.shape[:-1]):
        text = ["{" + ",\n".join(text[i:i + dim]) + "}" for i in range(0, len(text), dim)]
    return text[0]


def dims(a: np.ndarray) -> str:
    return "".join(f"[{d}]" for d in np.asarray(a).shape) or "[1]"
