"""Where a result was measured: CPU, core count, Python and platform (no torch import)."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path


def describe() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "logical_cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}


def command_line() -> str:
    """The command that is running, as a user would type it (``addnn ...`` for the CLI)."""
    return " ".join(["addnn", *sys.argv[1:]]) if Path(sys.argv[0]).name == "addnn" \
        else " ".join(sys.argv)
