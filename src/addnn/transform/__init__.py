"""Lowering the exported QONNX graph to the integer graph (qonnx Transformations), and
running it."""

from addnn.transform.execute import check_types, integer_context, output_exponent, run_integer
from addnn.transform.lower_bn import BN_MODES
from addnn.transform.pipeline import check_integer_graph, lower_to_integer, lowering_passes

__all__ = ["BN_MODES", "check_integer_graph", "check_types", "integer_context",
           "lower_to_integer", "lowering_passes", "output_exponent", "run_integer"]
