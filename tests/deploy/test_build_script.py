"""build.sh without Vitis or Vivado: bash reads it, it stops with a message when the tools are
missing, and with stand-in tools on PATH it runs HLS in hls/, then Vivado on build_bd.tcl with
the exported IP's folder, in each flow."""

import os
import shutil
import stat
import subprocess

import pytest

from addnn.deploy.package import IP_CLASSIC, IP_UNIFIED, deploy


@pytest.fixture(scope="module")
def package(shipped_project, tmp_path_factory):
    out = tmp_path_factory.mktemp("pkg") / "pkg"
    deploy(shipped_project, out)
    return out


def _tool(bindir, name, body=""):
    path = bindir / name
    path.write_text(f'#!/bin/sh\necho "{name} $*" >> "$STUB_LOG"\n{body}\n')
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _run(package, bindir, log, **env):
    base = {"PATH": f"{bindir}:/usr/bin:/bin", "STUB_LOG": str(log), "HOME": os.environ["HOME"]}
    return subprocess.run(["bash", str(package / "build.sh")], capture_output=True, text=True,
                          env={**base, **env})


def test_bash_parses_it(package):
    res = subprocess.run(["bash", "-n", str(package / "build.sh")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_missing_tools_stop_it_with_a_message(package, tmp_path):
    (tmp_path / "bin").mkdir()
    res = _run(package, tmp_path / "bin", tmp_path / "log")
    assert res.returncode == 1 and "neither vitis_hls nor v++" in res.stderr
    _tool(tmp_path / "bin", "vitis_hls")
    res = _run(package, tmp_path / "bin", tmp_path / "log")
    assert res.returncode == 1 and "vivado is not on PATH" in res.stderr


@pytest.mark.parametrize("flow,tools,ip,order", [
    ("classic", ["vitis_hls"], IP_CLASSIC, ["vitis_hls"]),
    ("unified", ["v++", "vitis-run"], IP_UNIFIED, ["vitis-run", "v++", "vitis-run"]),
])
def test_each_flow_runs_hls_then_vivado_on_the_exported_ip(package, tmp_path, flow, tools, ip,
                                                            order):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for t in tools:                       # the HLS tools leave the exported IP where it goes
        _tool(bindir, t, f'mkdir -p "{ip}"')
    _tool(bindir, "vivado")
    log = tmp_path / "log"
    res = _run(package, bindir, log, ADDNN_HLS_FLOW=flow)
    assert res.returncode == 0, res.stderr
    calls = log.read_text().splitlines()
    assert calls[-1] == (f"vivado -mode batch -notrace -source build_bd.tcl -tclargs "
                         f"{package / 'hls' / ip}")
    assert [c.split()[0] for c in calls[:-1]] == order           # csim, synthesis, export
    shutil.rmtree(package / "hls" / ip.split("/")[0])


def test_an_hls_run_that_exports_nothing_stops_before_vivado(package, tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    _tool(bindir, "vitis_hls")
    _tool(bindir, "vivado")
    res = _run(package, bindir, tmp_path / "log")
    assert res.returncode == 1 and "no exported IP" in res.stderr
    assert "vivado" not in (tmp_path / "log").read_text()
