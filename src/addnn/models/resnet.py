"""CIFAR ResNet-20/32/56 as in the AdderNet reference, with adder or convolution layers.

Structure (He et al. 2016, CIFAR variant, option B shortcuts, as the AdderNet release):
3x3 conv + BN + ReLU stem; three stages of BasicBlocks at 16/32/64 channels, the first block of
stages 2 and 3 with stride 2 and a 1x1 (adder or conv) + BN downsample; global average pool;
``fc`` as a 1x1 conv followed by ``bn2``, a BatchNorm over the logits. Names follow the released
checkpoint, so its weights load by key.
"""

from __future__ import annotations

from typing import Literal

from torch import nn

from addnn.nn import Adder2d

Kind = Literal["cnn", "adder"]


def _layer3x3(kind: Kind, cin: int, cout: int, stride: int) -> nn.Module:
    if kind == "adder":
        return Adder2d(cin, cout, 3, stride=stride, padding=1)
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def _layer1x1(kind: Kind, cin: int, cout: int, stride: int) -> nn.Module:
    if kind == "adder":
        return Adder2d(cin, cout, 1, stride=stride)
    return nn.Conv2d(cin, cout, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    def __init__(self, kind: Kind, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = _layer3x3(kind, cin, cout, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _layer3x3(kind, cout, cout, 1)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(_layer1x1(kind, cin, cout, stride),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


def add_stages(net: nn.Module, blocks: int, make_block) -> None:
    """``layer1..3`` of a CIFAR ResNet: 16, 32 and 64 channels, the first block of stages 2
    and 3 with stride 2. ``make_block(cin, cout, stride)`` builds one block."""
    cin = 16
    for stage, (width, stride) in enumerate(((16, 1), (32, 2), (64, 2)), start=1):
        layers = []
        for b in range(blocks):
            layers.append(make_block(cin, width, stride if b == 0 else 1))
            cin = width
        setattr(net, f"layer{stage}", nn.Sequential(*layers))


class CifarResNet(nn.Module):
    def __init__(self, depth: int, kind: Kind = "adder", num_classes: int = 10):
        super().__init__()
        if kind not in ("cnn", "adder"):
            raise ValueError(f"unknown kind {kind!r}: expected 'cnn' or 'adder'")
        if (depth - 2) % 6 != 0:
            raise ValueError(f"CIFAR ResNet depth must be 6n+2, got {depth}")
        blocks = (depth - 2) // 6
        self.kind, self.depth = kind, depth
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        add_stages(self, blocks, lambda cin, cout, stride: BasicBlock(kind, cin, cout, stride))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Conv2d(64, num_classes, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(num_classes)
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = self.bn2(self.fc(self.avgpool(x)))
        return x.flatten(1)


def resnet20(kind: Kind = "adder", num_classes: int = 10) -> CifarResNet:
    return CifarResNet(20, kind, num_classes)


def resnet32(kind: Kind = "adder", num_classes: int = 10) -> CifarResNet:
    return CifarResNet(32, kind, num_classes)


def resnet56(kind: Kind = "adder", num_classes: int = 10) -> CifarResNet:
    return CifarResNet(56, kind, num_classes)
