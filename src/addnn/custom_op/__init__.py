"""QONNX custom ops of addnn: the node domain ``addnn.custom_op`` names this module.

qonnx finds op classes through ``__all__`` (recent versions) or the ``custom_op`` dict (older
ones); both are given. ``Adder2d`` appears in the exported graph; the others are the integer
graph's (``addnn.transform``).
"""

from addnn.custom_op.adder2d import Adder2d
from addnn.custom_op.bn_maps import BNRequantMap, FloatBNRequant
from addnn.custom_op.integer_ops import AvgPoolShift, MacConv2d, QuantizeInput, Requantize

__all__ = ["Adder2d", "AvgPoolShift", "BNRequantMap", "FloatBNRequant", "MacConv2d",
           "QuantizeInput", "Requantize"]
custom_op = {name: globals()[name] for name in __all__}

DOMAIN = "addnn.custom_op"
