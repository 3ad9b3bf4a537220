"""Small data sets: synthetic ones that generate offline, real ones that ship.

``fruit``: the fruit-sorting example of the course notes. A vendor sorts
apples from oranges by two features, weight (grams) and sweetness (1 to 10);
apples are heavier and less sweet, oranges lighter and sweeter, and a line
``w1 x1 + w2 x2 + b = 0`` in the (weight, sweetness) plane separates them.

``digits``: 1,797 real handwritten digits, 8x8 images with 17 grey levels
(E. Alpaydin and C. Kaynak, UCI "Optical Recognition of Handwritten Digits",
CC BY 4.0; see ``jaxstat/data/DIGITS-LICENSE.txt``). The data ship inside the
package (45 kB), so they load offline; small enough to store as Hopfield
patterns or train an RBM or a perceptron in seconds on a laptop.

``mnist``: the 70,000 28x28 MNIST digits, read from the standard IDX files a
user has on disk (jaxstat neither ships nor downloads them).

``digits`` and ``mnist`` return ``Digits(images, labels)``: ``images`` rows are
flattened row-major images with intensities in [0, 1] (or binarized to
{0, 1}), ``labels`` the digits 0..9 as int32.
"""

from __future__ import annotations

import functools
import gzip
import importlib.resources
import math
import numbers
import os
import pathlib
import zlib
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._validate import check_float_dtype, check_key, check_positive_int, float_dtype

__all__ = ["fruit", "APPLE", "ORANGE", "digits", "mnist", "Digits"]

APPLE = 1
ORANGE = -1

# Class regions, (weight in g, sweetness). The weight ranges leave a 10 g gap
# around 160 g, so the line weight = 160 separates the classes whatever the
# sweetness: separability is guaranteed, not merely likely. Sweetness ranges
# overlap on [5, 6], so weight alone is what separates.
_APPLE_BOX = ((170.0, 250.0), (1.0, 6.0))
_ORANGE_BOX = ((100.0, 150.0), (5.0, 10.0))


def _uniform_box(key, m, box, dtype):
    (w_lo, w_hi), (s_lo, s_hi) = box
    u = jax.random.uniform(key, (m, 2), dtype)
    lo = jnp.array([w_lo, s_lo], dtype)
    hi = jnp.array([w_hi, s_hi], dtype)
    return lo + u * (hi - lo)


def _impostors(key, genuine, m):
    # Random convex combinations of two genuine points of the other class:
    # each impostor lies in that class's convex hull, so no line can separate.
    k_idx, k_t = jax.random.split(key)
    idx = jax.random.randint(k_idx, (m, 2), 0, genuine.shape[0])
    t = jax.random.uniform(k_t, (m, 1), genuine.dtype)
    return t * genuine[idx[:, 0]] + (1 - t) * genuine[idx[:, 1]]


