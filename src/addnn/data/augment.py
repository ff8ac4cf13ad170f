"""Augmentation on batched uint8 tensors: random crop with zero padding, horizontal flip.

Done for a whole batch with one gather, because image-at-a-time PIL transforms are too slow on
two cores.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_crop_flip(images: torch.Tensor, generator: torch.Generator, pad: int = 4,
                     flip: bool = True) -> torch.Tensor:
    """Crop each image at a random offset of its ``pad``-padded self; flip half of them."""
    n, c, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None]           # [N, 1, H, 1]
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :]           # [N, 1, 1, W]
    batch = torch.arange(n)[:, None, None, None]
    chans = torch.arange(c)[None, :, None, None]
    out = padded[batch, chans, rows, cols]
    if flip:
        mirror = torch.rand(n, generator=generator) < 0.5
        out = torch.where(mirror[:, None, None, None], out.flip(3), out)
    return out
