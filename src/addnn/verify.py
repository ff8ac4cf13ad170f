"""The verification ladder: the same images through the PyTorch model and the exported graph
(qonnx's executor), compared logit by logit and by prediction."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from torch import nn
from tqdm import tqdm

from addnn.data.dataset import ImageDataset
from addnn.errors import AddnnError
from addnn.export.graph import with_batch_size
from addnn.nn.adder import Adder2d


@dataclass
class Rung:
    """One way of computing the logits: its name, the logits [N, classes] and the accuracy."""

    name: str
    logits: np.ndarray
    labels: np.ndarray = field(repr=False)

    @property
    def accuracy(self) -> float:
        return float((self.logits.argmax(1) == self.labels).mean())


def compare(reference: Rung, other: Rung) -> dict:
    """Logit differences of ``other`` against ``reference`` and their argmax agreement."""
    diff = np.abs(other.logits.astype(np.float64) - reference.logits.astype(np.float64))
    span = float(reference.logits.max() - reference.logits.min())
    return {"reference": reference.name, "other": other.name,
            "max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean()),
            "logit_range": span, "max_diff_over_range": float(diff.max()) / max(span, 1e-30),
            "argmax_agreement": float((reference.logits.argmax(1) ==
                                       other.logits.argmax(1)).mean()),
            "identical_logits": float((reference.logits.astype(np.float64) ==
                                       other.logits.astype(np.float64)).all(1).mean()),
            "images": int(reference.logits.shape[0])}


def _batches(dataset: ImageDataset, batch: int, desc: str):
    for start in tqdm(range(0, len(dataset), batch), desc=desc, unit="batch", leave=False,
                      disable=None):
        yield dataset.normalize(dataset.images[start:start + batch])


def _run_batched(graph: ModelWrapper, dataset: ImageDataset, batch: int, name: str,
                 run) -> Rung:
    """``run(graph_with_batch_n, x) -> [n, classes]`` over the dataset, one graph copy per
    batch size."""
    shape = graph.get_tensor_shape(graph.graph.input[0].name)
    if tuple(shape[1:]) != tuple(dataset.images.shape[1:]):
        raise AddnnError(f"the graph takes inputs of shape {tuple(shape[1:])}, the images are "
                         f"{tuple(dataset.images.shape[1:])}")
    sized: dict[int, ModelWrapper] = {}
    out = []
    for x in _batches(dataset, batch, name):
        n = x.shape[0]
        if n not in sized:
            sized[n] = with_batch_size(graph, n)
        out.append(np.asarray(run(sized[n], x.numpy())).reshape(n, -1))
    return Rung(name, np.concatenate(out), dataset.labels.numpy())


def run_graph(graph: ModelWrapper, dataset: ImageDataset, batch: int = 64,
              name: str = "qonnx") -> Rung:
    """Logits of the graph on every image, executed by ``qonnx.core.onnx_exec``."""
    def run(g, x):
        return execute_onnx(g, {g.graph.input[0].name: x})[g.graph.output[0].name]

    return _run_batched(graph, dataset, batch, name, run)


@torch.no_grad()
def run_torch(model: nn.Module, dataset: ImageDataset, batch: int = 64,
              name: str = "torch") -> Rung:
    model.eval()
    out = [model(x).numpy() for x in _batches(dataset, batch, name)]
    return Rung(name, np.concatenate(out), dataset.labels.numpy())


def _weight_forms(m: nn.Module) -> list[np.ndarray]:
    """The forms a layer's weight can take in a graph: float (QONNX keeps it and quantizes it
    with a Quant node) and, for a Brevitas layer, the integers QCDQ stores."""
    forms = [m.weight.detach().numpy()]
    if hasattr(m, "quant_weight") and not getattr(m, "weight_from_input", False):
        with torch.no_grad():
            forms.append(m.quant_weight().int().numpy().astype(np.float32))
    return forms


def check_weights_match(graph: ModelWrapper, model: nn.Module, source: str) -> None:
    """Every adder and convolution weight of ``model`` must be an initializer of the graph:
    a checkpoint of another model is refused before anything runs."""
    inits: dict[tuple, list[np.ndarray]] = {}
    for init in graph.graph.initializer:
        arr = graph.get_initializer(init.name)
        inits.setdefault(tuple(arr.shape), []).append(arr.astype(np.float32))
    for name, m in model.named_modules():
        if not isinstance(m, (Adder2d, nn.Conv2d)):
            continue
        forms = _weight_forms(m)
        found = inits.get(tuple(forms[0].shape), [])
        if not any(np.array_equal(f, a) for f in forms for a in found):
            raise AddnnError(f"{source} does not match the graph: the weight of {name} "
                             f"{tuple(forms[0].shape)} is not in it")


def torch_in_mode(model: nn.Module, integer: bool) -> nn.Module:
    """The model with BN as exported (its float64 affine form rounded to float32,
    ``integer=False``) or as the exact integer maps (``integer=True``, the ``addnn`` preset's
    emulation)."""
    if hasattr(model, "set_integer"):
        model.set_integer(integer)
    return model.eval()


def run_integer_graph(graph: ModelWrapper, dataset: ImageDataset, batch: int = 64,
                      name: str = "integer") -> Rung:
    """Logits ``q * 2**e`` of the integer graph (its fast batch path, types checked)."""
    from addnn.transform import output_exponent, run_integer

    scale = 2.0 ** output_exponent(graph)
    return _run_batched(graph, dataset, batch, name, lambda g, x: run_integer(g, x) * scale)


def verify(graph_path: str | Path, graph: ModelWrapper, dataset: ImageDataset,
           model: nn.Module | None = None, checkpoint: str | None = None,
           batch: int = 64, integer: bool = True, float_bn: bool = False) -> dict:
    """Run the ladder and return rungs and comparisons as a JSON-ready dict.

    Rungs: ``torch`` (BN as exported) and ``qonnx``; with ``integer`` the integer graph
    (``addnn.transform``) against ``torch-int`` (the model's integer-BN emulation); with
    ``float_bn`` the integer graph with the reference design's float32 BN against ``torch``
    (reported, and not ``checked``: only checked pairs count for ``--min-agreement``)."""
    report = {"graph": str(graph_path), "dataset": dataset.name, "images": len(dataset)}
    rungs, pairs = {}, []
    if model is not None:
        check_weights_match(graph, model, checkpoint or "the model")
        rungs["torch"] = run_torch(torch_in_mode(model, False), dataset, batch, "torch")
    rungs["qonnx"] = run_graph(graph, dataset, batch, "qonnx")
    pairs.append(("torch", "qonnx", True))
    if integer or float_bn:
        from addnn.transform import lower_to_integer

        try:
            if integer:
                rungs["integer"] = run_integer_graph(lower_to_integer(graph), dataset, batch)
                emulates = model is not None and hasattr(model, "set_integer")
                if emulates:
                    rungs["torch-int"] = run_torch(torch_in_mode(model, True), dataset, batch,
                                                   "torch-int")
                pairs.append(("torch-int" if emulates else "qonnx", "integer", True))
            if float_bn:
                rungs["integer-fbn"] = run_integer_graph(lower_to_integer(graph, "float32"),
                                                         dataset, batch, "integer-fbn")
                # A measurement of the reference design's arithmetic, not an equivalence.
                pairs.append(("torch", "integer-fbn", False))
        except AddnnError as err:
            report["integer_skipped"] = str(err)
    report["accuracy"] = {name: r.accuracy for name, r in rungs.items()}
    report["comparisons"] = [{**compare(rungs[a], rungs[b]), "checked": checked}
                             for a, b, checked in pairs if a in rungs and b in rungs]
    report["rungs"] = list(rungs.values())
    return report


def print_report(report: dict) -> None:
    print(f"{report['graph']} on {report['images']} images of {report['dataset']}")
    for name, acc in report["accuracy"].items():
        print(f"  {name:>11}: top-1 {100 * acc:.2f}%")
    for c in report["comparisons"]:
        print(f"  {c['other']} vs {c['reference']}: max |dlogit| {c['max_abs_diff']:.3g} "
              f"({c['max_diff_over_range']:.3g} of the logit range {c['logit_range']:.3g}), "
              f"mean {c['mean_abs_diff']:.3g}, identical logits "
              f"{100 * c['identical_logits']:.2f}%, argmax agreement "
              f"{100 * c['argmax_agreement']:.2f}%")
    if "integer_skipped" in report:
        print(f"  integer graph skipped: {report['integer_skipped']}")


def write_report(report: dict, path: str | Path) -> None:
    """The report without the logits, as JSON, written atomically."""
    import json

    from addnn.atomic import atomic_write_text
    from addnn.machine import command_line

    record = {k: v for k, v in report.items() if k != "rungs"}
    atomic_write_text(path, json.dumps({**record, "command": command_line()}, indent=2))
