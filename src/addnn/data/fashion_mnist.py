"""Fashion-MNIST from gzipped IDX files (Debian's ``dataset-fashion-mnist`` or any directory)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import torch

from addnn.data.dataset import ImageDataset
from addnn.data.splits import split_indices
from addnn.errors import AddnnError

DEBIAN_ROOT = Path("/usr/share/datasets/fashion-mnist")
FMNIST_MEAN = (0.2860,)
FMNIST_STD = (0.3530,)
_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzipped or not) as a numpy array of unsigned bytes."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
        zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
        if zero != 0 or dtype != 0x08:
            raise ValueError(f"not an unsigned-byte IDX file (magic {raw[:4].hex()})")
        shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
        data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
        return data.reshape(shape)
    except (OSError, ValueError, struct.error, EOFError) as err:
        raise AddnnError(f"corrupt IDX file {path}: {err}") from err


def _locate(root: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem):
        if (root / name).exists():
            return root / name
    raise AddnnError(f"Fashion-MNIST file {stem}[.gz] not found in {root}; install Debian's "
                     "dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or point "
                     "--data at a directory with the IDX files")


def load_fashion_mnist(root: str | Path | None = None, split: str = "test",
                       val: str | Path | None = None) -> ImageDataset:
    root = Path(root) if root is not None else DEBIAN_ROOT
    kind = "test" if split == "test" else "train"
    images = read_idx(_locate(root, _FILES[kind][0]))
    labels = read_idx(_locate(root, _FILES[kind][1])).astype(np.int64)
    if split != "test":
        idx = split_indices(split, len(images), val)
        images, labels = images[idx], labels[idx]
    return ImageDataset(f"fashion-mnist-{split}", torch.from_numpy(images.copy()).unsqueeze(1),
                        torch.from_numpy(labels), 10, FMNIST_MEAN, FMNIST_STD)
