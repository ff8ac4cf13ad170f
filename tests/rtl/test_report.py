"""The synthesis report: stat parsing, a real small yosys run, outputs and errors."""

import json
import shutil

import pytest

from addnn.cli import main
from addnn.errors import AddnnError
from addnn.rtl import report
from addnn.rtl.model import Variant

STAT = """
=== sad_pe ===

   Number of wires:                182
   Number of cells:                409
     CARRY4                         40
     DSP48E2                         2
     FDRE                          148
     FDSE                            3
     INV                             8
     LUT2                          147
     LUT4                           64
     SRL16E                          2

"""


def test_parse_and_summarise_stat():
    cells = report.parse_stat(STAT)
    assert cells["DSP48E2"] == 2 and cells["LUT4"] == 64 and "Number" not in cells
    r = report.summarise(8, Variant.QUAD12, cells)
    assert (r.dsp48e2, r.lut, r.carry4, r.ff, r.srl) == (2, 8 + 147 + 64, 40, 151, 2)
    assert r.lanes_per_dsp == 4 and r.lut_per_lane == pytest.approx(219 / 8)
    with pytest.raises(AddnnError):
        report.parse_stat("no cells here")


@pytest.fixture(scope="module")
def small_report(tmp_path_factory):
    if shutil.which("yosys") is None:
        pytest.skip("yosys not installed: synthesis report skipped")
    out = tmp_path_factory.mktemp("report")
    assert main(["rtl", "report", "--sizes", "8", "--out", str(out)]) == 0
    return out


def test_real_yosys_run_maps_the_dsp_variants_to_dsp48e2(small_report):
    record = json.loads((small_report / "rtl_report.json").read_text())
    by = {r["variant"]: r for r in record["results"]}
    assert set(by) == {"LUT", "QUAD12", "OCTO8"} and record["machine"]["cpu"]
    assert (by["LUT"]["dsp48e2"], by["QUAD12"]["dsp48e2"], by["OCTO8"]["dsp48e2"]) == (0, 2, 1)
    for r in by.values():
        assert r["lut"] > 8 * 18 and r["ff"] >= 8 * 18 and r["carry4"] >= 8 * 5
    # Moving the subtraction into the DSP saves LUTs per lane.
    assert by["QUAD12"]["lut"] < by["OCTO8"]["lut"] < by["LUT"]["lut"]
    assert record["derived"][0]["lanes"] == 8
    # The Octo8 packing overhead: the LUT subtractors before the DSP (4 + 4 + 4 + 2 + 1).
    assert record["derived"][0]["octo8_extra_lut_per_dsp_vs_quad12"] <= 15
    md = (small_report / "rtl_report.md").read_text()
    assert "| 8 | QUAD12 | 2 |" in md
    assert not list(small_report.glob(".*"))          # no temporary files left behind


def test_yosys_missing_or_failing_is_one_line_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(report.shutil, "which", lambda name: None)
    assert main(["rtl", "report", "--sizes", "8", "--out", str(tmp_path)]) == 2
    assert "yosys not found" in capsys.readouterr().err
    monkeypatch.undo()
    if shutil.which("yosys") is None:
        pytest.skip("yosys not installed")
    monkeypatch.setattr(report, "yosys_script", lambda *a: "read_verilog /nonexistent.sv")
    with pytest.raises(AddnnError, match="yosys failed on P=8"):
        report.synthesize(8, Variant.LUT, tmp_path)
    assert not (tmp_path / "rtl_report.json").exists()


def test_bad_sizes(tmp_path):
    with pytest.raises(AddnnError, match="multiples of 8"):
        report.run_report([12], tmp_path)
