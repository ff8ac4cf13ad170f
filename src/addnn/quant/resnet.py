"""Quantized CIFAR ResNets for each preset, built from a float model's weights."""

from __future__ import annotations

import torch
from brevitas.nn import QuantConv2d, QuantIdentity, QuantReLU
from torch import nn

from addnn.errors import AddnnError
from addnn.models.resnet import CifarResNet, add_stages
from addnn.nn.adder import Adder2d
from addnn.nn.quant_adder import QuantAdder2d
from addnn.numeric import IntType, adder_acc_type
from addnn.quant.layers import AvgPoolToGrid, BNAct, scale_of, value_of
from addnn.quant.presets import Preset


def _act(quant, bits: int) -> QuantIdentity:
    return QuantIdentity(act_quant=quant, bit_width=bits, return_quant_tensor=True)


def _adder_acc(window: int, bits: int):
    """Accumulator type of an activation-oriented adder: input and weight both unsigned
    ``bits`` wide at the same exponent."""
    def acc_type(e: int) -> IntType:
        x = IntType(bits, False, e)
        return adder_acc_type(x, 0, x.hi, e, window)
    return acc_type


def _mac_acc(window: int, x_bits: int, w_bits: int):
    """Accumulator type of an integer MAC over ``window`` products of signed operands."""
    def acc_type(e: int) -> IntType:
        bound = window * (1 << (x_bits - 1 if x_bits > 1 else 1)) * (1 << (w_bits - 1))
        return IntType.for_range(-bound, bound, e)
    return acc_type


class AddnnBlock(nn.Module):
    """Integer-only BasicBlock: adders on the input's grid, BN maps, integer residual add.
    With a residual stream wider than ``p.bits``, ``adder_input`` requantizes the block input
    to ``p.bits`` for the adders; the shortcut keeps the wide value."""

    def __init__(self, p: Preset, cin: int, cout: int, stride: int):
        super().__init__()
        b, sb = p.bits, p.stream_bits
        self.adder_input = _act(p.act_unsigned, b) if sb > b else None
        self.conv1 = QuantAdder2d(cin, cout, 3, stride, 1, weight_quant="input")
        self.bn1 = BNAct(nn.BatchNorm2d(cout), _act(p.act_unsigned, b), True,
                         _adder_acc(cin * 9, b))
        self.conv2 = QuantAdder2d(cout, cout, 3, 1, 1, weight_quant="input")
        self.residual = _act(p.act_signed, sb + 1)     # shared by both operands
        self.bn2 = BNAct(nn.BatchNorm2d(cout), self.residual, False, _adder_acc(cout * 9, b))
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                QuantAdder2d(cin, cout, 1, stride, 0, weight_quant="input"),
                BNAct(nn.BatchNorm2d(cout), self.residual, False, _adder_acc(cin, b)))
        self.relu = QuantReLU(act_quant=p.act_unsigned, bit_width=sb, return_quant_tensor=True)

    def forward(self, x):
        xa = x if self.adder_input is None else self.adder_input(x)
        out = self.bn1(self.conv1(xa), scale_of(xa))
        out = self.bn2(self.conv2(out), scale_of(out))
        if self.downsample is None:
            identity = self.residual(x)
        else:
            identity = self.downsample[1](self.downsample[0](xa), scale_of(xa))
        return self.relu(out + identity)


class ThesisBlock(nn.Module):
    """The reference design's block (thesis listing 3.2), with float BN or its DW conv."""

    def __init__(self, p: Preset, cin: int, cout: int, stride: int):
        super().__init__()
        b = p.bits

        def adder(ci, co, k, s, pad):
            return QuantAdder2d(ci, co, k, s, pad, weight_quant=p.adder_weight,
                                weight_bit_width=b, input_quant=p.act_signed, input_bit_width=b,
                                output_quant=p.act_signed, output_bit_width=b)

        self.conv1 = adder(cin, cout, 3, stride, 1)
        self.bn1 = _norm(p, cout)
        self.relu = QuantReLU(act_quant=p.act_unsigned, input_quant=p.act_unsigned,
                              bit_width=b, input_bit_width=b, return_quant_tensor=True)
        self.conv2 = adder(cout, cout, 3, 1, 1)
        self.bn2 = _norm(p, cout)
        self.input_quant = _act(p.act_signed, b)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(adder(cin, cout, 1, stride, 0), _norm(p, cout))
        # The reference appends a QuantIdentity after each stride-2 block.
        self.stage_quant = _act(p.act_signed, b) if stride != 1 else None

    def forward(self, x):
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.input_quant(self.bn2(self.conv2(out)))
        out = self.relu(out + self.input_quant(residual))
        return self.stage_quant(out) if self.stage_quant is not None else out


