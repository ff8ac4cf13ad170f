"""ONNX export: Brevitas export with one ``Adder2d`` node per adder layer, qonnx cleanup and
checks, and the graph loader every later stage uses."""

from addnn.export.graph import (
    SUPPORTED_DOMAINS,
    count_ops,
    load_graph,
    strict_check,
    with_batch_size,
)
from addnn.export.onnx_export import FORMATS, export_model, input_shape

__all__ = ["FORMATS", "SUPPORTED_DOMAINS", "count_ops", "export_model", "input_shape",
           "load_graph", "strict_check", "with_batch_size"]
