"""Regression tests for CLI defects found by trying the commands as a new user (issue 16):
output folders that do not exist yet, progress bars in piped output, and the missing-dataset
hint."""

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from addnn.cli import main

ROOT = Path(__file__).parents[1]
MODEL = ROOT / "assets" / "models" / "resnet20_adder_addnn_w8.pt"
SAMPLES = ROOT / "assets" / "samples" / "cifar10_val_exact_256.npz"


def test_every_writing_command_creates_a_missing_output_folder(tmp_path):
    deep = tmp_path / "not" / "there"
    assert main(["export", str(MODEL), "-o", str(deep / "e" / "m.onnx")]) == 0
    assert main(["lower", str(deep / "e" / "m.onnx"), "-o", str(deep / "l" / "i.onnx")]) == 0
    assert main(["verify", str(deep / "e" / "m.onnx"), "--data", str(SAMPLES), "--images", "8",
                 "--no-integer", "--json", str(deep / "v" / "r.json")]) == 0
    assert main(["quantize", str(ROOT / "assets" / "models" / "resnet20_adder_official.pt"),
                 "-o", str(deep / "q" / "q.pt"), "--calib-data", str(SAMPLES),
                 "--calib-images", "8"]) == 0
    assert main(["hls", str(deep / "l" / "i.onnx"), "-o", str(deep / "h" / "prj"),
                 "--tb-images", "1"]) == 0
    for path in ("e/m.onnx", "l/i.onnx", "v/r.json", "q/q.pt", "h/prj/project.json"):
        assert (deep / path).is_file(), path
    if shutil.which("g++"):
        assert main(["csim", str(deep / "h" / "prj"), "--json", str(deep / "c" / "r.json")]) == 0
        assert (deep / "c" / "r.json").is_file()
    if shutil.which("yosys"):
        assert main(["rtl", "report", "--sizes", "8", "--out", str(deep / "rtl")]) == 0
        assert (deep / "rtl" / "rtl_report.json").is_file()


def test_progress_bars_stay_off_piped_output(tmp_path):
    """Bars belong on a terminal: with stdout and stderr piped, no bar refreshes."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for args in (["eval", str(MODEL), "--data", str(SAMPLES), "--batch-size", "32"],
                 ["verify", str(tmp_path / "m.onnx"), "--data", str(SAMPLES), "--images", "64",
                  "--batch-size", "16", "--no-integer"]):
        if args[0] == "verify":
            assert main(["export", str(MODEL), "-o", str(tmp_path / "m.onnx")]) == 0
        res = subprocess.run([sys.executable, "-m", "addnn", *args], capture_output=True,
                             text=True, env=env, stdin=subprocess.DEVNULL)
        assert res.returncode == 0, res.stderr
        assert "\r" not in res.stderr and "it/s" not in res.stderr and \
            "batch/s" not in res.stderr, res.stderr[:300]


def test_every_progress_bar_is_for_terminals_only():
    """Every tqdm(...) in src/ and benchmarks/ passes disable= (None: terminal only)."""
    missing = []
    for path in list((ROOT / "src").rglob("*.py")) + list((ROOT / "benchmarks").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "tqdm":
                if not any(k.arg == "disable" for k in node.keywords):
                    missing.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not missing


def test_missing_dataset_hint_names_the_commands_own_option(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["eval", str(MODEL), "--data", str(empty)]) == 2
    err = capsys.readouterr().err
    assert "--download" in err and "download_cifar" not in err and len(err.splitlines()) == 1
    # A command without --download does not offer it.
    assert main(["export", str(MODEL), "-o", str(tmp_path / "m.onnx")]) == 0
    assert main(["verify", str(tmp_path / "m.onnx"), "--data", str(empty)]) == 2
    err = capsys.readouterr().err
    assert "not found" in err and "--download" not in err and "download_cifar" not in err


def test_training_config_hint_names_data_download(tmp_path):
    from addnn.errors import AddnnError
    from addnn.train import load_config, train

    cfg = load_config(ROOT / "configs" / "resnet20_adder.yaml",
                      [f"data.root={tmp_path}", f"train.out={tmp_path / 'run'}",
                       "train.epochs=1"])
    with pytest.raises(AddnnError, match="data.download=true"):
        train(cfg)
