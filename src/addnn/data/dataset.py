"""In-memory image datasets: uint8 images, labels and the normalisation to apply."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class ImageDataset:
    """``images`` uint8 [N, C, H, W]; ``labels`` int64 [N]; per-channel ``mean``/``std`` in [0, 1]
    units, applied after scaling pixels to [0, 1]."""

    name: str
    images: torch.Tensor
    labels: torch.Tensor
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __post_init__(self):
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise ValueError(f"{self.name}: images must be uint8 [N, C, H, W], got "
                             f"{self.images.dtype} {tuple(self.images.shape)}")
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(f"{self.name}: {self.images.shape[0]} images but labels of shape "
                             f"{tuple(self.labels.shape)}")
        self.labels = self.labels.long()

    def __len__(self) -> int:
        return self.images.shape[0]

    def subset(self, indices, name: str | None = None) -> "ImageDataset":
        idx = torch.as_tensor(indices, dtype=torch.long)
        return ImageDataset(name or self.name, self.images[idx], self.labels[idx],
                            self.num_classes, self.mean, self.std)

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 batch -> float32 normalised batch."""
        mean = torch.tensor(self.mean).view(1, -1, 1, 1)
        std = torch.tensor(self.std).view(1, -1, 1, 1)
        return (images.float() / 255 - mean) / std
