"""The AdderNet operator: fast kernels, a torch fallback and the slow reference."""

from addnn.ops.adder_autograd import adder2d, scale_weight_grad

__all__ = ["adder2d", "scale_weight_grad"]
