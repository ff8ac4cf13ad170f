"""Knowledge distillation: the loss of a student trained against a frozen teacher's logits.

Used to fine-tune low-bit quantized models against the float model they came from (Hinton et
al., 2015): the teacher's softened class distribution carries more per image than the label,
which matters when only a few thousand exact-pixel images are available.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from addnn.checkpoint import load_model
from addnn.errors import AddnnError


def check_settings(weight: float, temperature: float) -> None:
    if not 0.0 <= weight <= 1.0:
        raise AddnnError(f"distillation weight {weight} outside [0, 1]")
    if temperature <= 0:
        raise AddnnError(f"distillation temperature {temperature} must be positive")


def distill_loss(logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor,
                 weight: float, temperature: float) -> torch.Tensor:
    """``(1 - weight)·CE(logits, labels) + weight·T²·KL(teacher_T ‖ student_T)``.

    The T² factor keeps the soft term's gradient on the scale of the hard one (its gradient
    shrinks as 1/T²), so ``weight`` means the same at every temperature."""
    check_settings(weight, temperature)
    hard = F.cross_entropy(logits, labels)
    if weight == 0.0:
        return hard
    soft = F.kl_div(F.log_softmax(logits / temperature, 1),
                    F.log_softmax(teacher_logits / temperature, 1), reduction="batchmean",
                    log_target=True) * temperature ** 2
    return (1.0 - weight) * hard + weight * soft


def load_teacher(path: str, num_classes: int, device) -> torch.nn.Module:
    """The frozen teacher: an addnn checkpoint (float or quantized) in eval mode."""
    teacher, data = load_model(path)
    if data["model"]["num_classes"] != num_classes:
        raise AddnnError(f"teacher {path} has {data['model']['num_classes']} classes, the "
                         f"student {num_classes}")
    teacher.eval().to(device)
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher
