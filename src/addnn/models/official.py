"""Import the released huawei-noah AdderNet ResNet-20 checkpoint.

The file is a legacy (non-zip) torch pickle of a ``DataParallel`` state dict: keys start with
``module.`` and adder weights are named ``*.adder``. It holds only tensors, so it loads with
``weights_only=True``; this function is nevertheless the one place that reads the legacy layout,
and the only place allowed to relax that flag should a future release need it.
"""

from __future__ import annotations

from pathlib import Path

from addnn.checkpoint import load_tensors
from addnn.errors import AddnnError
from addnn.models.resnet import CifarResNet, resnet20


def official_key(key: str) -> str:
    """Released key -> addnn key (``module.layer1.0.conv1.adder`` -> ``layer1.0.conv1.weight``)."""
    key = key.removeprefix("module.")
    return key[: -len(".adder")] + ".weight" if key.endswith(".adder") else key


def load_official(path: str | Path, num_classes: int = 10) -> CifarResNet:
    """Return ``resnet20(kind="adder")`` with every weight of the released checkpoint in place."""
    path = Path(path)
    state = load_tensors(path)
    if isinstance(state, dict) and "state_dict" in state and not any(
            k.endswith(".adder") for k in state):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise AddnnError(f"{path}: expected a state dict, found {type(state).__name__}")
    mapped = {official_key(k): v for k, v in state.items()}
    model = resnet20("adder", num_classes)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(mapped))
    unexpected = sorted(set(mapped) - set(expected))
    if missing or unexpected:
        raise AddnnError(f"{path} is not an AdderNet ResNet-20 checkpoint: missing "
                         f"{missing[:3]}{'...' if len(missing) > 3 else ''}, unexpected "
                         f"{unexpected[:3]}{'...' if len(unexpected) > 3 else ''}")
    for key, value in mapped.items():
        if tuple(value.shape) != tuple(expected[key].shape):
            raise AddnnError(f"{path}: {key} has shape {tuple(value.shape)}, ResNet-20 needs "
                             f"{tuple(expected[key].shape)}")
    model.load_state_dict(mapped)
    return model
