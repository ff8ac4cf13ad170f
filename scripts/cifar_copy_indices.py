"""Index files for the team's approximate CIFAR-10 copy (see its README).

Writes, from ``exact_train_mask.npy``:
- ``exact_calib.txt``: the 4,068 exact-pixel images of data_batch_1..4 (calibration, fine-tuning);
- ``val_exact.txt``: the 1,017 exact-pixel images at the start of data_batch_5 (validation).

    python scripts/cifar_copy_indices.py DATA_DIR [OUT_DIR]
"""

import sys
from pathlib import Path

import numpy as np


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    data = Path(sys.argv[1])
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(".")
    exact = np.flatnonzero(np.load(data / "exact_train_mask.npy"))
    out.mkdir(parents=True, exist_ok=True)
    np.savetxt(out / "exact_calib.txt", exact[exact < 40000], fmt="%d")
    np.savetxt(out / "val_exact.txt", exact[(exact >= 40000) & (exact < 50000)], fmt="%d")
    print(f"wrote {out / 'exact_calib.txt'} ({int((exact < 40000).sum())} indices) and "
          f"{out / 'val_exact.txt'} ({int(((exact >= 40000) & (exact < 50000)).sum())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
