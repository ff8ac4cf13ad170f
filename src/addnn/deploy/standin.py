"""A stand-in for ``pynq.Overlay`` and ``pynq.allocate`` over the compiled C simulation: the
driver's buffers go through the testbench binary (``tb --axis``), not through hardware.

It models the two AXI DMA behaviours the driver depends on (PG021, direct register mode):
- MM2S reads the whole buffer and sets TLAST on its last word only;
- S2MM writes beats into the armed buffer and ends the transfer at TLAST. A packet longer
  than the buffer is an error; a buffer still waiting when the stream ends is the board's
  hang in ``dma.recvchannel.wait()``; a packet that ends before the buffer is full leaves
  the rest of the buffer stale. Each of these raises ``StandInError``.
This is simulation: it shows that the driver's words, the accelerator's and the DMA's agree,
not that a board does.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np

from addnn.errors import AddnnError
from addnn.hls.csim import compile_project
from addnn.hls.project import load_project


class StandInError(AddnnError):
    """What would go wrong on the board."""


class Buffer(np.ndarray):
    """``pynq.allocate``'s buffer: an array with the cache calls, which do nothing here."""

    def flush(self) -> None:
        self.flushed = True

    def invalidate(self) -> None:
        pass

    def freebuffer(self) -> None:
        pass


def allocate(shape, dtype=np.uint8) -> Buffer:
    buf = np.zeros(shape, dtype=dtype).view(Buffer)
    buf.flushed = False
    return buf


class _Recv:
    def __init__(self, dma: "CsimDma"):
        self.dma, self.armed, self.filled = dma, None, 0

    def transfer(self, buffer: np.ndarray) -> None:
        if self.armed is not None:
            raise StandInError("S2MM transfer started while the last one runs")
        self.armed, self.filled = buffer.reshape(-1).view(np.uint8), 0
        self.dma.deliver()

    def wait(self) -> None:
        if self.armed is not None:
            raise StandInError(f"S2MM received {self.filled} of {self.armed.size} bytes and "
                               "no TLAST: on the board dma.recvchannel.wait() would hang")


class _Send:
    def __init__(self, dma: "CsimDma"):
        self.dma, self.pending = dma, None

    def transfer(self, buffer: np.ndarray) -> None:
        if not getattr(buffer, "flushed", False):
            raise StandInError("MM2S buffer sent without flush() since it was written: the "
                               "DMA would read stale cache lines")
        buffer.flushed = False
        self.pending = np.array(buffer.reshape(-1).view(np.uint8))

    def wait(self) -> None:
        if self.pending is None:
            raise StandInError("MM2S wait() without a transfer")
        words, self.pending = self.pending, None
        self.dma.run(words)


class CsimDma:
    """The DMA and the accelerator behind it: MM2S bytes in, S2MM beats out."""

    def __init__(self, binary: Path, beat_bytes: int):
        self.binary, self.beat_bytes = binary, beat_bytes
        self.sendchannel, self.recvchannel = _Send(self), _Recv(self)
        self.beats: list[tuple[bytes, bool]] = []      # output beats not yet received
        self.transfers = 0

    def run(self, words: np.ndarray) -> None:
        with tempfile.TemporaryDirectory(prefix="addnn-standin-") as tmp:
            fin, fout = Path(tmp) / "words.bin", Path(tmp) / "beats.bin"
            words.tofile(fin)
            res = subprocess.run([str(self.binary), "--axis", str(fin), str(fout)],
                                 capture_output=True, text=True)
            if res.returncode != 0:
                raise StandInError(f"the accelerator (C simulation) stopped: "
                                   f"{(res.stderr or res.stdout).strip()}")
            raw = fout.read_bytes()
        step = self.beat_bytes + 1
        self.beats += [(raw[k:k + self.beat_bytes], raw[k + self.beat_bytes] == 1)
                       for k in range(0, len(raw), step)]
        self.transfers += 1
        self.deliver()

    def deliver(self) -> None:
        """Move waiting beats into the armed S2MM buffer, up to and including TLAST."""
        recv = self.recvchannel
        while recv.armed is not None and self.beats:
            data, last = self.beats.pop(0)
            if recv.filled + len(data) > recv.armed.size:
                raise StandInError(f"the packet is longer than the {recv.armed.size}-byte S2MM "
                                   "buffer: the DMA would halt with an internal error")
            recv.armed[recv.filled:recv.filled + len(data)] = np.frombuffer(data, np.uint8)
            recv.filled += len(data)
            if last:
                if recv.filled != recv.armed.size:
                    raise StandInError(f"TLAST after {recv.filled} of {recv.armed.size} bytes: "
                                       "the rest of the S2MM buffer would stay stale")
                recv.armed = None


class CsimOverlay:
    """``pynq.Overlay`` for the HLS project's C simulation; the DMA under ``dma_name``."""

    def __init__(self, project: str | Path, dma_name: str = "axi_dma_0"):
        meta = load_project(project)
        binary, _ = compile_project(project)
        setattr(self, dma_name, CsimDma(binary, meta["output"]["D"] // 8))
