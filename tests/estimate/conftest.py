import sys
from pathlib import Path

# The integer-net builder of the HLS tests (tests/hls/netgen.py) builds the estimator's nets.
sys.path.insert(0, str(Path(__file__).parents[1] / "hls"))
