from pathlib import Path

import pytest
import torch

from addnn.models import resnet20, resnet32, resnet56
from addnn.nn import Adder2d

SHARED_CHECKPOINT = Path(__file__).resolve().parents[2] / ".." / "shared" / "models" / \
    "ResNet20-AdderNet.pth"


@pytest.mark.parametrize("factory, blocks", [(resnet20, 3), (resnet32, 5), (resnet56, 9)])
def test_depth_and_layer_kinds(factory, blocks):
    model = factory("adder")
    adders = [m for m in model.modules() if isinstance(m, Adder2d)]
    assert len(adders) == 2 * 3 * blocks + 2          # two per block plus two downsamples
    assert len(model.layer1) == blocks
    cnn = factory("cnn")
    assert not any(isinstance(m, Adder2d) for m in cnn.modules())


def test_forward_shape_and_bn_init():
    model = resnet20("adder", num_classes=7).eval()
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 7)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(torch.equal(b.weight, torch.ones_like(b.weight)) for b in bns)
    assert all(torch.equal(b.bias, torch.zeros_like(b.bias)) for b in bns)


def test_bad_arguments():
    with pytest.raises(ValueError, match="kind"):
        resnet20("mlp")


@pytest.mark.skipif(not SHARED_CHECKPOINT.exists(), reason="optional: ../shared checkpoint")
def test_names_match_released_checkpoint():
    state = torch.load(SHARED_CHECKPOINT, map_location="cpu", weights_only=True)
    released = {k.removeprefix("module.").replace(".adder", ".weight"): tuple(v.shape)
                for k, v in state.items()}
    ours = {k: tuple(v.shape) for k, v in resnet20("adder").state_dict().items()}
    assert released == ours
