"""Pass: quantized weights become integer initializers (int64 container, INTn/UINTn DataType,
their exponent recorded)."""

from __future__ import annotations

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.base import Transformation

from addnn.transform.annotations import quant_params, set_int_initializer


class QuantWeightsToIntegers(Transformation):
    def apply(self, model: ModelWrapper):
        for node in model.graph.node:
            if node.op_type != "Quant" or model.get_initializer(node.input[0]) is None:
                continue
            t, narrow = quant_params(model, node)
            w = model.get_initializer(node.input[0]).astype(np.float64)
            q = np.clip(np.rint(w * 2.0 ** -t.exponent), t.lo + int(narrow and t.signed), t.hi)
            model.graph.node.remove(node)
            set_int_initializer(model, node.output[0], q, t)
            return model, True
        return model, False
