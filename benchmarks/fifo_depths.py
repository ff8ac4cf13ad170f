"""FIFO depths of ResNet-20 from the dataflow simulation: the depth of each skip stream against
the untimed deadlock-free bound, what happens below it (simulated: deadlock or a longer
period), and how long the sizing takes. The folding is `addnn estimate`'s for the shipped
default on the KV260 (SAD lut, 250 MHz, 80%). Simulated figures, not RTL or board ones.

    python benchmarks/fifo_depths.py
"""

from __future__ import annotations

import time
from pathlib import Path

from common import write_result

from addnn.checkpoint import load_model
from addnn.estimate.boards import load_board
from addnn.estimate.dataflow import fifo_depths, simulate
from addnn.estimate.estimate import estimate
from addnn.export import export_model
from addnn.hls.depths import stream_depths
from addnn.hls.project import integer_graph
from addnn.hls.stages import AddStage, build_stages

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "build" / "fifo_depths"


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    model, _ = load_model(ROOT / "assets" / "models" / "resnet20_adder_addnn_w8.pt")
    fused = build_stages(integer_graph(export_model(model, WORK / "w8.onnx")))
    est = estimate(fused, load_board("kv260"))
    graph, folding = est.graph, est.folding
    untimed = stream_depths(graph)
    start = time.perf_counter()
    res = fifo_depths(graph, folding, floor=untimed)
    seconds = time.perf_counter() - start
    producer = {o: s for s in graph.stages for o in s.outputs}
    skips = [t for s in graph.stages if isinstance(s, AddStage) for t in s.inputs
             if producer[t].kind in ("RequantStage", "ForkStage")]
    rows = []
    for t in skips:
        row = {"stream": t, "depth": res.depths[t], "untimed_bound": untimed[t],
               "paced_max_occupancy": res.paced.max_occupancy[t], "below": []}
        for frac in (0.75, 0.5):
            d = max(1, int(res.depths[t] * frac))
            run = simulate(graph, folding, dict(res.depths, **{t: d}), frames=3)
            row["below"].append({"depth": d, "deadlock": run.deadlock is not None,
                                 "period": None if run.deadlock else run.period})
        rows.append(row)
        print(f"{t:16s} depth {row['depth']:4d} (untimed bound {row['untimed_bound']:3d}); "
              + "; ".join(f"at {b['depth']}: " + ("deadlock" if b["deadlock"] else
                                                   f"period {b['period']:,}")
                          for b in row["below"]))
    print(f"period {res.period:,} cycles (slowest stage {res.bottleneck:,}), latency "
          f"{res.latency:,} cycles; sizing took {seconds:.1f} s")
    write_result("fifo_depths", {
        "folding": "addnn estimate of the shipped default, kv260, SAD lut, 250 MHz, util 0.8",
        "period_cycles": res.period, "bottleneck_cycles": res.bottleneck,
        "latency_cycles": res.latency, "sizing_seconds": round(seconds, 2),
        "streams": len(res.depths), "deeper_than_2": sum(d > 2 for d in res.depths.values()),
        "skips": rows,
        "note": "simulated (addnn.estimate.dataflow); below the computed depth each skip "
                "stream was set alone, the others kept"})


if __name__ == "__main__":
    main()
