import gzip
import struct

import numpy as np
import pytest

from addnn.data import load_fashion_mnist
from addnn.data.fashion_mnist import DEBIAN_ROOT, read_idx
from addnn.errors import AddnnError


def _write_idx(path, array):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I",
                                                                     *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def fmnist_dir(tmp_path):
    rng = np.random.default_rng(0)
    for split, n in (("train", 5100), ("t10k", 30)):
        _write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    return tmp_path


def test_reads_idx_and_splits(fmnist_dir):
    test = load_fashion_mnist(fmnist_dir, "test")
    assert test.images.shape == (30, 1, 28, 28) and test.labels.tolist()[:3] == [0, 1, 2]
    raw = read_idx(fmnist_dir / "t10k-images-idx3-ubyte.gz")
    assert (test.images[:, 0].numpy() == raw).all()
    assert len(load_fashion_mnist(fmnist_dir, "train")) == 100
    assert len(load_fashion_mnist(fmnist_dir, "val")) == 5000


def test_missing_and_corrupt(tmp_path, fmnist_dir):
    with pytest.raises(AddnnError, match="dataset-fashion-mnist"):
        load_fashion_mnist(tmp_path / "nowhere", "test")
    with gzip.open(fmnist_dir / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(b"\x01\x02\x03\x04junk")
    with pytest.raises(AddnnError, match="corrupt IDX"):
        load_fashion_mnist(fmnist_dir, "test")


@pytest.mark.skipif(not DEBIAN_ROOT.exists(), reason="Debian dataset-fashion-mnist not installed")
def test_debian_package():
    test = load_fashion_mnist(split="test")
    assert test.images.shape == (10000, 1, 28, 28)
    assert np.bincount(test.labels.numpy()).tolist() == [1000] * 10
