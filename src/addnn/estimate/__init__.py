"""Throughput and resources of the generated accelerator (issue 13; so far the loop-iteration
model of each stage, checked against the counting build of the kernels)."""

from addnn.estimate.cycles import stage_iterations

__all__ = ["stage_iterations"]
