"""``addnn hls``: the integer graph to a self-contained Vitis HLS project, written atomically.

Layout of the project directory::

    README.md            what is here and how to build it
    project.json         what `addnn csim` needs: streams, frame formats, settings
    folding.json         PE and SIMD per layer, as used
    run_hls.tcl          Vitis HLS 2023.2 (csim, csynth, cosim, export_design ip_catalog)
    hls_config.cfg       the same for the 2024+ unified flow (v++ -c --mode hls)
    graph/model_int.onnx the integer graph the sources were generated from
    src/addnn_top.cpp    the dataflow top; addnn_top.h, addnn_config.h, addnn_params.h
    src/kernels/*.h      the kernel headers (shipped with addnn, copied)
    tb/tb.cpp            the testbench; tb/inputs.bin and tb/expected.bin its frames
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import jinja2
import numpy as np
from qonnx.core.modelwrapper import ModelWrapper

from addnn import __version__
from addnn.errors import AddnnError
from addnn.hls.depths import stream_depths
from addnn.hls.folding import default_folding, folding_json, folding_maps, read_folding
from addnn.hls.packed import blackbox_files, copy_blackboxes
from addnn.hls.render import AXIS_IN, AXIS_OUT, TOP, render_context, tensor_type
from addnn.hls.stages import StageGraph, build_stages, separate_maps
from addnn.transform import check_types, integer_context
from addnn.transform.annotations import OUTPUT_EXPONENT

PART = "xck26-sfvc784-2LV-c"      # Kria K26 SOM (KV260)
SAD_VARIANTS = ("lut", "quad12", "octo8")
THRESHOLD_MODES = ("auto", "stored")
HERE = Path(__file__).parent
KERNELS = HERE / "kernels"
TEMPLATES = HERE / "templates"
TESTBENCH = HERE / "testbench" / "tb.cpp"
PROJECT_FILE = "project.json"
FIFO_DEPTH_MODES = ("sim", "untimed")
GRAPH_FILE = "graph/model_int.onnx"
DEFAULT_TB_FRAMES = 8


def integer_graph(model: ModelWrapper, bn: str = "integer") -> ModelWrapper:
    """The integer graph itself, or the exported QONNX graph lowered with ``bn``."""
    from addnn.transform import lower_to_integer

    if model.get_metadata_prop(OUTPUT_EXPONENT) is None:
        return lower_to_integer(model, bn)
    float_bn = any(n.op_type == "FloatBNRequant" for n in model.graph.node)
    if float_bn != (bn == "float32"):
        have = "float32" if float_bn else "integer"
        raise AddnnError(f"the integer graph's BN is {have}, not {bn}: give the exported QONNX "
                         f"graph, or lower it with `addnn lower --bn {bn}`")
    return model


def frames_from_images(model: ModelWrapper, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The accelerator's input frames (QuantizeInput's integers, NHWC, flat) and the integer
    graph's output frames for float images ``x`` [N, C, H, W], from one run of the graph
    (types checked) per batch of 64."""
    q_name, y_name = model.graph.node[0].output[0], model.graph.output[0].name
    inputs, outputs = [], []
    for start in range(0, len(x), 64):
        ctx = integer_context(model, x[start:start + 64])
        check_types(model, ctx)
        inputs.append(nhwc(ctx[q_name]))
        outputs.append(nhwc(ctx[y_name]))
    return np.concatenate(inputs), np.concatenate(outputs)


def nhwc(a: np.ndarray) -> np.ndarray:
    """[N, C, H, W] or [N, C] as [N, H * W * C], the frame order."""
    a = np.asarray(a)
    if a.ndim == 4:
        a = a.transpose(0, 2, 3, 1)
    return a.reshape(len(a), -1).astype(np.int32)


def random_frames(model: ModelWrapper, graph: StageGraph, n: int,
                  seed: int = 0) -> np.ndarray:
    """``n`` float images whose quantized integers are uniform over the input type."""
    t = graph.tensors[graph.input]
    rng = np.random.default_rng(seed)
    q = rng.integers(t.type.lo, t.type.hi + 1, size=(n, t.channels, t.height, t.width))
    return (q * 2.0 ** t.type.exponent).astype(np.float32)


