"""Named optimiser + scheduler recipes.

``thesis-final`` and ``addernet-paper`` carry their published settings. The other ``thesis-*``
recipes are the configurations the reference thesis reports trying (its section 3.2.4) without
giving their hyper-parameters; the values here are ours, chosen as the usual defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from addnn.errors import AddnnError


@dataclass(frozen=True)
class Recipe:
    optimizer: str                    # sgd | adam | adamw
    lr: float
    epochs: int
    batch_size: int = 128
    weight_decay: float = 0.0
    momentum: float = 0.9
    scheduler: str = "none"           # none | cosine | cosine-restarts | step | plateau | cyclic
    scheduler_args: dict = field(default_factory=dict)
    note: str = ""

    @property
    def steps_per(self) -> str:
        """When the scheduler steps: every ``epoch``, every ``batch``, or on the val ``metric``."""
        return {"cyclic": "batch", "plateau": "metric"}.get(self.scheduler, "epoch")


RECIPES: dict[str, Recipe] = {
    "thesis-final": Recipe(
        "adam", 0.01, 500, scheduler="cosine", scheduler_args={"eta_min": 0.001},
        note="Adam, cosine annealing 0.01 -> 0.001 over 500 epochs (thesis: 86.61% at 8 bits)"),
    "addernet-paper": Recipe(
        "sgd", 0.1, 400, batch_size=256, weight_decay=5e-4, scheduler="cosine",
        scheduler_args={"eta_min": 0.0},
        note="SGD momentum 0.9, wd 5e-4, cosine from 0.1 over 400 epochs, batch 256"),
    "thesis-sgd": Recipe(
        "sgd", 0.1, 500, weight_decay=5e-4, note="SGD, constant lr (thesis: loss exploded)"),
    "thesis-adam-cyclic-cosine": Recipe(
        "adam", 0.01, 500, scheduler="cosine-restarts", scheduler_args={"T_0": 10, "eta_min": 0.0},
        note="Adam + cosine annealing with warm restarts (thesis: stalled early)"),
    "thesis-adamw-step": Recipe(
        "adamw", 0.01, 500, weight_decay=0.01, scheduler="step",
        scheduler_args={"step_size": 150, "gamma": 0.1},
        note="AdamW + StepLR (thesis: unstable loss)"),
    "thesis-adam-plateau": Recipe(
        "adam", 0.01, 500, scheduler="plateau", scheduler_args={"factor": 0.1, "patience": 10},
        note="Adam + ReduceLROnPlateau on validation loss (thesis: 57%)"),
    "thesis-adam-cosine-low": Recipe(
        "adam", 0.001, 500, scheduler="cosine", scheduler_args={"eta_min": 0.0},
        note="Adam at lr 0.001 + cosine annealing (thesis: 81%)"),
    "thesis-adam-cyclic": Recipe(
        "adam", 0.01, 500, scheduler="cyclic",
        scheduler_args={"base_lr": 1e-4, "step_size_up": 2000, "mode": "triangular2"},
        note="Adam + CyclicLR (thesis: 82%)"),
}


def get_recipe(name: str, epochs: int | None = None, lr: float | None = None,
               batch_size: int | None = None, weight_decay: float | None = None) -> Recipe:
    if name not in RECIPES:
        raise AddnnError(f"unknown recipe {name!r}: expected one of {', '.join(RECIPES)}")
    changes = {k: v for k, v in dict(epochs=epochs, lr=lr, batch_size=batch_size,
                                      weight_decay=weight_decay).items() if v is not None}
    recipe = replace(RECIPES[name], **changes)
    if recipe.epochs < 1 or recipe.lr <= 0 or recipe.batch_size < 1:
        raise AddnnError(f"recipe {name}: epochs, lr and batch size must be positive")
    return recipe


def build_optimizer(recipe: Recipe, params) -> torch.optim.Optimizer:
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(params, lr=recipe.lr, momentum=recipe.momentum,
                               weight_decay=recipe.weight_decay)
    if recipe.optimizer == "adam":
        return torch.optim.Adam(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    raise AddnnError(f"unknown optimizer {recipe.optimizer!r}")


def build_scheduler(recipe: Recipe, optimizer: torch.optim.Optimizer):
    args = dict(recipe.scheduler_args)
    sched = torch.optim.lr_scheduler
    if recipe.scheduler == "none":
        return None
    if recipe.scheduler == "cosine":
        return sched.CosineAnnealingLR(optimizer, T_max=recipe.epochs, **args)
    if recipe.scheduler == "cosine-restarts":
        return sched.CosineAnnealingWarmRestarts(optimizer, **args)
    if recipe.scheduler == "step":
        return sched.StepLR(optimizer, **args)
    if recipe.scheduler == "plateau":
        return sched.ReduceLROnPlateau(optimizer, mode="min", **args)
    if recipe.scheduler == "cyclic":
        return sched.CyclicLR(optimizer, max_lr=recipe.lr, cycle_momentum=False, **args)
    raise AddnnError(f"unknown scheduler {recipe.scheduler!r}")
