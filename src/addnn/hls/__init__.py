"""Vitis HLS dataflow accelerators from the integer graph, and their C simulation.

- ``stages``: the integer graph as dataflow stages (one per node, BN maps fused);
- ``folding``: PE and SIMD per layer (FINN's terms), legality and a balanced default;
- ``depths``: stream depths that keep skip connections from deadlocking;
- ``render`` / ``carrays``: the values the templates render (configs, call sites, arrays);
- ``project``: ``addnn hls``, the project written atomically;
- ``csim``: ``addnn csim``, g++ builds (fast, exact types, bounded) against the integer graph;
- ``packed``: the DSP-packed SAD units as RTL black boxes.
Kernels are real headers in ``kernels/``; templates in ``templates/``; the testbench in
``testbench/``.
"""

from addnn.hls.csim import csim, print_report
from addnn.hls.project import generate_project, load_project

__all__ = ["csim", "generate_project", "load_project", "print_report"]
