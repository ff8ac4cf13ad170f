"""DSP-packed SAD units (``--sad quad12|octo8``) as Vitis RTL black boxes."""

from __future__ import annotations

from pathlib import Path


def blackbox_files(sad: str) -> list[Path]:
    """The black-box JSON files of the project (relative paths), none for ``lut``."""
    return []


def copy_blackboxes(sad: str, project: Path) -> None:
    return None
