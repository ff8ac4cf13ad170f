"""Function-preserving rescaling of a float AdderNet ResNet's activations.

Power-of-two quantizer scales can only place the clipping range at factors of two; multiplying
an activation tensor by ``c`` in [1, 2) first lets the range fall anywhere. Because an adder
is homogeneous, ``Σ|c·x - c·w| = c·Σ|x - w|``, the factor passes through the next adder when its
weights are scaled too, and the BatchNorm after that adder absorbs it in its statistics. The
ReLU commutes with a positive factor. So in float the network computes the same logits (up to
rounding); only where the quantization grid falls changes.

Factors: one per residual-stream stage (the stream is shared by every block of a stage; it
changes scale only at a downsampling block, whose shortcut has its own adder and BN), and one
per block for the activation inside the block (after its first BN and ReLU).
"""

from __future__ import annotations

import torch
from torch import nn

from addnn.errors import AddnnError
from addnn.models.resnet import CifarResNet


def _scale_output(bn: nn.BatchNorm2d, c: float) -> None:
    """BN's output times c: scale its affine parameters."""
    bn.weight.mul_(c)
    bn.bias.mul_(c)


def _scale_input(bn: nn.BatchNorm2d, c: float) -> None:
    """BN's input arrives times c: its output is unchanged when mean -> c·mean and
    var + eps -> c²(var + eps). eps is kept (it is not in the state dict), var absorbs it."""
    bn.running_mean.mul_(c)
    bn.running_var.mul_(c * c).add_((c * c - 1.0) * bn.eps)


def _scale_adder_input(adder: nn.Module, bn: nn.BatchNorm2d, c: float) -> None:
    adder.weight.mul_(c)
    _scale_input(bn, c)


def blocks_of(model: CifarResNet) -> list[tuple[int, nn.Module]]:
    """(stage index, block) in order."""
    return [(s, b) for s, layer in enumerate((model.layer1, model.layer2, model.layer3))
            for b in layer]


@torch.no_grad()
def rescale_activations(model: CifarResNet, stream: list[float], inner: list[float]) -> None:
    """Scale, in place, the residual stream of stage s by ``stream[s]`` and the activation
    inside block i by ``inner[i]``, keeping the network's function."""
    if not isinstance(model, CifarResNet) or model.kind != "adder":
        raise AddnnError("rescaling needs a float AdderNet CIFAR ResNet")
    blocks = blocks_of(model)
    if len(stream) != 3 or len(inner) != len(blocks):
        raise AddnnError(f"rescaling needs 3 stream factors and {len(blocks)} inner ones, got "
                         f"{len(stream)} and {len(inner)}")
    if min(*stream, *inner) <= 0:
        raise AddnnError("rescaling factors must be positive")
    _scale_output(model.bn1, stream[0])
    c = stream[0]
    for (stage, block), ci in zip(blocks, inner):
        c_out = stream[stage]
        if block.downsample is None and c_out != c:
            raise AddnnError(f"stage {stage} starts without a downsampling block")
        _scale_adder_input(block.conv1, block.bn1, c)
        _scale_output(block.bn1, ci)
        _scale_adder_input(block.conv2, block.bn2, ci)
        _scale_output(block.bn2, c_out)
        if block.downsample is not None:
            _scale_adder_input(block.downsample[0], block.downsample[1], c)
            _scale_output(block.downsample[1], c_out)
        c = c_out
    _scale_input(model.bn2, c)      # fc is a linear MAC: its output carries c


# Where the range falls only matters modulo a factor of two (the quantizer's power-of-two scale
# takes the rest), so factors in [1, 2) on a quarter-octave grid cover every placement.
CANDIDATES = (1.0, 2 ** 0.25, 2 ** 0.5, 2 ** 0.75)


def search_factors(score, blocks: int, sweeps: int = 1,
                   candidates: tuple[float, ...] = CANDIDATES, progress=None):
    """Coordinate descent over the 3 stream and ``blocks`` inner factors, minimising
    ``score(stream, inner)`` (lower is better). Returns (stream, inner, best score, trials).
    ``progress(trial_text)`` is called after each trial."""
    stream, inner = [1.0] * 3, [1.0] * blocks
    best = score(stream, inner)
    trials = [{"stream": list(stream), "inner": list(inner), "score": best}]
    for _ in range(sweeps):
        changed = False
        for dim in range(3 + blocks):
            vec, i = (stream, dim) if dim < 3 else (inner, dim - 3)
            for c in candidates:
                if c == vec[i]:
                    continue
                old, vec[i] = vec[i], c
                s = score(stream, inner)
                trials.append({"stream": list(stream), "inner": list(inner), "score": s})
                if progress:
                    progress(f"factor {dim} = {c:.3f}: {s:.4f} (best {min(s, best):.4f})")
                if s < best:
                    best, changed = s, True
                else:
                    vec[i] = old
        if not changed:
            break
    return stream, inner, best, trials
