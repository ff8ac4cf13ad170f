"""QONNX custom ops of addnn: the node domain ``addnn.custom_op`` names this module.

qonnx finds op classes through ``__all__`` (recent versions) or the ``custom_op`` dict (older
ones); both are given.
"""

from addnn.custom_op.adder2d import Adder2d

__all__ = ["Adder2d"]
custom_op = {"Adder2d": Adder2d}

DOMAIN = "addnn.custom_op"

