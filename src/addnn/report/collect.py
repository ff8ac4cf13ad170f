"""The records a build directory holds after ``make demo``, and the benchmark records of the
repository, gathered into the report's sections. Every figure keeps the command that produced
it and whether it was measured, simulated or modelled. A record that is missing leaves its
section with the command that would write it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from addnn.errors import AddnnError

SAMPLES = "assets/samples/cifar10_val_exact_256.npz"
# The records of `make demo`, by path in the build directory, with the command that writes
# them (shown when a record is missing).
RECORDS = {
    "float": ("eval_float.json", f"addnn eval assets/models/resnet20_adder_official.pt --data "
              f"{SAMPLES} --json build/eval_float.json"),
    "verify": ("verify_w8.json", f"addnn verify build/resnet20_addnn_w8.onnx --data {SAMPLES} "
               "--checkpoint assets/models/resnet20_adder_addnn_w8.pt --float-bn "
               "--json build/verify_w8.json"),
    "csim": ("csim_w8.json", f"addnn csim build/hls_w8_est --data {SAMPLES} --batch 16 "
             "--json build/csim_w8.json"),
    "estimate": ("estimate_w8/folding.estimate.json", "addnn estimate "
                 "build/resnet20_addnn_w8_int.onnx --board kv260 -o build/estimate_w8/folding.json"),
    "rtl": ("rtl/rtl_report.json", "addnn rtl report --out build/rtl"),
    "deploy": ("hls_w8_est_kv260/deploy.json", "addnn deploy build/hls_w8_est --board kv260 "
               f"--samples {SAMPLES} --check-driver 32"),
}
BENCHMARKS = {"official": "official_eval.json", "ptq": "quant_ptq.json",
              "qat": "quant_qat_distill.json", "compare": "estimate_compare.json"}


@dataclass
class Records:
    build: Path
    found: dict[str, dict] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)      # key -> command to run

    def get(self, key: str) -> dict | None:
        return self.found.get(key)


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise AddnnError(f"{path} is corrupt ({err})") from err


def collect(build: str | Path, benchmarks: str | Path | None = None,
            records: dict[str, str] | None = None) -> Records:
    """The records under ``build`` (``RECORDS``, or ``records`` by key to override a path) and
    the repository's benchmark records under ``benchmarks``."""
    build = Path(build)
    if not build.is_dir():
        raise AddnnError(f"{build} is not a directory: give the build directory of `make demo`")
    out = Records(build)
    for key, (rel, command) in RECORDS.items():
        path = Path(records[key]) if records and key in records else build / rel
        if path.is_file():
            out.found[key], out.paths[key] = _read(path), path
        else:
            out.missing[key] = command
    if benchmarks is not None and Path(benchmarks).is_dir():
        for key, name in BENCHMARKS.items():
            path = Path(benchmarks) / name
            if path.is_file():
                out.found[f"bench:{key}"], out.paths[f"bench:{key}"] = _read(path), path
    if not out.found:
        raise AddnnError(f"no addnn records in {build}: run `make demo` first")
    return out


def ladder(r: Records) -> list[dict]:
    """The accuracy ladder on the shipped samples: float, quantized PyTorch, QONNX, integer
    graph, C simulation and the driver, each with its agreement with the rung before."""
    rows = []
    f = r.get("float")
    if f:
        rows.append({"rung": "float PyTorch (official)", "images": f["images"], "top1": f["top1"],
                     "agreement": None, "kind": "measured", "command": f.get("command", "")})
    v = r.get("verify")
    if v:
        acc, cmd = v["accuracy"], v.get("command", "")
        same = {(c["reference"], c["other"]): c for c in v["comparisons"]}
        for key, name, ref in (("torch", "quantized PyTorch (W8A8, Brevitas)", None),
                               ("qonnx", "QONNX (qonnx executor)", ("torch", "qonnx")),
                               ("integer", "integer graph", ("torch-int", "integer")),
                               ("integer-fbn", "integer graph, float32 BN (the reference "
                                "design's scheme)", ("torch", "integer-fbn"))):
            if key in acc:
                c = same.get(ref) if ref else None
                rows.append({"rung": name, "images": v["images"], "top1": acc[key],
                             "agreement": c["identical_logits"] if c else None,
                             "kind": "measured", "command": cmd})
    c = r.get("csim")
    if c:
        rows.append({"rung": f"C simulation (g++, {c['build']} build)", "images": c["images"],
                     "top1": c.get("accuracy"), "agreement": c["identical"],
                     "kind": "measured (simulation of the HLS C++)",
                     "command": c.get("command", "")})
    d = (r.get("deploy") or {}).get("driver_check")
    if d:
        rows.append({"rung": "PYNQ driver through C simulation (stand-in DMA)",
                     "images": d["images"], "top1": d["accuracy"],
                     "agreement": d["logits_identical"], "kind": "simulation, not hardware",
                     "command": r.found["deploy"].get("command", RECORDS["deploy"][1])})
    return rows


def val_exact(r: Records) -> list[dict]:
    """The benchmark figures on val-exact (1,017 training images of the released model)."""
    rows = []
    o = r.get("bench:official")
    if o:
        for name, s in o["sets"].items():
            rows.append({"model": "float official", "data": name, "images": s["images"],
                         "top1": s["top1"], "command": o["command"]})
    for key in ("ptq", "qat"):
        b = r.get(f"bench:{key}")
        if b:
            rows += [{"model": row["model"], "data": b["data"], "images": row.get("images"),
                      "top1": row["top1"], "command": b["command"]}
                     for row in b["rows"] if "top1" in row and row["model"] != "float official"]
    return rows


def comparison(r: Records) -> list[dict]:
    """This build's design beside the reference design, NN2FPGA and the variants of the
    estimator benchmark (W8/W6/W4, each SAD unit)."""
    rows = []
    e = r.get("estimate")
    if e:
        rows.append({"design": f"this build: W8A8, SAD {e['sad']}", "fps": e["fps"],
                     "clock_mhz": e["clock_mhz"], "latency_ms": e["latency_ms"],
                     **{k: e["totals"][k] for k in ("lut", "ff", "dsp", "bram36")},
                     "fits_kv260": max(e["fraction_of_board"].values()) <= 1.0,
                     "source": "modelled by addnn estimate"})
        rows += [row for row in e.get("comparison", [])          # published designs only
                 if not row["source"].startswith("modelled by addnn")]
    b = r.get("bench:compare")
    if b:
        rows += [{**row, "design": f"{row['design']} (benchmark)"} for row in b["rows"]]
    return rows


def dsp_packing(r: Records) -> list[dict]:
    x = r.get("rtl")
    return x["results"] if x else []
