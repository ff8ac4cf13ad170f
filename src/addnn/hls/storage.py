"""Where each stream's FIFO lives, rendered as ``#pragma HLS BIND_STORAGE ... type=fifo`` and
costed by the estimator with the same rule (UG1399 ``config_storage``; FINN's StreamingFIFO):
Vitis HLS's own choice (registers) for depth <= 2, shift registers up to 1,024 bits (its
``auto_srl_max_bits``), LUTRAM up to 128 words, block RAM beyond."""

from __future__ import annotations

SRL_MAX_BITS = 1024
LUTRAM_MAX_DEPTH = 128


def fifo_impl(depth: int, width: int) -> str | None:
    """The BIND_STORAGE impl of a stream of ``depth`` words of ``width`` bits (None: leave
    it to Vitis HLS)."""
    if depth <= 2:
        return None
    if depth * width <= SRL_MAX_BITS:
        return "srl"
    return "lutram" if depth <= LUTRAM_MAX_DEPTH else "bram"
