"""Real handwritten digits: the shipped UCI 8x8 set and the MNIST IDX reader."""

from __future__ import annotations

import gzip
import hashlib
import os
import pathlib
import subprocess
import sys
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxstat import datasets
from jaxstat._validate import float_dtype

# Per-class counts of the UCI test set (optdigits.tes), as in its source file
# sklearn/datasets/data/digits.csv.gz; see jaxstat/data/DIGITS-LICENSE.txt.
DIGITS_COUNTS = (178, 182, 177, 183, 181, 182, 181, 179, 174, 180)
DIGITS_SHA256 = {
    "images": "8f26b2bd9d135c256808f68f14fdabddde6d9c7f869ae419704b051f0f14b3b3",
    "labels": "8ba4f891220f5e4c9c819638d1602d74b83618f167043c6da52a2a247841ddf0",
}


# --------------------------------------------------------------------------- #
# digits (shipped)
# --------------------------------------------------------------------------- #
def test_digits_shipped_file_is_the_documented_one():
    path = pathlib.Path(datasets.__file__).parent / "data" / "digits.npz"
    with np.load(path) as data:
        assert sorted(data.files) == ["images", "labels"]
        for name, digest in DIGITS_SHA256.items():
            assert data[name].dtype == np.uint8
            assert hashlib.sha256(data[name].tobytes()).hexdigest() == digest
    licence = (path.parent / "DIGITS-LICENSE.txt").read_text()
    for must in ["Alpaydin", "Kaynak", "10.24432/C50P49", "CC BY 4.0"]:
        assert must in licence


def test_digits_shapes_values_and_counts():
    x, labels = datasets.digits()
    assert isinstance(x, jax.Array) and isinstance(labels, jax.Array)
    assert x.shape == (1797, 64) and labels.shape == (1797,)
    assert x.dtype == float_dtype() and labels.dtype == jnp.int32
    assert tuple(np.bincount(np.asarray(labels), minlength=10)) == DIGITS_COUNTS
    pixels = np.asarray(x) * 16
    # intensities are exactly pixel / 16 with pixels the integers 0..16, and 16 occurs
    np.testing.assert_array_equal(pixels, np.round(pixels))
    assert pixels.min() == 0 and pixels.max() == 16
    assert labels[:10].tolist() == list(range(10))


def test_digits_first_image_row_major():
    # the first row of the source file, a zero: row-major 8x8
    first = [0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0, 0, 3, 15, 2, 0, 11, 8, 0, 0, 4, 12, 0, 0,
             8, 8, 0, 0, 5, 8, 0, 0, 9, 8, 0, 0, 4, 11, 0, 1, 12, 7, 0, 0, 2, 14, 5, 10, 12, 0, 0, 0, 0, 6, 13,
             10, 0, 0, 0]
    x, labels = datasets.digits()
    np.testing.assert_array_equal(np.asarray(x[0]) * 16, first)
    assert int(labels[0]) == 0
    image = np.asarray(x[0]).reshape(8, 8)
    assert image[0, 3] * 16 == 13 and image[1, 2] * 16 == 13


def test_digits_binarize_threshold():
    x, _ = datasets.digits()
    b, labels = datasets.digits(binarize=True)
    assert b.dtype == float_dtype() and labels.dtype == jnp.int32
    assert set(np.unique(np.asarray(b)).tolist()) == {0.0, 1.0}
    # True means intensity >= 0.5, i.e. pixel >= 8 of 16
    np.testing.assert_array_equal(np.asarray(b), np.asarray(x) >= 0.5)
    assert int(b.sum()) == int((np.asarray(x) * 16 >= 8).sum())
    for t in [0.3, 1 / 16, 0.99]:
        bt = np.asarray(datasets.digits(binarize=t).images)
        np.testing.assert_array_equal(bt, np.asarray(x) >= t)
    np.testing.assert_array_equal(np.asarray(datasets.digits(binarize=np.float32(0.5)).images), np.asarray(b))


