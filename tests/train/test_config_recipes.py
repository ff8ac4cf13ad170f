import pytest
import torch

from addnn.errors import AddnnError
from addnn.train import RECIPES, get_recipe, load_config
from addnn.train.recipes import build_optimizer, build_scheduler


def test_yaml_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model: {arch: lenet5}\ntrain: {epochs: 3, lr: 1}\n")
    cfg = load_config(path, ["train.epochs=5", "data.augment=false", "data.root=/x",
                             "train.init="])
    assert cfg.model.arch == "lenet5" and cfg.train.epochs == 5 and cfg.train.lr == 1.0
    assert cfg.data.augment is False and cfg.data.root == "/x" and cfg.train.init is None
    # YAML 1.1 reads 3e-4 as a string; a float key still takes it.
    assert load_config(path, ["train.lr=3e-4"]).train.lr == 3e-4


@pytest.mark.parametrize("text, overrides, match", [
    ("model: {depth: 3}", [], "unknown config key model.depth"),
    ("optim: {}", [], "unknown config section"),
    ("train: {epochs: many}", [], "must be int"),
    ("", ["train.epochs"], "section.key=value"),
    ("", ["data.augment=3"], "true or false"),
    ("- a\n- b", [], "mapping"),
    ("train: [", [], "not valid YAML"),
    ("", ["model.arch="], "may not be null"),
    ("", ["train.lr=fast"], "must be float"),
])
def test_config_errors(tmp_path, text, overrides, match):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(AddnnError, match=match):
        load_config(path, overrides)


def _lrs(name, epochs, steps=3):
    recipe = get_recipe(name, epochs=epochs)
    opt = build_optimizer(recipe, [torch.nn.Parameter(torch.zeros(1))])
    sched = build_scheduler(recipe, opt)
    lrs = []
    for _ in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])
        for _ in range(max(steps, 1)):
            opt.step()
            if recipe.steps_per == "batch":
                sched.step()
        if sched is not None and recipe.steps_per == "epoch":
            sched.step()
        elif sched is not None:
            sched.step(1.0) if recipe.steps_per == "metric" else None
    lrs.append(opt.param_groups[0]["lr"])
    return recipe, opt, lrs


def test_published_recipes():
    recipe, opt, lrs = _lrs("thesis-final", 500, steps=1)
    assert isinstance(opt, torch.optim.Adam) and recipe.epochs == 500
    assert lrs[0] == pytest.approx(0.01) and lrs[-1] == pytest.approx(0.001)
    assert lrs[250] == pytest.approx(0.0055)                   # cosine midpoint
    recipe, opt, lrs = _lrs("addernet-paper", 400, steps=1)
    assert isinstance(opt, torch.optim.SGD) and recipe.batch_size == 256
    group = opt.param_groups[0]
    assert (group["momentum"], group["weight_decay"]) == (0.9, 5e-4)
    assert lrs[0] == pytest.approx(0.1) and lrs[-1] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_every_recipe_runs(name):
    recipe, opt, lrs = _lrs(name, 4)
    assert all(lr > 0 for lr in lrs[:-1]) and lrs[0] == pytest.approx(
        recipe.lr if recipe.scheduler != "cyclic" else recipe.scheduler_args["base_lr"])
    assert recipe.note


def test_overrides_and_errors():
    assert get_recipe("thesis-final", epochs=2, lr=0.5, batch_size=8).batch_size == 8
    with pytest.raises(AddnnError, match="unknown recipe"):
        get_recipe("adagrad")
    with pytest.raises(AddnnError, match="positive"):
        get_recipe("thesis-final", epochs=0)
