"""The packaged driver run against the C simulation (``standin``), on sample images, and
compared with the integer graph: the host's quantization, packing, DMA protocol and unpacking
checked end to end. Simulation, not hardware."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

from addnn.errors import AddnnError
from addnn.hls.project import GRAPH_FILE, frames_from_images, load_project


def load_driver(package: str | Path):
    """The package's own ``pynq/addnn_driver.py``, imported from its file."""
    path = Path(package) / "pynq" / "addnn_driver.py"
    if not path.is_file():
        raise AddnnError(f"{package} is not an addnn deploy package (no {path})")
    spec = importlib.util.spec_from_file_location("addnn_packaged_driver", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def driver_against_csim(package: str | Path, samples: str | Path, images: int | None = None,
                        batch: int = 8) -> dict:
    """Run the driver over the stand-in overlay on ``images`` of the sample file; the report
    of what matched the integer graph."""
    from addnn.data.samples import load_samples
    from addnn.deploy.standin import CsimOverlay, allocate
    from addnn.export import load_graph

    package = Path(package)
    driver = load_driver(package)
    config = driver.load_config(package / "pynq" / "accelerator.json")
    project = package / "hls"
    load_project(project)
    ds = load_samples(samples)
    n = len(ds) if images is None else min(images, len(ds))
    x = ds.images[:n].numpy()
    graph_in, graph_out = frames_from_images(load_graph(project / GRAPH_FILE),
                                             ds.normalize(ds.images[:n]).numpy())
    overlay = CsimOverlay(project, config["dma"])
    acc = driver.Accelerator(config=config, overlay=overlay, allocate=allocate)
    start = time.perf_counter()
    try:
        frames = driver.quantize_images(x, config)
        values = acc.run_frames(frames, batch)
    except driver.DriverError as err:
        raise AddnnError(str(err)) from err
    seconds = time.perf_counter() - start
    logits = values * 2.0 ** config["output"]["exponent"]
    labels = ds.labels[:n].numpy()
    return {"images": n, "samples": Path(samples).name, "batch": batch,
            "transfers": getattr(overlay, config["dma"]).transfers,
            "frames_identical": float((frames == graph_in).all(1).mean()),
            "logits_identical": float((values == graph_out).all(1).mean()),
            "accuracy": float((logits.argmax(1) == labels).mean()),
            "graph_accuracy": float((graph_out.argmax(1) == labels).mean()),
            "seconds": seconds, "what": "simulation: the packaged driver, a stand-in DMA and "
            "the g++ C simulation of the accelerator; no hardware"}


def print_driver_report(r: dict) -> None:
    print(f"driver against C simulation ({r['what']}):")
    print(f"  {r['images']} images of {r['samples']}, batch {r['batch']} ({r['transfers']} DMA "
          f"transfers): quantized frames identical {100 * r['frames_identical']:.2f}%, "
          f"logits identical {100 * r['logits_identical']:.2f}%, top-1 "
          f"{100 * r['accuracy']:.2f}% (integer graph {100 * r['graph_accuracy']:.2f}%), "
          f"{r['seconds']:.1f} s")


def check_identical(r: dict) -> None:
    if r["frames_identical"] < 1 or r["logits_identical"] < 1:
        raise AddnnError("the driver's frames or logits differ from the integer graph's")
