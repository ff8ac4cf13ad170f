"""The integer graph as a list of dataflow stages: one stage per node, checked for what the HLS
kernels support, with the streams between them.

- ``QuantizeInput`` is done by the host (the accelerator receives its integers), so the first
  stage is the AXI4-Stream input; the graph output becomes the AXI4-Stream output.
- A ``BNRequantMap`` or ``FloatBNRequant`` reading an adder or MAC accumulator (its only
  reader) is fused into that layer's process: the accumulator never crosses a stream.
  ``separate_maps`` takes chosen maps out into processes of their own (``MapStage``).
- ``Flatten`` of a 1x1 tensor is free (the stream already carries one pixel of C channels).
- A tensor read by several stages gets a fork stage, one output stream per reader.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np
from onnx import helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from addnn.custom_op import DOMAIN
from addnn.errors import AddnnError
from addnn.numeric import IntType
from addnn.transform.annotations import exponent
from addnn.transform.execute import output_exponent


class Op(Enum):
    SAD = "sad"     # Adder2d: acc -= |x - w|
    MAC = "mac"     # MacConv2d: acc += x * w


class MapKind(Enum):
    NONE = "none"
    THRESHOLDS = "thresholds"
    TABLE = "table"
    FLOAT32 = "float32"


@dataclass(frozen=True)
class Tensor:
    """A graph tensor as a stream of pixels: C channels per element, H x W elements a frame."""

    name: str
    channels: int
    height: int
    width: int
    type: IntType

    @property
    def pixels(self) -> int:
        return self.height * self.width


@dataclass
class LayerMap:
    """What a layer applies to each accumulator, with its constant arrays."""

    kind: MapKind
    arrays: dict = field(default_factory=dict)   # thresholds/start/direction, table, a/b
    relu: bool = False

    @property
    def levels(self) -> int:
        """Binary-search levels of a threshold map: 2**levels - 1 slots hold its thresholds."""
        n = np.asarray(self.arrays["thresholds"]).shape[1]
        return max(1, math.ceil(math.log2(n + 1)))


@dataclass
class Stage:
    """One dataflow process. ``inputs``/``outputs`` are tensor names, in port order."""

    name: str
    nodes: list[str]
    inputs: list[str]
    outputs: list[str]

    @property
    def kind(self) -> str:
        return type(self).__name__


@dataclass
class InputStage(Stage):
    pass


@dataclass
class OutputStage(Stage):
    pass


@dataclass
class ConvStage(Stage):
    op: Op = Op.SAD
    weights: np.ndarray = None            # [O, C, KH, KW] int64
    weight_type: IntType = None
    acc: IntType = None
    kernel: tuple[int, int] = (1, 1)
    strides: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)    # top, left, bottom, right
    map: LayerMap = None
    acc_tensor: str = ""                  # the accumulator's graph tensor (the map's input)


@dataclass
class MapStage(Stage):
    """A BN map in a process of its own (FINN's Thresholding after an MVAU without
    activation): it reads the accumulators and maps PE of them a cycle."""

    map: LayerMap = None
    acc: IntType = None


@dataclass
class RequantStage(Stage):
    relu: bool = False
    shift: int = 0                        # in_exponent - out_exponent


@dataclass
class AddStage(Stage):
    pass


@dataclass
class PoolStage(Stage):
    pass


@dataclass
class ForkStage(Stage):
    pass


@dataclass
class StageGraph:
    stages: list[Stage]
    tensors: dict[str, Tensor]
    input: str                 # the accelerator's input tensor (QuantizeInput's output)
    output: str                # the graph output tensor
    output_exponent: int

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)

    def conv_stages(self) -> list[ConvStage]:
        return [s for s in self.stages if isinstance(s, ConvStage)]

    def map_stages(self) -> list["MapStage"]:
        return [s for s in self.stages if isinstance(s, MapStage)]

    def folded_stages(self) -> list[Stage]:
        """The stages a folding sets: convolutions and separate maps."""
        return [s for s in self.stages if isinstance(s, (ConvStage, MapStage))]


def _attrs(node) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _label(node) -> str:
    return f"node {node.name!r} ({node.op_type})"


def _tensor(model: ModelWrapper, name: str, node) -> Tensor:
    e = exponent(model, name)
    dt = model.get_tensor_datatype(name)
    if e is None or dt is None or not dt.is_integer():
        raise AddnnError(f"{_label(node)}: tensor {name!r} has no integer DataType and "
                         "exponent: not an integer graph (run `addnn lower`)")
    if dt.bitwidth() > 32:
        raise AddnnError(f"{_label(node)}: tensor {name!r} is {dt.name}, wider than 32 bits")
    shape = model.get_tensor_shape(name)
    if shape is None or len(shape) not in (2, 4) or shape[0] != 1:
        raise AddnnError(f"{_label(node)}: tensor {name!r} has shape {shape}, expected "
                         "[1, C, H, W] or [1, C]")
    c, h, w = (shape[1], 1, 1) if len(shape) == 2 else shape[1:]
    return Tensor(name, int(c), int(h), int(w), IntType(dt.bitwidth(), dt.signed(), e))


def _initializer(model: ModelWrapper, node, index: int, what: str) -> np.ndarray:
    value = model.get_initializer(node.input[index])
    if value is None:
        raise AddnnError(f"{_label(node)}: {what} must be a constant")
    return np.asarray(value)


def _layer_map(model: ModelWrapper, node) -> LayerMap:
    op = getCustomOp(node)
    if node.op_type == "FloatBNRequant":
        a = _initializer(model, node, 1, "a").astype(np.float32).reshape(-1)
        b = _initializer(model, node, 2, "b").astype(np.float32).reshape(-1)
        return LayerMap(MapKind.FLOAT32, {"a": a, "b": b}, bool(op.get_nodeattr("relu")))
    if op.get_nodeattr("kind") == "table":
        return LayerMap(MapKind.TABLE, {"table": _initializer(model, node, 1, "the table")})
    names = ("thresholds", "start", "direction")
    return LayerMap(MapKind.THRESHOLDS, {k: _initializer(model, node, i + 1, f"the {k}")
                                         for i, k in enumerate(names)})


SUPPORTED = ("QuantizeInput", "Adder2d", "MacConv2d", "BNRequantMap", "FloatBNRequant",
             "Requantize", "Add", "AvgPoolShift", "Flatten")


def build_stages(model: ModelWrapper) -> StageGraph:
    """The stage graph of an integer graph (``addnn.transform.lower_to_integer``'s output);
    an ``AddnnError`` naming the node for anything the kernels do not support."""
    nodes = list(model.graph.node)
    for node in nodes:
        if node.op_type not in SUPPORTED or (node.domain != DOMAIN and
                                             node.op_type not in ("Add", "Flatten")):
            raise AddnnError(f"{_label(node)}: no HLS kernel for this op (supported: "
                             f"{', '.join(SUPPORTED)})")
    graph_in, graph_out = model.graph.input[0].name, model.graph.output[0].name
    first = nodes[0]
    if first.op_type != "QuantizeInput" or first.input[0] != graph_in:
        raise AddnnError(f"{_label(first)}: an integer graph starts with QuantizeInput on the "
                         "graph input")
    tensors: dict[str, Tensor] = {}
    stages: list[Stage] = []
    fused: set[str] = set()
    alias: dict[str, str] = {}          # Flatten output -> its input

    def t(name: str, node) -> str:
        name = alias.get(name, name)
        if name not in tensors:
            tensors[name] = _tensor(model, name, node)
        return name

    x_in = t(first.output[0], first)
    stages.append(InputStage("input", [first.name], [], [x_in]))
    for node in nodes[1:]:
        if node.name in fused:
            continue
        op = node.op_type
        if op in ("Adder2d", "MacConv2d"):
            stages.append(_conv_stage(model, node, t, fused))
        elif op in ("BNRequantMap", "FloatBNRequant"):
            raise AddnnError(f"{_label(node)}: a BN map must be the only reader of an adder or "
                             "MAC accumulator")
        elif op == "Requantize":
            attrs = _attrs(node)
            stages.append(RequantStage(node.name, [node.name], [t(node.input[0], node)],
                                       [t(node.output[0], node)], relu=bool(attrs.get("relu")),
                                       shift=attrs["in_exponent"] - attrs["out_exponent"]))
        elif op == "Add":
            a, b = (t(i, node) for i in node.input)
            if tensors[a].type.exponent != tensors[b].type.exponent:
                raise AddnnError(f"{_label(node)}: operands at different exponents")
            stages.append(AddStage(node.name, [node.name], [a, b], [t(node.output[0], node)]))
        elif op == "AvgPoolShift":
            src = t(node.input[0], node)
            if tensors[src].pixels & (tensors[src].pixels - 1):
                raise AddnnError(f"{_label(node)}: pooling area is not a power of two")
            stages.append(PoolStage(node.name, [node.name], [src], [t(node.output[0], node)]))
        elif op == "Flatten":
            src = t(node.input[0], node)
            if tensors[src].pixels != 1:
                raise AddnnError(f"{_label(node)}: Flatten of a {tensors[src].height}x"
                                 f"{tensors[src].width} tensor (only 1x1 is supported)")
            alias[node.output[0]] = src
    out = t(graph_out, nodes[-1])
    stages.append(OutputStage("output", [graph_out], [out], []))
    _check_types(stages, tensors)
    return StageGraph(_with_forks(stages, tensors), tensors, x_in, out, output_exponent(model))


def _conv_stage(model: ModelWrapper, node, t, fused: set) -> ConvStage:
    attrs = _attrs(node)
    if attrs.get("group", 1) != 1 or any(d != 1 for d in attrs.get("dilations", [1, 1])):
        raise AddnnError(f"{_label(node)}: groups and dilations must be 1")
    x = t(node.input[0], node)
    w = _initializer(model, node, 1, "the weight").astype(np.int64)
    wdt = model.get_tensor_datatype(node.input[1])
    we = exponent(model, node.input[1])
    if we is None or not wdt.is_integer() or wdt.bitwidth() > 16:
        raise AddnnError(f"{_label(node)}: the weight needs an integer DataType of at most 16 "
                         "bits")
    acc_name = node.output[0]
    consumers = model.find_consumers(acc_name) or []
    layer_map, out_name = LayerMap(MapKind.NONE), acc_name
    if len(consumers) == 1 and consumers[0].op_type in ("BNRequantMap", "FloatBNRequant"):
        bn = consumers[0]
        layer_map, out_name = _layer_map(model, bn), bn.output[0]
        fused.add(bn.name)
    acc = _tensor(model, acc_name, node)
    kh, kw = (int(k) for k in attrs["kernel_shape"])
    pads = tuple(int(p) for p in attrs.get("pads", [0, 0, 0, 0]))
    strides = tuple(int(s) for s in attrs.get("strides", [1, 1]))
    return ConvStage(node.name, [node.name] + ([consumers[0].name] if out_name != acc_name
                                                else []),
                      [x], [t(out_name, node)], op=Op.SAD if node.op_type == "Adder2d" else Op.MAC,
                      weights=w, weight_type=IntType(wdt.bitwidth(), wdt.signed(), we),
                      acc=acc.type, kernel=(kh, kw), strides=strides, pads=pads, map=layer_map,
                      acc_tensor=acc_name)


def _check_types(stages: list[Stage], tensors: dict[str, Tensor]) -> None:
    for s in stages:
        for name in s.inputs + s.outputs:
            if tensors[name].type.bits > 16 and isinstance(s, (InputStage, OutputStage)):
                raise AddnnError(f"node {s.nodes[0]!r}: tensor {name!r} is wider than 16 bits, "
                                 "which the AXI4-Stream frame format does not carry")
        if isinstance(s, ConvStage):
            x, y = tensors[s.inputs[0]], tensors[s.outputs[0]]
            o, c, kh, kw = s.weights.shape
            ho = (x.height + s.pads[0] + s.pads[2] - kh) // s.strides[0] + 1
            wo = (x.width + s.pads[1] + s.pads[3] - kw) // s.strides[1] + 1
            if c != x.channels or o != y.channels or (ho, wo) != (y.height, y.width):
                raise AddnnError(f"node {s.name!r}: weight {s.weights.shape} and input "
                                 f"{x.channels}x{x.height}x{x.width} do not give the output "
                                 f"{y.channels}x{y.height}x{y.width}")


def fused_map_names(graph: StageGraph) -> dict[str, str]:
    """BN map node name -> the convolution stage it is fused into."""
    return {s.nodes[1]: s.name for s in graph.conv_stages() if len(s.nodes) > 1}


def separate_maps(graph: StageGraph, names) -> StageGraph:
    """The graph with the fused BN maps named (by their node) in processes of their own: the
    convolution then writes its accumulators, and the map stage reads them."""
    fused = fused_map_names(graph)
    chosen = {fused[n] for n in names if n in fused}
    if not chosen:
        return graph
    tensors = dict(graph.tensors)
    stages: list[Stage] = []
    for s in graph.stages:
        if s.name not in chosen:
            stages.append(s)
            continue
        y = graph.tensors[s.outputs[0]]
        acc = Tensor(s.acc_tensor, y.channels, y.height, y.width, s.acc)
        tensors[acc.name] = acc
        stages.append(replace(s, nodes=s.nodes[:1], outputs=[acc.name],
                              map=LayerMap(MapKind.NONE)))
        stages.append(MapStage(s.nodes[1], s.nodes[1:], [acc.name], list(s.outputs),
                               map=s.map, acc=s.acc))
    return replace(graph, stages=stages, tensors=tensors)


def source_tensor(name: str) -> str:
    """The graph tensor a stream carries: a fork's branch ``<tensor>__k`` carries ``tensor``."""
    return name.split("__")[0]


def _with_forks(stages: list[Stage], tensors: dict[str, Tensor]) -> list[Stage]:
    """Insert a fork after each producer whose tensor has several readers; the readers then
    read the fork's outputs ``<tensor>__k``."""
    readers: dict[str, list[Stage]] = {}
    for s in stages:
        for i in s.inputs:
            readers.setdefault(i, []).append(s)
    out: list[Stage] = []
    for s in stages:
        out.append(s)
        for name in s.outputs:
            rs = readers.get(name, [])
            if len(rs) <= 1:
                continue
            if len(rs) > 3:
                raise AddnnError(f"tensor {name!r} has {len(rs)} readers; at most 3 are "
                                 "supported")
            branches = [f"{name}__{k}" for k in range(len(rs))]
            for b in branches:
                tensors[b] = replace(tensors[name], name=b)
            out.append(ForkStage(f"fork_{name}", [], [name], branches))
            for r, b in zip(rs, branches):
                r.inputs = [b if i == name else i for i in r.inputs]
    return out
