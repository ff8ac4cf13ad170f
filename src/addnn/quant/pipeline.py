"""``addnn quantize``: float checkpoint -> calibrated (optionally fine-tuned) quantized one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from brevitas.nn import QuantConv2d, QuantIdentity, QuantReLU
from brevitas.quant_tensor import QuantTensor
from torch import nn

from addnn.checkpoint import load_model, save_model
from addnn.data import ImageDataset
from addnn.errors import AddnnError
from addnn.nn.quant_adder import QuantAdder2d
from addnn.numeric import exponent_of
from addnn.quant.calibrate import calibrate, clamp_adder_weights, reestimate_bn, run_hooked
from addnn.quant.presets import get_preset
from addnn.quant.resnet import QuantCifarResNet, from_float

_QUANT_TYPES = (QuantConv2d, QuantIdentity, QuantReLU, QuantAdder2d)


@dataclass
class QuantizeReport:
    clamped_weights: int
    exponents: dict


@torch.no_grad()
def scale_exponents(model: nn.Module, x: torch.Tensor) -> dict[str, int]:
    """Run ``x`` through the model in eval mode and return the power-of-two exponent of every
    quantized output; a scale that is not a power of two is an error naming its module."""
    found, hooks = {}, []

    def record(name):
        def hook(module, args, out):
            if isinstance(out, QuantTensor):
                found[name] = out.scale
        return hook

    for name, m in model.named_modules():
        if name and isinstance(m, _QUANT_TYPES):
            hooks.append(m.register_forward_hook(record(name)))
    run_hooked(model, x, hooks)
    exps = {}
    for name, scale in found.items():
        try:
            exps[name] = exponent_of(scale.item(), f"quantizer {name!r} scale")
        except ValueError as err:
            raise AddnnError(str(err)) from None
    return exps


def quantize_model(model: nn.Module, preset: str, bits: int, calib: ImageDataset,
                   reestimate: bool = False) -> tuple[QuantCifarResNet, QuantizeReport]:
    """PTQ: build the preset's quantized copy, calibrate activations on ``calib``, and (addnn)
    clamp adder weights into their input ranges. ``reestimate`` recomputes BN statistics."""
    p = get_preset(preset, bits)
    q = from_float(model.eval(), p)
    images = calib.normalize(calib.images)
    calibrate(q, images)
    clamped = 0
    if p.bn == "integer":
        clamped = clamp_adder_weights(q, images[:64])
    if reestimate:
        reestimate_bn(q, images)
        calibrate(q, images)
    if p.bn == "integer":
        q.set_integer(True)
    return q, QuantizeReport(clamped, scale_exponents(q, images[:8]))


def quant_spec(q: QuantCifarResNet, arch: str) -> dict:
    return {"arch": arch, "kind": "adder", "num_classes": q.fc.out_channels,
            "quant": {"preset": q.preset.name, "bits": q.preset.bits}}


def quantize_checkpoint(float_path: Path, out: Path, preset: str, bits: int,
                        calib: ImageDataset, reestimate: bool = False) -> QuantizeReport:
    model, data = load_model(float_path)
    if data["model"].get("quant"):
        raise AddnnError(f"{float_path} is already quantized ({data['model']['quant']})")
    q, report = quantize_model(model, preset, bits, calib, reestimate)
    save_model(out, q, quant_spec(q, data["model"]["arch"]), data=data.get("data", {}),
               source=f"addnn quantize {Path(float_path).name} --preset {preset} --bits {bits}",
               calibration={"images": len(calib), "dataset": calib.name,
                            "bn_reestimated": reestimate})
    return report


def finetune(ptq_checkpoint: Path, out: Path, run_dir: Path, data_root: str, dataset: str,
             train_index: str | None, val_index: str | None, epochs: int, lr: float,
             batch_size: int = 128, seed: int = 0, freeze: bool = True,
             teacher: str | None = None, distill_weight: float = 0.5,
             distill_temperature: float = 4.0, val_data: str | None = None) -> dict:
    """Quantization-aware fine-tuning of a PTQ checkpoint with the training loop (its progress
    bars, logs and checkpoints; integer BN maps in the forward pass). ``freeze`` keeps BN
    statistics and quantizer scales fixed; without it both adapt (better at W4). ``teacher``
    (a checkpoint, e.g. the float model) adds distillation (``addnn.train.distill``).
    ``val_data`` (a directory with a test split, e.g. unseen test images) replaces the
    validation images, and so the choice of epoch, in place of ``val_index``.
    Writes the best validation epoch to ``out``; epoch 0 (the PTQ model itself) counts."""
    from addnn.train import load_config, train

    _, data = load_model(ptq_checkpoint)
    spec = data["model"]
    overrides = [f"model.arch={spec['arch']}", f"model.num_classes={spec['num_classes']}",
                 f"model.quant_preset={spec['quant']['preset']}",
                 f"model.quant_bits={spec['quant']['bits']}", f"data.dataset={dataset}",
                 f"data.root={data_root}", f"data.batch_size={batch_size}",
                 "train.recipe=thesis-adam-cosine-low", f"train.epochs={epochs}",
                 f"train.lr={lr}", f"train.init={ptq_checkpoint}",
                 f"train.freeze_bn={str(freeze).lower()}",
                 f"train.freeze_quant_scales={str(freeze).lower()}",
                 f"train.out={run_dir}", f"train.seed={seed}"]
    if train_index:
        overrides.append(f"data.train_index={train_index}")
    if teacher:
        overrides += [f"train.teacher={teacher}", f"train.distill_weight={distill_weight}",
                      f"train.distill_temperature={distill_temperature}"]
    if val_data:
        overrides += [f"data.val_root={val_data}", "data.val_split=test"]
    elif val_index:
        overrides.append(f"data.val={val_index}")
    cfg = load_config(None, overrides)
    metrics = train(cfg)
    model, best = load_model(run_dir / "best.pt")
    best_epoch, best_acc = best["train_state"]["epoch"], best["train_state"]["best_val_acc"]
    # Fine-tuning on few images can lose accuracy: keep the PTQ model when it is better.
    from addnn.data import load_dataset
    from addnn.train import evaluate

    val = (load_dataset(dataset, val_data, "test") if val_data
           else load_dataset(dataset, data_root, "val", val_index))
    start, _ = load_model(ptq_checkpoint)
    ptq_acc = evaluate(start, val, progress=False)["top1"]
    if ptq_acc >= best_acc:
        model, best_epoch, best_acc = start, 0, ptq_acc
    save_model(out, model, spec, data=data.get("data", {}),
               source=data.get("source", "") + f"; fine-tuned {epochs} epochs at lr {lr}",
               calibration=data.get("calibration"), finetune={
                   "epochs": epochs, "lr": lr, "frozen_bn_and_scales": freeze,
                   "teacher": Path(teacher).name if teacher else None,
                   "distill_weight": distill_weight if teacher else None,
                   "distill_temperature": distill_temperature if teacher else None,
                   "train_index": Path(train_index).name if train_index else None,
                   "validation": (f"{dataset} test split of {Path(val_data).name}" if val_data
                                  else f"{dataset} val split"
                                  + (f" listed in {Path(val_index).name}" if val_index else "")),
                   "best_epoch": best_epoch, "best_val_acc": best_acc, "ptq_val_acc": ptq_acc})
    return metrics


def calibration_subset(dataset: ImageDataset, count: int, seed: int = 0) -> ImageDataset:
    if count >= len(dataset):
        return dataset
    idx = np.sort(np.random.default_rng(seed).choice(len(dataset), count, replace=False))
    return dataset.subset(idx)
