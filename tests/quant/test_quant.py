"""Quantized adders, presets, integer BN emulation and PTQ."""

from pathlib import Path

import numpy as np
import pytest
import torch
from brevitas.nn import QuantConv2d, QuantIdentity, QuantReLU
from brevitas.quant import (
    Int8ActPerTensorFixedPoint,
    Int8WeightPerTensorFixedPoint,
    Uint8ActPerTensorFixedPoint,
)
from brevitas.quant_tensor import QuantTensor
from torch import nn

from addnn.checkpoint import load_model
from addnn.data import synthetic
from addnn.errors import AddnnError
from addnn.models import resnet20
from addnn.nn import Adder2d
from addnn.nn.quant_adder import QuantAdder2d
from addnn.numeric import BNParams, IntType, bn_requant_reference, exponent_of
from addnn.ops import reference
from addnn.quant.calibrate import calibrate
from addnn.quant.layers import BNAct
from addnn.quant.pipeline import quantize_model, scale_exponents
from addnn.quant.presets import get_preset
from addnn.quant.resnet import AddnnBlock, ThesisBlock, bn_to_depthwise, from_float

ROOT = Path(__file__).resolve().parents[2]


def _calibrated_adder(bits=8):
    torch.manual_seed(0)
    layer = QuantAdder2d(3, 5, 3, padding=1, weight_quant=Int8WeightPerTensorFixedPoint,
                         weight_bit_width=bits, input_quant=Int8ActPerTensorFixedPoint,
                         output_quant=Int8ActPerTensorFixedPoint, return_quant_tensor=True)
    from brevitas.graph.calibrate import calibration_mode
    layer.eval()
    with torch.no_grad(), calibration_mode(layer):
        layer(torch.randn(4, 3, 8, 8))
    return layer


@pytest.mark.parametrize("bits", [8, 6, 4])
def test_brevitas_weight_quantizer_really_quantizes(bits):
    layer = _calibrated_adder(bits)
    qw = layer.quant_weight()
    assert isinstance(qw, QuantTensor) and int(qw.bit_width) == bits
    levels = qw.value / qw.scale
    assert torch.equal(levels, levels.round())                       # on the integer grid
    assert levels.abs().max() <= 2 ** (bits - 1)
    assert not torch.equal(qw.value, layer.weight)                   # and not the float weight
    exponent_of(qw.scale.item())                                     # a power of two
    assert "weight_quant.tensor_quant" in " ".join(n for n, _ in layer.named_modules())


def test_quant_adder_output_is_the_adder_of_quantized_operands():
    layer = _calibrated_adder()
    x = torch.randn(2, 3, 8, 8)
    qx, qw = layer.input_quant(x), layer.quant_weight()
    raw = layer.inner_forward_impl(qx, qw, None)
    assert torch.equal(raw.double(), reference.forward(qx.value.double(), qw.value.double(),
                                                        1, 1))
    out = layer(x)                                                   # plain tensor in
    assert isinstance(out, QuantTensor)
    assert torch.equal(layer(qx).value, out.value)                   # QuantTensor in


def test_weight_on_the_input_grid():
    torch.manual_seed(1)
    layer = QuantAdder2d(2, 3, 3, padding=1, weight_quant="input")
    with torch.no_grad():
        layer.weight.mul_(4)
    act = QuantIdentity(act_quant=Uint8ActPerTensorFixedPoint, return_quant_tensor=True).eval()
    x = act(torch.rand(1, 2, 5, 5) * 2)
    w = layer.quant_weight(x)
    levels = w / x.scale
    assert torch.equal(levels, levels.round()) and levels.min() >= 0 and levels.max() <= 255
    assert layer.quant_weight(x.value) is layer.weight               # quantizers off: float


def test_lossless_clamp_identity():
    """|x - w| = |x - hi| + (w - hi) for x <= hi < w, and |x - w| = x + |w| for w < 0 <= x."""
    torch.manual_seed(2)
    hi = 3.0
    x = torch.rand(2, 4, 6, 6, dtype=torch.float64) * hi
    w = torch.randn(5, 4, 3, 3, dtype=torch.float64) * 4
    excess = ((w - hi).clamp(min=0) + (-w).clamp(min=0)).sum((1, 2, 3))
    full = reference.forward(x, w, 1, 0)
    clamped = reference.forward(x, w.clamp(0, hi), 1, 0)
    assert torch.allclose(clamped, full + excess.view(1, -1, 1, 1), rtol=0, atol=1e-9)


