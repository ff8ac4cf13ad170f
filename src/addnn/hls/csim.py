"""``addnn csim``: the generated project compiled with g++ against the ap_types headers of the
hls4ml wheel, run on frames, and compared bit for bit with the integer graph.

Builds (the same sources):
- fast: native integer types for computation (the typedef switch of addnn_types.h);
- exact (``--exact-types``): ap_int / ap_uint everywhere, as Vitis builds it;
- bounded (``--bounded``): one thread per dataflow process and every stream bounded at its
  declared depth, which shows deadlocks (exit status 4, full and empty streams named).
Binaries are cached under ``~/.cache/addnn/csim/<hash>`` by the hash of their sources, flags
and compiler.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from addnn.errors import AddnnError
from addnn.hls.project import GRAPH_FILE, frames_from_images, load_project, nhwc
from addnn.hls.stages import source_tensor

CXX = "g++"
WARNINGS = ["-Wall", "-Wextra", "-Wno-unknown-pragmas", "-Wno-maybe-uninitialized",
            "-Wno-uninitialized"]
# -ffp-contract=off: float32 BN (``--bn float32``) rounds after the multiply and after the add,
# as numpy does, never as one fused multiply-add.
BASE_FLAGS = ["-std=c++14", "-march=native", "-ffp-contract=off", "-DADDNN_LOCAL_AXIS"]
# The optimised build (default) runs ResNet-20 more than 10x faster; the debug build (-O0, as
# Vitis HLS's csim_design without -O) compiles a small net in about half the time.
OPT_FLAGS = {True: "-O2", False: "-O0"}
EXIT_MEANING = {1: "mismatch", 2: "bad testbench files", 3: "read from an empty stream",
                4: "deadlock", 5: "stream protocol error"}


def ap_types_dir() -> Path:
    """The Xilinx ap_types headers shipped inside the hls4ml wheel."""
    spec = importlib.util.find_spec("hls4ml")
    if spec is None or not spec.submodule_search_locations:
        raise AddnnError("the ap_types headers come with the hls4ml wheel: "
                         "pip install --no-deps hls4ml==1.3.0 (make setup does it)")
    path = Path(list(spec.submodule_search_locations)[0]) / "templates" / "vivado" / "ap_types"
    if not (path / "ap_int.h").is_file():
        raise AddnnError(f"no ap_int.h in {path}: reinstall hls4ml==1.3.0")
    return path


def build_flags(exact: bool, bounded: bool, count: bool = False,
                optimize: bool = True) -> list[str]:
    flags = [*BASE_FLAGS, OPT_FLAGS[optimize]] + (["-DADDNN_COUNT_LOOPS"] if count else [])
    if exact:
        flags.append("-DADDNN_EXACT_TYPES")
    if bounded:
        flags += ["-DADDNN_BOUNDED", "-DHLS_STREAM_THREAD_SAFE", "-pthread"]
    return flags


def _sources(project: Path) -> list[Path]:
    srcs = [project / "src" / "addnn_top.cpp", project / "tb" / "tb.cpp"]
    srcs += sorted((project / "src" / "rtl").glob("*.cpp")) if (project / "src" / "rtl").is_dir() \
        else []
    return srcs


def _compiler_version() -> str:
    try:
        out = subprocess.run([CXX, "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as err:
        raise AddnnError(f"{CXX} is needed for C simulation ({err})") from err
    return out.stdout.splitlines()[0]


def compile_project(project: str | Path, exact: bool = False, bounded: bool = False,
                    cache: Path | None = None, count: bool = False,
                    optimize: bool = True) -> tuple[Path, float]:
    """The testbench binary of ``project`` for the build, and the seconds its compile took
    (0 when it came from the cache). ``optimize=False`` is the debug build (-O0)."""
    project = Path(project)
    load_project(project)
    inc = ap_types_dir()
    flags = build_flags(exact, bounded, count, optimize)
    srcs = _sources(project)
    digest = hashlib.sha256()
    for part in [_compiler_version(), *flags, str(inc)]:
        digest.update(part.encode() + b"\0")
    for path in sorted(project.joinpath("src").rglob("*")) + srcs:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    cache = cache or Path.home() / ".cache" / "addnn" / "csim"     # as the kernel and RTL caches
    binary = cache / digest.hexdigest()[:16] / "tb"
    if binary.is_file():
        return binary, 0.0
    binary.parent.mkdir(parents=True, exist_ok=True)
    tmp = binary.with_name(f".tb.{os.getpid()}.tmp")
    common = [CXX, *flags, "-isystem", str(inc), *WARNINGS]
    objects = [binary.with_name(f".{src.stem}.{k}.{os.getpid()}.o") for k, src in enumerate(srcs)]
    start = time.perf_counter()
    # One g++ per translation unit, in parallel, then the link.
    with ThreadPoolExecutor(len(srcs)) as pool:
        results = list(pool.map(lambda so: _gxx(common + ["-c", str(so[0]), "-o", str(so[1])],
                                                project), zip(srcs, objects)))
    try:
        for res in results:
            res()
        _gxx([*common, *map(str, objects), "-o", str(tmp)], project)()
    finally:
        for o in objects:
            o.unlink(missing_ok=True)
    os.replace(tmp, binary)
    return binary, time.perf_counter() - start


def _gxx(cmd: list[str], project: Path):
    """Run g++; return a callable that raises with the compiler's first error lines."""
    res = subprocess.run(cmd, capture_output=True, text=True)

    def check() -> None:
        if res.returncode != 0:
            lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
            first = next((i for i, ln in enumerate(lines) if "error" in ln), 0)
            raise AddnnError(f"g++ failed (exit {res.returncode}) on {project}:\n  " +
                             "\n  ".join(lines[first:first + 6]))
    return check


