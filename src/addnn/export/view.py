"""``addnn view``: serve a graph with Netron on the loopback interface."""

from __future__ import annotations

from pathlib import Path

from addnn.errors import AddnnError
from addnn.export.graph import read_onnx


def serve(path: str | Path, port: int = 8080, block: bool = False) -> tuple[str, int]:
    """Start Netron on 127.0.0.1:``port`` (0 picks a free port) and print the URL. With
    ``block`` it serves until interrupted; otherwise it returns the address for
    ``netron.stop``."""
    import netron

    path = Path(path)
    read_onnx(path)         # a clear error before Netron serves a file it cannot show
    try:
        address = netron.serve(str(path), address=("127.0.0.1", port), browse=False)
    except OSError as err:
        raise AddnnError(f"cannot serve on 127.0.0.1:{port}: {err.strerror or err}") from err
    print(f"Netron serves {path} at http://{address[0]}:{address[1]}/", flush=True)
    if block:
        try:
            netron.wait()
        except KeyboardInterrupt:
            pass
        finally:
            netron.stop(address)
    return address