def fruit(key, n, overlap=0.0, dtype=None):
    """Apples and oranges by weight and sweetness, labelled apple +1, orange -1.

    ``ceil(n / 2)`` apples are drawn uniformly from weights 170–250 g and
    sweetness 1–6, ``floor(n / 2)`` oranges from 100–150 g and sweetness 5–10,
    and the rows are shuffled. With ``overlap = 0`` the set is linearly
    separable by construction (the line weight = 160 g separates it).

    With ``overlap > 0`` (needs ``n >= 4``) ``ceil(overlap * m / 2)`` fruits of
    each class (``m`` its size) are "impostors": an apple that looks like an
    orange, placed at a random point between two genuine oranges, and vice
    versa. An impostor lies inside the other class's convex hull, so the set
    is never linearly separable; ``overlap = 1`` makes half of each class
    impostors.

    Args:
      key: a PRNG key.
      n: number of fruits, an integer >= 2 (>= 4 when ``overlap > 0``).
      overlap: a number in [0, 1], how mixed the classes are.
      dtype: float dtype of ``x`` (default float32, float64 under x64).

    Returns:
      ``(x, y)``: ``x`` of shape ``(n, 2)`` with ``x[:, 0]`` the weight in grams
      and ``x[:, 1]`` the sweetness on a 1–10 scale; ``y`` int32 labels of
      shape ``(n,)``, +1 apple and -1 orange.

    >>> import jax
    >>> x, y = fruit(jax.random.key(0), 6)
    >>> x.shape, sorted(y.tolist())
    ((6, 2), [-1, -1, -1, 1, 1, 1])
    >>> bool((x[y == 1, 0] > x[y == -1, 0].max()).all())   # apples are heavier
    True
    """
    check_key(key)
    n = check_positive_int(n, "n", minimum=2)
    if isinstance(overlap, bool) or not isinstance(overlap, numbers.Real) or not 0 <= overlap <= 1:
        raise ValueError(f"overlap must be a number in [0, 1]; got {overlap!r}")
    overlap = float(overlap)
    if overlap > 0 and n < 4:
        raise ValueError(f"n must be >= 4 when overlap > 0 (each class needs a genuine member); got n = {n}")
    dtype = jnp.dtype(dtype) if dtype is not None else float_dtype()
    if dtype not in (jnp.dtype(jnp.float32), jnp.dtype(jnp.float64)):
        raise ValueError(f"dtype must be float32 or float64; got {dtype}")

    n_apples, n_oranges = (n + 1) // 2, n // 2
    k_a, k_o, k_ia, k_io, k_perm = jax.random.split(key, 5)
    apples = _uniform_box(k_a, n_apples, _APPLE_BOX, dtype)
    oranges = _uniform_box(k_o, n_oranges, _ORANGE_BOX, dtype)
    if overlap > 0:
        m_a = math.ceil(overlap * n_apples / 2)
        m_o = math.ceil(overlap * n_oranges / 2)
        genuine_apples, genuine_oranges = apples[m_a:], oranges[m_o:]
        apples = jnp.concatenate([_impostors(k_ia, genuine_oranges, m_a), genuine_apples])
        oranges = jnp.concatenate([_impostors(k_io, genuine_apples, m_o), genuine_oranges])
    x = jnp.concatenate([apples, oranges])
    y = jnp.concatenate([jnp.full((n_apples,), APPLE, jnp.int32), jnp.full((n_oranges,), ORANGE, jnp.int32)])
    perm = jax.random.permutation(k_perm, n)
    return x[perm], y[perm]


# --------------------------------------------------------------------------- #
# handwritten digits
# --------------------------------------------------------------------------- #
class Digits(NamedTuple):
    """Images of handwritten digits and their labels.

    ``images``: float array ``(n, h * w)``, each row one image flattened
    row-major (``images.reshape(-1, h, w)`` gives the pictures), intensities in
    [0, 1] or binarized to {0, 1}. ``labels``: int32 ``(n,)``, the digits 0..9.
    """

    images: jax.Array
    labels: jax.Array


_DIGITS_LEVELS = 16  # 4x4 blocks of on/off pixels: counts 0..16
_MNIST_LEVELS = 255
_IDX_IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions (n, rows, cols)
_IDX_LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension (n,)
_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _check_binarize(binarize):
    """False, True (threshold 0.5), or a threshold in (0, 1); returns the threshold or None."""
    if isinstance(binarize, (bool, np.bool_)):
        return 0.5 if binarize else None
    if isinstance(binarize, numbers.Real) and 0 < binarize < 1:
        return float(binarize)
    raise ValueError(f"binarize must be False, True (threshold 0.5) or a threshold in (0, 1); got {binarize!r}")


def _to_images(raw, levels, binarize, dtype):
    """uint8 counts 0..levels -> float images in [0, 1], or {0, 1} with ``count / levels >= threshold``."""
    threshold = _check_binarize(binarize)
    dtype = check_float_dtype(dtype) if dtype is not None else float_dtype()
    if threshold is None:
        # numpy divides correctly rounded; XLA turns division by a constant into
        # multiplication by its reciprocal, 1 ulp off pixel / 255 for some pixels.
        return jnp.asarray(np.divide(raw, levels, dtype=dtype), dtype)
    # Compare integer counts with the smallest count c with c / levels >= t: the
    # cut is the same whatever the float dtype, and read off the grey levels
    # themselves rather than from a rounded t * levels.
    cut = int(np.searchsorted(np.arange(levels + 1) / levels, threshold, side="left"))
    return jnp.asarray(raw >= cut, dtype)


