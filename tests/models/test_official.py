"""load_official against a small file the test writes in the released legacy layout."""

import pytest
import torch

from addnn.checkpoint import load_model, read_checkpoint, save_model
from addnn.errors import AddnnError
from addnn.models import build_model, lenet5, load_official, resnet20
from addnn.models.official import official_key


def _legacy_file(path, model):
    """module.-prefixed keys, adder weights as *.adder, old (non-zip) serialisation."""
    state = {}
    for key, value in model.state_dict().items():
        parts = key.split(".")
        is_adder = parts[-1] == "weight" and value.dim() == 4 and not key.startswith(
            ("conv1.", "fc."))
        name = ".".join(parts[:-1] + ["adder"]) if is_adder else key
        state["module." + name] = value.clone()
    torch.save(state, path, _use_new_zipfile_serialization=False)
    return state


def test_import_puts_every_weight_in_place(tmp_path):
    torch.manual_seed(0)
    source = resnet20("adder")
    for buf in source.buffers():
        if buf.dtype.is_floating_point:
            buf.uniform_(0.5, 1.5)
    state = _legacy_file(tmp_path / "legacy.pth", source)
    assert "module.layer1.0.conv1.adder" in state and "module.conv1.weight" in state
    with open(tmp_path / "legacy.pth", "rb") as f:
        assert f.read(2) != b"PK"                           # not the zip format
    model = load_official(tmp_path / "legacy.pth")
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(model.eval()(x), source.eval()(x))


def test_key_mapping():
    assert official_key("module.layer2.0.downsample.0.adder") == "layer2.0.downsample.0.weight"
    assert official_key("module.bn2.running_mean") == "bn2.running_mean"


def test_wrong_files_are_refused(tmp_path):
    torch.save({"module.conv1.weight": torch.zeros(16, 3, 3, 3)}, tmp_path / "partial.pth")
    with pytest.raises(AddnnError, match="not an AdderNet ResNet-20 checkpoint"):
        load_official(tmp_path / "partial.pth")
    (tmp_path / "junk.pth").write_bytes(b"\x00junk")
    with pytest.raises(AddnnError, match="not a readable torch checkpoint"):
        load_official(tmp_path / "junk.pth")
    with pytest.raises(AddnnError, match="not found"):
        load_official(tmp_path / "missing.pth")


def test_addnn_checkpoint_round_trip(tmp_path):
    model = lenet5("cnn")
    save_model(tmp_path / "m.pt", model, {"arch": "lenet5", "kind": "cnn", "num_classes": 10})
    loaded, data = load_model(tmp_path / "m.pt")
    assert data["model"]["arch"] == "lenet5"
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                 loaded.state_dict().values()))
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]      # no temporary left
    torch.save({"state_dict": {}}, tmp_path / "foreign.pt")
    with pytest.raises(AddnnError, match="not an addnn checkpoint"):
        read_checkpoint(tmp_path / "foreign.pt")
    save_model(tmp_path / "wrong.pt", model, {"arch": "resnet20", "kind": "cnn",
                                             "num_classes": 10})
    with pytest.raises(AddnnError, match="weights do not fit"):
        load_model(tmp_path / "wrong.pt")


def test_build_model_by_name():
    assert isinstance(build_model("lenet5", "adder"), type(lenet5()))
    with pytest.raises(AddnnError, match="unknown model"):
        build_model("vgg16")
