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
