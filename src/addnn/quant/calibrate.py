"""Post-training quantization: activation-range calibration, the lossless adder-weight clamp,
and BN statistics re-estimation."""

from __future__ import annotations

import torch
from brevitas.graph.calibrate import calibration_mode
from torch import nn
from tqdm import tqdm

from addnn.nn.quant_adder import QuantAdder2d
from addnn.quant.resnet import AddnnBlock, QuantCifarResNet


def _batches(images: torch.Tensor, batch_size: int, desc: str):
    starts = range(0, images.shape[0], batch_size)
    for s in tqdm(starts, desc=desc, leave=False, disable=None):
        yield images[s:s + batch_size]


@torch.no_grad()
def calibrate(model: nn.Module, images: torch.Tensor, batch_size: int = 128) -> None:
    """Brevitas calibration mode: activation quantizers collect statistics with quantization
    off, then fix their (power-of-two) scales."""
    model.eval()
    with calibration_mode(model):
        for x in _batches(images, batch_size, "calibrate"):
            model(x)


def _adder_pairs(model: QuantCifarResNet):
    """(adder, the BN that follows it) for every activation-oriented adder."""
    for block in model.modules():
        if isinstance(block, AddnnBlock):
            yield block.conv1, block.bn1.bn
            yield block.conv2, block.bn2.bn
            if block.downsample is not None:
                yield block.downsample[0], block.downsample[1].bn


@torch.no_grad()
def run_hooked(model: nn.Module, x: torch.Tensor, hooks: list) -> None:
    """One eval-mode forward pass with the given hook handles, removed afterwards."""
    try:
        model.eval()
        model(x)
    finally:
        for h in hooks:
            h.remove()


def input_scales(model: nn.Module, x: torch.Tensor) -> dict[nn.Module, tuple]:
    """(scale, bit width) of the quantized input of every QuantAdder2d."""
    scales = {}
    run_hooked(model, x, [m.register_forward_pre_hook(
        lambda mod, args: scales.__setitem__(mod, (args[0].scale, args[0].bit_width)))
        for m in model.modules() if isinstance(m, QuantAdder2d)])
    return scales


@torch.no_grad()
def clamp_adder_weights(model: QuantCifarResNet, x: torch.Tensor) -> int:
    """Clamp each adder's weights into its input's range [0, (2^b - 1) s] and move the
    excess into the following BN's running mean: for inputs in [lo, hi] and w > hi,
    |x - w| = |x - hi| + (w - hi) (likewise below lo), so the SAD changes by a per-channel
    constant that the BN absorbs exactly. Returns the number of weights clamped."""
    scales = input_scales(model, x)
    clamped = 0
    for adder, bn in _adder_pairs(model):
        scale, bits = scales[adder]
        hi = (2.0 ** bits.item() - 1) * scale.item()
        w = adder.weight
        excess = (w - hi).clamp(min=0) + (-w).clamp(min=0)
        # out = -SAD; the clamped SAD is smaller by `excess`, so out grows by it.
        bn.running_mean += excess.sum((1, 2, 3)).to(bn.running_mean.dtype)
        clamped += int((excess > 0).sum())
        w.clamp_(0.0, hi)
    return clamped


@torch.no_grad()
def reestimate_bn(model: nn.Module, images: torch.Tensor, batch_size: int = 128) -> None:
    """Recompute BN running statistics (cumulative average) with the quantized network."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    saved = [b.momentum for b in bns]
    for b in bns:
        b.reset_running_stats()
        b.momentum = None
    model.train()
    for x in _batches(images, batch_size, "BN statistics"):
        model(x)
    for b, m in zip(bns, saved):
        b.momentum = m
    model.eval()
