"""Training configuration: typed sections read from YAML, every field overridable as key=value.

    model:  {arch: resnet20, kind: adder, num_classes: 10}
    data:   {dataset: cifar10, root: ..., val: null, batch_size: 128, augment: true}
    train:  {recipe: thesis-final, epochs: null, lr: null, seed: 0, out: runs/x, ...}

Overrides use dotted keys (``train.epochs=2``); values are parsed as YAML scalars, never
evaluated as code.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from addnn.errors import AddnnError


@dataclass
class ModelConfig:
    arch: str = "resnet20"
    kind: str = "adder"
    num_classes: int = 10
    quant_preset: str | None = None   # quantization-aware: addnn | thesis | thesis-dwbn
    quant_bits: int = 8


@dataclass
class DataConfig:
    dataset: str = "cifar10"
    root: str | None = None
    download: bool = False            # fetch CIFAR into root when it is missing
    val: str | None = None            # index file; default: the last 5,000 training images
    train_split: str = "train"
    train_index: str | None = None    # index file: train on exactly these training images
    val_split: str = "val"
    val_root: str | None = None       # validate on another copy (e.g. a test split:
                                      # val_split=test); default: root
    batch_size: int | None = None     # None: the recipe's
    eval_batch_size: int = 256
    augment: bool = True
    synthetic_size: int = 512         # images per split for synthetic-* datasets


@dataclass
class TrainConfig:
    recipe: str = "thesis-final"
    epochs: int | None = None         # None: the recipe's
    lr: float | None = None           # None: the recipe's
    weight_decay: float | None = None
    seed: int = 0
    out: str = "runs/train"
    init: str | None = None           # addnn checkpoint to start from (weights only)
    max_steps_per_epoch: int | None = None
    stop_at: int | None = None        # end this invocation after that epoch (resume later);
                                      # the schedule still spans all epochs
    eval_every: int = 1
    plot: bool = True
    tensorboard: bool = True
    device: str = "cpu"
    freeze_bn: bool = False           # keep BN statistics fixed (fine-tuning quantized models)
    freeze_quant_scales: bool = False  # keep calibrated quantizer scales fixed
    teacher: str | None = None        # checkpoint to distil from (addnn.train.distill)
    distill_weight: float = 0.5       # share of the soft (teacher) term in the loss
    distill_temperature: float = 4.0


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _coerce(section: str, name: str, value: Any, annotation: str) -> Any:
    if value is None:
        if "None" in annotation:
            return None
        raise AddnnError(f"config {section}.{name} may not be null")
    if annotation.startswith("bool"):
        if not isinstance(value, bool):
            raise AddnnError(f"config {section}.{name} must be true or false, got {value!r}")
        return value
    for typ, label in ((int, "int"), (float, "float"), (str, "str")):
        if annotation.startswith(label):
            if typ is float and isinstance(value, int) and not isinstance(value, bool):
                return float(value)
            if typ is float and isinstance(value, str):
                # YAML 1.1 reads 3e-4 (no dot) as a string; Python's float reads it.
                try:
                    return float(value)
                except ValueError:
                    pass
            if typ is str and isinstance(value, (int, float)) and not isinstance(value, bool):
                return str(value)
            if not isinstance(value, typ) or isinstance(value, bool):
                raise AddnnError(f"config {section}.{name} must be {label}, got {value!r}")
            return value
    raise AddnnError(f"config {section}.{name}: unsupported type {annotation}")


def _apply(cfg: Config, section: str, values: dict) -> None:
    if not hasattr(cfg, section):
        raise AddnnError(f"unknown config section {section!r}: expected model, data or train")
    target = getattr(cfg, section)
    fields = {f.name: f for f in dataclasses.fields(target)}
    if not isinstance(values, dict):
        raise AddnnError(f"config section {section!r} must be a mapping")
    for name, value in values.items():
        if name not in fields:
            raise AddnnError(f"unknown config key {section}.{name}; known: "
                             f"{', '.join(fields)}")
        setattr(target, name, _coerce(section, name, value, str(fields[name].type)))


def load_config(path: str | Path | None = None, overrides: list[str] = ()) -> Config:
    cfg = Config()
    if path is not None:
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except FileNotFoundError:
            raise AddnnError(f"config file not found: {path}") from None
        except yaml.YAMLError as err:
            raise AddnnError(f"{path} is not valid YAML: {str(err).splitlines()[0]}") from err
        if not isinstance(data, dict):
            raise AddnnError(f"{path}: the top level must be a mapping of sections")
        for section, values in data.items():
            _apply(cfg, section, values)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or key.count(".") != 1:
            raise AddnnError(f"override {item!r} must look like section.key=value")
        section, name = key.split(".")
        try:
            value = yaml.safe_load(raw) if raw != "" else None
        except yaml.YAMLError as err:
            raise AddnnError(f"override {item!r}: {str(err).splitlines()[0]}") from err
        _apply(cfg, section, {name: value})
    return cfg
