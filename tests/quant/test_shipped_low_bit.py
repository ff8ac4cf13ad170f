"""The shipped W4A4 and W6A6 models: integer-only, and torch, QONNX and the integer graph give
identical logits on the shipped samples (the ``addnn verify`` ladder)."""

import json
from pathlib import Path

import pytest

from addnn.checkpoint import load_model
from addnn.cli import main
from addnn.quant.layers import BNAct

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "assets" / "samples" / "cifar10_val_exact_256.npz"


@pytest.mark.parametrize("bits", [4, 6])
def test_shipped_low_bit_model_verifies_identically(bits, tmp_path):
    path = ROOT / "assets" / "models" / f"resnet20_adder_addnn_w{bits}.pt"
    model, data = load_model(path)
    assert data["model"]["quant"] == {"preset": "addnn", "bits": bits}
    assert all(m.integer for m in model.modules() if isinstance(m, BNAct))
    onnx = tmp_path / f"w{bits}.onnx"
    assert main(["export", str(path), "-o", str(onnx)]) == 0
    report = tmp_path / "verify.json"
    assert main(["verify", str(onnx), "--data", str(SAMPLES), "--checkpoint", str(path),
                 "--images", "64", "--min-agreement", "100", "--json", str(report)]) == 0
    result = json.loads(report.read_text())
    pairs = {(c["reference"], c["other"]) for c in result["comparisons"]}
    assert pairs == {("torch", "qonnx"), ("torch-int", "integer")}
    assert all(c["images"] == 64 and c["identical_logits"] == 1.0
               for c in result["comparisons"])
    # Fine-tuned with distillation from the float model, which scores 100% on these
    # (training) images: the quantized model keeps nearly all of them.
    assert result["accuracy"]["integer"] >= 0.95
