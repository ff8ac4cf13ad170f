"""Layers: the AdderNet module."""

from addnn.nn.adder import Adder2d

__all__ = ["Adder2d"]
