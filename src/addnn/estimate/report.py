"""The estimate as a record (JSON), a table (the terminal) and two charts (PNG), with the
published designs it is compared with."""

from __future__ import annotations

import json
import time
from pathlib import Path

from addnn.atomic import atomic_write, atomic_write_text
from addnn.estimate.boards import RESOURCES
from addnn.estimate.estimate import Estimate
from addnn.hls.folding import folding_json
from addnn.machine import command_line, describe

# Published figures, for the side-by-side comparison.
REFERENCE = {
    "design": "reference (thesis, AdderNet ResNet-20, W8, float BN)",
    "fps": 8028, "clock_mhz": 263, "latency_ms": 0.125, "lut": 1263467, "ff": 648373,
    "dsp": 682, "bram36": 116, "uram": 12, "fits_kv260": False,
    "source": "Vitis csynth/cosim estimates reported by the reference design",
}
NN2FPGA = {
    "design": "NN2FPGA (CNN ResNet-20, W8, KV260 board)",
    "fps": 7601, "clock_mhz": None, "latency_ms": None, "lut": None, "ff": None, "dsp": None,
    "bram36": None, "uram": None, "fits_kv260": True,
    "source": "measured on a KV260 board, as published",
}

PROVENANCE = {
    "iterations": "exact: equal to the counting build of the kernels (addnn csim --counts)",
    "cycles": "modelled: iterations + pipeline depth (addnn.estimate.cycles)",
    "period_latency": "modelled: cycle-stepped dataflow simulation of the stage graph",
    "fifo_depths": "simulated: largest occupancy with the input paced at the slowest stage",
    "lanes_maps_adders": "measured on equivalent RTL: yosys synth_xilinx -family xcup fits "
                         "(data/lane_calibration.json); yosys LUT counts bound Vivado's",
    "memories_dsp_control": "modelled: FINN's memory rules, stated constants "
                            "(addnn.estimate.resources, addnn.estimate.memory)",
}


def comparison_row(est: Estimate, design: str, source: str) -> dict:
    """An estimate as a row of the comparison with the published designs."""
    return {"design": design, "fps": round(est.fps, 1), "clock_mhz": est.clock_mhz,
            "latency_ms": round(est.latency_ms, 4),
            **{r: round(est.totals[r], 1) for r in RESOURCES},
            "fits_kv260": all(v <= 1 for v in est.fraction().values()), "source": source}


def separate_map_names(est: Estimate) -> list[str]:
    return [r.name for r in est.rows if r.kind == "MapStage"]


def record(est: Estimate, source: str = "") -> dict:
    frac = est.fraction()
    this = comparison_row(est, f"addnn ({source or 'this estimate'}, SAD {est.sad}, "
                               f"{est.board.name}, {est.clock_mhz:g} MHz)",
                          "modelled by addnn estimate (see provenance)")
    return {
        "benchmark": "estimate", "command": command_line(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": describe(),
        "source": source, "board": est.board.name, "part": est.board.part,
        "board_resources": est.board.resources, "clock_mhz": est.clock_mhz, "sad": est.sad,
        "util": est.util, "fps_target": est.fps_target,
        "fps": est.fps, "period_cycles": est.period, "bottleneck_cycles": est.bottleneck,
        "latency_cycles": est.latency, "latency_ms": est.latency_ms,
        "totals": est.totals, "fraction_of_board": frac,
        "solver": est.allocation.status if est.allocation else "folding given",
        "folding": json.loads(folding_json(est.folding, separate_map_names(est))),
        "stages": [{"name": r.name, "kind": r.kind, "PE": r.pe, "SIMD": r.simd,
                    "iterations": r.iterations, "cycles": r.cycles, "map": r.map,
                    "resources": r.res, "parts": r.parts} for r in est.rows],
        "streams": est.streams,
        "comparison": [REFERENCE, NN2FPGA, this],
        "provenance": PROVENANCE,
    }


def _fmt(v, pct=None) -> str:
    if v is None:
        return "-"
    s = f"{v:,.0f}" if abs(v) >= 10 else f"{v:,.1f}"
    return s if pct is None else f"{s} ({100 * pct:.0f}%)"


def table(est: Estimate) -> str:
    head = f"{'layer':14s} {'PE':>4s} {'SIMD':>5s} {'cycles':>8s} " + \
        " ".join(f"{r.upper():>8s}" for r in RESOURCES) + "  map"
    lines = [head, "-" * len(head)]
    for r in est.rows:
        if r.pe is None:
            continue
        simd = "map" if r.kind == "MapStage" else str(r.simd)
        lines.append(f"{r.name[:14]:14s} {r.pe:4d} {simd:>5s} {r.cycles:8,d} "
                     + " ".join(f"{_fmt(r.res[k]):>8s}" for k in RESOURCES) + f"  {r.map}")
    others = [r for r in est.rows if r.pe is None]
    lines.append(f"{'other stages':14s} {'':4s} {'':5s} {max(r.cycles for r in others):8,d} "
                 + " ".join(f"{_fmt(sum(r.res[k] for r in others)):>8s}" for k in RESOURCES)
                 + f"  {len(others)} per-pixel and I/O stages")
    lines.append(f"{'streams':14s} {'':4s} {'':5s} {'':8s} "
                 + " ".join(f"{_fmt(sum(s[k] for s in est.streams.values())):>8s}"
                            for k in RESOURCES) + f"  {len(est.streams)} FIFOs")
    lines.append("-" * len(head))
    frac = est.fraction()
    lines.append(f"{'total':14s} {'':4s} {'':5s} {est.period:8,d} "
                 + " ".join(f"{_fmt(est.totals[k]):>8s}" for k in RESOURCES))
    lines.append(f"{'% of ' + est.board.name:14s} {'':4s} {'':5s} {'':8s} "
                 + " ".join(f"{100 * frac[k]:7.1f}%" for k in RESOURCES))
    lines.append("")
    lines.append(f"{est.fps:,.0f} frames/s at {est.clock_mhz:g} MHz (modelled: period "
                 f"{est.period:,} cycles from the dataflow simulation), latency "
                 f"{est.latency_ms:.3f} ms ({est.latency:,} cycles)")
    return "\n".join(lines)


def comparison_table(rows: list[dict]) -> str:
    """Markdown: the designs side by side."""
    out = ["| design | FPS | MHz | latency ms | LUT | FF | DSP | BRAM36 | URAM | fits KV260 "
           "| source |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append("| " + " | ".join([r["design"], _fmt(r["fps"]), _fmt(r["clock_mhz"]),
                                      "-" if r["latency_ms"] is None else f"{r['latency_ms']:g}",
                                      *(_fmt(r[k]) for k in RESOURCES),
                                      "yes" if r["fits_kv260"] else "no", r["source"]]) + " |")
    return "\n".join(out)


