"""Train/validation splits of a training set: the last N images, or an explicit index file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from addnn.errors import AddnnError

DEFAULT_VAL_SIZE = 5000
SPLITS = ("train", "val", "trainval", "test")


def read_index_file(path: str | Path, total: int) -> np.ndarray:
    """Indices from ``.npy`` (integer array or boolean mask) or text (one integer per line)."""
    path = Path(path)
    if not path.exists():
        raise AddnnError(f"validation index file not found: {path}")
    try:
        if path.suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
        else:
            arr = np.loadtxt(path, dtype=np.int64, ndmin=1)
    except (ValueError, OSError) as err:
        raise AddnnError(f"cannot read validation indices from {path}: {err}") from err
    if arr.dtype == bool:
        if arr.shape != (total,):
            raise AddnnError(f"{path}: boolean mask of length {arr.shape} for {total} images")
        arr = np.flatnonzero(arr)
    arr = np.asarray(arr, dtype=np.int64).ravel()
    if arr.size == 0 or arr.min() < 0 or arr.max() >= total or len(np.unique(arr)) != arr.size:
        raise AddnnError(f"{path}: indices must be unique and within [0, {total})")
    return np.sort(arr)


def split_indices(split: str, total: int, val: str | Path | None = None) -> np.ndarray:
    """Indices into the training set for ``train``, ``val`` or ``trainval``."""
    if split not in ("train", "val", "trainval"):
        raise AddnnError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)}")
    if split == "trainval":
        return np.arange(total)
    if val is None and total <= DEFAULT_VAL_SIZE:
        raise AddnnError(f"the default validation split is the last {DEFAULT_VAL_SIZE} of the "
                         f"training images, but there are only {total}: give an index file")
    val_idx = (np.arange(total - DEFAULT_VAL_SIZE, total) if val is None
               else read_index_file(val, total))
    if split == "val":
        return val_idx
    mask = np.ones(total, dtype=bool)
    mask[val_idx] = False
    return np.flatnonzero(mask)
