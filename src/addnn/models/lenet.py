"""LeNet-5 with BatchNorm (LeNet-5-BN of the AdderNet paper) for 28x28 grayscale images.

Both feature layers are adder layers in the ``adder`` kind (the paper replaces every
convolution); the three classifier layers stay fully connected.
"""

from __future__ import annotations

from torch import nn

from addnn.nn import Adder2d


def _features(kind: str, cin: int, cout: int, padding: int) -> nn.Module:
    if kind == "adder":
        return Adder2d(cin, cout, 5, padding=padding)
    return nn.Conv2d(cin, cout, 5, padding=padding, bias=False)


class LeNet5(nn.Module):
    def __init__(self, kind: str = "adder", num_classes: int = 10, in_channels: int = 1):
        super().__init__()
        if kind not in ("cnn", "adder"):
            raise ValueError(f"unknown kind {kind!r}: expected 'cnn' or 'adder'")
        self.kind = kind
        self.features = nn.Sequential(
            _features(kind, in_channels, 6, 2), nn.BatchNorm2d(6), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            _features(kind, 6, 16, 0), nn.BatchNorm2d(16), nn.ReLU(inplace=True),
            nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.BatchNorm1d(120), nn.ReLU(inplace=True),
            nn.Linear(120, 84), nn.BatchNorm1d(84), nn.ReLU(inplace=True),
            nn.Linear(84, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


def lenet5(kind: str = "adder", num_classes: int = 10) -> LeNet5:
    return LeNet5(kind, num_classes)
