"""The host driver against the C simulation: the packaged driver's words through the compiled
testbench with a stand-in DMA (``addnn.deploy.standin``) give the integer graph's logits on the
shipped samples. Simulation, not hardware. Also: TLAST for batches in csim, the stand-in's
DMA rules, and the driver's errors."""

from pathlib import Path

import numpy as np
import pytest

from addnn.deploy import pynq_driver as driver
from addnn.deploy.package import deploy
from addnn.deploy.simulate import driver_against_csim, load_driver
from addnn.deploy.standin import CsimOverlay, StandInError, allocate
from addnn.hls.csim import CsimFailure, csim

SAMPLES = Path(__file__).parents[2] / "assets" / "samples" / "cifar10_val_exact_256.npz"


@pytest.fixture(scope="module")
def package(shipped_project, tmp_path_factory):
    out = tmp_path_factory.mktemp("deploy") / "pkg"
    deploy(shipped_project, out, samples=SAMPLES)
    return out


def test_the_packaged_driver_gives_the_integer_graphs_logits(package):
    r = driver_against_csim(package, SAMPLES, images=40, batch=16)   # 16, 16 and 8 frames
    assert r["images"] == 40 and r["transfers"] == 3
    assert r["frames_identical"] == 1.0 and r["logits_identical"] == 1.0
    assert r["accuracy"] == r["graph_accuracy"]


def test_the_packaged_driver_is_the_shipped_file(package):
    assert (package / "pynq" / "addnn_driver.py").read_bytes() == \
        open(driver.__file__, "rb").read()
    assert load_driver(package).pack_frames is not driver.pack_frames     # its own copy


def test_quantize_images_is_the_integer_graphs_quantize_input(shipped_project, package):
    from addnn.data.samples import load_samples
    from addnn.export import load_graph
    from addnn.hls.project import GRAPH_FILE, frames_from_images

    cfg = driver.load_config(package / "pynq" / "accelerator.json")
    ds = load_samples(SAMPLES)
    graph_in, _ = frames_from_images(load_graph(shipped_project / GRAPH_FILE),
                                     ds.normalize(ds.images).numpy())
    assert np.array_equal(driver.quantize_images(ds.images.numpy(), cfg), graph_in)


def test_quantize_rounds_ties_to_even_and_clamps_as_torch_does():
    """A format built for ties and clamping (std 2/255: x = p / 2; 4-bit signed at 2**0),
    against torch's float32 normalisation and torch.round (half to even)."""
    import torch

    cfg = {"mean": [0.0], "std": [2 / 255], "input": {"shape": [1, 16, 16], "exponent": 0,
                                                      "BITS": 4, "SIGNED": 1}}
    images = np.arange(256, dtype=np.uint8).reshape(1, 1, 16, 16)
    x = (torch.from_numpy(images).float() / 255 - 0.0) / torch.tensor(2 / 255)
    assert (x.frac() == 0.5).sum() > 0                        # ties occur
    ref = torch.round(x.double()).clamp(-8, 7).long().permute(0, 2, 3, 1).reshape(1, -1)
    got = driver.quantize_images(images, cfg)
    assert np.array_equal(got, ref.numpy())
    assert got.max() == 7 and (x > 7.5).any()                 # and clamping


def _accelerator(package):
    cfg = driver.load_config(package / "pynq" / "accelerator.json")
    overlay = CsimOverlay(package / "hls", cfg["dma"])
    return driver.Accelerator(config=cfg, overlay=overlay, allocate=allocate), cfg, overlay


def test_csim_checks_tlast_at_the_end_of_each_transfer(shipped_project):
    r = csim(shipped_project, batch=3)          # 8 frames: packets of 3, 3 and 2
    assert r["identical"] == 1.0 and r["batch"] == 3