def test_thesis_structure_layer_by_layer():
    q = from_float(resnet20("adder"), get_preset("thesis"))
    assert isinstance(q.conv1, QuantConv2d) and isinstance(q.bn1, nn.BatchNorm2d)
    assert isinstance(q.relu, QuantReLU) and isinstance(q.fc, QuantConv2d)
    assert isinstance(q.bn2, nn.BatchNorm2d)
    blocks = [b for b in q.modules() if isinstance(b, ThesisBlock)]
    assert len(blocks) == 9
    for i, b in enumerate(blocks):
        for adder in (b.conv1, b.conv2):
            assert isinstance(adder, QuantAdder2d) and adder.weight_quant.is_quant_enabled
            assert adder.input_quant.is_quant_enabled and adder.output_quant.is_quant_enabled
        assert isinstance(b.bn1, nn.BatchNorm2d) and isinstance(b.input_quant, QuantIdentity)
        assert (b.stage_quant is not None) == (i in (3, 6))         # after stride-2 blocks
        assert (b.downsample is not None) == (i in (3, 6))
        if b.downsample is not None:
            assert isinstance(b.downsample[0], QuantAdder2d)
            assert b.downsample[0].kernel_size == 1
    dw = from_float(resnet20("adder"), get_preset("thesis-dwbn"))
    convs = [m for m in dw.modules() if isinstance(m, QuantConv2d) and m.groups > 1]
    assert len(convs) == 1 + 2 * 9 + 2 + 1                           # every BN


def test_bn_to_depthwise_is_equivalent():
    torch.manual_seed(3)
    bn = nn.BatchNorm2d(6).eval()
    with torch.no_grad():
        bn.weight.normal_()
        bn.bias.normal_()
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.1, 4)
    conv = nn.Conv2d(6, 6, 1, groups=6, bias=True)
    bn_to_depthwise(bn, conv)
    x = torch.randn(2, 6, 5, 5)
    assert torch.allclose(conv(x), bn(x), rtol=1e-5, atol=1e-5)


def test_integer_bn_emulation_equals_the_contract():
    torch.manual_seed(4)
    bn = nn.BatchNorm2d(4).eval()
    with torch.no_grad():
        bn.weight.normal_()
        bn.weight[1] = -bn.weight[1].abs()
        bn.bias.normal_()
        bn.running_mean.uniform_(-2, 0)
        bn.running_var.uniform_(0.05, 2)
    act = QuantIdentity(act_quant=Uint8ActPerTensorFixedPoint, return_quant_tensor=True).eval()
    acc_type = IntType(14, True, -5)
    layer = BNAct(bn, act, True, lambda e: IntType(acc_type.bits, True, e)).eval()
    layer.integer = True
    q_acc = torch.randint(acc_type.lo, 1, (3, 4, 5, 5))
    out = layer(q_acc.float() * 2.0 ** -5, torch.tensor(2.0 ** -5))
    e_out = exponent_of(out.scale.item())
    expected = bn_requant_reference(q_acc.transpose(0, 1).numpy(), -5, BNParams.from_module(bn),
                                    IntType(8, False, e_out), relu=True)
    assert np.array_equal((out.value / out.scale).round().long().transpose(0, 1).numpy(),
                          expected)


def test_ptq_structure_on_tiny_model_and_data(calibrated_float_resnet20):
    _float_model = calibrated_float_resnet20
    data = synthetic("cifar10", n=64)
    model = _float_model(data)
    for preset, bits in (("addnn", 8), ("addnn", 4), ("thesis", 8)):
        q, report = quantize_model(model, preset, bits, data)
        x = data.normalize(data.images[:16])
        with torch.no_grad():
            out = q(x)
        assert out.shape == (16, 10) and torch.isfinite(out).all()
        assert report.exponents and all(isinstance(e, int) for e in report.exponents.values())
        if preset == "addnn":
            assert report.clamped_weights > 0
            assert all(isinstance(b, AddnnBlock) for b in q.layer1)
            logit_scale = 2.0 ** report.exponents["bn2.act"]
            assert torch.equal(out / logit_scale, (out / logit_scale).round())  # integer logits


def test_non_power_of_two_scale_is_named(calibrated_float_resnet20):
    _float_model = calibrated_float_resnet20
    """A float-scale quantizer slipped into the integer model is caught and named."""
    from brevitas.quant import Uint8ActPerTensorFloat

    data = synthetic("cifar10", n=16)
    q = from_float(_float_model(data), get_preset("addnn"))
    x = data.normalize(data.images)
    calibrate(q, x)
    scale_exponents(q, x)                # all powers of two after calibration
    q.layer2[1].bn1.act = QuantIdentity(act_quant=Uint8ActPerTensorFloat,
                                        return_quant_tensor=True)
    calibrate(q, x)
    with pytest.raises(AddnnError, match="layer2.1.bn1.act"):
        scale_exponents(q, x)