@functools.lru_cache(maxsize=1)
def _digits_raw():
    with importlib.resources.files("jaxstat").joinpath("data", "digits.npz").open("rb") as f, np.load(f) as data:
        images, labels = data["images"], data["labels"]
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def digits(binarize=False, dtype=None):
    """The 1,797 8x8 handwritten digits of the UCI optical-recognition set, shipped offline.

    Each image is a 32x32 bitmap of a handwritten digit reduced to 8x8 by
    counting the on pixels in each 4x4 block, so pixels are integers 0..16;
    here they are scaled to intensities ``pixel / 16`` in [0, 1]. The set is
    the UCI test set (13 writers), the same copy as scikit-learn's
    ``load_digits``; every class has 174 to 183 images. Source: E. Alpaydin and
    C. Kaynak (1998), UCI Machine Learning Repository, DOI 10.24432/C50P49,
    CC BY 4.0 (attribution in ``jaxstat/data/DIGITS-LICENSE.txt``).

    Args:
      binarize: ``False`` for intensities in [0, 1]; ``True`` for {0, 1} pixels,
        1 where the intensity is >= 0.5 (``pixel >= 8`` of 16); or a threshold
        ``t`` in (0, 1) for 1 where ``pixel / 16 >= t``. For ±1 spins use
        ``2 * images - 1``.
      dtype: float dtype of ``images`` (default float32, float64 under x64).

    Returns:
      ``Digits(images, labels)``: ``images`` of shape ``(1797, 64)``, each row
      an 8x8 image flattened row-major (``images.reshape(-1, 8, 8)`` gives the
      pictures); ``labels`` int32 of shape ``(1797,)``, the digits 0..9.

    >>> x, labels = digits()
    >>> x.shape, labels.shape, float(x.min()), float(x.max())
    ((1797, 64), (1797,), 0.0, 1.0)
    >>> labels[:10].tolist()
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    >>> zero = digits(binarize=True).images[0].reshape(8, 8).astype(int)
    >>> print("\\n".join("|" + "".join(".#"[p] for p in row) + "|" for row in zero.tolist()))
    |...##...|
    |..####..|
    |..#..##.|
    |..#..##.|
    |..#..##.|
    |..#..#..|
    |..#.##..|
    |...##...|
    """
    _check_binarize(binarize)
    if dtype is not None:
        check_float_dtype(dtype)
    raw_images, raw_labels = _digits_raw()
    images = _to_images(raw_images, _DIGITS_LEVELS, binarize, dtype)
    return Digits(images, jnp.asarray(raw_labels, jnp.int32))


def _read_idx(file, magic):
    """The array stored in an IDX file (raw or ``.gz``): uint8 of the header's shape.

    IDX layout: a big-endian uint32 magic number ``0x0000TTDD`` (``TT = 0x08``
    for unsigned bytes, ``DD`` the number of dimensions), ``DD`` big-endian
    uint32 sizes, then the data in C order.
    """
    try:
        if file.suffix == ".gz":
            with gzip.open(file, "rb") as f:
                buf = f.read()
        else:
            buf = file.read_bytes()
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise ValueError(f"{file} must be a gzip-compressed IDX file (it ends in .gz); got {err}") from None
    ndim = magic & 0xFF
    header = 4 * (1 + ndim)
    found = int.from_bytes(buf[:4], "big") if len(buf) >= 4 else None
    if found != magic:
        got = f"{found} (0x{found:08X})" if found is not None else f"a file of {len(buf)} bytes"
        raise ValueError(
            f"{file} must be an IDX file with magic number {magic} (0x{magic:08X}, unsigned bytes, {ndim}-D); got {got}"
        )
    if len(buf) < header:
        raise ValueError(f"{file} must start with an IDX header of {header} bytes; got a file of {len(buf)} bytes")
    shape = tuple(int(d) for d in np.frombuffer(buf, ">u4", count=ndim, offset=4))
    size = math.prod(shape)
    if len(buf) - header != size:
        raise ValueError(
            f"{file} must hold {size} bytes of data after its header (shape {shape}); got {len(buf) - header}"
        )
    return np.frombuffer(buf, np.uint8, offset=header).reshape(shape)