def template_environment(templates: Path = TEMPLATES) -> jinja2.Environment:
    """Jinja2 over a folder of code templates: strict, no escaping, trailing newlines kept."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                              autoescape=False)


def generate_project(model: ModelWrapper, out_dir: str | Path, source: str = "model",
                     folding_path: str | Path | None = None, sad: str = "lut",
                     clock_ns: float = 4.0, bn: str = "integer",
                     images: np.ndarray | None = None, tb_frames: int = DEFAULT_TB_FRAMES,
                     depth_overrides: dict[str, int] | None = None,
                     thresholds: str = "auto", fifo_depths: str = "sim") -> dict:
    """Write the HLS project for ``model`` (an integer graph, or an exported QONNX graph that
    is lowered first) into ``out_dir``; return its project.json contents.

    ``images`` (float, [N, C, H, W]) are the testbench's frames; without them ``tb_frames``
    random frames. ``depth_overrides`` sets stream depths by tensor name (tests use it to
    make a skip FIFO too shallow). ``thresholds``: "auto" computes a threshold map's
    thresholds in the search where they form a progression (``map_progression``), "stored"
    keeps them all in ROM (``map_thresholds``). ``fifo_depths``: "sim" sizes the streams by
    the dataflow simulation (``addnn.estimate.dataflow``, never below the untimed
    deadlock-free depths), "untimed" by the read-before-write model alone
    (``addnn.hls.depths``)."""
    if fifo_depths not in FIFO_DEPTH_MODES:
        raise AddnnError(f"unknown FIFO depth mode {fifo_depths!r}: expected one of "
                         f"{', '.join(FIFO_DEPTH_MODES)}")
    if thresholds not in THRESHOLD_MODES:
        raise AddnnError(f"unknown threshold mode {thresholds!r}: expected one of "
                         f"{', '.join(THRESHOLD_MODES)}")
    if sad not in SAD_VARIANTS:
        raise AddnnError(f"unknown SAD unit {sad!r}: expected one of {', '.join(SAD_VARIANTS)}")
    if not 0.5 <= clock_ns <= 100:
        raise AddnnError(f"clock period {clock_ns} ns outside 0.5..100")
    out_dir = Path(out_dir)
    _check_target(out_dir)
    model = integer_graph(model, bn)
    graph = build_stages(model)
    if folding_path is not None:
        graph = separate_maps(graph, folding_maps(folding_path, graph))
        folding = read_folding(folding_path, graph, sad)     # checked there
    else:
        folding = default_folding(graph, sad)                # legal by construction
    depths = stream_depths(graph)
    if fifo_depths == "sim":
        from addnn.estimate.dataflow import fifo_depths as simulated_depths

        depths = simulated_depths(graph, folding, floor=depths).depths
    for name, depth in (depth_overrides or {}).items():
        if name not in depths or depth < 1:
            raise AddnnError(f"no stream {name!r} to give depth {depth}")
        depths[name] = depth
    ctx = render_context(graph, folding, depths, sad, thresholds)
    maps = {c.label: c.fields for c in ctx["stages"] if c.kind in ("conv", "map")}
    ctx.update(version=__version__, source=source, part=PART, clock_ns=clock_ns,
               blackboxes=blackbox_files(sad), sad=sad)
    if images is None:
        images = random_frames(model, graph, tb_frames)
    inputs, expected = frames_from_images(model, images)
    meta = {
        "addnn_version": __version__, "source": source, "top": TOP, "part": PART,
        "clock_ns": clock_ns, "sad": sad, "bn": bn, "fifo_depths": fifo_depths,
        "input": {"tensor": graph.input, **ctx["io_in"],
                  **tensor_type(graph.tensors[graph.input].type),
                  "shape": [graph.tensors[graph.input].channels,
                            graph.tensors[graph.input].height, graph.tensors[graph.input].width]},
        "output": {"tensor": graph.output, **ctx["io_out"],
                   **tensor_type(graph.tensors[graph.output].type)},
        "output_exponent": graph.output_exponent,
        "streams": [{"var": s["var"], "tensor": s["tensor"], "depth": s["depth"],
                     "channels": graph.tensors[s["tensor"]].channels,
                     "pixels": graph.tensors[s["tensor"]].pixels} for s in ctx["streams"]],
        "thresholds": thresholds,
        "stages": [{"name": s.name, "kind": s.kind, "nodes": s.nodes, "inputs": s.inputs,
                    "outputs": s.outputs, **_map_entry(maps.get(s.name))}
                   for s in graph.stages],
        "tb_frames": int(len(inputs)),
        "ports": top_ports(ctx["io_in"]["D"]),
    }
    env = template_environment()

    def write(tmp: Path) -> None:
        (tmp / "src" / "kernels").mkdir(parents=True)
        (tmp / "tb").mkdir()
        (tmp / "graph").mkdir()
        for header in sorted(KERNELS.glob("*.h")):
            shutil.copy2(header, tmp / "src" / "kernels" / header.name)
        for name in ("addnn_top.h", "addnn_config.h", "addnn_params.h", "addnn_top.cpp"):
            (tmp / "src" / name).write_text(env.get_template(name + ".j2").render(**ctx))
        copy_blackboxes(sad, tmp)
        shutil.copy2(TESTBENCH, tmp / "tb" / "tb.cpp")
        inputs.astype("<i4").tofile(tmp / "tb" / "inputs.bin")
        expected.astype("<i4").tofile(tmp / "tb" / "expected.bin")
        for name in ("run_hls.tcl", "hls_config.cfg", "README.md"):
            (tmp / name).write_text(env.get_template(name + ".j2").render(**ctx, meta=meta))
        (tmp / "folding.json").write_text(
            folding_json(folding, [m.name for m in graph.map_stages()]))
        model.save(str(tmp / GRAPH_FILE))
        (tmp / PROJECT_FILE).write_text(json.dumps(meta, indent=2) + "\n")

    write_directory(out_dir, write)
    return meta


def top_ports(data_bits: int) -> dict:
    """The exported IP's top-level ports, by UG1399's naming for the top's arguments: an
    ``axis`` argument of ``ap_axiu<D, 0, 0, 0>`` becomes interface ``<arg>`` with signals
    ``<arg>_T<FIELD>``; ``ap_ctrl_none`` leaves no control port; a design with AXI4-Stream
    ports gets the active-low reset ``ap_rst_n``. (Modelled: no Vitis run here settles it.)"""
    def axis(mode: str) -> dict:
        return {"mode": mode, "signals": {"TDATA": data_bits, "TKEEP": data_bits // 8,
                                          "TSTRB": data_bits // 8, "TLAST": 1, "TVALID": 1,
                                          "TREADY": 1}}
    return {"clock": "ap_clk", "reset": "ap_rst_n", "control": "ap_ctrl_none",
            "interfaces": {AXIS_IN: axis("slave"), AXIS_OUT: axis("master")}}


def _map_entry(fields: dict | None) -> dict:
    """A conv stage's map as project.json records it for estimators: the kernel's map ("none",
    "thresholds", "progression", "table", "float32"), and a threshold search's levels and
    fraction bits."""
    if fields is None:
        return {}
    kind = fields["map"].removeprefix("addnn::map_")
    entry = {"map": kind}
    if kind in ("thresholds", "progression"):
        entry["map_levels"] = fields["LOG2"]
    if kind == "progression":
        entry["map_frac"] = fields["FRAC"]
    return entry


def _check_target(out_dir: Path) -> None:
    if out_dir.exists() and not (out_dir / PROJECT_FILE).is_file():
        raise AddnnError(f"{out_dir} exists and is not an addnn HLS project; choose another -o")


def write_directory(out_dir: Path, write) -> None:
    """``write(tmp)`` fills a temporary directory beside ``out_dir``, which then replaces
    ``out_dir``: a crash leaves the old project or none, never a half-written one."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.", suffix=".tmp"))
    try:
        write(tmp)
        os.chmod(tmp, 0o755)
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.",
                                        suffix=".old"))
            os.rmdir(old)
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def load_project(project_dir: str | Path) -> dict:
    path = Path(project_dir) / PROJECT_FILE
    if not path.is_file():
        raise AddnnError(f"{project_dir} is not an addnn HLS project (no {PROJECT_FILE}); "
                         "write one with `addnn hls`")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise AddnnError(f"{path} is corrupt ({err})") from err
