"""addnn checkpoint files: a model spec, its weights and optional training state.

Written atomically (temporary file, then rename) and read with ``weights_only=True``: the
format holds only tensors, numbers, strings, lists and dicts.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch
from torch import nn

from addnn.atomic import atomic_write
from addnn.errors import AddnnError

FORMAT = "addnn-checkpoint"
VERSION = 1


def atomic_save(obj: Any, path: str | Path) -> None:
    """torch.save to a temporary file beside ``path``, then rename over it."""
    atomic_write(path, lambda tmp: torch.save(obj, tmp))


def save_model(path: str | Path, model: nn.Module, spec: dict, **extra: Any) -> None:
    """Save ``model`` with the ``spec`` (arch, kind, num_classes) that rebuilds it."""
    atomic_save({"format": FORMAT, "version": VERSION, "model": dict(spec),
                 "state_dict": model.state_dict(), **extra}, path)


def _first_words(err: Exception, limit: int = 80) -> str:
    if isinstance(err, pickle.UnpicklingError):   # torch's text here is advice, not a cause
        return "not a torch file, or it holds objects other than tensors"
    text = str(err).splitlines()[0] if str(err) else ""
    return text if len(text) <= limit else text[:limit] + "..."


def load_tensors(path: str | Path) -> Any:
    """``torch.load(weights_only=True)`` on CPU, with a one-line error for a bad file."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise AddnnError(f"checkpoint not found: {path}") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as err:
        raise AddnnError(f"{path} is not a readable torch checkpoint "
                         f"({type(err).__name__}: {_first_words(err)})") from err


def read_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    data = load_tensors(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise AddnnError(f"{path} is not an addnn checkpoint (for the released AdderNet file "
                         "use `addnn import-official`)")
    if data.get("version", 0) > VERSION:
        raise AddnnError(f"{path} has checkpoint version {data['version']}; this addnn reads "
                         f"up to {VERSION}")
    return data


def load_model(path: str | Path) -> tuple[nn.Module, dict]:
    """Rebuild the model a checkpoint describes and load its weights. Returns (model, data)."""
    from addnn.models import build_model

    data = read_checkpoint(path)
    model = build_model(**data["model"])
    try:
        model.load_state_dict(data["state_dict"])
    except RuntimeError as err:
        raise AddnnError(f"{path}: weights do not fit {data['model']}: "
                         f"{str(err).splitlines()[0]}") from err
    return model, data
