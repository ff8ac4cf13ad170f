"""Distillation: the loss against a float64 reference, and the loop really following a
teacher (one whose classes are permuted, so that only the teacher can explain the result)."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from addnn.checkpoint import load_model, save_model
from addnn.data import load_dataset
from addnn.errors import AddnnError
from addnn.models import build_model
from addnn.train import load_config, train
from addnn.train.distill import distill_loss


def _reference(s, t, y, weight, temp):
    """float64 numpy: (1-w)·CE + w·T²·Σ p_t (log p_t - log p_s) / batch."""
    def log_softmax(z):
        z = z - z.max(1, keepdims=True)
        return z - np.log(np.exp(z).sum(1, keepdims=True))
    ce = -log_softmax(s)[np.arange(len(y)), y].mean()
    ls, lt = log_softmax(s / temp), log_softmax(t / temp)
    kl = (np.exp(lt) * (lt - ls)).sum(1).mean()
    return (1 - weight) * ce + weight * temp ** 2 * kl


@settings(max_examples=60, deadline=None)
@given(batch=st.integers(1, 9), classes=st.integers(2, 12), weight=st.floats(0, 1),
       temp=st.floats(0.25, 20), seed=st.integers(0, 2**31 - 1),
       spread=st.sampled_from([1e-3, 1.0, 30.0]))
def test_loss_matches_float64_reference(batch, classes, weight, temp, seed, spread):
    rng = np.random.default_rng(seed)
    s, t = (rng.normal(0, spread, (batch, classes)) for _ in range(2))
    y = rng.integers(0, classes, batch)
    got = distill_loss(torch.from_numpy(s), torch.from_numpy(t), torch.from_numpy(y), weight,
                       temp).item()
    assert got == pytest.approx(_reference(s, t, y, weight, temp), rel=1e-9, abs=1e-9)


def test_soft_term_vanishes_at_the_teacher():
    t = torch.randn(5, 10, dtype=torch.float64)
    s = t.clone().requires_grad_(True)
    loss = distill_loss(s, t, torch.zeros(5, dtype=torch.long), 1.0, 3.0)
    loss.backward()
    assert abs(loss.item()) < 1e-12 and s.grad.abs().max().item() < 1e-12


@pytest.mark.parametrize("weight,temp", [(-0.1, 4.0), (1.5, 4.0), (0.5, 0.0)])
def test_rejects_bad_settings(weight, temp):
    with pytest.raises(AddnnError):
        distill_loss(torch.zeros(1, 2), torch.zeros(1, 2), torch.zeros(1, dtype=torch.long),
                     weight, temp)


BASE = ["model.arch=lenet5", "data.dataset=synthetic-fashion-mnist", "data.synthetic_size=256",
        "data.batch_size=32", "train.recipe=thesis-adam-cosine-low", "train.epochs=12",
        "train.lr=0.002", "data.augment=false", "train.plot=false", "train.tensorboard=false"]


def _predictions(model, dataset):
    model.eval()
    with torch.no_grad():
        return model(dataset.normalize(dataset.images)).argmax(1).numpy()


def test_student_follows_a_permuted_teacher(tmp_path):
    train(load_config(None, [*BASE, f"train.out={tmp_path / 'teacher'}"]))
    teacher, data = load_model(tmp_path / "teacher" / "best.pt")
    perm = torch.roll(torch.arange(10), 3)     # class c is now reported as class perm[c]
    last = teacher.classifier[-1]
    with torch.no_grad():
        last.weight[perm] = last.weight.clone()
        last.bias[perm] = last.bias.clone()
    save_model(tmp_path / "permuted.pt", teacher, data["model"])
    val = load_dataset("synthetic-fashion-mnist", split="val", size=256)
    assert (_predictions(teacher, val) == perm.numpy()[val.labels.numpy()]).mean() >= 0.9

    train(load_config(None, [*BASE, f"train.out={tmp_path / 'student'}",
                             f"train.teacher={tmp_path / 'permuted.pt'}",
                             "train.distill_weight=1.0", "train.distill_temperature=1.0"]))
    student, _ = load_model(tmp_path / "student" / "last.pt")
    pred = _predictions(student, val)
    assert (pred == perm.numpy()[val.labels.numpy()]).mean() >= 0.9    # the teacher's classes
    assert (pred == val.labels.numpy()).mean() <= 0.2                  # not the labels'


def test_teacher_of_another_task_is_refused(tmp_path):
    spec = {"arch": "lenet5", "kind": "adder", "num_classes": 7}
    save_model(tmp_path / "t.pt", build_model(**spec), spec)
    with pytest.raises(AddnnError, match="teacher .* 7 classes, the student 10"):
        train(load_config(None, [*BASE, f"train.teacher={tmp_path / 't.pt'}",
                                 f"train.out={tmp_path / 's'}"]))
