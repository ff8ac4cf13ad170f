"""Claims of the README's "What works today" that no other test ran: the CIFAR-100 loader,
``addnn quantize --calib-index/--val-index/--reestimate-bn``, ``addnn info``, and the
accumulator types and BN-map kinds it lists for the shipped default."""

import pickle
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from torch import nn

from addnn.checkpoint import load_model, read_checkpoint
from addnn.cli import main
from addnn.data import load_cifar, load_dataset

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "assets" / "models" / "resnet20_adder_addnn_w8.pt"
OFFICIAL = ROOT / "assets" / "models" / "resnet20_adder_official.pt"


def _cifar(root: Path, files: dict, label_key: bytes, classes: int) -> None:
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, n in files.items():
        (root / name).write_bytes(pickle.dumps({
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            label_key: rng.integers(0, classes, n).tolist()}))


def test_cifar100_loader_reads_fine_labels(tmp_path):
    root = tmp_path / "cifar-100-python"
    _cifar(root, {"train": 5100, "test": 30}, b"fine_labels", 100)
    raw = pickle.loads((root / "test").read_bytes())
    test = load_cifar(tmp_path, "cifar100", "test")          # the parent folder works too
    assert test.num_classes == 100 and len(test) == 30
    assert test.labels.tolist() == raw[b"fine_labels"]
    assert torch.equal(test.images, torch.from_numpy(raw[b"data"].reshape(30, 3, 32, 32)))
    train, val = (load_dataset("cifar100", root, s) for s in ("train", "val"))
    assert (len(train), len(val)) == (100, 5000)


def test_info_names_the_backend(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "adder2d: C++ kernels" in out or "torch fallback" in out
    assert "float32 lanes per vector" in out


def test_quantize_with_index_files_and_bn_reestimation(tmp_path, capsys):
    """--calib-index picks exactly the listed training images; --val-index is what the
    fine-tuning epoch is judged on; --reestimate-bn recomputes BN statistics."""
    data = tmp_path / "cifar-10-batches-py"
    _cifar(data, {f"data_batch_{i}": 40 for i in range(1, 6)}, b"labels", 10)
    (tmp_path / "calib.txt").write_text("\n".join(map(str, range(0, 140))))
    (tmp_path / "val.txt").write_text("\n".join(map(str, range(150, 182))))
    out = tmp_path / "q.pt"
    assert main(["quantize", str(OFFICIAL), "--calib-data", str(data), "--calib-index",
                 str(tmp_path / "calib.txt"), "--calib-images", "1000", "--bits", "8",
                 "--finetune-epochs", "1", "--val-index", str(tmp_path / "val.txt"),
                 "-o", str(out)]) == 0
    assert "calibrated on 140 images of cifar10 training images listed in calib.txt" in \
        capsys.readouterr().out
    meta = read_checkpoint(out)
    assert meta["calibration"]["images"] == 140 and not meta["calibration"]["bn_reestimated"]
    val = load_dataset("cifar10", data, "val", tmp_path / "val.txt")
    from addnn.train import evaluate
    assert meta["finetune"]["ptq_val_acc"] == \
        evaluate(load_model(Path(str(out) + ".ptq.pt"))[0], val, progress=False)["top1"]
    assert meta["finetune"]["validation"] == "cifar10 val split listed in val.txt"
    again = tmp_path / "r.pt"
    assert main(["quantize", str(OFFICIAL), "--calib-data", str(data), "--calib-index",
                 str(tmp_path / "calib.txt"), "--reestimate-bn", "-o", str(again)]) == 0
    assert read_checkpoint(again)["calibration"]["bn_reestimated"]
    means = [[m.running_mean for m in load_model(p)[0].modules()
              if isinstance(m, nn.BatchNorm2d)] for p in (Path(str(out) + ".ptq.pt"), again)]
    assert not all(torch.equal(a, b) for a, b in zip(*means))


def test_shipped_default_accumulators_and_bn_maps_are_as_listed(tmp_path):
    """README: adder accumulators INT13 to INT19, the two MAC layers INT18 and INT19, all 22
    BN maps thresholds, logits INT16 at 2**-11."""
    from addnn.export import export_model
    from addnn.transform import lower_to_integer, output_exponent

    q, _ = load_model(DEFAULT)
    g = lower_to_integer(export_model(q, tmp_path / "d.onnx"))
    types = {op: sorted(str(g.get_tensor_datatype(n.output[0])) for n in g.graph.node
                        if n.op_type == op) for op in ("Adder2d", "MacConv2d")}
    assert len(types["Adder2d"]) == 20
    assert (types["Adder2d"][0], types["Adder2d"][-1]) == ("INT13", "INT19")
    assert types["MacConv2d"] == ["INT18", "INT19"]
    kinds = Counter(a.s.decode() for n in g.graph.node if n.op_type == "BNRequantMap"
                    for a in n.attribute if a.name == "kind")
    assert kinds == {"thresholds": 22}
    assert str(g.get_tensor_datatype(g.graph.output[0].name)) == "INT16"
    assert output_exponent(g) == -11
