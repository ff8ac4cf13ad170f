"""Index files for the team's approximate CIFAR-10 copy (see its README).

Writes, from ``exact_train_mask.npy`` (``addnn.data.copy_indices``):
- ``exact_calib.txt``: the 4,068 exact-pixel images of data_batch_1..4 (calibration, fine-tuning);
- ``val_exact.txt``: the 1,017 exact-pixel images at the start of data_batch_5 (validation);
- ``train_all.txt``: the 48,983 training images but val-exact (fine-tuning on all images).

    python scripts/cifar_copy_indices.py DATA_DIR [OUT_DIR]
"""

import sys
from pathlib import Path

import numpy as np

from addnn.data.copy_indices import copy_index_sets


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    data = Path(sys.argv[1])
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(".")
    sets = copy_index_sets(np.load(data / "exact_train_mask.npy"))
    out.mkdir(parents=True, exist_ok=True)
    for name, idx in sets.items():
        np.savetxt(out / f"{name}.txt", idx, fmt="%d")
        print(f"wrote {out / f'{name}.txt'} ({len(idx)} indices)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
