"""The ``addnn`` command: a thin shell over the Python API."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from addnn import __version__
from addnn.deploy.cli import register as register_deploy
from addnn.errors import AddnnError
from addnn.report.cli import register as register_report
from addnn.estimate.cli import register as register_estimate
from addnn.hls.cli import register as register_hls
from addnn.rtl.cli import register as register_rtl


def cmd_info(args: argparse.Namespace) -> int:
    """Print the adder2d backend of this machine, building the C++ kernels if needed."""
    import torch

    from addnn.ops import kernel_build, sad_cpu

    print(f"addnn {__version__}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    try:
        path = kernel_build.library_path()
    except kernel_build.KernelBuildError as err:
        raise AddnnError(f"C++ kernels unavailable, torch fallback in use: {err}") from err
    lanes = sad_cpu.simd_lanes(torch.float32)
    print(f"adder2d: C++ kernels, {lanes} float32 lanes per vector, library {path}")
    print(f"adder2d on CUDA tensors: torch path "
          f"({'CUDA available' if torch.cuda.is_available() else 'no CUDA device here'})")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train (or resume) a model from a YAML config with key=value overrides."""
    from addnn.train import load_config, train

    cfg = load_config(args.config, args.overrides)
    metrics = train(cfg, resume=args.resume)
    if metrics.get("val_acc") is not None and metrics.get("rank", 0) == 0:
        print(f"done: {cfg.train.out}/last.pt, validation top-1 {100 * metrics['val_acc']:.2f}%")
    return 0


def _dataset_for(data: dict, args: argparse.Namespace) -> str:
    if args.dataset:
        return args.dataset
    name = data.get("data", {}).get("dataset")
    if name:
        return name
    arch = data["model"]["arch"]
    return "fashion-mnist" if arch == "lenet5" else (
        "cifar100" if data["model"]["num_classes"] == 100 else "cifar10")


def cmd_eval(args: argparse.Namespace) -> int:
    """Top-1, loss and image count of a checkpoint on a dataset split."""
    from addnn.checkpoint import load_model
    from addnn.data import load_dataset
    from addnn.train import evaluate

    model, data = load_model(args.checkpoint)
    name = _dataset_for(data, args)
    dataset = load_dataset(name, args.data, args.split, args.val, download=args.download,
                           download_hint="--download")
    if dataset.num_classes != data["model"]["num_classes"]:
        raise AddnnError(f"{dataset.name} has {dataset.num_classes} classes, the model "
                         f"{data['model']['num_classes']}")
    res = evaluate(model, dataset, args.batch_size)
    print(f"{args.checkpoint} on {dataset.name}: top-1 {100 * res['top1']:.2f}% "
          f"({res['correct']}/{res['images']} images), loss {res['loss']:.4f}, "
          f"{res['images_per_s']:.0f} images/s")
    if args.json:
        import json

        from addnn.atomic import atomic_write_text
        from addnn.machine import command_line

        atomic_write_text(args.json, json.dumps(
            {"checkpoint": str(args.checkpoint), "dataset": dataset.name, "data": str(args.data),
             "split": args.split, **res, "command": command_line()}, indent=2) + "\n")
    return 0


def cmd_import_official(args: argparse.Namespace) -> int:
    """Convert the released AdderNet ResNet-20 checkpoint into an addnn checkpoint."""
    from addnn.checkpoint import save_model
    from addnn.models import load_official

    model = load_official(args.path)
    save_model(args.output, model, {"arch": "resnet20", "kind": "adder", "num_classes": 10},
               data={"dataset": "cifar10"}, source=f"imported from {Path(args.path).name}")
    print(f"wrote {args.output}: resnet20 adder, "
          f"{sum(p.numel() for p in model.parameters())} parameters")
    return 0


