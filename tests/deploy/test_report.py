"""``addnn report`` in headless Chromium: the page renders, every chart decodes, every table is
there; a build without some records names the commands that would add them."""

import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from addnn.errors import AddnnError
from addnn.report.page import CHART_IDS, TABLE_IDS, write_report

ROOT = Path(__file__).parents[2]
BENCH = ROOT / "benchmarks" / "results"


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        exe = shutil.which(name)
        if exe:
            return exe
    pytest.skip("no headless Chromium (Debian package chromium; make setup installs it as root)")


class _Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.charts, self.body = {}, {}, {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids[a["id"]] = tag
        if tag == "img" and "chart" in a.get("class", ""):
            self.charts[a.get("id")] = a.get("data-loaded")
        if tag == "body":
            self.body = a


def _render(page: Path, tmp: Path):
    exe = _chromium()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--user-data-dir={tmp / 'profile'}", "--virtual-time-budget=5000"]
    dom = subprocess.run([exe, *flags, "--dump-dom", page.as_uri()], capture_output=True,
                         text=True, timeout=120)
    shot = tmp / "shot.png"
    subprocess.run([exe, *flags, "--window-size=1200,3000", f"--screenshot={shot}",
                    page.as_uri()], capture_output=True, timeout=120)
    parsed = _Dom()
    parsed.feed(dom.stdout)
    return parsed, shot


@pytest.fixture(scope="module")
def build(shipped_project, tmp_path_factory):
    """A build directory with the records of `make demo`'s later stages, from the shipped
    default's project: its estimate, csim (a batch of 4), the deploy package with the driver
    check, and the eval and verify records of the repository's benchmarks stand in for the
    ones the demo writes."""
    from addnn.deploy.package import deploy
    from addnn.hls.csim import csim, write_report as write_csim

    b = tmp_path_factory.mktemp("build")
    samples = ROOT / "assets" / "samples" / "cifar10_val_exact_256.npz"
    subprocess.run([sys.executable, "-m", "addnn", "estimate", str(shipped_project), "-o",
                    str(b / "estimate_w8" / "folding.json")], check=True, capture_output=True)
    write_csim(csim(shipped_project, data=str(samples), images=32, batch=4), b / "csim_w8.json")
    deploy(shipped_project, b / "hls_w8_est_kv260", samples=samples, check_driver=8, batch=4)
    (b / "rtl").mkdir()
    shutil.copy(BENCH / "rtl_report.json", b / "rtl" / "rtl_report.json")
    official = json.loads((BENCH / "official_eval.json").read_text())
    exact = next(v for k, v in official["sets"].items() if k.startswith("val-exact"))
    (b / "eval_float.json").write_text(json.dumps({**exact, "command": official["command"]}))
    shutil.copy(BENCH / "verify_shipped_samples.json", b / "verify_w8.json")
    return b


def test_the_report_renders_with_every_chart_and_table(build, tmp_path):
    page = tmp_path / "report.html"
    r = write_report(build, page, BENCH)
    assert r.missing == {}
    dom, shot = _render(page, tmp_path)
    assert dom.body.get("data-ready") == "yes"                  # the page's script ran
    for table in TABLE_IDS:
        assert dom.ids.get(table) == "table", table
    assert set(dom.charts) == set(CHART_IDS)
    assert all(v == "yes" for v in dom.charts.values()), dom.charts   # every PNG decoded
    import matplotlib.image

    img = matplotlib.image.imread(shot)
    assert img.shape[0] >= 2000 and img.shape[1] >= 1000
    assert img[..., :3].std() > 0.05                              # not a blank page
    html = page.read_text()
    for rung in ("float PyTorch", "QONNX", "integer graph", "C simulation", "PYNQ driver"):
        assert rung in html
    assert "reference (thesis" in html and "NN2FPGA" in html and "QUAD12" in html


def test_a_partial_build_names_what_is_missing(tmp_path):
    (tmp_path / "b").mkdir()
    shutil.copy(BENCH / "verify_shipped_samples.json", tmp_path / "b" / "verify_w8.json")
    page = tmp_path / "r.html"
    r = write_report(tmp_path / "b", page, None)
    assert "estimate" in r.missing and "csim" in r.missing
    html = page.read_text()
    assert "addnn estimate build/resnet20_addnn_w8_int.onnx" in html
    assert 'id="chart-cycles"' not in html and 'id="table-layers"' in html


def test_a_build_without_records_is_refused(tmp_path):
    with pytest.raises(AddnnError, match="no addnn records"):
        write_report(tmp_path, tmp_path / "r.html", None)
    assert not (tmp_path / "r.html").exists()


def test_a_corrupt_record_is_named(tmp_path):
    (tmp_path / "csim_w8.json").write_text("{not json")
    with pytest.raises(AddnnError, match="csim_w8.json is corrupt"):
        write_report(tmp_path, tmp_path / "r.html", None)
    np.testing.assert_equal((tmp_path / "r.html").exists(), False)