def charts(est: Estimate, cycles_png: Path, resources_png: Path) -> None:
    """Cycles per layer, and each resource per layer as a share of the board."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    convs = [r for r in est.rows if r.pe is not None]
    names = [r.name for r in convs]

    def cycles_plot(path: Path) -> None:
        fig, ax = plt.subplots(figsize=(10, 4))
        ax.bar(names, [r.cycles for r in convs], color="#4c72b0")
        ax.axhline(est.period, color="#c44e52", ls="--",
                   label=f"period {est.period:,} cycles = {est.fps:,.0f} FPS @ "
                         f"{est.clock_mhz:g} MHz")
        ax.set_ylabel("cycles / frame (modelled)")
        ax.set_title(f"addnn estimate: cycles per layer ({est.board.name}, SAD {est.sad})")
        ax.tick_params(axis="x", rotation=70, labelsize=7)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=110, format="png")
        plt.close(fig)

    def resources_plot(path: Path) -> None:
        fig, ax = plt.subplots(figsize=(10, 4))
        width = 0.8 / len(RESOURCES)
        for i, k in enumerate(RESOURCES):
            cap = est.board.resources[k]
            if not cap:
                continue
            ax.bar([j + i * width for j in range(len(convs))],
                   [100 * r.res[k] / cap for r in convs], width, label=k.upper())
        ax.set_xticks([j + 0.4 for j in range(len(convs))], names, rotation=70, fontsize=7)
        ax.set_ylabel(f"% of {est.board.name}")
        ax.set_title("addnn estimate: resources per layer (lanes yosys-calibrated, "
                     "the rest modelled)")
        ax.legend(fontsize=8, ncols=5)
        fig.tight_layout()
        fig.savefig(path, dpi=110, format="png")
        plt.close(fig)

    atomic_write(cycles_png, cycles_plot, suffix=".png")
    atomic_write(resources_png, resources_plot, suffix=".png")


def outputs(folding_path: Path) -> dict[str, Path]:
    """The files written beside the folding: FOLD.estimate.json and two charts."""
    stem = folding_path.with_suffix("")
    return {"folding": folding_path, "json": Path(f"{stem}.estimate.json"),
            "cycles_png": Path(f"{stem}.cycles.png"),
            "resources_png": Path(f"{stem}.resources.png")}


def write_all(est: Estimate, folding_path: Path, source: str = "") -> dict[str, Path]:
    paths = outputs(Path(folding_path))
    atomic_write_text(paths["json"], json.dumps(record(est, source), indent=2) + "\n")
    charts(est, paths["cycles_png"], paths["resources_png"])
    atomic_write_text(paths["folding"],                                  # last: the result
                      folding_json(est.folding, separate_map_names(est)))
    return paths
