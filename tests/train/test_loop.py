"""Training end to end on synthetic data: logs, checkpoints, and exact resume."""

import csv
import math
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from addnn.checkpoint import load_model, read_checkpoint
from addnn.data import load_cifar
from addnn.errors import AddnnError
from addnn.train import evaluate, load_config, train

BASE = ["model.arch=lenet5", "data.dataset=synthetic-fashion-mnist", "data.synthetic_size=96",
        "data.batch_size=32", "train.recipe=thesis-adam-cosine-low", "train.epochs=3",
        "data.augment=true"]


def _run(out, *extra, resume=False):
    return train(load_config(None, [*BASE, f"train.out={out}", *extra]), resume=resume)


def _rows(path):
    with open(path) as f:   # timing columns differ from run to run
        return [{k: v for k, v in r.items() if k not in ("images_per_s", "seconds")}
                for r in csv.DictReader(f)]


def test_resume_is_exact(tmp_path):
    _run(tmp_path / "straight", "train.plot=false", "train.tensorboard=false")
    _run(tmp_path / "stopped", "train.plot=false", "train.tensorboard=false", "train.stop_at=1")
    assert read_checkpoint(tmp_path / "stopped" / "last.pt")["train_state"]["epoch"] == 1
    _run(tmp_path / "stopped", "train.plot=false", "train.tensorboard=false", resume=True)
    a = read_checkpoint(tmp_path / "straight" / "last.pt")
    b = read_checkpoint(tmp_path / "stopped" / "last.pt")
    assert a["state_dict"].keys() == b["state_dict"].keys()
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    assert a["train_state"]["optimizer"]["state"][0]["step"] == \
        b["train_state"]["optimizer"]["state"][0]["step"]
    assert _rows(tmp_path / "straight" / "metrics.csv") == \
        _rows(tmp_path / "stopped" / "metrics.csv")
    # The whole training state, and best.pt (what later epochs are judged against), too.
    for name in ("last.pt", "best.pt"):
        a = read_checkpoint(tmp_path / "straight" / name)
        b = read_checkpoint(tmp_path / "stopped" / name)
        _assert_same(a["train_state"], b["train_state"], f"{name}:train_state")
        _assert_same(a["state_dict"], b["state_dict"], f"{name}:state_dict")


