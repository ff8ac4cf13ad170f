"""Training: configuration, recipes, the loop, evaluation and logs."""

from addnn.train.config import Config, load_config
from addnn.train.evaluate import evaluate
from addnn.train.loop import train
from addnn.train.recipes import RECIPES, get_recipe

__all__ = ["Config", "RECIPES", "evaluate", "get_recipe", "load_config", "train"]
