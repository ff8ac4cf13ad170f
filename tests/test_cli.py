"""The addnn command: its subcommands on shipped assets, and one-line errors with exit 2."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from addnn.cli import main
from addnn.models import resnet20

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "assets" / "models" / "resnet20_adder_official.pt"
SAMPLES = ROOT / "assets" / "samples" / "cifar10_val_exact_256.npz"


def test_eval_shipped_model_on_shipped_samples(capsys, tmp_path):
    """The reported top-1 and count equal a direct forward pass of the model."""
    import json

    from addnn.checkpoint import load_model
    from addnn.data import load_samples
    assert main(["eval", str(MODEL), "--data", str(SAMPLES), "--json",
                 str(tmp_path / "e.json")]) == 0
    out = capsys.readouterr().out
    model, _ = load_model(MODEL)
    samples = load_samples(SAMPLES)
    with torch.no_grad():
        correct = int((model.eval()(samples.normalize(samples.images)).argmax(1)
                       == samples.labels).sum())
    record = json.loads((tmp_path / "e.json").read_text())
    assert (record["correct"], record["images"]) == (correct, 256)
    assert f"({correct}/256 images)" in out and "cifar10-samples" in out


def test_import_official_round_trip(tmp_path, capsys):
    torch.manual_seed(0)
    model = resnet20("adder")
    legacy = {"module." + (k[:-len(".weight")] + ".adder" if v.dim() == 4 and "layer" in k
                           else k): v for k, v in model.state_dict().items()}
    torch.save(legacy, tmp_path / "legacy.pth", _use_new_zipfile_serialization=False)
    assert main(["import-official", str(tmp_path / "legacy.pth"), "-o",
                 str(tmp_path / "f.pt")]) == 0
    assert main(["eval", str(tmp_path / "f.pt"), "--data", str(SAMPLES)]) == 0
    assert "top-1" in capsys.readouterr().out
    # Every weight landed where it belongs: the imported model computes the same logits.
    from addnn.checkpoint import load_model
    imported, _ = load_model(tmp_path / "f.pt")
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(imported.eval()(x), model.eval()(x))


@pytest.mark.parametrize("argv, message", [
    (["eval", "README.md", "--data", "x"], "not a readable torch checkpoint"),
    (["eval", "missing.pt"], "checkpoint not found"),
    (["eval", str(MODEL), "--data", "/nonexistent", "--split", "val"], "cifar10 not found"),
    (["eval", str(MODEL), "--data", "README.md.npz"], "sample file not found"),
    (["import-official", "README.md", "-o", "/tmp/never.pt"], "not a readable torch"),
    (["train", "--config", "/nonexistent.yaml"], "config file not found"),
    (["train", "model.arch=vgg"], "unknown model"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "addnn", *argv], capture_output=True,
                          text=True, cwd=ROOT)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("addnn: error:") and message in lines[0]
    assert not Path("/tmp/never.pt").exists()


def test_plot_command(tmp_path, capsys):
    (tmp_path / "metrics.csv").write_text(
        "epoch,lr,train_loss,train_acc,val_loss,val_acc,images_per_s,seconds\n"
        "1,0.1,2.0,0.3,1.9,0.35,100,1\n2,0.05,1.5,0.5,1.6,0.45,100,1\n")
    assert main(["plot", str(tmp_path)]) == 0
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["plot", str(tmp_path / "nothing")]) == 2


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("train", "eval", "import-official", "plot", "info"):
        assert command in out


def test_quantize_command_end_to_end(tmp_path, capsys):
    """PTQ of the shipped float model on the shipped samples, then eval of the result."""
    out = tmp_path / "q.pt"
    assert main(["quantize", str(MODEL), "--preset", "addnn", "--bits", "6", "--calib-data",
                 str(SAMPLES), "--calib-images", "64", "-o", str(out)]) == 0
    assert "all power-of-two scales" in capsys.readouterr().out
    assert main(["eval", str(out), "--data", str(SAMPLES)]) == 0
    text = capsys.readouterr().out
    top1 = float(text.split("top-1 ")[1].split("%")[0])
    assert top1 >= 90.0                # W6 PTQ keeps the float model's answers on its samples
    assert main(["quantize", str(out), "--calib-data", str(SAMPLES), "-o",
                 str(tmp_path / "again.pt")]) == 2          # already quantized
    assert not (tmp_path / "again.pt").exists()
    (tmp_path / "tuned.pt.finetune").mkdir()      # an earlier run is never overwritten
    assert main(["quantize", str(MODEL), "--calib-data", str(SAMPLES), "--finetune-epochs", "1",
                 "-o", str(tmp_path / "tuned.pt")]) == 2
    assert "holds an earlier fine-tuning run" in capsys.readouterr().err
    assert not (tmp_path / "tuned.pt").exists() and not (tmp_path / "tuned.pt.ptq.pt").exists()