def _assert_same(a, b, where):
    """Recursive equality of checkpoint contents; tensors bit for bit."""
    if where.endswith("config"):        # differs in train.out and stop_at only
        a = {**a, "train": {k: v for k, v in a["train"].items() if k not in ("out", "stop_at")}}
        b = {**b, "train": {k: v for k, v in b["train"].items() if k not in ("out", "stop_at")}}
    assert type(a) is type(b), where
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def test_outputs_and_guards(tmp_path):
    out = tmp_path / "run"
    metrics = _run(out, "train.epochs=2")
    assert 0 <= metrics["val_acc"] <= 1 and metrics["epoch"] == 2
    names = {p.name for p in out.iterdir()}
    assert {"last.pt", "best.pt", "metrics.csv", "curves.png", "tensorboard"} <= names
    assert not [n for n in names if n.endswith(".tmp")]
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    with open(out / "curves.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    state = read_checkpoint(out / "last.pt")              # weights_only=True inside
    assert state["train_state"]["config"]["model"]["arch"] == "lenet5"
    with pytest.raises(AddnnError, match="already holds a run"):
        _run(out)
    with pytest.raises(AddnnError, match="no checkpoint"):
        _run(tmp_path / "fresh", resume=True)


def test_learns_synthetic_data(tmp_path):
    # Without augmentation: random crops of fixed class templates hide the templates.
    metrics = _run(tmp_path / "learn", "train.epochs=12", "data.synthetic_size=256",
                   "train.plot=false", "train.tensorboard=false", "train.lr=0.002",
                   "data.augment=false")
    assert metrics["val_acc"] >= 0.9          # chance is 0.1; this run reaches 0.996


def _torchrun(out, *extra):
    """``addnn train`` on 2 CPU processes under torchrun; asserts it succeeded."""
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    cmd = [torchrun, "--standalone", "--nproc_per_node=2", "-m", "addnn", "train", *BASE,
           *extra, f"train.out={out}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def _numbered_images(n):
    """n blank images whose labels are their indices, to follow each image through a loader."""
    from addnn.data import ImageDataset
    return ImageDataset("ids", torch.zeros(n, 1, 2, 2, dtype=torch.uint8), torch.arange(n),
                        n, (0.0,), (1.0,))


def test_ddp_two_processes(tmp_path):
    """torchrun with 2 CPU processes: it completes, ranks stay identical, only rank 0 writes."""
    out = tmp_path / "ddp"
    proc = _torchrun(out, "train.epochs=2", "train.plot=false")
    assert "parameters identical on every rank" in proc.stdout + proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["best.pt", "last.pt", "metrics.csv",
                                                     "tensorboard"]
    assert len(list((out / "tensorboard").iterdir())) == 1
    rows = _rows(out / "metrics.csv")
    assert len(rows) == 2
    # The ranks share the work: each takes its 48 of the 96 images in 3 steps of 16, so an
    # epoch trains on 96 images in all; two ranks that each took all of them would give 192.
    assert [int(r["train_images"]) for r in rows] == [96, 96]


@pytest.mark.parametrize("world", [2, 3])
@pytest.mark.parametrize("equal_shards", [True, False])
def test_ranks_see_each_image_once_per_epoch(world, equal_shards):
    """Across the ranks of one epoch every image comes once (equal shards drop at most
    world - 1 leftover images, the same on every epoch's permutation size), and epochs differ
    in order. Labels carry each image's index."""
    from addnn.data import BatchLoader
    n = 101
    data = _numbered_images(n)
    for epoch in (0, 1):
        seen = []
        for rank in range(world):
            loader = BatchLoader(data, 8, shuffle=True, seed=3, rank=rank, world_size=world,
                                 equal_shards=equal_shards)
            loader.set_epoch(epoch)
            batches = [[int(i) for i in labels] for _, labels in loader]
            assert len(loader) == len(batches)
            seen += [i for b in batches for i in b]
            single = BatchLoader(data, 1, rank=rank, world_size=world,
                                 **({} if equal_shards else dict(equal_shards=False)))
            # batch 1: len is the shard size; the default is equal shards
            assert len(single) == len(list(single)) == sum(map(len, batches))
        assert len(seen) == len(set(seen))
        assert len(seen) == (n - n % world if equal_shards else n)
        if epoch == 0:
            first = seen
    assert seen != first


def _cifar_batch(n, seed, label=None):
    rng = np.random.default_rng(seed)
    labels = [label] * n if label is not None else rng.integers(0, 10, n).tolist()
    return {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": labels}


def test_validation_can_come_from_another_directory(tmp_path):
    """data.val_root: each epoch is validated, and best.pt chosen, on that directory's test
    split (unseen images) while training reads data.root."""
    train_dir, dev_dir = tmp_path / "train", tmp_path / "dev"
    train_dir.mkdir(), dev_dir.mkdir()
    for i in range(1, 6):
        (train_dir / f"data_batch_{i}").write_bytes(pickle.dumps(_cifar_batch(20, i)))
    (train_dir / "test_batch").write_bytes(pickle.dumps(_cifar_batch(40, 9)))
    # One class only: a model scores 1.0 or 0.0 per image, so the dev set's mean is told
    # apart from the training copy's mixed-label splits.
    (dev_dir / "test_batch").write_bytes(pickle.dumps(_cifar_batch(30, 7, label=3)))
    index = tmp_path / "train.txt"
    index.write_text("\n".join(str(i) for i in range(64)))
    out = tmp_path / "run"
    train(load_config(None, [
        "model.arch=resnet20", "model.kind=cnn", f"data.root={train_dir}",
        f"data.train_index={index}", f"data.val_root={dev_dir}", "data.val_split=test",
        "data.batch_size=32", "train.recipe=thesis-adam-cosine-low", "train.epochs=2",
        f"train.out={out}", "train.plot=false", "train.tensorboard=false"]))
    dev = load_cifar(dev_dir, split="test")
    logged = [float(r["val_acc"]) for r in _rows(out / "metrics.csv")]
    for name in ("last.pt", "best.pt"):
        model, data = load_model(out / name)
        assert evaluate(model, dev, progress=False)["top1"] == \
            (logged[-1] if name == "last.pt" else max(logged))
        assert data["train_state"]["best_val_acc"] == max(logged)
    with torch.no_grad():
        logits = model.eval()(dev.normalize(dev.images))
    assert (logits.argmax(1) == 3).float().mean().item() == max(logged)
    assert len(dev) == 30 and dev.labels.unique().tolist() == [3]
    with pytest.raises(AddnnError, match="cifar10 not found"):
        _run(tmp_path / "missing", "model.arch=resnet20", "model.kind=cnn",
             "data.dataset=cifar10", f"data.root={train_dir}", f"data.train_index={index}",
             f"data.val_root={tmp_path}", "data.val_split=test")


# Adam's step is about lr: at 1e-30 no float32 weight moves, so (with BN frozen, which then
# computes as in eval mode) each epoch's loss and accuracy are those of the initial model.
STILL = ["train.lr=1e-30", "train.freeze_bn=true", "data.augment=false", "train.epochs=1",
         "train.plot=false", "train.tensorboard=false"]


def _initial_model_on_the_training_set(size=96, seed=0):
    """Mean cross-entropy and accuracy of the seed-``seed`` LeNet-5 over the ``size``
    training images, in float64 from one forward of all of them."""
    import torch.nn.functional as F

    from addnn.data import load_dataset
    from addnn.models import build_model
    data = load_dataset("synthetic-fashion-mnist", split="train", size=size)
    torch.manual_seed(seed)
    model = build_model(arch="lenet5", kind="adder", num_classes=10).eval()
    mean = torch.tensor(data.mean).view(1, -1, 1, 1)
    std = torch.tensor(data.std).view(1, -1, 1, 1)
    with torch.no_grad():
        logits = model((data.images.float() / 255 - mean) / std).double()
    return (F.cross_entropy(logits, data.labels).item(),
            (logits.argmax(1) == data.labels).double().mean().item())


def test_epoch_metrics_are_the_models_own_on_every_training_image(tmp_path, monkeypatch,
                                                                   capsys):
    import addnn.train.loop as loop
    bars = []
    real = loop.tqdm

    def recording(*args, **kwargs):
        bars.append(kwargs.get("desc"))
        assert kwargs["leave"] is False and kwargs["disable"] is None   # terminal only
        return real(*args, **kwargs)
    recording.write = real.write
    monkeypatch.setattr(loop, "tqdm", recording)
    metrics = _run(tmp_path / "still", *STILL)
    loss, acc = _initial_model_on_the_training_set()
    assert metrics["train_images"] == 96
    assert metrics["train_loss"] == pytest.approx(loss, rel=1e-5)
    assert metrics["train_acc"] == pytest.approx(acc, abs=1e-12)
    assert set(metrics) == {"epoch", "lr", "train_loss", "train_acc", "train_images",
                            "images_per_s", "seconds", "val_loss", "val_acc",
                            "ranks_in_sync", "rank"}
    assert metrics["rank"] == 0 and metrics["ranks_in_sync"] is True
    assert metrics["seconds"] > 0 and metrics["images_per_s"] > 0
    with open(tmp_path / "still" / "metrics.csv") as f:
        row, = csv.DictReader(f)
    assert float(row["train_acc"]) == metrics["train_acc"]
    assert float(row["seconds"]) == metrics["seconds"]
    assert bars[0] == "epoch 1/1"
    line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("epoch 1:")]
    assert len(line) == 1 and line[0].startswith("epoch 1: lr 1e-30, train_loss ")
    assert "epoch 1, " not in line[0] and ", val_acc " in line[0]


def test_one_full_batch_trains_and_none_is_refused(tmp_path):
    metrics = _run(tmp_path / "one", *STILL, "data.synthetic_size=32")
    assert metrics["train_images"] == 32
    with pytest.raises(AddnnError, match="^synthetic-fashion-mnist.*: 31 images make no full "
                                         "batch of 32$"):
        _run(tmp_path / "none", *STILL, "data.synthetic_size=31")


def test_a_model_of_another_class_count_is_refused(tmp_path):
    with pytest.raises(AddnnError, match="has 10 classes but model.num_classes is 7$"):
        _run(tmp_path / "seven", *STILL, "model.num_classes=7")
    assert not (tmp_path / "seven" / "last.pt").exists()


def test_best_is_the_best_validation_so_far(tmp_path):
    """best.pt holds the epoch of the highest val_acc, and last.pt records that value."""
    out = tmp_path / "best"
    _run(out, "train.plot=false", "train.tensorboard=false")
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    accs = [float(r["val_acc"]) for r in rows]
    best_epoch = accs.index(max(accs)) + 1
    best = read_checkpoint(out / "best.pt")["train_state"]
    last = read_checkpoint(out / "last.pt")["train_state"]
    assert best["epoch"] == best_epoch and best["best_val_acc"] == max(accs)
    assert last["best_val_acc"] == max(accs)
    assert read_checkpoint(out / "last.pt")["data"] == {"dataset": "synthetic-fashion-mnist"}
    # Each checkpoint carries the metrics of the epoch it holds.
    for name, epoch in (("best.pt", best_epoch), ("last.pt", len(rows))):
        m = read_checkpoint(out / name)["metrics"]
        assert m["epoch"] == epoch and m["val_acc"] == float(rows[epoch - 1]["val_acc"])


def test_ddp_ranks_train_on_disjoint_halves(tmp_path):
    """torchrun with 2 processes and weights that cannot move: the epoch's loss, summed over
    the ranks, is the initial model's over all 96 images, which holds only if each rank took
    its own 48 (two ranks on the same half would give that half's loss)."""
    out = tmp_path / "ddp"
    _torchrun(out, *STILL)
    row, = csv.DictReader(open(out / "metrics.csv"))
    loss, acc = _initial_model_on_the_training_set()
    assert int(row["train_images"]) == 96
    assert float(row["train_loss"]) == pytest.approx(loss, rel=1e-5)
    assert float(row["train_acc"]) == pytest.approx(acc, abs=1e-12)


def test_batch_loader_order_and_batch_size():
    """Without shuffle the images come in dataset order; batches of one are legal, of none
    refused."""
    from addnn.data import BatchLoader
    n = 7
    data = _numbered_images(n)
    assert [int(i) for _, y in BatchLoader(data, 3) for i in y] == list(range(n))
    assert [len(y) for _, y in BatchLoader(data, 1)] == [1] * n
    assert [int(i) for _, y in BatchLoader(data, 3, shuffle=True, seed=1) for i in y] \
        != list(range(n))
    with pytest.raises(ValueError, match="^batch_size must be positive, got 0$"):
        BatchLoader(data, 0)


def test_a_single_image_epoch_counts_it_once(tmp_path):
    """Batch size 1 on one image: train_acc is that image's 0 or 1 (seed 8's model gets it
    right, so a count divided by anything but 1 shows)."""
    metrics = _run(tmp_path / "one", *STILL, "data.synthetic_size=1", "data.batch_size=1",
                   "train.seed=8")
    loss, acc = _initial_model_on_the_training_set(size=1, seed=8)
    assert metrics["train_images"] == 1 and acc == 1.0
    assert metrics["train_acc"] == acc and metrics["train_loss"] == pytest.approx(loss, 1e-5)


def test_max_steps_per_epoch_takes_that_many_batches(tmp_path):
    for steps in (1, 2):
        metrics = _run(tmp_path / f"s{steps}", *STILL, f"train.max_steps_per_epoch={steps}")
        assert metrics["train_images"] == 32 * steps


def test_init_starts_from_the_checkpoints_weights(tmp_path):
    """train.init loads a checkpoint's weights (the optimiser starts anew): with weights that
    cannot move, the run ends where that checkpoint is, not at the seed's initialisation."""
    _run(tmp_path / "a", "train.plot=false", "train.tensorboard=false")
    _run(tmp_path / "b", *STILL, f"train.init={tmp_path / 'a' / 'last.pt'}")
    _run(tmp_path / "c", *STILL)
    a, b, c = (read_checkpoint(tmp_path / k / "last.pt")["state_dict"] for k in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)      # training moved the weights


def test_download_asks_for_the_training_split_first(tmp_path, monkeypatch):
    """data.download=true: the main process first loads the training split with
    download=True and the same dataset options, then loads it for training."""
    import addnn.train.loop as loop
    calls = []
    real = loop.load_dataset

    def recording(*args, **kwargs):
        calls.append((args, kwargs))
        return real(*args, **kwargs)
    monkeypatch.setattr(loop, "load_dataset", recording)
    _run(tmp_path / "dl", *STILL, "data.download=true")
    (first, fkw), (second, skw) = calls[:2]
    assert first == second == ("synthetic-fashion-mnist",)
    assert fkw == {**skw, "download": True} and skw["size"] == 96 and "download" not in skw


@pytest.mark.parametrize("rank", [0, 1])
def test_only_rank_zero_shows_a_progress_bar(rank, monkeypatch):
    """tqdm(disable=None) on rank 0 (a bar on a terminal only), disabled on other ranks."""
    import addnn.train.loop as loop
    from addnn.data import BatchLoader, load_dataset
    from addnn.models import build_model
    from addnn.train.distributed import Dist
    seen = []
    real = loop.tqdm

    def recording(*args, **kwargs):
        seen.append(kwargs["disable"])
        return real(*args, **kwargs)
    monkeypatch.setattr(loop, "tqdm", recording)
    model = build_model(arch="lenet5", kind="adder", num_classes=10)
    loader = BatchLoader(load_dataset("synthetic-fashion-mnist", split="train", size=8), 4)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    row = loop._train_epoch(model, loader, opt, None, False, torch.device("cpu"), None,
                            Dist(rank=rank), "d", False,
                            lambda images, logits, labels: F.cross_entropy(logits, labels))
    assert seen == [None if rank == 0 else True] and row["train_images"] == 8


@pytest.mark.parametrize("local", [None, "1"])
def test_torchrun_environment_gives_rank_world_and_local_rank(monkeypatch, local):
    """Under torchrun (WORLD_SIZE > 1) the group's rank and size and LOCAL_RANK, which
    defaults to 0 when the launcher leaves it out."""
    import torch.distributed as dist

    from addnn.train.distributed import Dist, init_from_torchrun
    monkeypatch.setenv("WORLD_SIZE", "2")
    if local is None:
        monkeypatch.delenv("LOCAL_RANK", raising=False)
    else:
        monkeypatch.setenv("LOCAL_RANK", local)
    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dist, "get_rank", lambda: 1)
    monkeypatch.setattr(dist, "get_world_size", lambda: 2)
    assert init_from_torchrun("cpu") == Dist(1, 2, int(local or 0))


def test_the_device_is_chosen_for_this_process(tmp_path, monkeypatch):
    """train asks for the device of its own process group entry (its LOCAL_RANK's GPU)."""
    import addnn.train.loop as loop
    from addnn.train.distributed import Dist
    group, asked = Dist(0, 1, 0), []
    monkeypatch.setattr(loop, "init_from_torchrun", lambda device: group)
    monkeypatch.setattr(loop, "rank_device",
                        lambda name, info: asked.append((name, info)) or torch.device("cpu"))
    _run(tmp_path / "d", *STILL)
    assert asked == [("cpu", group)]


@pytest.mark.parametrize("fail", [False, True])
def test_a_failed_run_leaves_the_group_without_waiting(tmp_path, monkeypatch, fail):
    """A clean finish waits for the other ranks (barrier); a failure must not, or the
    surviving ranks would hang: shutdown is told which it was."""
    import addnn.train.loop as loop
    told = []
    monkeypatch.setattr(loop, "shutdown", lambda info, clean=True: told.append(clean))
    if fail:
        def broken(*args, **kwargs):
            raise RuntimeError("validation failed")
        monkeypatch.setattr(loop, "evaluate", broken)
        with pytest.raises(RuntimeError, match="validation failed"):
            _run(tmp_path / "f", *STILL)
    else:
        _run(tmp_path / "f", *STILL)
    assert told == [not fail]


def test_the_curves_are_titled_with_model_and_dataset(tmp_path, monkeypatch):
    import addnn.train.loop as loop
    titles = []
    monkeypatch.setattr(loop, "plot_curves", lambda path, title=None: titles.append(title))
    _run(tmp_path / "p", *STILL[:-2], "train.tensorboard=false", "train.plot=true")
    assert titles == ["lenet5 adder on synthetic-fashion-mnist"]


def test_each_process_computes_on_its_own_gpu():
    """Every CUDA name becomes cuda:<LOCAL_RANK> (one GPU per torchrun process); others are
    kept."""
    from addnn.train.distributed import Dist, rank_device
    assert rank_device("cpu", Dist(1, 2, 1)) == torch.device("cpu")
    assert rank_device("cuda", Dist(3, 4, 1)) == torch.device("cuda:1")
    assert rank_device("cuda:0", Dist(2, 4, 2)) == torch.device("cuda:2")
    assert rank_device("cuda", Dist()) == torch.device("cuda:0")


def _cosine(lr, k, epochs):
    return lr * (1 + math.cos(math.pi * k / epochs)) / 2


@pytest.mark.parametrize("recipe, lr, epochs, expected", [
    # per epoch: cosine annealing to 0 over the run's 3 epochs
    ("thesis-adam-cosine-low", 1e-3, 3, [_cosine(1e-3, k, 3) for k in range(3)]),
    # per batch: the triangle rises from base_lr 1e-4 by (lr - 1e-4) / 2000 a step, 3 a epoch
    ("thesis-adam-cyclic", 1e-2, 3, [1e-4 + (1e-2 - 1e-4) * 3 * k / 2000 for k in range(3)]),
    # on the validation loss: a tenth after 11 epochs without improvement (patience 10); the
    # weights move by about 1e-6, far below the plateau's relative threshold of 1e-4
    ("thesis-adam-plateau", 1e-6, 13, [1e-6] * 12 + [1e-7]),
])
def test_the_scheduler_steps_when_its_recipe_says(tmp_path, recipe, lr, epochs, expected):
    """The lr each epoch starts with (metrics.csv), against the schedule written out."""
    _run(tmp_path / "s", f"train.recipe={recipe}", f"train.lr={lr}", f"train.epochs={epochs}",
         "train.freeze_bn=true", "data.augment=false", "train.plot=false",
         "train.tensorboard=false")
    lrs = [float(r["lr"]) for r in _rows(tmp_path / "s" / "metrics.csv")]
    assert lrs == pytest.approx(expected, rel=1e-9)


def test_validation_uses_the_process_group(tmp_path, monkeypatch):
    """Each epoch's validation is given the process group (each rank its share of the
    images, summed), not run whole on every rank."""
    import addnn.train.loop as loop
    from addnn.train.distributed import Dist
    group, given = Dist(0, 1, 0), []
    real = loop.evaluate
    monkeypatch.setattr(loop, "init_from_torchrun", lambda device: group)

    def recording(*args, **kwargs):
        given.append(args[4] if len(args) > 4 else kwargs.get("dist_info"))
        return real(*args, **kwargs)
    monkeypatch.setattr(loop, "evaluate", recording)
    _run(tmp_path / "v", *STILL)
    assert given and all(g is group for g in given)


def test_the_loader_seed_defaults_to_zero():
    from addnn.data import BatchLoader
    data = _numbered_images(9)
    order = lambda **kw: [int(i) for _, y in BatchLoader(data, 3, shuffle=True, **kw)  # noqa
                          for i in y]
    assert order() == order(seed=0) != order(seed=1)


def test_a_new_loader_is_at_epoch_zero():
    """As torch's DistributedSampler: before any set_epoch the order is epoch 0's."""
    from addnn.data import BatchLoader
    data = _numbered_images(16)

    def order(epoch=None):
        loader = BatchLoader(data, 4, shuffle=True, seed=2)
        if epoch is not None:
            loader.set_epoch(epoch)
        return [int(i) for _, y in loader for i in y]
    assert order() == order(0) != order(1)


def test_epochs_without_validation_judge_no_best(tmp_path):
    """train.eval_every=2: epoch 1 has no val_acc, so nothing is the best yet (no best.pt,
    best_val_acc -1); validated epochs then choose best.pt as usual."""
    out = tmp_path / "e"
    args = ["train.eval_every=2", "train.plot=false", "train.tensorboard=false"]
    _run(out, *args, "train.stop_at=1")
    assert not (out / "best.pt").exists()
    assert read_checkpoint(out / "last.pt")["train_state"]["best_val_acc"] == -1.0
    _run(out, *args, resume=True)
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert [r["val_acc"] == "" for r in rows] == [True, False, False]
    accs = [float(r["val_acc"]) for r in rows[1:]]
    best = read_checkpoint(out / "best.pt")["train_state"]
    assert best["epoch"] == 2 + accs.index(max(accs)) and best["best_val_acc"] == max(accs)


def test_throughput_is_the_images_over_the_seconds(tmp_path):
    metrics = _run(tmp_path / "t", *STILL)
    assert metrics["images_per_s"] == pytest.approx(metrics["train_images"]
                                                    / metrics["seconds"], rel=1e-12)


def test_weight_decay_from_the_config_reaches_the_optimiser(tmp_path):
    _run(tmp_path / "wd", *STILL, "train.weight_decay=0.125")
    state = read_checkpoint(tmp_path / "wd" / "last.pt")["train_state"]["optimizer"]
    assert [g["weight_decay"] for g in state["param_groups"]] == [0.125]


def test_a_missing_dataset_names_the_option_that_downloads_it(tmp_path):
    with pytest.raises(AddnnError, match="rerun with data.download=true to download it"):
        _run(tmp_path / "m", *STILL, "data.dataset=cifar10", f"data.root={tmp_path / 'none'}")


def test_a_quantized_model_is_saved_with_its_preset_and_bits():
    """The checkpoint's model spec builds the same quantized model again."""
    from addnn.models import build_model
    from addnn.train.config import load_config
    from addnn.train.loop import _model_spec
    cfg = load_config(None, ["model.arch=resnet20", "model.quant_preset=addnn",
                             "model.quant_bits=4"])
    spec = _model_spec(cfg)
    assert spec == {"arch": "resnet20", "kind": "adder", "num_classes": 10,
                    "quant": {"preset": "addnn", "bits": 4}}
    assert build_model(**spec) is not None


def test_the_progress_bar_shows_the_running_loss(monkeypatch):
    """Each step sets the bar's postfix to that step's loss, to 3 decimals."""
    import addnn.train.loop as loop
    from addnn.data import BatchLoader, load_dataset
    from addnn.models import build_model
    from addnn.train.distributed import Dist
    postfixes, losses = [], []

    class Bar:
        def __init__(self, *args, **kwargs):
            pass

        def update(self):
            pass

        def close(self):
            pass

        def set_postfix(self, **kwargs):
            postfixes.append(kwargs)
    monkeypatch.setattr(loop, "tqdm", Bar)
    model = build_model(arch="lenet5", kind="adder", num_classes=10)
    loader = BatchLoader(load_dataset("synthetic-fashion-mnist", split="train", size=8), 4)

    def loss_fn(images, logits, labels):
        loss = F.cross_entropy(logits, labels)
        losses.append(loss.item())
        return loss
    loop._train_epoch(model, loader, torch.optim.SGD(model.parameters(), lr=0.0), None, False,
                      torch.device("cpu"), None, Dist(), "d", False, loss_fn)
    assert postfixes == [{"loss": f"{v:.3f}"} for v in losses] and len(losses) == 2


def test_the_process_group_backend_follows_the_device():
    from addnn.train.distributed import backend_for
    assert [backend_for(d) for d in ("cpu", "cuda", "cuda:1")] == ["gloo", "nccl", "nccl"]


def test_the_plateau_schedule_steps_on_the_training_loss_without_validation(tmp_path):
    """eval_every=2: epoch 1 has no val_loss, so ReduceLROnPlateau is given the epoch's
    train_loss; the run goes on to validate epoch 2."""
    _run(tmp_path / "p", "train.recipe=thesis-adam-plateau", "train.epochs=2",
         "train.eval_every=2", *STILL[:3], "train.plot=false", "train.tensorboard=false")
    rows = _rows(tmp_path / "p" / "metrics.csv")
    assert [r["val_loss"] == "" for r in rows] == [True, False]