def compile_warnings(project: str | Path, exact: bool = False,
                     synthesis_view: bool = False) -> list[str]:
    """The warning lines g++ prints for the project's sources (-fsyntax-only). With
    ``synthesis_view`` the accelerator's sources alone, as Vitis synthesis sees them
    (ADDNN_SYNTHESIS_VIEW: no simulation-only code)."""
    project = Path(project)
    flags = build_flags(exact, False) + (["-DADDNN_SYNTHESIS_VIEW"] if synthesis_view else [])
    srcs = [s for s in _sources(project) if not (synthesis_view and s.parent.name == "tb")]
    cmd = [CXX, *flags, "-fsyntax-only", "-isystem", str(ap_types_dir()), *WARNINGS,
           *map(str, srcs)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise AddnnError(f"g++ failed: {res.stderr.strip().splitlines()[:3]}")
    return [ln for ln in res.stderr.splitlines() if "warning" in ln]


def _run_chunk(binary: Path, inputs: np.ndarray, expected: np.ndarray, work: Path,
               k: int, dump: Path | None = None, batch: int = 1) -> dict:
    fin, fexp, fout = (work / f"{name}{k}.bin" for name in ("in", "exp", "out"))
    inputs.astype("<i4").tofile(fin)
    expected.astype("<i4").tofile(fexp)
    cmd = [str(binary), str(fin), str(fexp), str(fout), "--batch", str(batch)]
    if dump is not None:
        dump.mkdir(parents=True, exist_ok=True)
        cmd += ["--dump", str(dump)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    out = np.fromfile(fout, dtype="<i4").reshape(expected.shape) if fout.exists() and \
        res.returncode in (0, 1) else None
    return {"status": res.returncode, "stdout": res.stdout, "stderr": res.stderr, "out": out}


def run_frames(binary: Path, inputs: np.ndarray, expected: np.ndarray,
               jobs: int | None = None, batch: int = 1) -> tuple[np.ndarray, float]:
    """The accelerator's outputs for the frames, the frames split over ``jobs`` processes,
    and the wall-clock seconds of the run. Each process sends its frames as DMA transfers of
    ``batch`` frames, and the testbench checks TLAST at the end of each packet. A failed run
    raises with its status and message."""
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(inputs)))
    parts = np.array_split(np.arange(len(inputs)), jobs)
    with tempfile.TemporaryDirectory(prefix="addnn-csim-") as tmp:
        start = time.perf_counter()
        with ThreadPoolExecutor(jobs) as pool:
            results = list(pool.map(lambda kp: _run_chunk(binary, inputs[kp[1]],
                                                          expected[kp[1]], Path(tmp), kp[0],
                                                          batch=batch),
                                    enumerate(parts)))
        seconds = time.perf_counter() - start
    for r in results:
        if r["status"] not in (0, 1):
            meaning = EXIT_MEANING.get(r["status"], f"exit status {r['status']}")
            detail = "\n  ".join((r["stderr"] or r["stdout"]).strip().splitlines()[:80])
            raise CsimFailure(r["status"], f"C simulation failed: {meaning}\n  {detail}")
    return np.concatenate([r["out"] for r in results]), seconds