def test_digits_float64():
    with jax.enable_x64(True):
        x, labels = datasets.digits(dtype=jnp.float64)
        assert x.dtype == jnp.float64 and labels.dtype == jnp.int32
        b, _ = datasets.digits(binarize=True, dtype="float64")
        assert b.dtype == jnp.float64
        x32, _ = datasets.digits(dtype=jnp.float32)
        assert x32.dtype == jnp.float32
        np.testing.assert_array_equal(np.asarray(x), np.asarray(x32))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(binarize=0.0), r"binarize must be False, True \(threshold 0.5\) or a threshold in \(0, 1\); got 0.0"),
        (dict(binarize=1.0), "binarize must be .* got 1.0"),
        (dict(binarize=1), "binarize must be .* got 1"),
        (dict(binarize=float("nan")), "binarize must be .* got nan"),
        (dict(binarize="yes"), "binarize must be .* got 'yes'"),
        (dict(dtype=jnp.float16), "dtype must be float32 or float64"),
        (dict(dtype=jnp.int32), "dtype must be float32 or float64"),
    ],
)
def test_digits_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        datasets.digits(**kwargs)


def test_import_does_not_load_data():
    code = (
        "import sys, jaxstat.datasets as d; "
        "assert d._digits_raw.cache_info().currsize == 0; "
        "assert 'sklearn' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- #
# mnist (IDX files on disk)
# --------------------------------------------------------------------------- #
def _idx(magic, shape, data):
    """Bytes of an IDX file: big-endian magic, big-endian sizes, then uint8 data."""
    return np.array([magic, *shape], ">u4").tobytes() + np.asarray(data, np.uint8).tobytes()


def _write(path, payload):
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)


def _fake_mnist(directory, split, n, gz=(False, False), seed=0, rows=28, cols=28):
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(n, rows, cols), dtype=np.uint8)
    pixels[0, 0, 0], pixels[0, 0, 1], pixels[0, 0, 2], pixels[0, 0, 3] = 0, 255, 127, 128
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    prefix = "train" if split == "train" else "t10k"
    images_name = f"{prefix}-images-idx3-ubyte" + (".gz" if gz[0] else "")
    labels_name = f"{prefix}-labels-idx1-ubyte" + (".gz" if gz[1] else "")
    _write(directory / images_name, _idx(2051, (n, rows, cols), pixels))
    _write(directory / labels_name, _idx(2049, (n,), labels))
    return pixels, labels


@pytest.mark.parametrize("gz", [(False, False), (True, True), (True, False)])
def test_mnist_reads_raw_and_gzipped(tmp_path, gz):
    pixels, labels = _fake_mnist(tmp_path, "train", 5, gz=gz)
    x, y = datasets.mnist(tmp_path)
    assert isinstance(x, jax.Array) and isinstance(y, jax.Array)
    assert x.shape == (5, 784) and y.shape == (5,)
    assert x.dtype == float_dtype() and y.dtype == jnp.int32
    # exactly pixel / 255, correctly rounded
    np.testing.assert_array_equal(np.asarray(x), pixels.reshape(5, 784).astype(float_dtype()) / 255)
    assert y.tolist() == labels.tolist()
    assert float(x[0, 0]) == 0.0 and float(x[0, 1]) == 1.0
    # row-major: reshape gives the pictures back
    np.testing.assert_array_equal(np.round(np.asarray(x).reshape(-1, 28, 28) * 255), pixels)


def test_mnist_splits_and_path_forms(tmp_path):
    train_pixels, _ = _fake_mnist(tmp_path, "train", 4, seed=1)
    _, test_labels = _fake_mnist(tmp_path, "test", 3, gz=(True, True), seed=2)
    x, y = datasets.mnist(str(tmp_path), split="test")
    assert x.shape == (3, 784) and y.tolist() == test_labels.tolist()
    x, _ = datasets.mnist(tmp_path, split="train")
    assert x.shape == (4, 784)
    np.testing.assert_array_equal(np.round(np.asarray(x) * 255).reshape(4, 28, 28), train_pixels)


def test_mnist_only_needs_the_requested_split(tmp_path):
    _fake_mnist(tmp_path, "test", 2)
    assert datasets.mnist(tmp_path, split="test").images.shape == (2, 784)
    with pytest.raises(FileNotFoundError):
        datasets.mnist(tmp_path, split="train")


def test_mnist_other_image_sizes(tmp_path):
    _fake_mnist(tmp_path, "train", 3, rows=4, cols=5)
    x, _ = datasets.mnist(tmp_path)
    assert x.shape == (3, 20)