@pytest.mark.parametrize("bits,agreement,error", [(8, 0.98, 0.1), (4, 0.93, 0.3)])
def test_ptq_of_the_released_model_follows_float(bits, agreement, error):
    """PTQ of the released float model, calibrated on 128 shipped samples and judged on the
    other 128 against the float model itself (measured: W8 99.2% argmax agreement, logit
    error 5.8% of the span; W4 96.9%, 19.4%)."""
    from addnn.data import load_samples
    samples = load_samples(ROOT / "assets" / "samples" / "cifar10_val_exact_256.npz")
    model, _ = load_model(ROOT / "assets" / "models" / "resnet20_adder_official.pt")
    q, _ = quantize_model(model.eval(), "addnn", bits, samples.subset(np.arange(128)))
    x = samples.normalize(samples.images[128:])
    with torch.no_grad():
        ref, out = model(x), q.eval()(x)
    assert (out.argmax(1) == ref.argmax(1)).float().mean().item() >= agreement
    assert (out - ref).abs().max().item() <= error * (ref.max() - ref.min()).item()


def test_shipped_default_is_integer_and_agrees_with_float_on_samples():
    model, data = load_model(ROOT / "assets" / "models" / "resnet20_adder_addnn_w8.pt")
    assert data["model"]["quant"] == {"preset": "addnn", "bits": 8}
    bnacts = [m for m in model.modules() if isinstance(m, BNAct)]
    assert bnacts and all(m.integer for m in bnacts)
    from addnn.data import load_samples
    samples = load_samples(ROOT / "assets" / "samples" / "cifar10_val_exact_256.npz")
    float_model, _ = load_model(ROOT / "assets" / "models" / "resnet20_adder_official.pt")
    x = samples.normalize(samples.images)
    with torch.no_grad():
        logits, ref = model.eval()(x), float_model.eval()(x)
    # Training images of the released model: it gets all 256 right, and so does its W8A8
    # PTQ (measured); one image may flip.
    assert (logits.argmax(1) == ref.argmax(1)).float().mean() >= 255 / 256
    assert (logits.argmax(1) == samples.labels).float().mean() >= 255 / 256


def test_bad_quant_requests():
    with pytest.raises(AddnnError, match="unknown preset"):
        get_preset("fp8")
    with pytest.raises(AddnnError, match="bit width"):
        get_preset("addnn", 12)
    with pytest.raises(AddnnError, match="kind='adder'"):
        from_float(resnet20("cnn"), get_preset("addnn"))
    assert isinstance(resnet20("adder").layer1[0].conv1, Adder2d)


