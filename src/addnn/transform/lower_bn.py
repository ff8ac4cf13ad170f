"""Pass: accumulator -> [Cast] -> Mul(a) -> Add(b) -> [Cast] [-> Relu] -> Quant becomes one
BN + requantization node: the exact integer map (default) or the reference design's float32 BN.
(The exported graph evaluates ``v * a + b`` in double precision between the two Casts.)"""

from __future__ import annotations

import numpy as np
from onnx import numpy_helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.base import Transformation

from addnn.errors import AddnnError
from addnn.numeric import BNAffine, bn_requant_map
from addnn.transform.annotations import annotate, int_type, is_integer, quant_params
from addnn.transform.rewrite import addnn_node, replace_chain, single_consumer

BN_MODES = ("integer", "float32")


def _const_operand(model: ModelWrapper, node, other: str):
    """The constant operand of a binary node whose other operand is ``other``."""
    names = [i for i in node.input if i != other]
    value = model.get_initializer(names[0]) if len(names) == 1 else None
    return None if value is None else np.asarray(value, dtype=np.float64).reshape(-1)


class LowerBNRequant(Transformation):
    def __init__(self, mode: str = "integer"):
        super().__init__()
        if mode not in BN_MODES:
            raise AddnnError(f"unknown BN mode {mode!r}: expected one of {', '.join(BN_MODES)}")
        self.mode = mode

    def _chain(self, model: ModelWrapper, acc: str):
        """[(Cast,) Mul, Add, (Cast,) (Relu,) Quant] reading ``acc``, with a and b, or
        None."""
        chain = []

        def step(tensor: str, op_type: str) -> str:
            """Take the single ``op_type`` reader of ``tensor`` into the chain and return its
            output; ``tensor`` itself when there is none."""
            node = single_consumer(model, tensor, op_type)
            if node is None:
                return tensor
            chain.append(node)
            return node.output[0]

        mul_in = step(acc, "Cast")
        add_in = step(mul_in, "Mul")
        add_out = step(add_in, "Add")
        if add_in == mul_in or add_out == add_in:
            return None                                     # no Mul, or no Add after it
        quant_in = step(step(add_out, "Cast"), "Relu")
        if step(quant_in, "Quant") == quant_in:
            return None
        mul, add = (next(n for n in chain if n.op_type == t) for t in ("Mul", "Add"))
        a, b = _const_operand(model, mul, mul_in), _const_operand(model, add, add_in)
        if a is None or b is None:
            return None
        return chain, a, b

    def apply(self, model: ModelWrapper):
        for node in model.graph.node:
            acc = node.output[0]
            if node.op_type not in ("Adder2d", "MacConv2d") or not is_integer(model, acc):
                continue
            found = self._chain(model, acc)
            if found is None:
                continue
            chain, a, b = found
            quant, relu = chain[-1], any(n.op_type == "Relu" for n in chain)
            out, narrow = quant_params(model, quant)
            if narrow:
                raise AddnnError(f"Quant node {quant.name!r}: narrow-range activations are not "
                                 "supported")
            channels = model.get_tensor_shape(acc)[1]
            if len(a) not in (1, channels) or len(b) not in (1, channels):
                raise AddnnError(f"node {chain[0].name!r}: BN constants do not match the "
                                 f"{channels} channels of {acc!r}")
            a, b = np.broadcast_to(a, channels).copy(), np.broadcast_to(b, channels).copy()
            in_type = int_type(model, acc)
            name = quant.name + "_bn"
            common = dict(bits=out.bits, signed=int(out.signed), out_exponent=out.exponent)
            if self.mode == "float32":
                inputs = [acc, name + "_a", name + "_b"]
                arrays = list(BNAffine(a, b).float32())
                new = addnn_node("FloatBNRequant", inputs, quant.output[0], name,
                                 in_exponent=in_type.exponent, relu=int(relu), **common)
            else:
                m = bn_requant_map(BNAffine(a, b), in_type, out, relu)
                if m.kind == "table":
                    inputs, arrays = [acc, name + "_table"], [m.table]
                else:
                    inputs = [acc] + [f"{name}_{k}" for k in ("thresholds", "start",
                                                              "direction")]
                    arrays = [m.thresholds, m.start, m.direction]
                new = addnn_node("BNRequantMap", inputs, quant.output[0], name, kind=m.kind,
                                 in_bits=in_type.bits, in_signed=int(in_type.signed),
                                 in_exponent=in_type.exponent, **common)
            for tensor, array in zip(inputs[1:], arrays):
                model.graph.initializer.append(numpy_helper.from_array(np.asarray(array),
                                                                       tensor))
            replace_chain(model, chain, new)
            annotate(model, quant.output[0], out)
            return model, True
        return model, False
