"""Per-epoch metrics: a CSV file, TensorBoard scalars and a PNG of the curves."""

from __future__ import annotations

import csv
from pathlib import Path

from addnn.atomic import atomic_write

COLUMNS = ("epoch", "lr", "train_loss", "train_acc", "train_images", "val_loss", "val_acc",
           "images_per_s", "seconds")


def read_csv(path: str | Path) -> list[dict]:
    def value(key, text):
        if text in ("", None):
            return None
        return int(float(text)) if key in ("epoch", "train_images") else float(text)

    with open(path, newline="") as f:
        return [{k: value(k, v) for k, v in row.items()} for row in csv.DictReader(f)]


class MetricsLog:
    """Appends one row per epoch. On resume, rows past the resumed epoch are dropped first, so
    the file reads as if the run had never stopped."""

    def __init__(self, out: Path, tensorboard: bool = True, resume_epoch: int = 0):
        out.mkdir(parents=True, exist_ok=True)
        self.path = out / "metrics.csv"
        rows = read_csv(self.path) if resume_epoch and self.path.exists() else []
        self._write([r for r in rows if r["epoch"] <= resume_epoch])
        self.writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(out / "tensorboard"), purge_step=resume_epoch + 1)

    def _write(self, rows: list[dict]) -> None:
        def write(tmp: Path) -> None:
            with open(tmp, "w", newline="") as f:
                writer = csv.DictWriter(f, COLUMNS)
                writer.writeheader()
                for row in rows:
                    writer.writerow({k: ("" if row.get(k) is None else row[k])
                                     for k in COLUMNS})

        atomic_write(self.path, write)

    def append(self, row: dict) -> None:
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, COLUMNS).writerow(
                {k: ("" if row.get(k) is None else row[k]) for k in COLUMNS})
        if self.writer is not None:
            for key in COLUMNS[1:]:
                if row.get(key) is not None:
                    self.writer.add_scalar(key, row[key], int(row["epoch"]))
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def plot_curves(csv_path: str | Path, png_path: str | Path | None = None,
                title: str | None = None) -> Path:
    """Loss and accuracy against epoch, train and validation, as a PNG beside the CSV."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_csv(csv_path)
    png_path = Path(png_path) if png_path else Path(csv_path).with_name("curves.png")
    epochs = [r["epoch"] for r in rows]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("train_loss", "train"), ("val_loss", "validation")):
        pts = [(e, r[key]) for e, r in zip(epochs, rows) if r[key] is not None]
        if pts:
            ax_loss.plot(*zip(*pts), marker=".", label=label)
    for key, label in (("train_acc", "train"), ("val_acc", "validation")):
        pts = [(e, 100 * r[key]) for e, r in zip(epochs, rows) if r[key] is not None]
        if pts:
            ax_acc.plot(*zip(*pts), marker=".", label=label)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss")
    ax_acc.set(xlabel="epoch", ylabel="top-1 accuracy (%)")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    try:
        atomic_write(png_path, lambda tmp: fig.savefig(tmp, dpi=100), suffix=".png")
    finally:
        plt.close(fig)
    return png_path
