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
