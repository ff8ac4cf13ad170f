import hashlib
import io
import pickle
import tarfile

import numpy as np
import pytest

from addnn.data import cifar, download_cifar, load_cifar, load_dataset
from addnn.errors import AddnnError

PER_BATCH = 1100          # 5 batches: 5,500 images, so the default val (last 5,000) fits


def _batch(n, offset):
    data = (np.arange(n * 3072, dtype=np.int64).reshape(n, 3072) + offset) % 256
    labels = [(offset + i) % 10 for i in range(n)]
    return {b"data": data.astype(np.uint8), b"labels": labels, b"batch_label": b"x"}


@pytest.fixture(scope="module")
def cifar_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "cifar-10-batches-py"
    root.mkdir()
    for i in range(1, 6):
        (root / f"data_batch_{i}").write_bytes(pickle.dumps(_batch(PER_BATCH, i * PER_BATCH)))
    (root / "test_batch").write_bytes(pickle.dumps(_batch(50, 0)))
    return root


def test_splits_partition_the_training_set(cifar_dir):
    full = load_cifar(cifar_dir, split="trainval")
    train, val = load_cifar(cifar_dir, split="train"), load_cifar(cifar_dir, split="val")
    assert len(full) == 5 * PER_BATCH and len(val) == 5000 and len(train) == 500
    assert (val.images == full.images[-5000:]).all()            # the last 5,000 by default
    assert (train.images == full.images[:500]).all()
    assert full.images.shape[1:] == (3, 32, 32) and full.labels[3].item() == (1100 + 3) % 10
    assert len(load_cifar(cifar_dir, split="test")) == 50
    # The parent folder works as root too.
    assert len(load_cifar(cifar_dir.parent, split="test")) == 50


@pytest.mark.parametrize("fmt", ["npy", "txt", "mask"])
def test_validation_index_files(cifar_dir, tmp_path, fmt):
    idx = np.array([5, 7, 4000, 5499])
    path = tmp_path / f"val.{'txt' if fmt == 'txt' else 'npy'}"
    if fmt == "txt":
        path.write_text("\n".join(map(str, idx)))
    elif fmt == "npy":
        np.save(path, idx)
    else:
        mask = np.zeros(5500, dtype=bool)
        mask[idx] = True
        np.save(path, mask)
    full = load_cifar(cifar_dir, split="trainval")
    val = load_cifar(cifar_dir, split="val", val=path)
    train = load_cifar(cifar_dir, split="train", val=path)
    assert (val.images == full.images[idx]).all()
    assert len(train) == 5500 - 4


@pytest.mark.parametrize("content", ["5\n5\n", "-1\n", "99999\n", "abc\n"])
def test_bad_index_files(cifar_dir, tmp_path, content):
    path = tmp_path / "val.txt"
    path.write_text(content)
    with pytest.raises(AddnnError, match="val.txt"):
        load_cifar(cifar_dir, split="val", val=path)


def test_missing_and_corrupt(tmp_path, cifar_dir):
    with pytest.raises(AddnnError, match="looked for data_batch_1"):
        load_cifar(tmp_path, split="test")
    bad = tmp_path / "cifar-10-batches-py"
    bad.mkdir()
    (bad / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(AddnnError, match="corrupt CIFAR batch file"):
        load_cifar(tmp_path, split="test")
    with pytest.raises(AddnnError, match="unknown split"):
        load_cifar(cifar_dir, split="holdout")


def test_default_val_needs_enough_images(tmp_path):
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    for i in range(1, 6):
        (root / f"data_batch_{i}").write_bytes(pickle.dumps(_batch(10, i)))
    with pytest.raises(AddnnError, match="only 50"):
        load_cifar(root, split="val")


def _archive(cifar_dir) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(cifar_dir, arcname="cifar-10-batches-py")
    return buf.getvalue()


def test_download_checks_md5(cifar_dir, tmp_path, monkeypatch):
    blob = _archive(cifar_dir)
    archive = tmp_path / "cifar.tar.gz"
    archive.write_bytes(blob)
    url = archive.as_uri()
    spec = dict(cifar._LAYOUT["cifar10"], md5=hashlib.md5(blob).hexdigest())
    monkeypatch.setitem(cifar._LAYOUT, "cifar10", spec)
    dest = tmp_path / "dl"
    folder = download_cifar(dest, url=url)
    assert len(load_cifar(folder, split="test")) == 50
    monkeypatch.setitem(cifar._LAYOUT, "cifar10", dict(spec, md5="0" * 32))
    with pytest.raises(AddnnError, match="MD5"):
        download_cifar(tmp_path / "dl2", url=url)
    assert not (tmp_path / "dl2" / "cifar-10-batches-py").exists()
    assert not list((tmp_path / "dl2").glob("*.tar.gz"))       # no partial download left
    with pytest.raises(AddnnError, match="cannot download"):
        download_cifar(tmp_path / "dl3", url=(tmp_path / "missing.tar.gz").as_uri())


def test_load_dataset_dispatch(cifar_dir, tmp_path):
    assert len(load_dataset("cifar10", cifar_dir, "test")) == 50
    with pytest.raises(AddnnError, match="unknown dataset"):
        load_dataset("imagenet", tmp_path)
    with pytest.raises(AddnnError, match="needs --data"):
        load_dataset("cifar10", None)
