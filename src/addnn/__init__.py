"""addnn: multiplication-free AdderNet networks from PyTorch to FPGA."""

__version__ = "0.1.0"
