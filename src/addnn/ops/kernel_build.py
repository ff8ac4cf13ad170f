"""Compile the C++ SAD kernels once per (source, compiler, flags, CPU) and cache the library.

The library lives in ``~/.cache/addnn/kernels/<hash>/``. It is built into a temporary file and
renamed into place, so an interrupted build never leaves a broken library behind, and two
processes building at once both end with a complete file.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

SOURCE = Path(__file__).with_name("csrc") / "sad_kernels.cpp"
# -fno-predictive-commoning: GCC otherwise carries the broadcast inputs of one kernel tap over
# to the next in registers, spills them, and runs the forward tile at half speed.
# -Wno-maybe-uninitialized: GCC 12 warns inside its own AVX-512 intrinsic headers.
CXX_FLAGS = ("-O3", "-fno-predictive-commoning", "-std=c++17", "-shared", "-fPIC", "-fopenmp",
             "-Wall", "-Wextra", "-Wno-maybe-uninitialized")


class KernelBuildError(RuntimeError):
    """The C++ kernels could not be compiled."""


def _cpu_signature() -> str:
    # -march=native ties the binary to this CPU: key the cache on it.
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    for key in ("model name", "flags"):
        lines = [ln for ln in text.splitlines() if ln.startswith(key)]
        if lines:
            return lines[0] + platform.machine()
    return platform.machine()


def _compiler() -> str:
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        raise KernelBuildError("no C++ compiler found (install g++)")
    return cxx


def cache_dir() -> Path:
    return Path.home() / ".cache" / "addnn" / "kernels"


def library_path(march: str = "native") -> Path:
    """Build the library for ``-march=<march>`` if it is not cached yet; return its path.

    ``native`` is what addnn runs; the tests also build generic targets (``x86-64-v3`` for
    AVX2, ``x86-64`` for the portable code) to check every SIMD branch on one machine.
    """
    cxx = _compiler()
    version = subprocess.run([cxx, "--version"], capture_output=True, text=True).stdout
    flags = (*CXX_FLAGS, f"-march={march}")
    key = hashlib.sha256(
        b"\0".join(s.encode() for s in (SOURCE.read_text(), version, " ".join(flags),
                                         _cpu_signature()))
    ).hexdigest()[:16]
    target = cache_dir() / key / "libaddnn_sad.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        proc = subprocess.run([cxx, *flags, "-o", tmp, str(SOURCE)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise KernelBuildError(f"g++ failed on {SOURCE.name} "
                                   f"(exit {proc.returncode}):\n{proc.stderr.strip()}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target