def _find_idx(directory, name):
    """``directory/name`` or ``directory/name.gz``, whichever exists (raw first), else None."""
    for candidate in (name, name + ".gz"):
        file = directory / candidate
        if file.is_file():
            return file
    return None


def mnist(path, split="train", binarize=False, dtype=None):
    """MNIST handwritten digits read from the standard IDX files in directory ``path``.

    jaxstat does not ship or download MNIST: put the four files of the
    standard distribution in one directory, raw or gzipped (``.gz``),

    - ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte`` (60,000 images),
    - ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (10,000 images),

    and point ``path`` at it. Only the requested split's two files are needed
    and read. Pixels (0..255) are scaled to intensities ``pixel / 255`` in
    [0, 1]. Files in the same format and with the same names, such as
    Fashion-MNIST's, load too.

    Args:
      path: the directory holding the files (``str`` or ``os.PathLike``;
        ``~`` is expanded).
      split: ``"train"`` or ``"test"``.
      binarize: ``False`` for intensities in [0, 1]; ``True`` for {0, 1} pixels,
        1 where the intensity is >= 0.5 (``pixel >= 128``); or a threshold
        ``t`` in (0, 1) for 1 where ``pixel / 255 >= t``.
      dtype: float dtype of ``images`` (default float32, float64 under x64).

    Returns:
      ``Digits(images, labels)``: ``images`` of shape ``(n, 784)``, each row a
      28x28 image flattened row-major (``images.reshape(-1, 28, 28)`` gives the
      pictures; files with other image sizes give ``(n, rows * cols)``);
      ``labels`` int32 of shape ``(n,)``. ``n`` is 60,000 for ``"train"`` and
      10,000 for ``"test"``.

    Raises:
      FileNotFoundError: a file of the split is in neither form; the message
        names every file looked for and the directory.
      ValueError: a file is not a valid IDX file of its kind (wrong magic
        number, size not matching its header, broken gzip), or the images and
        labels differ in number.

    >>> x, labels = mnist("~/data/mnist", split="test")  # doctest: +SKIP
    >>> x.shape, labels.shape                            # doctest: +SKIP
    ((10000, 784), (10000,))
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"path must be a directory name (str or os.PathLike); got {type(path).__name__} {path!r:.60}")
    if not isinstance(split, str) or split not in _MNIST_FILES:
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
    _check_binarize(binarize)
    if dtype is not None:
        check_float_dtype(dtype)
    directory = pathlib.Path(path).expanduser()
    names = _MNIST_FILES[split]
    files = [_find_idx(directory, name) for name in names]
    if None in files:
        looked_for = ", ".join(f"{name} or {name}.gz" for name in names)
        missing = ", ".join(f"{name}[.gz]" for name, file in zip(names, files) if file is None)
        where = f"directory {str(directory)!r}" if directory.is_dir() else f"{str(directory)!r} (not a directory)"
        raise FileNotFoundError(
            f"MNIST {split!r} split not found in {where}: looked for {looked_for}; missing {missing} "
            "(the standard MNIST IDX files, raw or gzipped)"
        )
    images_file, labels_file = files
    raw_images = _read_idx(images_file, _IDX_IMAGES_MAGIC)
    raw_labels = _read_idx(labels_file, _IDX_LABELS_MAGIC)
    if raw_images.shape[0] != raw_labels.shape[0]:
        raise ValueError(
            f"{images_file} and {labels_file} must hold as many images as labels; "
            f"got {raw_images.shape[0]} images and {raw_labels.shape[0]} labels"
        )
    n, rows, cols = raw_images.shape
    images = _to_images(raw_images.reshape(n, rows * cols), _MNIST_LEVELS, binarize, dtype)
    return Digits(images, jnp.asarray(raw_labels, jnp.int32))
