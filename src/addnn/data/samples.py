"""Small sample sets stored as ``.npz``: ``images`` uint8 [N, C, H, W], ``labels`` [N], and the
name of the dataset they come from (which fixes the normalisation)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from addnn.atomic import atomic_write
from addnn.data.cifar import CIFAR_MEAN, CIFAR_STD
from addnn.data.dataset import ImageDataset
from addnn.data.fashion_mnist import FMNIST_MEAN, FMNIST_STD
from addnn.errors import AddnnError

_NORMALISATION = {"cifar10": (10, CIFAR_MEAN, CIFAR_STD), "cifar100": (100, CIFAR_MEAN, CIFAR_STD),
                  "fashion-mnist": (10, FMNIST_MEAN, FMNIST_STD)}


def normalisation(source: str) -> tuple[int, tuple[float, ...], tuple[float, ...]]:
    """Classes, mean and std of a dataset's normalisation."""
    if source not in _NORMALISATION:
        raise AddnnError(f"unknown dataset {source!r}: expected one of "
                         f"{', '.join(_NORMALISATION)}")
    return _NORMALISATION[source]


def save_samples(path: str | Path, dataset: ImageDataset, source: str, note: str = "") -> None:
    if source not in _NORMALISATION:
        raise AddnnError(f"unknown sample source {source!r}")
    atomic_write(path, lambda tmp: np.savez_compressed(
        tmp, images=dataset.images.numpy(), labels=dataset.labels.numpy(),
        source=np.array(source), note=np.array(note)), suffix=".npz")


def load_samples(path: str | Path) -> ImageDataset:
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            images, labels, source = f["images"], f["labels"], str(f["source"])
    except FileNotFoundError:
        raise AddnnError(f"sample file not found: {path}") from None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
        raise AddnnError(f"{path} is not an addnn sample file (.npz with images, labels, "
                         f"source): {err}") from err
    if source not in _NORMALISATION:
        raise AddnnError(f"{path}: unknown sample source {source!r}")
    classes, mean, std = _NORMALISATION[source]
    return ImageDataset(f"{source}-samples", torch.from_numpy(images.astype(np.uint8)),
                        torch.from_numpy(labels.astype(np.int64)), classes, mean, std)