class CsimFailure(AddnnError):
    """The simulation binary stopped on an error (deadlock, empty read, protocol)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def project_frames(project: Path, meta: dict, data: str | None, images: int | None,
                   split: str = "test", dataset: str = "cifar10"):
    """Input frames, expected outputs and labels (or None): the testbench's own frames, or
    ``images`` images of ``data`` through the project's integer graph."""
    if data is None:
        inputs = np.fromfile(project / "tb" / "inputs.bin", dtype="<i4")
        expected = np.fromfile(project / "tb" / "expected.bin", dtype="<i4")
        inputs = inputs.reshape(-1, meta["input"]["ELEMS"])
        expected = expected.reshape(-1, meta["output"]["ELEMS"])
        n = len(inputs) if images is None else min(images, len(inputs))
        return inputs[:n], expected[:n], None, f"the testbench's {n} frames"
    from addnn.data import load_dataset
    from addnn.export import load_graph

    ds = load_dataset(dataset, data, split)
    if images:
        ds = ds.subset(range(min(images, len(ds))))
    if list(ds.images.shape[1:]) != meta["input"]["shape"]:
        raise AddnnError(f"the accelerator takes {meta['input']['shape']} images, {data} has "
                         f"{list(ds.images.shape[1:])}")
    model = load_graph(project / GRAPH_FILE)
    x = ds.normalize(ds.images).numpy()
    inputs, expected = frames_from_images(model, x)
    return inputs, expected, ds.labels.numpy(), f"{len(ds)} images of {ds.name}"


def csim(project: str | Path, data: str | None = None, images: int | None = None,
         exact: bool = False, bounded: bool = False, jobs: int | None = None,
         split: str = "test", dataset: str = "cifar10", batch: int = 1,
         optimize: bool = True) -> dict:
    """Compile, run and compare; the report as a JSON-ready dict (see ``print_report``).
    ``batch``: frames per DMA transfer (TLAST checked at the end of each packet);
    ``optimize=False``: the debug build (-O0), quicker to compile, slower to run."""
    if batch < 1:
        raise AddnnError(f"--batch must be at least 1, not {batch}")
    project = Path(project)
    meta = load_project(project)
    inputs, expected, labels, what = project_frames(project, meta, data, images, split, dataset)
    binary, compile_s = compile_project(project, exact, bounded, optimize=optimize)
    got, seconds = run_frames(binary, inputs, expected, jobs, batch)
    same = (got == expected).all(1)
    report = {"project": str(project), "frames": what, "images": int(len(inputs)),
              "build": ("exact" if exact else "fast") + (" bounded" if bounded else "")
              + ("" if optimize else " debug"),
              "batch": batch,
              "compile_seconds": compile_s, "seconds": seconds,
              "images_per_s": len(inputs) / max(seconds, 1e-9),
              "identical": float(same.mean()), "mismatches": []}
    classes = meta["output"]["ELEMS"]
    if labels is not None or classes > 1:
        report["argmax_agreement"] = float((got.argmax(1) == expected.argmax(1)).mean())
    if labels is not None:
        report["accuracy"] = float((got.argmax(1) == labels).mean())
    for k in np.flatnonzero(~same)[:5]:
        e = int(np.flatnonzero(got[k] != expected[k])[0])
        report["mismatches"].append({"frame": int(k), "element": e, "got": int(got[k, e]),
                                     "expected": int(expected[k, e])})
    if report["mismatches"] and not bounded:
        k = report["mismatches"][0]["frame"]
        report["first_difference"] = first_difference(project, meta, binary, inputs[k:k + 1],
                                                      expected[k:k + 1])
    return report