def test_mnist_binarize_and_dtype(tmp_path):
    pixels, _ = _fake_mnist(tmp_path, "train", 4)
    flat = pixels.reshape(4, 784)
    b, _ = datasets.mnist(tmp_path, binarize=True)
    np.testing.assert_array_equal(np.asarray(b), flat >= 128)  # intensity >= 0.5
    assert float(b[0, 2]) == 0.0 and float(b[0, 3]) == 1.0
    b, _ = datasets.mnist(tmp_path, binarize=0.25)
    np.testing.assert_array_equal(np.asarray(b), flat / 255 >= 0.25)
    # a threshold exactly on a grey level includes that level
    b, _ = datasets.mnist(tmp_path, binarize=128 / 255)
    np.testing.assert_array_equal(np.asarray(b), flat >= 128)
    with jax.enable_x64(True):
        x, y = datasets.mnist(tmp_path, dtype=jnp.float64)
        assert x.dtype == jnp.float64 and y.dtype == jnp.int32
        np.testing.assert_array_equal(np.asarray(x), flat / 255)


def test_mnist_missing_files_names_them_all(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        datasets.mnist(tmp_path, split="test")
    message = str(err.value)
    for name in ["t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte", "t10k-labels-idx1-ubyte.gz", str(tmp_path)]:
        assert name in message
    # one file present: the message still lists what was looked for, and says what is missing
    _write(tmp_path / "train-images-idx3-ubyte.gz", _idx(2051, (1, 28, 28), np.zeros(784)))
    with pytest.raises(FileNotFoundError, match=r"missing train-labels-idx1-ubyte\[\.gz\]") as err:
        datasets.mnist(tmp_path)
    assert "train-images-idx3-ubyte.gz" in str(err.value) and "train-labels-idx1-ubyte.gz" in str(err.value)
    with pytest.raises(FileNotFoundError, match="not a directory"):
        datasets.mnist(tmp_path / "nowhere")


def test_mnist_bad_magic_names_the_file(tmp_path):
    _fake_mnist(tmp_path, "train", 2)
    # labels written where the images belong
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx(2049, (2,), [1, 2]))
    bad_magic = r"train-images-idx3-ubyte must be an IDX file with magic number 2051 .* got 2049"
    with pytest.raises(ValueError, match=bad_magic):
        datasets.mnist(tmp_path)
    _fake_mnist(tmp_path, "train", 2)
    _write(tmp_path / "train-labels-idx1-ubyte", _idx(2051, (2, 1, 1), [1, 2]))
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte must be an IDX file with magic number 2049"):
        datasets.mnist(tmp_path)


def test_mnist_size_and_count_mismatch(tmp_path):
    _fake_mnist(tmp_path, "train", 2)
    truncated = _idx(2051, (2, 28, 28), np.zeros(2 * 784))[:-10]
    (tmp_path / "train-images-idx3-ubyte").write_bytes(truncated)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte must hold 1568 bytes .* got 1558"):
        datasets.mnist(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03\x00\x00")
    short = "train-images-idx3-ubyte must start with an IDX header of 16 bytes; got a file of 6 bytes"
    with pytest.raises(ValueError, match=short):
        datasets.mnist(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x00\x00")
    with pytest.raises(ValueError, match="magic number 2051 .* got a file of 2 bytes"):
        datasets.mnist(tmp_path)
    _fake_mnist(tmp_path, "train", 2)
    _write(tmp_path / "train-labels-idx1-ubyte", _idx(2049, (3,), [1, 2, 3]))
    with pytest.raises(ValueError, match="must hold as many images as labels; got 2 images and 3 labels"):
        datasets.mnist(tmp_path)


def test_mnist_broken_gzip(tmp_path):
    _fake_mnist(tmp_path, "test", 2, gz=(False, True))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz must be a gzip-compressed IDX file"):
        datasets.mnist(tmp_path, split="test")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(path=3), "path must be a directory name"),
        (dict(path=".", split="validation"), "split must be 'train' or 'test'; got 'validation'"),
        (dict(path=".", binarize=2), "binarize must be"),
        (dict(path=".", dtype=jnp.bfloat16), "dtype must be float32 or float64"),
    ],
)
def test_mnist_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        datasets.mnist(**kwargs)


def test_mnist_expands_user(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "mnist").mkdir()
    _fake_mnist(tmp_path / "mnist", "test", 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert datasets.mnist(os.path.join("~", "mnist"), split="test").images.shape == (2, 784)
