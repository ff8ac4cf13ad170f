"""Synthetic image data in the real datasets' shapes, learnable by small models (for tests)."""

from __future__ import annotations

import torch

from addnn.data.dataset import ImageDataset

_SHAPES = {"cifar10": ((3, 32, 32), 10), "cifar100": ((3, 32, 32), 100),
           "fashion-mnist": ((1, 28, 28), 10)}


def synthetic(like: str = "cifar10", n: int = 256, seed: int = 0,
              split: str = "train") -> ImageDataset:
    """Each class is a fixed random template plus noise, so accuracy above chance is learnable.

    The templates depend only on ``like``, so train and test splits (other seeds) share them.
    """
    (c, h, w), classes = _SHAPES[like]
    templates = torch.randint(40, 216, (classes, c, h, w),
                              generator=torch.Generator().manual_seed(1234))
    gen = torch.Generator().manual_seed(seed + (0 if split == "train" else 10_000))
    labels = torch.randint(0, classes, (n,), generator=gen)
    noise = torch.randint(-40, 41, (n, c, h, w), generator=gen)
    images = (templates[labels] + noise).clamp(0, 255).to(torch.uint8)
    return ImageDataset(f"synthetic-{like}-{split}", images, labels, classes, (0.5,) * c,
                        (0.25,) * c)
