"""Top-1 accuracy and cross-entropy of a model on a dataset."""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from tqdm import tqdm

from addnn.data import BatchLoader, ImageDataset
from addnn.train.distributed import Dist, all_sum


@torch.no_grad()
def evaluate(model: torch.nn.Module, dataset: ImageDataset, batch_size: int = 256,
             device: str | torch.device = "cpu", dist_info: Dist | None = None,
             progress: bool = True) -> dict:
    """Returns ``top1`` (fraction), mean ``loss``, ``images`` and ``images_per_s``."""
    info = dist_info or Dist()
    device = torch.device(device)
    was_training = model.training
    model.eval()
    loader = BatchLoader(dataset, batch_size, rank=info.rank, world_size=info.world_size,
                         equal_shards=False)
    loss_sum = correct = seen = 0.0
    start = time.perf_counter()
    for images, labels in tqdm(loader, desc=f"eval {dataset.name}", leave=False,
                               disable=None if progress and info.is_main else True):
        images, labels = images.to(device), labels.to(device)
        logits = model(images)
        loss_sum += F.cross_entropy(logits, labels, reduction="sum").item()
        correct += (logits.argmax(1) == labels).sum().item()
        seen += labels.numel()
    elapsed = time.perf_counter() - start
    loss_sum, correct, seen = all_sum([loss_sum, correct, seen], info, device)
    model.train(was_training)
    return {"top1": correct / max(seen, 1), "loss": loss_sum / max(seen, 1), "images": int(seen),
            "correct": int(correct), "images_per_s": seen / max(elapsed, 1e-9)}