def first_difference(project: Path, meta: dict, binary: Path, frame: np.ndarray,
                     expected: np.ndarray) -> dict | None:
    """Rerun one frame with stream dumps and find the first stage whose stream differs from
    the integer graph: the stream, the channel and the position."""
    from addnn.export import load_graph
    from addnn.transform import integer_context

    model = load_graph(project / GRAPH_FILE)
    t = meta["input"]
    q = frame.reshape(t["shape"][1], t["shape"][2], t["shape"][0]).transpose(2, 0, 1)[None]
    ctx = integer_context(model, (q * 2.0 ** t["exponent"]).astype(np.float32))
    with tempfile.TemporaryDirectory(prefix="addnn-dump-") as tmp:
        _run_chunk(binary, frame, expected, Path(tmp), 0, dump=Path(tmp) / "dump")
        for s in meta["streams"]:
            path = Path(tmp) / "dump" / f"{s['var']}.bin"
            ref = nhwc(ctx[source_tensor(s["tensor"])]).reshape(-1).astype(np.int64)
            if not path.exists():
                return {"stream": s["var"], "tensor": s["tensor"], "detail": "no elements"}
            got = np.fromfile(path, dtype="<i8")
            if got.shape != ref.shape or not np.array_equal(got, ref):
                n = min(len(got), len(ref))
                bad = int(np.flatnonzero(got[:n] != ref[:n])[0]) if n and \
                    not np.array_equal(got[:n], ref[:n]) else n
                pixel, channel = divmod(bad, s["channels"])
                return {"stream": s["var"], "tensor": s["tensor"], "channel": channel,
                        "pixel": pixel, "got": int(got[bad]) if bad < len(got) else None,
                        "expected": int(ref[bad]) if bad < len(ref) else None,
                        "elements": [int(len(got)), int(len(ref))]}
    return None


def print_report(r: dict) -> None:
    batch = f", DMA transfers of {r['batch']} frames (TLAST checked)" if r.get("batch", 1) > 1 \
        else ""
    print(f"{r['project']}: C simulation ({r['build']} build) on {r['frames']}{batch}")
    if r["compile_seconds"]:
        print(f"  compiled in {r['compile_seconds']:.1f} s")
    line = f"  identical outputs {100 * r['identical']:.2f}%"
    if "argmax_agreement" in r:
        line += f", argmax agreement {100 * r['argmax_agreement']:.2f}%"
    if "accuracy" in r:
        line += f", top-1 {100 * r['accuracy']:.2f}%"
    print(line + f", {r['images_per_s']:.1f} images/s ({r['images']} in {r['seconds']:.2f} s)")
    for m in r["mismatches"]:
        print(f"  mismatch: frame {m['frame']} output element {m['element']}: got {m['got']}, "
              f"expected {m['expected']}")
    d = r.get("first_difference")
    if d:
        where = (f"channel {d['channel']} pixel {d['pixel']}: got {d['got']}, expected "
                 f"{d['expected']}" if "channel" in d else d["detail"])
        print(f"  first stream that differs: {d['stream']} (tensor {d['tensor']}), {where}")


def loop_iterations(project: str | Path, optimize: bool = True) -> dict[str, int]:
    """Loop iterations per frame of every process, counted by the counting build
    (ADDNN_COUNT_LOOPS) on the testbench's first frame."""
    project = Path(project)
    meta = load_project(project)
    inputs, expected, _, _ = project_frames(project, meta, None, 1)
    binary, _ = compile_project(project, count=True, optimize=optimize)
    with tempfile.TemporaryDirectory(prefix="addnn-count-") as tmp:
        fin, fexp, counts = (Path(tmp) / n for n in ("in.bin", "exp.bin", "counts.txt"))
        inputs.astype("<i4").tofile(fin)
        expected.astype("<i4").tofile(fexp)
        res = subprocess.run([str(binary), str(fin), str(fexp), "--counts", str(counts)],
                             capture_output=True, text=True)
        if res.returncode != 0:
            raise AddnnError(f"counting build failed: {res.stderr.strip()[:400]}")
        lines = counts.read_text().split("\n")
    return {ln.rsplit(" ", 1)[0]: int(ln.rsplit(" ", 1)[1]) for ln in lines if ln}


def write_report(report: dict, path: str | Path) -> None:
    import json

    from addnn.atomic import atomic_write_text
    from addnn.machine import command_line

    atomic_write_text(path, json.dumps({**report, "command": command_line()}, indent=2) + "\n")
