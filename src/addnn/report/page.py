"""``addnn report``: one static HTML page of a build, its charts embedded as PNG data URIs, so
the file stands alone. Rendered from ``templates/report.html.j2``."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import jinja2

from addnn import __version__
from addnn.atomic import atomic_write_text
from addnn.report.collect import Records, collect, comparison, dsp_packing, ladder, val_exact

TEMPLATES = Path(__file__).parent / "templates"
CHART_IDS = ("chart-ladder", "chart-cycles", "chart-resources", "chart-comparison")
TABLE_IDS = ("table-ladder", "table-val-exact", "table-totals", "table-layers",
             "table-comparison", "table-dsp", "table-deploy", "table-commands")


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _file_png(path: Path) -> str | None:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode() \
        if path.is_file() else None


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def ladder_chart(rows: list[dict]) -> str | None:
    rows = [r for r in rows if r["top1"] is not None]
    if not rows:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.barh([r["rung"] for r in rows][::-1], [100 * r["top1"] for r in rows][::-1],
            color="#4c72b0")
    ax.set_xlabel(f"top-1 % on the {rows[0]['images']} shipped samples (measured)")
    ax.set_xlim(0, 100)
    ax.tick_params(axis="y", labelsize=7)
    return _png(fig)


def comparison_chart(rows: list[dict]) -> str | None:
    rows = [r for r in rows if r.get("fps")]
    if not rows:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(rows) + 1.2))
    colors = ["#55a868" if "measured" in r["source"] else "#c44e52" if "reference" in
              r["source"] or "reported" in r["source"] else "#4c72b0" for r in rows]
    ax.barh([r["design"] for r in rows][::-1], [r["fps"] for r in rows][::-1],
            color=colors[::-1])
    ax.set_xlabel("frames per second (see each row's source: modelled, reported or measured)")
    ax.tick_params(axis="y", labelsize=7)
    return _png(fig)


def context(r: Records) -> dict:
    est, rungs, designs = r.get("estimate"), ladder(r), comparison(r)
    charts = {"chart-ladder": ladder_chart(rungs), "chart-comparison": comparison_chart(designs)}
    if est:
        stem = str(r.paths["estimate"]).removesuffix(".estimate.json")
        charts["chart-cycles"] = _file_png(Path(f"{stem}.cycles.png"))
        charts["chart-resources"] = _file_png(Path(f"{stem}.resources.png"))
    commands = sorted({(k, rec["command"]) for k, rec in r.found.items() if rec.get("command")})
    return {"version": __version__, "build": str(r.build), "ladder": rungs,
            "val_exact": val_exact(r), "estimate": est, "comparison": designs,
            "dsp": dsp_packing(r), "rtl": r.get("rtl"), "deploy": r.get("deploy"),
            "charts": charts, "missing": r.missing, "commands": commands,
            "chart_ids": CHART_IDS, "sources": {k: str(p) for k, p in r.paths.items()}}


def render(r: Records) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             undefined=jinja2.StrictUndefined, autoescape=True)
    env.filters["pct"] = lambda x: "–" if x is None else f"{100 * x:.2f}%"
    env.filters["num"] = lambda x: "–" if x is None else f"{x:,.0f}"
    return env.get_template("report.html.j2").render(**context(r))


def write_report(build: str | Path, out: str | Path, benchmarks: str | Path | None = None,
                 records: dict[str, str] | None = None) -> Records:
    r = collect(build, benchmarks, records)
    atomic_write_text(out, render(r))
    return r
