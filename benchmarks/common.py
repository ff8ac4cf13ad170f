"""What every benchmark records: the machine, the command, and an atomic JSON write."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

from addnn.atomic import atomic_write_text
from addnn.machine import describe

RESULTS = Path(__file__).parent / "results"
SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"


def add_shared_inputs(parser) -> None:
    """--checkpoint and --data, defaulting to the team's shared checkpoint and CIFAR-10 copy."""
    parser.add_argument("--checkpoint", type=Path,
                        default=SHARED / "models" / "ResNet20-AdderNet.pth")
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "cifar-10-batches-py")


def add_dev_data(parser) -> None:
    """--dev-data: the unseen CIFAR-10 test images (JPEG-approximated) that judge models."""
    parser.add_argument("--dev-data", type=Path, default=SHARED / "data" / "cifar10-test-jpeg",
                        help="CIFAR-10 test split never trained on (default: the team's "
                             "8,983 JPEG-approximated images)")


def machine() -> dict:
    return {**describe(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__}


def write_result(name: str, payload: dict, out: Path | None = None) -> Path:
    """Write ``payload`` with the command, the time and the machine to results/NAME.json."""
    out = out or RESULTS / f"{name}.json"
    record = {"benchmark": name,
              "command": " ".join(["python", f"benchmarks/{Path(sys.argv[0]).name}",
                                   *sys.argv[1:]]),
              "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(), **payload}
    atomic_write_text(out, json.dumps(record, indent=2) + "\n")
    print(f"wrote {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")
    return out