def test_finetune_runs_the_training_loop(tmp_path, calibrated_float_resnet20):
    _float_model = calibrated_float_resnet20
    """QAT on a tiny PTQ checkpoint: the loop runs with integer maps and frozen BN, and the
    best epoch is written as a quantized checkpoint."""
    from addnn.checkpoint import save_model
    from addnn.data import save_samples
    from addnn.quant.pipeline import finetune, quant_spec

    data = synthetic("cifar10", n=64)
    q, _ = quantize_model(_float_model(data), "addnn", 8, data)
    ptq = tmp_path / "ptq.pt"
    save_model(ptq, q, quant_spec(q, "resnet20"))
    samples = tmp_path / "s.npz"
    save_samples(samples, data, "cifar10")
    means_before = [m.running_mean.clone() for m in q.modules() if isinstance(m, nn.BatchNorm2d)]
    finetune(ptq, tmp_path / "ft.pt", tmp_path / "run", str(samples), "cifar10", None, None,
             epochs=1, lr=1e-4, batch_size=32)
    model, meta = load_model(tmp_path / "ft.pt")
    assert meta["model"]["quant"] == {"preset": "addnn", "bits": 8}
    assert meta["finetune"]["epochs"] == 1
    means_after = [m.running_mean for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(torch.equal(a, b) for a, b in zip(means_before, means_after))   # frozen BN
    assert (tmp_path / "run" / "metrics.csv").exists()
    # With freeze=False the BN statistics adapt (the run's last epoch, whatever is kept).
    finetune(ptq, tmp_path / "ft2.pt", tmp_path / "run2", str(samples), "cifar10", None, None,
             epochs=1, lr=1e-4, batch_size=32, freeze=False)
    trained, _ = load_model(tmp_path / "run2" / "last.pt")
    means_free = [m.running_mean for m in trained.modules() if isinstance(m, nn.BatchNorm2d)]
    assert not all(torch.equal(a, b) for a, b in zip(means_before, means_free))
    assert load_model(tmp_path / "ft2.pt")[1]["finetune"]["frozen_bn_and_scales"] is False
    # Distillation from the float model changes the trained weights and is recorded.
    teacher = tmp_path / "float.pt"
    save_model(teacher, _float_model(data), {"arch": "resnet20", "kind": "adder",
                                            "num_classes": 10})
    finetune(ptq, tmp_path / "ft3.pt", tmp_path / "run3", str(samples), "cifar10", None, None,
             epochs=1, lr=1e-4, batch_size=32, freeze=False, teacher=str(teacher),
             distill_weight=1.0, distill_temperature=2.0)
    distilled, meta3 = load_model(tmp_path / "run3" / "last.pt")
    assert not all(torch.equal(a, b) for a, b in zip(trained.state_dict().values(),
                                                     distilled.state_dict().values()))
    assert meta3["train_state"]["config"]["train"]["teacher"] == str(teacher)
    ft3 = load_model(tmp_path / "ft3.pt")[1]["finetune"]
    assert (ft3["teacher"], ft3["distill_weight"]) == ("float.pt", 1.0)
    # val_data: epochs are judged on other images (a held-apart set), and so is the PTQ model.
    from addnn.data import load_samples
    save_samples(tmp_path / "held.npz", synthetic("cifar10", n=48, seed=5, split="test"),
                 "cifar10")
    held = load_samples(tmp_path / "held.npz")     # as the loop reads it (its normalisation)
    finetune(ptq, tmp_path / "ft4.pt", tmp_path / "run4", str(samples), "cifar10", None, None,
             epochs=1, lr=1e-4, batch_size=32, val_data=str(tmp_path / "held.npz"))
    ft4 = load_model(tmp_path / "ft4.pt")[1]["finetune"]
    from addnn.train import evaluate
    assert ft4["ptq_val_acc"] == evaluate(q, held, progress=False)["top1"]
    last, _ = load_model(tmp_path / "run4" / "last.pt")
    assert ft4["best_val_acc"] == max(ft4["ptq_val_acc"],
                                      evaluate(last, held, progress=False)["top1"])
    assert ft4["validation"] == "cifar10 test split of held.npz"


def test_hardware_form_of_a_layer_map_equals_its_emulation():
    """BNAct.integer_map (what the hardware stores) gives what the emulation computes."""
    model, _ = load_model(ROOT / "assets" / "models" / "resnet20_adder_addnn_w8.pt")
    layer = model.layer2[0].bn1
    e_in, out_type = -4, IntType(8, False, -3)
    m = layer.integer_map(e_in, out_type)
    assert m.kind == "thresholds"
    acc = torch.randint(m.input_type.lo, 1, (2, 32, 4, 4),
                        generator=torch.Generator().manual_seed(0))
    from addnn.numeric import bn_requant_torch
    assert torch.equal(m(acc), bn_requant_torch(acc, e_in, BNParams.from_module(layer.bn),
                                                out_type, True))


@pytest.mark.parametrize("bits", [4, 6, 8])
def test_adders_read_preset_width_while_the_stream_stays_8_bits(bits, calibrated_float_resnet20):
    """Every adder input (and so every adder weight grid) is ``bits`` wide and unsigned; block
    outputs are 8 bits wide; below 8 bits a block's adder input is its stream input
    requantized by a rounded shift."""
    from addnn.quant.calibrate import input_scales

    data = synthetic("cifar10", n=64)
    q, _ = quantize_model(calibrated_float_resnet20(data), "addnn", bits, data)
    x = data.normalize(data.images[:16])
    adders = input_scales(q, x)
    assert len(adders) == 20 and all(int(b.item()) == bits for _, b in adders.values())
    blocks = [m for m in q.modules() if isinstance(m, AddnnBlock)]
    streams, inputs = {}, {}
    hooks = [b.relu.register_forward_hook(lambda m, a, out, k=i: streams.__setitem__(k, out))
             for i, b in enumerate(blocks)]
    hooks += [b.conv1.register_forward_pre_hook(lambda m, a, k=i: inputs.__setitem__(k, a[0]))
              for i, b in enumerate(blocks)]
    with torch.no_grad():
        q.eval()(x)
    for h in hooks:
        h.remove()
    assert all(int(t.bit_width.item()) == 8 and not t.signed for t in streams.values())
    assert all((b.adder_input is None) == (bits == 8) for b in blocks)
    for i in range(1, len(blocks)):       # block i reads block i-1's stream
        wide, narrow = streams[i - 1], inputs[i]
        shift = exponent_of(narrow.scale.item()) - exponent_of(wide.scale.item())
        ints = torch.round(wide.value / wide.scale).long()
        expect = torch.round(ints.double() / 2 ** shift).clamp(0, 2 ** bits - 1)
        assert torch.equal(narrow.value.double() / narrow.scale.double(), expect)
