"""Index sets of the team's approximate CIFAR-10 copy, from its ``exact_train_mask.npy``.

The copy's 50,000 training images are exact-pixel or JPEG-approximated; the mask marks the
exact ones. ``val-exact`` is the run of exact-pixel images at the start of data_batch_5.
"""

from __future__ import annotations

import numpy as np

from addnn.errors import AddnnError

BATCH5 = 40000      # first index of data_batch_5


def copy_index_sets(mask: np.ndarray) -> dict[str, np.ndarray]:
    """``exact_calib``: the exact-pixel images of data_batch_1..4 (calibration, fine-tuning);
    ``val_exact``: the exact-pixel images of data_batch_5 (validation); ``train_all``: every
    training image but val-exact (fine-tuning on JPEG-approximated images too)."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 1 or len(mask) <= BATCH5:
        raise AddnnError(f"exact_train_mask must list more than {BATCH5} images, got shape "
                         f"{mask.shape}")
    exact = np.flatnonzero(mask)
    val = exact[exact >= BATCH5]
    keep = np.ones(len(mask), dtype=bool)
    keep[val] = False
    return {"exact_calib": exact[exact < BATCH5], "val_exact": val,
            "train_all": np.flatnonzero(keep)}
