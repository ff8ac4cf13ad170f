"""addnn: multiplication-free AdderNet networks from PyTorch to FPGA."""

import warnings

__version__ = "0.1.0"

# Brevitas announces an optional CUDA kernel package on every import; it is not used here.
warnings.filterwarnings("ignore", message=".*fast_hadamard_transform.*")
