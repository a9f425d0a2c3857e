"""Data for the workloads: synthetic MNIST-shaped batches, scikit-learn's 8×8 digits, MNIST IDX."""

from __future__ import annotations

import gzip
import os
import struct
from functools import cache
from pathlib import Path

import numpy as np

from ..harness.errors import UserError

MNIST_ENV = "DBNBENCH_MNIST_DIR"
# MNIST's mean pixel is about 0.13, so synthetic binary images match its density.
MNIST_DENSITY = 0.13


def synthetic_binary(n: int, dim: int, seed: int, density: float = MNIST_DENSITY) -> np.ndarray:
    """`n` binary vectors of length `dim`, float32, for throughput runs (no download)."""
    rng = np.random.default_rng(seed)
    return (rng.random((n, dim), dtype=np.float32) < density).astype(np.float32)


def synthetic_images(n: int, seed: int, side: int = 28) -> np.ndarray:
    """`n` grey images side×side in [0, 1], float32: smooth blobs rather than white noise,
    so that interpolation in augmentation has structure to preserve."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    centres = rng.uniform(side * 0.25, side * 0.75, size=(n, 3, 2)).astype(np.float32)
    widths = rng.uniform(1.5, 4.0, size=(n, 3)).astype(np.float32)
    out = np.zeros((n, side, side), dtype=np.float32)
    for j in range(3):
        dy = yy[None] - centres[:, j, 0, None, None]
        dx = xx[None] - centres[:, j, 1, None, None]
        out += np.exp(-(dx * dx + dy * dy) / (2 * widths[:, j, None, None] ** 2))
    return np.clip(out, 0.0, 1.0)


@cache
def digits(seed: int = 0, test_fraction: float = 0.2) -> tuple[np.ndarray, ...]:
    """scikit-learn's 8×8 digits scaled to [0, 1]: (x_train, y_train, x_test, y_test), float64."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = data.data.astype(np.float64) / 16.0
    y = data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = round(len(x) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def mnist_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The MNIST directory from the argument or $DBNBENCH_MNIST_DIR, or a one-line error."""
    where = explicit or os.environ.get(MNIST_ENV)
    if not where:
        raise UserError(f"MNIST needs --data-dir or ${MNIST_ENV} (IDX files; nothing is downloaded)")
    path = Path(where)
    if not path.is_dir():
        what = "is not a directory" if path.exists() else "does not exist"
        raise UserError(f"MNIST directory {path} {what}")
    return path


def _idx_file(root: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        if (root / name).is_file():
            return root / name
    raise UserError(f"MNIST file {stem}[.gz] not found in {root}")


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (optionally gzipped) into an array of its stored type and shape."""
    p = Path(path)
    opener = gzip.open if p.suffix == ".gz" else open
    try:
        with opener(p, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:  # missing, unreadable, or a broken/truncated gzip stream
        raise UserError(f"{p}: cannot read ({exc.__class__.__name__}: {exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise UserError(f"{p}: not an IDX file (bad magic)")
    types = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if raw[2] not in types:
        raise UserError(f"{p}: unknown IDX element type 0x{raw[2]:02x}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise UserError(f"{p}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(types[raw[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise UserError(f"{p}: IDX body has {len(raw) - header} bytes, header says {expected}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def mnist(split: str = "train", data_dir: str | os.PathLike[str] | None = None
          ) -> tuple[np.ndarray, np.ndarray]:
    """Real MNIST from IDX files: (images as float32 n×784 in [0, 1], labels int64)."""
    if split not in ("train", "t10k"):
        raise UserError(f"MNIST split must be 'train' or 't10k', got {split!r}")
    root = mnist_dir(data_dir)
    images = read_idx(_idx_file(root, f"{split}-images-idx3-ubyte"))
    labels = read_idx(_idx_file(root, f"{split}-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise UserError(f"{root}: MNIST {split} images and labels do not match")
    return images.reshape(len(images), -1).astype(np.float32) / 255.0, labels.astype(np.int64)
