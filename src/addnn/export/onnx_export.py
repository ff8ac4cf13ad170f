"""``export_model``: a checkpoint's model to QONNX (or QCDQ ONNX) with one ``Adder2d`` node per
adder layer.

The adder autograd op exports itself as an ``addnn.custom_op::Adder2d`` node (its
``symbolic``), so no graph surgery is needed. Quantized models export through Brevitas with
the TorchScript exporter (``dynamo=False``; the dynamo exporter cannot emit custom-domain nodes
from ``symbolic``), float models through ``torch.onnx.export``. The result is cleaned up with
qonnx, shape- and datatype-inferred, checked strictly, and written atomically.
"""

from __future__ import annotations

import copy
import tempfile
import warnings
from pathlib import Path

import torch
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.util.cleanup import cleanup_model
from torch import nn

from addnn.atomic import atomic_write
from addnn.errors import AddnnError
from addnn.export.graph import check_ops, count_ops, strict_check
from addnn.nn.adder import Adder2d

FORMATS = ("qonnx", "qcdq")
OPSET = 13


def input_shape(model: nn.Module) -> tuple[int, int, int]:
    """Channels, height and width of one input image of an addnn model."""
    from addnn.models import LeNet5

    return (1, 28, 28) if isinstance(model, LeNet5) else (3, 32, 32)


def _is_brevitas(model: nn.Module) -> bool:
    from brevitas.nn.mixin.base import QuantLayerMixin

    return any(isinstance(m, QuantLayerMixin) for m in model.modules())


def _torch_export(model: nn.Module, x: torch.Tensor, path: Path, fmt: str) -> None:
    """Run the exporter on a private copy: a failed export can leave export hooks and modes set
    on the instance it ran on."""
    model = copy.deepcopy(model).eval()
    if hasattr(model, "set_integer"):
        model.set_integer(False)    # BN exports as its float64 affine form (Cast, Mul, Add,
        #                             Cast); the integer maps are the lowering's job
        #                             (addnn.transform)
    kwargs = dict(dynamo=False, opset_version=OPSET, input_names=["input"],
                  output_names=["logits"])
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")     # tracer chatter about shapes turned constant
        if _is_brevitas(model):
            from brevitas.export import export_onnx_qcdq, export_qonnx

            exporter = export_qonnx if fmt == "qonnx" else export_onnx_qcdq
            try:
                exporter(model, x, str(path), **kwargs)
            except RuntimeError as err:
                raise AddnnError(f"{fmt} export failed: {str(err).splitlines()[0]}"
                                 + (" (QCDQ holds at most 8-bit tensors; use --format qonnx)"
                                    if "Bit width" in str(err) else "")) from err
        else:
            torch.onnx.export(model, (x,), str(path), **kwargs)


def export_model(model: nn.Module, output: str | Path, fmt: str = "qonnx",
                 shape: tuple[int, int, int] | None = None) -> ModelWrapper:
    """Export ``model`` (one input image of ``shape``, by default the model's own) to
    ``output`` and return the cleaned graph.

    Raises AddnnError if the format is unknown, the exporter fails, or the graph does not have
    one ``Adder2d`` node per adder layer or fails the ONNX checks."""
    if fmt not in FORMATS:
        raise AddnnError(f"unknown export format {fmt!r}: expected one of {', '.join(FORMATS)}")
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)      # as atomic_write does
    x = torch.zeros(1, *(shape or input_shape(model)))
    adders = sum(isinstance(m, Adder2d) for m in model.modules())
    with tempfile.TemporaryDirectory(prefix=".addnn-export-", dir=output.parent) as tmp:
        raw = Path(tmp) / "raw.onnx"
        _torch_export(model, x, raw, fmt)
        graph = cleanup_model(ModelWrapper(str(raw)))
        graph = graph.transform(InferShapes()).transform(InferDataTypes())
        check_ops(graph, str(output))
        found = count_ops(graph)["Adder2d"]
        if found != adders:
            raise AddnnError(f"export produced {found} Adder2d nodes for {adders} adder layers")
        strict_check(graph)
    atomic_write(output, lambda staged: graph.save(str(staged)))
    return graph
