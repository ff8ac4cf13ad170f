"""Datasets: CIFAR-10/100, Fashion-MNIST, synthetic data and shipped samples, plus batching."""

from __future__ import annotations

from pathlib import Path

from addnn.data.cifar import DatasetMissing, download_cifar, load_cifar
from addnn.data.dataset import ImageDataset
from addnn.data.fashion_mnist import load_fashion_mnist
from addnn.data.loader import BatchLoader
from addnn.data.samples import load_samples, save_samples
from addnn.data.synthetic import synthetic
from addnn.errors import AddnnError

DATASETS = ("cifar10", "cifar100", "fashion-mnist", "synthetic-cifar10",
            "synthetic-fashion-mnist")


def load_dataset(name: str, root: str | Path | None = None, split: str = "test",
                 val: str | Path | None = None, size: int = 512,
                 download: bool = False, download_hint: str | None = None) -> ImageDataset:
    """Load a split of a dataset by name. A ``root`` ending in ``.npz`` is a sample file, whose
    images are returned whatever the split. CIFAR is downloaded into ``root`` only when
    ``download`` is set and it is not there yet; when it is missing, ``download_hint`` (the
    calling command's own option, such as ``--download``) is named in the error."""
    try:
        return _load(name, root, split, val, size, download)
    except DatasetMissing as err:
        if download_hint and not download:
            raise DatasetMissing(f"{err}, or rerun with {download_hint} to download it "
                                 "(needs network)") from None
        raise


def _load(name, root, split, val, size, download) -> ImageDataset:
    if root is not None and str(root).endswith(".npz"):
        return load_samples(root)
    if name in ("cifar10", "cifar100"):
        if root is None:
            raise AddnnError(f"{name} needs --data DIR (the python-layout batches)")
        if download:
            try:
                return load_cifar(root, name, split, val)
            except AddnnError:
                download_cifar(root, name)
        return load_cifar(root, name, split, val)
    if name == "fashion-mnist":
        return load_fashion_mnist(root, split, val)
    if name.startswith("synthetic-"):
        return synthetic(name.removeprefix("synthetic-"), n=size, split=split)
    raise AddnnError(f"unknown dataset {name!r}: expected one of {', '.join(DATASETS)}")


__all__ = ["BatchLoader", "DATASETS", "DatasetMissing", "ImageDataset", "download_cifar",
           "load_cifar", "load_dataset", "load_fashion_mnist", "load_samples", "save_samples",
           "synthetic"]
