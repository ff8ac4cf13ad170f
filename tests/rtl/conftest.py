import shutil

import pytest

from addnn.rtl import sim

LANES = 16   # 4 Quad12 DSPs or 2 Octo8 DSPs: lane boundaries inside and between DSPs


def _need(*tools):
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: RTL simulation skipped")


@pytest.fixture(scope="session")
def verilator_tb():
    """The Verilator testbench, built once per session (and cached across sessions)."""
    _need("verilator")
    return sim.verilator_pe_tb(LANES)


@pytest.fixture(scope="session")
def cmodel():
    _need("g++")
    return sim.cmodel_driver()


@pytest.fixture(scope="session")
def iverilog_tb():
    _need("iverilog", "vvp")
    return sim.iverilog_pe_tb(LANES)


@pytest.fixture(scope="session")
def lanes():
    return LANES


@pytest.fixture
def need():
    """Skip the test unless the named tools are installed."""
    return _need
