"""The driver's pack and unpack against the accelerator's own stream kernels in C simulation
(io_harness.cpp over addnn_io.h's input_layer and output_layer): the same words, bit for bit,
and the same TLAST."""

import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from addnn.deploy import pynq_driver as driver

HERE = Path(__file__).parent
# The harness's formats: (EB, ELEMS, CH, BITS, SIGNED), D = 64.
FORMATS = [(1, 27, 3, 8, True), (1, 16, 1, 4, False), (2, 10, 10, 16, True), (2, 15, 3, 12, False)]


def fmt(k: int) -> dict:
    eb, elems, ch, bits, signed = FORMATS[k]
    return {"D": 64, "EB": eb, "EPW": 8 // eb, "ELEMS": elems, "WORDS": -(-elems // (8 // eb)),
            "CH": ch, "BITS": bits, "SIGNED": int(signed)}


@pytest.fixture(scope="module")
def harness(tmp_path_factory, gxx):
    from addnn.hls.csim import BASE_FLAGS, CXX, WARNINGS, ap_types_dir
    from addnn.hls.project import KERNELS

    out = tmp_path_factory.mktemp("io") / "io_harness"
    subprocess.run([CXX, *BASE_FLAGS, "-isystem", str(ap_types_dir()), "-I",
                    str(KERNELS), *WARNINGS, str(HERE / "io_harness.cpp"), "-o",
                    str(out)], check=True, capture_output=True)
    return out


def frames_strategy():
    @st.composite
    def make(draw):
        k = draw(st.integers(0, len(FORMATS) - 1))
        f = fmt(k)
        lo, hi = driver.element_range(f)
        n = draw(st.integers(1, 3))
        values = draw(st.lists(st.sampled_from([lo, hi, 0, -1 if lo < 0 else 1]) |
                               st.integers(lo, hi), min_size=n * f["ELEMS"],
                               max_size=n * f["ELEMS"]))
        flags = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        return k, np.array(values, dtype=np.int64).reshape(n, f["ELEMS"]), flags
    return make()


@given(frames_strategy())
def test_the_accelerator_reads_the_drivers_words_as_the_driver_meant(harness, case):
    k, frames, _ = case
    with tempfile.TemporaryDirectory() as tmp:
        values, flags = _read_back(harness, k, frames, Path(tmp))
    assert np.array_equal(values, frames)
    # MM2S sets TLAST once, on the transfer's last word: only the last frame carries it.
    assert flags.tolist() == [0] * (len(frames) - 1) + [1]


def _read_back(harness, k, frames, tmp_path):
    f = fmt(k)
    words = driver.pack_frames(frames, f)
    assert words.dtype == np.uint8 and words.size == len(frames) * f["WORDS"] * 8
    (tmp_path / "w.bin").write_bytes(words.tobytes())
    subprocess.run([str(harness), str(k), "in", str(tmp_path / "w.bin"), str(tmp_path / "v.bin")],
                   check=True)
    raw = np.fromfile(tmp_path / "v.bin", dtype="<i4")
    return raw[:frames.size].reshape(frames.shape), raw[frames.size:]


@given(frames_strategy())
def test_the_driver_unpacks_the_accelerators_words(harness, case):
    k, frames, flags = case
    f = fmt(k)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        frames.astype("<i4").tofile(tmp / "v.bin")
        subprocess.run([str(harness), str(k), "out", str(tmp / "v.bin"),
                        "".join("1" if x else "0" for x in flags), str(tmp / "b.bin")],
                       check=True)
        beats = np.fromfile(tmp / "b.bin", dtype=np.uint8).reshape(-1, 9)
    assert len(beats) == len(frames) * f["WORDS"]
    data, last = beats[:, :8].reshape(-1), beats[:, 8]
    assert np.array_equal(data, driver.pack_frames(frames, f))          # the same bytes
    assert np.array_equal(driver.unpack_frames(data, f, len(frames)), frames)
    expect = np.zeros((len(frames), f["WORDS"]), dtype=np.uint8)
    expect[:, -1] = flags                                               # TLAST: as the input's
    assert np.array_equal(last, expect.reshape(-1))


@given(st.integers(0, len(FORMATS) - 1), st.data())
def test_pack_refuses_values_outside_the_type(k, data):
    f = fmt(k)
    lo, hi = driver.element_range(f)
    bad = data.draw(st.sampled_from([lo - 1, hi + 1]))
    frames = np.zeros((1, f["ELEMS"]), dtype=np.int64)
    frames[0, data.draw(st.integers(0, f["ELEMS"] - 1))] = bad
    with pytest.raises(driver.DriverError, match="outside"):
        driver.pack_frames(frames, f)


def test_pack_refuses_a_wrong_frame_shape():
    with pytest.raises(driver.DriverError, match=r"\[N, 10\]"):
        driver.pack_frames(np.zeros((2, 9), dtype=np.int64), fmt(2))
