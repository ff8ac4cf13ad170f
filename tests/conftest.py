import os

import pytest
from hypothesis import HealthCheck, settings

# CI runs on 2 cores: keep property tests bounded and deterministic there.
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
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
