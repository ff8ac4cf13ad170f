"""``addnn export``, ``verify`` and ``view`` on the shipped default, and their bad input."""

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from addnn.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "assets" / "models" / "resnet20_adder_addnn_w8.pt"
OFFICIAL = ROOT / "assets" / "models" / "resnet20_adder_official.pt"
SAMPLES = ROOT / "assets" / "samples" / "cifar10_val_exact_256.npz"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "default.onnx"
    assert main(["export", str(DEFAULT), "-o", str(path)]) == 0
    return path


def test_shipped_default_exports_and_matches_pytorch_exactly(exported, tmp_path, capsys):
    from addnn.export import count_ops, load_graph

    assert count_ops(load_graph(exported))["Adder2d"] == 20
    report = tmp_path / "r.json"
    assert main(["verify", str(exported), "--data", str(SAMPLES), "--checkpoint", str(DEFAULT),
                 "--images", "96", "--min-agreement", "100", "--json", str(report)]) == 0
    cmp = json.loads(report.read_text())["comparisons"][0]
    assert (cmp["reference"], cmp["other"]) == ("torch", "qonnx")
    assert cmp["images"] == 96 and cmp["argmax_agreement"] == 1.0
    assert cmp["max_abs_diff"] == 0.0 and cmp["identical_logits"] == 1.0
    assert "argmax agreement 100.00%" in capsys.readouterr().out


def test_lower_and_verify_all_rungs(exported, tmp_path, capsys):
    lowered = tmp_path / "int.onnx"
    assert main(["lower", str(exported), "-o", str(lowered)]) == 0
    assert "BNRequantMap" in capsys.readouterr().out and lowered.exists()
    report = tmp_path / "r.json"
    assert main(["verify", str(exported), "--data", str(SAMPLES), "--checkpoint", str(DEFAULT),
                 "--images", "64", "--float-bn", "--min-agreement", "100",
                 "--json", str(report)]) == 0
    pairs = {(c["reference"], c["other"]): c for c in json.loads(report.read_text())
             ["comparisons"]}
    assert set(pairs) == {("torch", "qonnx"), ("torch-int", "integer"), ("torch", "integer-fbn")}
    assert all(c["identical_logits"] == 1.0 for c in pairs.values() if c["checked"])
    assert not pairs[("torch", "integer-fbn")]["checked"]
    # The lowered graph itself verifies too (it is already integer).
    assert main(["verify", str(lowered), "--data", str(SAMPLES), "--images", "16"]) == 0
    assert "integer vs qonnx" in capsys.readouterr().out


def test_verify_without_checkpoint_reports_graph_accuracy(exported, capsys):
    assert main(["verify", str(exported), "--data", str(SAMPLES), "--images", "32"]) == 0
    out = capsys.readouterr().out
    assert "qonnx: top-1" in out and "integer: top-1" in out and "torch" not in out


def test_agreement_below_threshold_exits_1(exported, capsys):
    assert main(["verify", str(exported), "--data", str(SAMPLES), "--checkpoint", str(DEFAULT),
                 "--images", "8", "--min-agreement", "100.01"]) == 1
    assert "FAIL: argmax agreement" in capsys.readouterr().out


def _one_line_error(argv, capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("addnn: error:") and "\n" not in err
    return err


def test_bad_input_is_one_line_exit_2_and_leaves_no_file(exported, tmp_path, capsys):
    out = tmp_path / "m.onnx"
    assert "not a readable torch checkpoint" in _one_line_error(
        ["export", str(ROOT / "README.md"), "-o", str(out)], capsys)
    assert "use --format qonnx" in _one_line_error(
        ["export", str(DEFAULT), "-o", str(out), "--format", "qcdq"], capsys)
    assert list(tmp_path.iterdir()) == []          # no partial output, no temporary left
    assert "is not an ONNX model" in _one_line_error(
        ["verify", str(ROOT / "README.md"), "--data", str(SAMPLES)], capsys)
    assert "no such file" in _one_line_error(
        ["verify", str(tmp_path / "none.onnx"), "--data", str(SAMPLES)], capsys)
    # The float checkpoint has other weights than the graph: refused before running.
    assert "does not match the graph: the weight of layer1.0.conv1" in _one_line_error(
        ["verify", str(exported), "--data", str(SAMPLES), "--checkpoint", str(OFFICIAL)], capsys)
    assert "is not an ONNX model" in _one_line_error(["view", str(ROOT / "README.md")], capsys)


def test_view_serves_the_graph_on_loopback(exported):
    import netron

    from addnn.export.view import serve

    address = serve(exported, 0)
    try:
        assert address[0] == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{address[1]}/", timeout=20) as page:
            assert page.status == 200 and b"<html" in page.read().lower()
    finally:
        netron.stop(address)


def test_view_command_prints_its_url_and_serves_until_stopped(exported):
    proc = subprocess.Popen([sys.executable, "-m", "addnn", "view", str(exported), "--port",
                             "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("Netron serves") and "http://127.0.0.1:" in line
        url = line.split()[-1]
        with urllib.request.urlopen(url, timeout=20) as page:
            assert page.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)