def cmd_quantize(args: argparse.Namespace) -> int:
    """Post-training quantization of a float checkpoint with a preset."""
    from addnn.data import load_dataset
    from addnn.quant.pipeline import calibration_subset, quantize_checkpoint

    # With an index file the calibration images are exactly those (taken from the training
    # split through the same index-file reader as --val); otherwise the train split.
    split = "val" if args.calib_index else "train"
    calib = load_dataset(args.dataset, args.calib_data, split, args.calib_index)
    if args.calib_index:
        calib.name = f"{args.dataset} training images listed in {Path(args.calib_index).name}"
    calib = calibration_subset(calib, args.calib_images)
    ptq_path = args.output if not args.finetune_epochs else Path(str(args.output) + ".ptq.pt")
    run_dir = Path(str(args.output) + ".finetune")
    if args.finetune_epochs and run_dir.exists():
        raise AddnnError(f"{run_dir} holds an earlier fine-tuning run; remove it or choose "
                         "another -o")
    report = quantize_checkpoint(args.checkpoint, ptq_path, args.preset, args.bits, calib,
                                 args.reestimate_bn)
    print(f"wrote {ptq_path}: preset {args.preset}, {args.bits} bits, calibrated on "
          f"{len(calib)} images of {calib.name}; {len(report.exponents)} quantizers, all "
          f"power-of-two scales; {report.clamped_weights} adder weights clamped")
    if args.finetune_epochs:
        from addnn.quant.pipeline import finetune

        finetune(ptq_path, args.output, run_dir, args.calib_data, args.dataset,
                 args.finetune_index or args.calib_index, args.val_index,
                 args.finetune_epochs, args.finetune_lr,
                 freeze=not args.finetune_free_bn,
                 teacher=str(args.checkpoint) if args.finetune_distill > 0 else None,
                 distill_weight=args.finetune_distill,
                 distill_temperature=args.finetune_temperature, val_data=args.val_data)
        from addnn.checkpoint import read_checkpoint

        best = read_checkpoint(args.output)["finetune"]
        print(f"wrote {args.output}: epoch {best['best_epoch']} of {args.finetune_epochs}, "
              f"validation top-1 {100 * best['best_val_acc']:.2f}% (logs in {run_dir})")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    """Plot a run's metrics.csv to PNG."""
    from addnn.train.metrics_log import plot_curves

    run = Path(args.run)
    csv_path = run / "metrics.csv" if run.is_dir() else run
    if not csv_path.exists():
        raise AddnnError(f"no metrics.csv at {csv_path}")
    print(f"wrote {plot_curves(csv_path, args.output)}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export a checkpoint to QONNX (or QCDQ ONNX) with one Adder2d node per adder layer."""
    import time

    from addnn.checkpoint import load_model
    from addnn.export import count_ops, export_model

    model, _ = load_model(args.checkpoint)
    start = time.perf_counter()
    graph = export_model(model, args.output, args.format)
    ops = ", ".join(f"{n} {op}" for op, n in sorted(count_ops(graph).items()))
    print(f"wrote {args.output} ({args.format}) in {time.perf_counter() - start:.1f} s: {ops}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Run the graph with qonnx's executor (and the checkpoint's PyTorch model) and compare."""
    from addnn.data import load_dataset
    from addnn.export import load_graph
    from addnn.verify import print_report, verify

    graph = load_graph(args.model)
    model = data = None
    if args.checkpoint:
        from addnn.checkpoint import load_model

        model, data = load_model(args.checkpoint)
    name = args.dataset or (_dataset_for(data, args) if data else "cifar10")
    dataset = load_dataset(name, args.data, args.split, args.val)
    if args.images:
        dataset = dataset.subset(range(min(args.images, len(dataset))))
    report = verify(args.model, graph, dataset, model, args.checkpoint, args.batch_size,
                    integer=not args.no_integer, float_bn=args.float_bn)
    print_report(report)
    if args.json:
        from addnn.verify import write_report

        write_report(report, args.json)
    worst = min((c["argmax_agreement"] for c in report["comparisons"] if c["checked"]),
                default=1.0)
    if 100 * worst < args.min_agreement:
        print(f"FAIL: argmax agreement {100 * worst:.2f}% < {args.min_agreement}%")
        return 1
    return 0


def cmd_lower(args: argparse.Namespace) -> int:
    """Lower an exported QONNX graph to the integer graph and save it."""
    from addnn.atomic import atomic_write
    from addnn.export import count_ops, load_graph
    from addnn.transform import lower_to_integer, output_exponent

    graph = lower_to_integer(load_graph(args.model), args.bn)
    atomic_write(args.output, lambda tmp: graph.save(str(tmp)))
    ops = ", ".join(f"{n} {op}" for op, n in sorted(count_ops(graph).items()))
    out = graph.graph.output[0].name
    print(f"wrote {args.output} (BN {args.bn}): {ops}; logits "
          f"{graph.get_tensor_datatype(out).name} at 2**{output_exponent(graph)}")
    return 0


def cmd_view(args: argparse.Namespace) -> int:
    """Serve the graph with Netron on 127.0.0.1 until interrupted."""
    from addnn.export.view import serve

    serve(args.model, args.port, block=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="addnn", description="AdderNet from PyTorch to FPGA: train, quantize, export, "
                                  "lower, generate HLS, simulate and estimate.")
    parser.add_argument("--version", action="version", version=f"addnn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    info = sub.add_parser("info", help="show the adder2d kernel backend of this machine")
    info.set_defaults(func=cmd_info)

    tr = sub.add_parser("train", help="train or resume a model (runs under torchrun too)")
    tr.add_argument("--config", type=Path, help="YAML config (sections model, data, train)")
    tr.add_argument("--resume", action="store_true", help="continue train.out/last.pt")
    tr.add_argument("overrides", nargs="*", metavar="SECTION.KEY=VALUE")
    tr.set_defaults(func=cmd_train)

    ev = sub.add_parser("eval", help="top-1 and loss of a checkpoint on a dataset split")
    ev.add_argument("checkpoint", type=Path)
    ev.add_argument("--data", help="dataset directory, or a .npz sample file")
    ev.add_argument("--split", default="test", choices=["train", "val", "trainval", "test"])
    ev.add_argument("--val", help="validation index file (.npy or text) instead of the "
                                  "last 5,000 training images")
    ev.add_argument("--dataset", help="dataset name (default: the one the model was trained on)")
    ev.add_argument("--batch-size", type=int, default=256)
    ev.add_argument("--json", type=Path, help="also write the result as JSON")
    ev.add_argument("--download", action="store_true",
                    help="download CIFAR into --data if it is missing (needs network)")
    ev.set_defaults(func=cmd_eval)

    imp = sub.add_parser("import-official", help="convert the released AdderNet ResNet-20")
    imp.add_argument("path", type=Path)
    imp.add_argument("-o", "--output", type=Path, required=True)
    imp.set_defaults(func=cmd_import_official)

    qz = sub.add_parser("quantize", help="post-training quantization with a preset")
    qz.add_argument("checkpoint", type=Path, help="float addnn checkpoint")
    qz.add_argument("-o", "--output", type=Path, required=True)
    qz.add_argument("--preset", default="addnn", choices=["addnn", "thesis", "thesis-dwbn"])
    qz.add_argument("--bits", type=int, default=8)
    qz.add_argument("--calib-data", required=True, help="dataset directory or .npz samples")
    qz.add_argument("--calib-index", help="index file selecting calibration images from the "
                                          "training split (e.g. the exact-pixel ones)")
    qz.add_argument("--calib-images", type=int, default=1024)
    qz.add_argument("--dataset", default="cifar10")
    qz.add_argument("--reestimate-bn", action="store_true",
                    help="recompute BN statistics with the quantized network")
    qz.add_argument("--finetune-epochs", type=int, default=0,
                    help="quantization-aware fine-tuning epochs (on the calibration images "
                         "unless --finetune-index)")
    qz.add_argument("--finetune-index", help="index file of the training images to fine-tune "
                                             "on (default: the calibration images)")
    qz.add_argument("--finetune-lr", type=float, default=1e-4)
    qz.add_argument("--finetune-free-bn", action="store_true",
                    help="let BN statistics and quantizer scales adapt while fine-tuning")
    qz.add_argument("--finetune-distill", type=float, default=0.0, metavar="WEIGHT",
                    help="distil from the float checkpoint: weight of the soft loss in [0, 1] "
                         "(0: cross-entropy only)")
    qz.add_argument("--finetune-temperature", type=float, default=4.0)
    qz.add_argument("--val-index", help="validation index file for fine-tuning (default: the "
                                        "last 5,000 training images)")
    qz.add_argument("--val-data", help="select the fine-tuning epoch on the test split of "
                                       "this directory instead (e.g. unseen test images)")
    qz.set_defaults(func=cmd_quantize)

    ex = sub.add_parser("export", help="export a checkpoint to QONNX with Adder2d nodes")
    ex.add_argument("checkpoint", type=Path)
    ex.add_argument("-o", "--output", type=Path, required=True)
    ex.add_argument("--format", default="qonnx", choices=["qonnx", "qcdq"])
    ex.set_defaults(func=cmd_export)

    vf = sub.add_parser("verify", help="run an exported graph and compare it with PyTorch")
    vf.add_argument("model", type=Path, help="ONNX graph from `addnn export`")
    vf.add_argument("--data", required=True, help="dataset directory, or a .npz sample file")
    vf.add_argument("--checkpoint", type=Path, help="the checkpoint the graph came from")
    vf.add_argument("--images", type=int, help="use the first N images")
    vf.add_argument("--split", default="test", choices=["train", "val", "trainval", "test"])
    vf.add_argument("--val", help="validation index file instead of the last 5,000")
    vf.add_argument("--dataset", help="dataset name (default: the checkpoint's, or cifar10)")
    vf.add_argument("--batch-size", type=int, default=64)
    vf.add_argument("--min-agreement", type=float, default=99.9,
                    help="exit 1 when argmax agreement (%%) is below this")
    vf.add_argument("--json", type=Path, help="also write the report as JSON")
    vf.add_argument("--no-integer", action="store_true",
                    help="skip the integer graph (torch and QONNX only)")
    vf.add_argument("--float-bn", action="store_true",
                    help="also run the integer graph with the reference design's float32 BN")
    vf.set_defaults(func=cmd_verify)

    lw = sub.add_parser("lower", help="lower an exported QONNX graph to the integer graph")
    lw.add_argument("model", type=Path, help="ONNX graph from `addnn export`")
    lw.add_argument("-o", "--output", type=Path, required=True)
    lw.add_argument("--bn", default="integer", choices=["integer", "float32"],
                    help="BN + requantization as exact integer maps, or the reference "
                         "design's float32 BN")
    lw.set_defaults(func=cmd_lower)

    vw = sub.add_parser("view", help="serve an ONNX graph with Netron on 127.0.0.1")
    vw.add_argument("model", type=Path)
    vw.add_argument("--port", type=int, default=8080)
    vw.set_defaults(func=cmd_view)

    pl = sub.add_parser("plot", help="plot a run's loss and accuracy curves to PNG")
    pl.add_argument("run", help="run directory or its metrics.csv")
    pl.add_argument("-o", "--output", type=Path)
    pl.set_defaults(func=cmd_plot)

    register_hls(sub)
    register_estimate(sub)
    register_deploy(sub)
    register_report(sub)
    register_rtl(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except AddnnError as err:
        print(f"addnn: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("addnn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