def _norm(p: Preset, channels: int) -> nn.Module:
    if p.bn == "dwconv":
        return QuantConv2d(channels, channels, 1, groups=channels, bias=True,
                           weight_quant=p.dw_weight, weight_bit_width=p.bits,
                           return_quant_tensor=False)
    return nn.BatchNorm2d(channels)


class QuantCifarResNet(nn.Module):
    def __init__(self, p: Preset, depth: int = 20, num_classes: int = 10):
        super().__init__()
        self.preset = p
        blocks = (depth - 2) // 6
        block_cls = AddnnBlock if p.bn == "integer" else ThesisBlock
        if p.bn == "integer":
            self.input_quant = _act(p.act_signed, 8)
            self.conv1 = QuantConv2d(3, 16, 3, padding=1, bias=False, weight_quant=p.conv_weight,
                                     return_quant_tensor=True)
            self.bn1 = BNAct(nn.BatchNorm2d(16), _act(p.act_unsigned, p.stream_bits), True,
                             _mac_acc(27, 8, 8))
        else:
            self.input_quant = None
            self.conv1 = QuantConv2d(3, 16, 3, padding=1, bias=False, weight_quant=p.conv_weight,
                                     input_quant=p.act_signed, output_quant=p.act_signed)
            self.bn1 = _norm(p, 16)
            self.relu = QuantReLU(act_quant=p.act_unsigned, input_quant=p.act_unsigned,
                                  bit_width=p.bits, input_bit_width=p.bits,
                                  return_quant_tensor=True)
        add_stages(self, blocks, lambda cin, cout, stride: block_cls(p, cin, cout, stride))
        if p.bn == "integer":
            self.avgpool = AvgPoolToGrid()
            self.fc = QuantConv2d(64, num_classes, 1, bias=False, weight_quant=p.conv_weight,
                                  return_quant_tensor=True)
            self.bn2 = BNAct(nn.BatchNorm2d(num_classes), _act(p.act_signed, p.logit_bits),
                             False, _mac_acc(64, p.stream_bits + 1, 8))
        else:
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = QuantConv2d(64, num_classes, 1, bias=False, weight_quant=p.conv_weight,
                                  input_quant=p.act_signed, output_quant=p.act_signed)
            self.bn2 = _norm(p, num_classes)

    def forward(self, x):
        if self.preset.bn == "integer":
            x = self.input_quant(x)
            acc = self.conv1(x)
            x = self.bn1(acc, scale_of(acc))
            x = self.layer3(self.layer2(self.layer1(x)))
            acc = self.fc(self.avgpool(x))
            return value_of(self.bn2(acc, scale_of(acc))).flatten(1)
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = self.bn2(self.fc(self.avgpool(x)))
        return value_of(x).flatten(1)

    def set_integer(self, enabled: bool = True) -> None:
        """Evaluate BN + requantization with the exact integer maps (``addnn`` preset)."""
        for m in self.modules():
            if isinstance(m, BNAct):
                m.integer = enabled


def bn_to_depthwise(bn: nn.BatchNorm2d, conv: nn.Conv2d) -> None:
    """Load ``conv`` (1x1, groups=C, bias) with the affine map BN computes in eval mode:
    scale = gamma / sqrt(var + eps), bias = beta - scale * mean."""
    scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    with torch.no_grad():
        conv.weight.copy_(scale.view(-1, 1, 1, 1))
        conv.bias.copy_(bn.bias.detach() - scale * bn.running_mean)


def _copy_bn(src: nn.BatchNorm2d, dst: nn.Module) -> None:
    if isinstance(dst, BNAct):
        dst = dst.bn
    if isinstance(dst, nn.BatchNorm2d):
        dst.load_state_dict(src.state_dict())
    elif isinstance(dst, nn.Conv2d):
        bn_to_depthwise(src, dst)
    else:
        raise AddnnError(f"cannot place BatchNorm into {type(dst).__name__}")


def from_float(model: CifarResNet, p: Preset) -> QuantCifarResNet:
    """A quantized copy of a float adder ResNet with every weight and BN statistic in place."""
    if not isinstance(model, CifarResNet) or model.kind != "adder":
        raise AddnnError("quantization needs an AdderNet CIFAR ResNet (kind='adder')")
    qmodel = QuantCifarResNet(p, model.depth, model.bn2.num_features)
    qmods = dict(qmodel.named_modules())
    placed = 0
    for name, src in model.named_modules():
        if isinstance(src, nn.BatchNorm2d):
            _copy_bn(src, qmods[name])
            placed += 1
        elif isinstance(src, (Adder2d, nn.Conv2d)):
            dst = qmods[name]
            with torch.no_grad():
                dst.weight.copy_(src.weight)
            placed += 1
    expected = sum(isinstance(m, (nn.BatchNorm2d, Adder2d, nn.Conv2d)) for m in model.modules())
    if placed != expected:
        raise AddnnError(f"placed {placed} of {expected} layers")
    return qmodel
