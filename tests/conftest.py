import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

# `make test` runs one pytest-xdist worker per core: each worker, and every command it starts,
# then computes on one thread (two workers of two threads each would oversubscribe 2 cores).
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")

# CI runs on 2 cores: keep property tests bounded and deterministic there.
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
# Mutation testing (benchmarks/mutation.py: pytest --hypothesis-profile=mutation): a failure
# only has to be seen, not shrunk to its smallest example.
settings.register_profile("mutation", parent=settings.get_profile("ci"),
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def calibrated_float_resnet20():
    """A factory: random-weight float AdderNet ResNet-20 whose BN statistics match ``data``
    (with the initial statistics every activation is zero and calibration has nothing to
    measure)."""
    import torch
    from torch import nn

    from addnn.models import build_model

    def make(data, arch: str = "resnet20", seed: int = 5):
        torch.manual_seed(seed)
        model = build_model(arch, "adder")
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.momentum = None
        with torch.no_grad():
            model.train()(data.normalize(data.images))
        return model.eval()

    return make


ROOT = Path(__file__).parents[1]
SAMPLES = ROOT / "assets" / "samples" / "cifar10_val_exact_256.npz"


@pytest.fixture(scope="session")
def gxx():
    """Skip unless g++ and the ap_types headers (hls4ml wheel) are here."""
    if shutil.which("g++") is None:
        pytest.skip("g++ not installed: C simulation skipped")
    from addnn.errors import AddnnError
    from addnn.hls.csim import ap_types_dir

    try:
        ap_types_dir()
    except AddnnError as err:
        pytest.skip(str(err))


@pytest.fixture(scope="session")
def shipped_project(tmp_path_factory, gxx):
    """The HLS project of the shipped W8A8 default (its testbench: 8 random frames)."""
    from addnn.checkpoint import load_model
    from addnn.export import export_model
    from addnn.hls import generate_project

    out = tmp_path_factory.mktemp("shipped")
    model, _ = load_model(ROOT / "assets" / "models" / "resnet20_adder_addnn_w8.pt")
    graph = export_model(model, out / "w8.onnx")
    generate_project(graph, out / "hls")
    return out / "hls"
