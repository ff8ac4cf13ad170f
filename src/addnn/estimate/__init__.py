"""Throughput, FIFO depths and resources of the generated accelerator, and its folding chosen
by integer programming (``addnn estimate``): ``cycles`` (loop iterations, exact; pipeline
depths, modelled), ``dataflow`` (cycle-stepped simulation), ``resources`` and ``memory``
(yosys-calibrated lanes, modelled memories), ``allocate`` (HiGHS), ``estimate`` (all of it),
``report`` (JSON, table, charts)."""

from addnn.estimate.cycles import stage_cycles, stage_iterations

__all__ = ["stage_cycles", "stage_iterations"]
