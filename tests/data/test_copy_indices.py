"""Index sets of the approximate CIFAR-10 copy against a per-image reading of the mask."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from addnn.data.copy_indices import BATCH5, copy_index_sets
from addnn.errors import AddnnError


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 3000), st.floats(0.0, 1.0))
def test_sets_follow_the_mask_image_by_image(seed, extra, density):
    rng = np.random.default_rng(seed)
    mask = rng.random(BATCH5 + extra) < density
    sets = copy_index_sets(mask)
    calib = [i for i in range(BATCH5) if mask[i]]
    val = [i for i in range(BATCH5, len(mask)) if mask[i]]
    assert sets["exact_calib"].tolist() == calib
    assert sets["val_exact"].tolist() == val
    assert sets["train_all"].tolist() == [i for i in range(len(mask)) if i not in set(val)]


def test_bad_mask():
    with pytest.raises(AddnnError, match="more than 40000"):
        copy_index_sets(np.ones(100, dtype=bool))
