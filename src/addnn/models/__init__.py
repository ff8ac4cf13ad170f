"""Model zoo: CIFAR ResNets with adder or convolution layers."""

from addnn.models.resnet import CifarResNet, resnet20, resnet32, resnet56

__all__ = ["CifarResNet", "resnet20", "resnet32", "resnet56"]
