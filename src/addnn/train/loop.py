"""The training loop: epochs of a recipe, validation, logs, atomic checkpoints, exact resume.

A checkpoint is written at the end of every epoch (``last.pt``) and whenever validation
accuracy improves (``best.pt``). It holds the model, optimiser, scheduler, the epoch, the best
accuracy and the RNG state. Data order and augmentation of an epoch depend only on
(seed, epoch), so resuming from ``last.pt`` continues exactly: on CPU with a fixed seed an
interrupted-and-resumed run ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from addnn.checkpoint import load_model, read_checkpoint, save_model
from addnn.data import BatchLoader, load_dataset
from addnn.errors import AddnnError
from addnn.models import build_model
from addnn.train.config import Config
from addnn.train.distill import check_settings, distill_loss, load_teacher
from addnn.train.distributed import (
    Dist,
    all_sum,
    init_from_torchrun,
    parameters_in_sync,
    rank_device,
    shutdown,
    sync_buffers,
)
from addnn.train.evaluate import evaluate
from addnn.train.metrics_log import MetricsLog, plot_curves
from addnn.train.recipes import build_optimizer, build_scheduler, get_recipe


def _model_spec(cfg: Config) -> dict:
    spec = {"arch": cfg.model.arch, "kind": cfg.model.kind,
            "num_classes": cfg.model.num_classes}
    if cfg.model.quant_preset:
        spec["quant"] = {"preset": cfg.model.quant_preset, "bits": cfg.model.quant_bits}
    return spec


def _save(path: Path, model, cfg: Config, epoch: int, optimizer, scheduler, best: float,
          metrics: dict) -> None:
    save_model(path, model, _model_spec(cfg), data={"dataset": cfg.data.dataset},
               metrics=metrics,
               train_state={"epoch": epoch, "optimizer": optimizer.state_dict(),
                            "scheduler": scheduler.state_dict() if scheduler else None,
                            "best_val_acc": best, "torch_rng": torch.get_rng_state(),
                            "config": cfg.to_dict()})


def _train_epoch(model, loader, optimizer, scheduler, step_per_batch: bool, device,
                 max_steps: int | None, info: Dist, desc: str, freeze_bn: bool,
                 loss_fn) -> dict:
    model.train()
    if freeze_bn:
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.eval()
    loss_sum = correct = seen = 0.0
    start = time.perf_counter()
    steps = len(loader) if max_steps is None else min(max_steps, len(loader))
    bar = tqdm(total=steps, desc=desc, leave=False, disable=None if info.is_main else True)
    for step, (images, labels) in enumerate(loader):
        if step >= steps:
            break
        images, labels = images.to(device), labels.to(device)
        logits = model(images)
        loss = loss_fn(images, logits, labels)
        if not torch.isfinite(loss):
            raise AddnnError(f"training diverged: loss is {loss.item()} at step {step} "
                             f"({desc}); lower the learning rate")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step_per_batch:
            scheduler.step()
        loss_sum += loss.item() * labels.numel()
        correct += (logits.argmax(1) == labels).sum().item()
        seen += labels.numel()
        bar.update()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    elapsed = time.perf_counter() - start
    loss_sum, correct, seen, elapsed = all_sum([loss_sum, correct, seen, elapsed], info, device)
    # train_images: summed over ranks, so DDP shows each rank did its share, not all of it.
    return {"train_loss": loss_sum / max(seen, 1), "train_acc": correct / max(seen, 1),
            "train_images": int(seen),
            "images_per_s": seen / max(elapsed / info.world_size, 1e-9),
            "seconds": elapsed / info.world_size}


def _loss_fn(cfg: Config, device):
    """(images, logits, labels) -> loss: cross-entropy, or distillation from train.teacher."""
    t = cfg.train
    check_settings(t.distill_weight, t.distill_temperature)   # refused before the first step
    if not t.teacher:
        return lambda images, logits, labels: F.cross_entropy(logits, labels)
    teacher = load_teacher(t.teacher, cfg.model.num_classes, device)

    def loss_fn(images, logits, labels):
        with torch.no_grad():
            target = teacher(images)
        return distill_loss(logits, target, labels, t.distill_weight, t.distill_temperature)
    return loss_fn


def train(cfg: Config, resume: bool = False) -> dict:
    """Run (or resume) the training ``cfg`` describes. Returns the last epoch's metrics."""
    info = init_from_torchrun(cfg.train.device)
    device = rank_device(cfg.train.device, info)
    out = Path(cfg.train.out)
    last_path = out / "last.pt"
    if resume and not last_path.exists():
        raise AddnnError(f"--resume: no checkpoint at {last_path}")
    if not resume and last_path.exists():
        raise AddnnError(f"{out} already holds a run; pass --resume or choose another "
                         "train.out")

    recipe = get_recipe(cfg.train.recipe, cfg.train.epochs, cfg.train.lr, cfg.data.batch_size,
                        cfg.train.weight_decay)
    if recipe.batch_size % info.world_size:
        raise AddnnError(f"batch size {recipe.batch_size} does not split over "
                         f"{info.world_size} processes")
    torch.manual_seed(cfg.train.seed)
    model = build_model(**_model_spec(cfg)).to(device)
    if cfg.train.init and not resume:
        init_model, _ = load_model(cfg.train.init)
        model.load_state_dict(init_model.state_dict())

    common = dict(root=cfg.data.root, val=cfg.data.val, size=cfg.data.synthetic_size,
                  download_hint="data.download=true")
    if cfg.data.download and info.is_main:     # one process fetches, the others wait
        load_dataset(cfg.data.dataset, split=cfg.data.train_split, download=True, **common)
    if info.enabled:
        torch.distributed.barrier()
    if cfg.data.train_index:      # exactly the listed training images (read as a "val" list)
        train_set = load_dataset(cfg.data.dataset, split="val",
                                 **dict(common, val=cfg.data.train_index))
    else:
        train_set = load_dataset(cfg.data.dataset, split=cfg.data.train_split, **common)
    # Model selection (best.pt) follows this set: a held-apart directory such as unseen test
    # images, through data.val_root, keeps training images out of it.
    val_set = load_dataset(cfg.data.dataset, split=cfg.data.val_split,
                           **dict(common, root=cfg.data.val_root or cfg.data.root))
    if train_set.num_classes != cfg.model.num_classes:
        raise AddnnError(f"{train_set.name} has {train_set.num_classes} classes but "
                         f"model.num_classes is {cfg.model.num_classes}")
    loader = BatchLoader(train_set, recipe.batch_size // info.world_size, shuffle=True,
                         augment=cfg.data.augment, seed=cfg.train.seed, rank=info.rank,
                         world_size=info.world_size, drop_last=True)
    if len(loader) == 0:
        raise AddnnError(f"{train_set.name}: {len(train_set)} images make no full batch of "
                         f"{recipe.batch_size}")
    if cfg.train.freeze_quant_scales:
        # A learned log2 scale rounds to a new exponent after enough small steps: the
        # activation range then doubles or halves at once. Fine-tuning keeps calibration's.
        for name, param in model.named_parameters():
            if "scaling_impl" in name:
                param.requires_grad_(False)
    loss_fn = _loss_fn(cfg, device)
    optimizer = build_optimizer(recipe, [p for p in model.parameters() if p.requires_grad])
    scheduler = build_scheduler(recipe, optimizer)

    start_epoch, best = 0, -1.0
    if resume:
        state = read_checkpoint(last_path)
        model.load_state_dict(state["state_dict"])
        ts = state["train_state"]
        optimizer.load_state_dict(ts["optimizer"])
        if scheduler is not None and ts["scheduler"] is not None:
            scheduler.load_state_dict(ts["scheduler"])
        torch.set_rng_state(ts["torch_rng"])
        start_epoch, best = ts["epoch"], ts["best_val_acc"]
    net = DistributedDataParallel(model) if info.enabled else model

    log = MetricsLog(out, cfg.train.tensorboard, resume_epoch=start_epoch) if info.is_main \
        else None
    metrics: dict = {}
    clean = False
    try:
        end = recipe.epochs if cfg.train.stop_at is None else min(cfg.train.stop_at,
                                                                  recipe.epochs)
        for epoch in range(start_epoch, end):
            loader.set_epoch(epoch)
            row = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"]}
            row.update(_train_epoch(net, loader, optimizer, scheduler,
                                    recipe.steps_per == "batch", device,
                                    cfg.train.max_steps_per_epoch, info,
                                    f"epoch {epoch + 1}/{recipe.epochs}",
                                    cfg.train.freeze_bn, loss_fn))
            sync_buffers(model, info)
            if (epoch + 1) % cfg.train.eval_every == 0 or epoch + 1 == recipe.epochs:
                val = evaluate(model, val_set, cfg.data.eval_batch_size, device, info)
                row.update(val_loss=val["loss"], val_acc=val["top1"])
            if scheduler is not None and recipe.steps_per == "epoch":
                scheduler.step()
            elif scheduler is not None and recipe.steps_per == "metric":
                scheduler.step(row.get("val_loss", row["train_loss"]))
            metrics = row
            if info.is_main:
                log.append(row)
                _save(last_path, model, cfg, epoch + 1, optimizer, scheduler,
                      max(best, row.get("val_acc", -1.0)), row)
                if row.get("val_acc", -1.0) > best:
                    best = row["val_acc"]
                    _save(out / "best.pt", model, cfg, epoch + 1, optimizer, scheduler, best,
                          row)
                if cfg.train.plot:
                    plot_curves(log.path, title=f"{cfg.model.arch} {cfg.model.kind} on "
                                                f"{cfg.data.dataset}")
                tqdm.write(f"epoch {epoch + 1}: " + ", ".join(
                    f"{k} {v:.4g}" for k, v in row.items() if k != "epoch"))
        metrics["ranks_in_sync"] = parameters_in_sync(model, info)
        metrics["rank"] = info.rank
        if info.enabled and not metrics["ranks_in_sync"]:
            raise AddnnError("DDP ranks ended with different parameters")
        if info.is_main and info.enabled:
            tqdm.write(f"{info.world_size} processes, parameters identical on every rank")
        clean = True
    finally:
        if log is not None:
            log.close()
        shutdown(info, clean)
    return metrics
