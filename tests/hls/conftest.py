import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))   # netgen, the integer-net builder


@pytest.fixture
def build(tmp_path, gxx):
    """build(model, **generate_kwargs) -> project directory (a fresh one per call)."""
    from addnn.hls import generate_project

    count = [0]

    def make(model, **kwargs):
        count[0] += 1
        out = tmp_path / f"prj{count[0]}"
        generate_project(model, out, **kwargs)
        return out

    return make


def random_images(model, n: int, seed: int = 0) -> np.ndarray:
    """Float images covering the input type's integers (and beyond, to exercise clamping)."""
    shape = model.get_tensor_shape(model.graph.input[0].name)
    return np.random.default_rng(seed).normal(0, 2.5, size=(n, *shape[1:])).astype(np.float32)


def debug_csim(project, **kwargs) -> dict:
    """``csim`` with the debug build (-O0): the nets of these tests are small, so g++'s
    optimiser would cost more time than it saves on a few frames."""
    from addnn.hls.csim import csim

    return csim(project, optimize=False, **kwargs)


def debug_loop_iterations(project) -> dict:
    from addnn.hls.csim import loop_iterations

    return loop_iterations(project, optimize=False)