@pytest.mark.parametrize("old,new,error", [
    ("beat.last = packet_end && e ==", "beat.last = e ==", "TLAST set on word"),
    ("seen.v[0] |= beat.last;", "", "TLAST missing on word"),
], ids=["output-ignores-the-input-tlast", "input-drops-tlast"])
def test_a_kernel_that_mishandles_tlast_fails_csim(shipped_project, tmp_path, old, new, error):
    import shutil

    prj = tmp_path / "prj"
    shutil.copytree(shipped_project, prj)
    io = prj / "src" / "kernels" / "addnn_io.h"
    assert old in io.read_text()
    io.write_text(io.read_text().replace(old, new))
    with pytest.raises(CsimFailure, match=error):
        csim(prj, batch=4)


def test_the_stand_in_dma_refuses_what_would_fail_on_the_board(package):
    acc, cfg, overlay = _accelerator(package)
    dma = getattr(overlay, cfg["dma"])
    frame = driver.pack_frames(np.zeros((1, cfg["input"]["ELEMS"]), np.int64), cfg["input"])
    out_bytes = driver.frame_bytes(cfg["output"])
    # A receive that no packet ends: the board hangs in recvchannel.wait().
    dst = allocate((2 * out_bytes,))
    dma.recvchannel.transfer(dst)
    with pytest.raises(StandInError, match="would hang"):
        dma.recvchannel.wait()
    # One frame sent per transfer into a two-frame receive: TLAST comes early.
    src = allocate((frame.size,))
    src[:] = frame
    src.flush()
    dma.sendchannel.transfer(src)
    with pytest.raises(StandInError, match="TLAST after"):
        dma.sendchannel.wait()
    # A buffer sent without flush, and a transfer that is not whole frames.
    acc2, cfg2, overlay2 = _accelerator(package)
    dma2 = getattr(overlay2, cfg2["dma"])
    with pytest.raises(StandInError, match="flush"):
        dma2.sendchannel.transfer(allocate((frame.size,)))
    short = allocate((frame.size - 8,))
    short.flush()
    dma2.sendchannel.transfer(short)
    with pytest.raises(StandInError, match="whole number"):
        dma2.sendchannel.wait()


def test_the_batch_is_limited_by_the_dma_length_register(package):
    acc, cfg, _ = _accelerator(package)
    assert driver.max_batch(cfg) == (2 ** 26 - 1) // 3072
    with pytest.raises(driver.DriverError, match="--batch must be 1..21845"):
        acc.run_frames(np.zeros((1, cfg["input"]["ELEMS"]), np.int64), batch=21846)


def test_without_pynq_the_cli_says_so_in_one_line(package, capsys):
    mod = load_driver(package)
    status = mod.main(["--bitfile", str(package / "pynq" / "addnn.bit"), "--samples", str(SAMPLES),
                       "--config", str(package / "pynq" / "accelerator.json")])
    err = capsys.readouterr().err.strip()
    assert status == 2 and "pynq package" in err and len(err.splitlines()) == 1


def test_an_overlay_without_the_dma_driver_is_named(package):
    cfg = driver.load_config(package / "pynq" / "accelerator.json")

    class Bare:
        axi_dma_0 = object()            # what PYNQ leaves when its DMA driver did not bind

    with pytest.raises(driver.DriverError, match="no PYNQ DMA driver"):
        driver.Accelerator(config=cfg, overlay=Bare(), allocate=allocate)
    with pytest.raises(driver.DriverError, match="no axi_dma_0"):
        driver.Accelerator(config=cfg, overlay=object(), allocate=allocate)


def test_the_driver_refuses_images_it_cannot_take(package):
    cfg = driver.load_config(package / "pynq" / "accelerator.json")
    with pytest.raises(driver.DriverError, match="shape"):
        driver.quantize_images(np.zeros((2, 1, 32, 32), np.uint8), cfg)
    with pytest.raises(driver.DriverError, match="uint8"):
        driver.quantize_images(np.zeros((2, 3, 32, 32), np.float32), cfg)
