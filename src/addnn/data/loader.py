"""Batches from an in-memory dataset: seeded shuffling, rank sharding, augmentation.

Every random choice of an epoch comes from a generator seeded with (seed, epoch), so an epoch is
the same whether the run was interrupted before it or not: that is what makes resume exact.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from addnn.data.augment import random_crop_flip
from addnn.data.dataset import ImageDataset


class BatchLoader:
    def __init__(self, dataset: ImageDataset, batch_size: int, shuffle: bool = False,
                 augment: bool = False, seed: int = 0, rank: int = 0, world_size: int = 1,
                 drop_last: bool = False, equal_shards: bool = True):
        """``equal_shards``: every rank gets the same number of images (training: DDP needs the
        same steps on every rank); otherwise ranks take every world_size-th image (evaluation:
        every image counted once)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.dataset, self.batch_size = dataset, batch_size
        self.shuffle, self.augment, self.seed = shuffle, augment, seed
        self.rank, self.world_size, self.drop_last = rank, world_size, drop_last
        self.equal_shards = equal_shards
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _order(self) -> tuple[torch.Tensor, torch.Generator]:
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        n = len(self.dataset)
        order = torch.randperm(n, generator=gen) if self.shuffle else torch.arange(n)
        if self.world_size > 1 and self.equal_shards:
            per_rank = n // self.world_size
            order = order[self.rank * per_rank:(self.rank + 1) * per_rank]
        elif self.world_size > 1:
            order = order[self.rank::self.world_size]
        return order, gen

    def _shard_size(self) -> int:
        n, w = len(self.dataset), self.world_size
        if w == 1:
            return n
        return n // w if self.equal_shards else len(range(self.rank, n, w))

    def __len__(self) -> int:
        n = self._shard_size()
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order, gen = self._order()
        for b in range(len(self)):
            idx = order[b * self.batch_size:(b + 1) * self.batch_size]
            images = self.dataset.images[idx]
            if self.augment:
                images = random_crop_flip(images, gen)
            yield self.dataset.normalize(images), self.dataset.labels[idx]
