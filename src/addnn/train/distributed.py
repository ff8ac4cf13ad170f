"""DistributedDataParallel set-up for runs under torchrun (gloo on CPU, nccl on CUDA)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def backend_for(device: str) -> str:
    """The process-group backend for ``device``: NCCL between GPUs, gloo on CPU."""
    return "nccl" if device.startswith("cuda") else "gloo"


def init_from_torchrun(device: str) -> Dist:
    """Join the process group that torchrun describes in its environment, if any."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    if not dist.is_initialized():
        dist.init_process_group(backend_for(device))
    return Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def rank_device(name: str, info: Dist) -> torch.device:
    """The device this process computes on: ``name``, except that every CUDA name becomes
    the process's own GPU, ``cuda:<LOCAL_RANK>`` (torchrun's one GPU per process)."""
    return torch.device(f"cuda:{info.local_rank}" if name.startswith("cuda") else name)


def all_sum(values: list[float], info: Dist, device: torch.device) -> list[float]:
    if not info.enabled:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def sync_buffers(model: torch.nn.Module, info: Dist) -> None:
    """Copy rank 0's buffers (BatchNorm running statistics) to every rank. DDP does this at
    the start of each forward; after an epoch's last step they differ until someone does."""
    if info.enabled:
        for buf in model.buffers():
            dist.broadcast(buf, src=0)


def parameters_in_sync(model: torch.nn.Module, info: Dist) -> bool:
    """True when every rank holds bit-identical parameters and buffers."""
    if not info.enabled:
        return True
    flat = torch.cat([t.detach().double().flatten().cpu() for t in
                      list(model.parameters()) + list(model.buffers())])
    gathered = [torch.empty_like(flat) for _ in range(info.world_size)]
    dist.all_gather(gathered, flat)
    return all(torch.equal(gathered[0], g) for g in gathered[1:])


def shutdown(info: Dist, clean: bool = True) -> None:
    """Leave the process group; wait for the other ranks only after a clean finish (a rank
    that failed must not hang the rest in a barrier)."""
    if info.enabled and dist.is_initialized():
        if clean:
            dist.barrier()
        dist.destroy_process_group()
