"""CIFAR-10 and CIFAR-100 in the standard python layout, from any directory.

Download happens only when asked (``download=True``) and is checked against the published MD5.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tarfile
import tempfile
import urllib.request
from pathlib import Path

import numpy as np
import torch

from addnn.data.dataset import ImageDataset
from addnn.data.splits import split_indices
from addnn.errors import AddnnError

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)

_LAYOUT = {
    "cifar10": dict(folder="cifar-10-batches-py", classes=10, label=b"labels",
                    train=[f"data_batch_{i}" for i in range(1, 6)], test=["test_batch"],
                    url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                    md5="c58f30108f718f92721af3b95e74349a"),
    "cifar100": dict(folder="cifar-100-python", classes=100, label=b"fine_labels",
                     train=["train"], test=["test"],
                     url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                     md5="eb9058c3a382ffc7106e4002c42a8d85"),
}


class DatasetMissing(AddnnError):
    """CIFAR is not in the given directory; the command adds how it can fetch it."""


def _find_folder(root: Path, dataset: str) -> Path:
    """``root`` may be the batches folder itself or its parent."""
    spec = _LAYOUT[dataset]
    for candidate in (root, root / spec["folder"]):
        if (candidate / spec["train"][0]).exists() or (candidate / spec["test"][0]).exists():
            return candidate
    raise DatasetMissing(
        f"{dataset} not found: looked for {spec['train'][0]} in {root} and "
        f"{root / spec['folder']}; point --data at a copy in the python layout")



def _read_batch(path: Path, label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="bytes")  # the official format is a pickle
        data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        labels = np.asarray(batch[label_key], dtype=np.int64)
    except FileNotFoundError:
        raise AddnnError(f"missing CIFAR batch file {path}") from None
    except Exception as err:  # truncated or foreign files: say which one
        raise AddnnError(f"corrupt CIFAR batch file {path}: {err}") from err
    return data, labels


def load_cifar(root: str | Path, dataset: str = "cifar10", split: str = "test",
               val: str | Path | None = None) -> ImageDataset:
    """Load a split: ``train``/``val``/``trainval`` come from the training batches (``val`` is
    the last 5,000 images, or the indices in the file ``val``); ``test`` from the test batch."""
    if dataset not in _LAYOUT:
        raise AddnnError(f"unknown dataset {dataset!r}: expected one of {', '.join(_LAYOUT)}")
    spec = _LAYOUT[dataset]
    folder = _find_folder(Path(root), dataset)
    files = spec["test"] if split == "test" else spec["train"]
    parts = [_read_batch(folder / name, spec["label"]) for name in files]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    if split != "test":
        idx = split_indices(split, len(images), val)
        images, labels = images[idx], labels[idx]
    return ImageDataset(f"{dataset}-{split}", torch.from_numpy(images), torch.from_numpy(labels),
                        spec["classes"], CIFAR_MEAN, CIFAR_STD)


def download_cifar(root: str | Path, dataset: str = "cifar10", url: str | None = None) -> Path:
    """Download and unpack the official archive into ``root`` after checking its MD5."""
    spec = _LAYOUT[dataset]
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    url = url or spec["url"]
    fd, tmp = tempfile.mkstemp(dir=root, suffix=".tar.gz")
    os.close(fd)
    try:
        try:
            with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as out:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
        except OSError as err:
            raise AddnnError(f"cannot download {dataset} from {url}: {err}") from err
        digest = hashlib.md5(Path(tmp).read_bytes()).hexdigest()
        if digest != spec["md5"]:
            raise AddnnError(f"{dataset} archive from {url} has MD5 {digest}, expected "
                             f"{spec['md5']}: not unpacked")
        with tarfile.open(tmp) as tar:
            tar.extractall(root, filter="data")
    finally:
        os.unlink(tmp)
    return root / spec["folder"]
