"""Model zoo: CIFAR ResNets and LeNet-5 with adder or convolution layers, by name."""

from __future__ import annotations

from torch import nn

from addnn.errors import AddnnError
from addnn.models.lenet import LeNet5, lenet5
from addnn.models.official import load_official
from addnn.models.resnet import CifarResNet, resnet20, resnet32, resnet56

ARCHS = {"resnet20": resnet20, "resnet32": resnet32, "resnet56": resnet56, "lenet5": lenet5}


def build_model(arch: str, kind: str = "adder", num_classes: int = 10,
                quant: dict | None = None) -> nn.Module:
    """A model by name; with ``quant={"preset": P, "bits": B}`` its quantized version."""
    if quant:
        from addnn.quant.presets import get_preset
        from addnn.quant.resnet import QuantCifarResNet

        if not arch.startswith("resnet") or kind != "adder":
            raise AddnnError(f"quantized models are AdderNet CIFAR ResNets, not {arch}/{kind}")
        model = QuantCifarResNet(get_preset(quant["preset"], quant["bits"]),
                                 int(arch.removeprefix("resnet")), num_classes)
        model.set_integer(model.preset.bn == "integer")
        return model
    if arch not in ARCHS:
        raise AddnnError(f"unknown model {arch!r}: expected one of {', '.join(ARCHS)}")
    if kind not in ("cnn", "adder"):
        raise AddnnError(f"unknown model kind {kind!r}: expected 'cnn' or 'adder'")
    return ARCHS[arch](kind=kind, num_classes=num_classes)


__all__ = ["ARCHS", "CifarResNet", "LeNet5", "build_model", "lenet5", "load_official",
           "resnet20", "resnet32", "resnet56"]
