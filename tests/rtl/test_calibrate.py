"""The SAD datapath calibration: a tiny grid through the real yosys, the fits, the CLI, and the
shipped data file."""

import json
import shutil

import pytest

from addnn.cli import main
from addnn.rtl import calibrate

TINY = {"bits": (4,), "simds": (1, 2), "diff_ins": (0, 1), "cmp_widths": (12, 16),
        "add_widths": (8, 12)}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    if shutil.which("yosys") is None:
        pytest.skip("yosys not installed: calibration skipped")
    out = tmp_path_factory.mktemp("cal")
    record = calibrate.run_calibration(out, out / "data" / "cal.json", **TINY)
    return out, record


def test_tiny_grid_fits_reproduce_the_points(tiny):
    out, record = tiny
    assert len(record["points"]) == 4 and set(record["fits"]) == {"B4_DIFF0", "B4_DIFF1"}
    for p in record["points"]:
        f = record["fits"][calibrate.lane_key(p["B"], p["DIFF_IN"])]
        assert p["ACC_W"] == f["ACC_W"] == 15 and p["dsp"] == 0
        for q in calibrate.QUANTITIES:
            assert f[q]["per_lane"] * p["SIMD"] + f[q]["per_pe"] == pytest.approx(p[q], abs=1e-3)
    for p in record["comparator"]["points"]:
        f = record["comparator"]["fit"]["lut"]
        assert f["per_bit"] * p["W"] + f["constant"] == pytest.approx(p["lut"], abs=1e-3)
        assert p["ff"] == p["W"] + calibrate.CMP_COUNT_BITS   # acc carried on, count register
    assert {(p["N"], p["SAT"]) for p in record["adder"]["points"]} == {
        (8, 0), (12, 0), (8, 1), (12, 1)}
    # The LUT subtractors cost LUTs; every lane adds an abs and a tree input.
    by = {(p["DIFF_IN"], p["SIMD"]): p for p in record["points"]}
    assert by[0, 2]["lut"] > by[1, 2]["lut"] and by[1, 2]["lut"] > by[1, 1]["lut"]
    # The data file and the benchmark JSON are the same record; no temporary files are left.
    assert json.loads((out / "data" / "cal.json").read_text()) == json.loads(
        (out / "lane_calibration.json").read_text())
    assert "| 4 | 0 | 15 |" in (out / "lane_calibration.md").read_text()
    assert not list(out.glob(".*")) and not list((out / "data").glob(".*"))


def test_tiny_grid_agrees_with_the_shipped_points(tiny):
    """Same yosys, same source: the shipped raw points are reproducible."""
    _, record = tiny
    shipped = calibrate.load()
    if shipped["yosys"] != record["yosys"]:
        pytest.skip(f"shipped data from {shipped['yosys']}, not {record['yosys']}")
    key = lambda p: (p["B"], p["SIMD"], p["DIFF_IN"])  # noqa: E731
    ship = {key(p): p for p in shipped["points"]}
    for p in record["points"]:
        assert {q: p[q] for q in calibrate.QUANTITIES} == {
            q: ship[key(p)][q] for q in calibrate.QUANTITIES}


def test_shipped_data_file():
    record = calibrate.load()
    fits = record["fits"]
    assert set(fits) == {(b, d) for b in calibrate.BITS for d in calibrate.DIFF_INS}
    assert record["grid"]["SIMD"] == list(calibrate.SIMDS) and "upper bound" in record["notes"]
    for d in calibrate.DIFF_INS:
        lut = [fits[b, d]["lut"]["per_lane"] for b in calibrate.BITS]
        assert lut == sorted(lut) and lut[0] < lut[-1], f"DIFF_IN={d}: {lut}"
    for b in calibrate.BITS:
        assert fits[b, 0]["lut"]["per_lane"] > fits[b, 1]["lut"]["per_lane"]
    for p in record["points"]:
        f = fits[p["B"], p["DIFF_IN"]]
        for q in calibrate.QUANTITIES:
            pred = f[q]["per_lane"] * p["SIMD"] + f[q]["per_pe"]
            assert abs(pred - p[q]) <= f[q]["max_rel_residual"] * max(p[q], 1) + 1e-3
    assert record["comparator"]["fit"]["lut"]["per_bit"] > 0
    assert set(record["adder"]["fit"]) == {"SAT0", "SAT1"}


def test_cli_calibrate(monkeypatch, tmp_path, capsys):
    if shutil.which("yosys") is None:
        pytest.skip("yosys not installed")
    real = calibrate.run_calibration
    monkeypatch.setattr(calibrate, "run_calibration",
                        lambda out, data: real(out, data, **{**TINY, "diff_ins": (1,)}))
    assert main(["rtl", "calibrate", "--out", str(tmp_path), "--no-data"]) == 0
    printed = capsys.readouterr().out
    assert "B=4 DIFF_IN=1" in printed and "lane_calibration.md" in printed
    assert (tmp_path / "lane_calibration.json").exists()


def test_yosys_missing_is_one_line_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(calibrate.shutil, "which", lambda name: None)
    assert main(["rtl", "calibrate", "--out", str(tmp_path), "--no-data"]) == 2
    assert "yosys not found" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
