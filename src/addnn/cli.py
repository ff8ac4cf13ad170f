"""The ``addnn`` command: a thin shell over the Python API."""

from __future__ import annotations

import argparse
import sys

from addnn import __version__
from addnn.errors import AddnnError


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="addnn", description="AdderNet from PyTorch to FPGA: train, quantize, export, "
                                  "lower, generate HLS, simulate and estimate.")
    parser.add_argument("--version", action="version", version=f"addnn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    info = sub.add_parser("info", help="show the adder2d kernel backend of this machine")
    info.set_defaults(func=cmd_info)
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
