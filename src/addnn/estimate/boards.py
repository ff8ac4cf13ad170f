"""Board descriptions: data files in ``data/boards/`` (the part and its resources)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources as importlib_resources

from addnn.errors import AddnnError

RESOURCES = ("lut", "ff", "dsp", "bram36", "uram")


@dataclass(frozen=True)
class Board:
    name: str
    title: str
    part: str
    board_part_pattern: str
    resources: dict[str, int]
    source: str
    deploy: dict | None = None     # the Vivado board part and carrier (`addnn deploy`)


def _board_dir():
    return importlib_resources.files("addnn.estimate") / "data" / "boards"


def board_names() -> list[str]:
    return sorted(p.name[:-5] for p in _board_dir().iterdir() if p.name.endswith(".json"))


def load_board(name: str) -> Board:
    path = _board_dir() / f"{name}.json"
    if not path.is_file():
        raise AddnnError(f"no board {name!r} (boards: {', '.join(board_names())})")
    data = json.loads(path.read_text())
    missing = [r for r in RESOURCES if r not in data.get("resources", {})]
    if missing:
        raise AddnnError(f"board file {name}.json lacks {', '.join(missing)}")
    return Board(data["name"], data["title"], data["part"], data["board_part_pattern"],
                 {r: int(data["resources"][r]) for r in RESOURCES}, data["source"],
                 data.get("deploy"))
