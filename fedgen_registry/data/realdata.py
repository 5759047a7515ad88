"""Real-scale image datasets from local files: MNIST, Fashion-MNIST, CIFAR-10 and CelebA. Nothing is downloaded.

Each loader takes the folder that holds the dataset's files in their official distribution format and
returns the train and test :class:`~fedgen_registry.data.dataset.Dataset` (images flattened to
``float32`` in [-1, 1], ``shape`` as (channels, height, width)); a missing file is an error that names
every file expected and where. Only the standard library, numpy and Pillow are used: torchvision's
wheels do not work beside this torch build.

- MNIST and Fashion-MNIST: the four IDX files (``train-images-idx3-ubyte`` and so on), plain or ``.gz``.
- CIFAR-10: the python version's pickled batches (``data_batch_1`` .. ``data_batch_5``, ``test_batch``),
  in the root or its ``cifar-10-batches-py`` folder, read by an unpickler that only accepts numpy arrays
  and plain containers, so a tampered file cannot run code.
- CelebA: the aligned images (``img_align_celeba/*.jpg``, any Pillow format) and, when present,
  ``list_eval_partition.txt`` (2 is test; train and validation images train; without it a fixed 90/10 split) and
  ``list_attr_celeba.txt`` to label each image by one binary attribute.
"""

from __future__ import annotations

import gzip
import io
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from fedgen_registry.data.dataset import Dataset

IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST = "test_batch"
CIFAR_FOLDER = "cifar-10-batches-py"
CELEBA_IMAGES = "img_align_celeba"
CELEBA_PARTITION = "list_eval_partition.txt"
CELEBA_ATTRIBUTES = "list_attr_celeba.txt"
CELEBA_CROP = 140
"""Side of the centre square cropped from the 178x218 aligned faces before resizing (the DCGAN recipe)."""
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class MissingDataError(FileNotFoundError):
    """The dataset's files are not where the loader was told to look; the message lists what it expects."""


def _require(
    root: Path, names: list[str], dataset: str, hint: str, exists: Callable[[Path], bool] = Path.exists
) -> None:
    missing = [name for name in names if not exists(root / name)]
    if missing:
        raise MissingDataError(
            f"{dataset}: missing {', '.join(missing)} in {root} (expected: {', '.join(names)}). {hint} "
            "Nothing is downloaded: place the files there yourself."
        )


def to_unit_range(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels -> float32 in [-1, 1], as every dataset here is stored."""
    return (pixels.astype(np.float32) / 127.5 - 1.0).astype(np.float32)


# ------------------------------------------------------------------------------------------ IDX


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (LeCun's format: zero bytes, a type code, the number of dimensions, big-endian sizes)."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {raw[:4].hex()})")
    dims = raw[3]
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=dims, offset=4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = 4 + 4 * dims + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"{path}: header says {shape} ({expected} bytes) but the file has {len(raw)} bytes")
    return np.frombuffer(raw, dtype, offset=4 + 4 * dims).reshape(shape)


def _idx_path(root: Path, name: str) -> Path:
    plain = root / name
    return plain if plain.exists() else root / f"{name}.gz"


def load_idx_images(root: str | Path, name: str = "mnist") -> tuple[Dataset, Dataset]:
    """MNIST or Fashion-MNIST (same files, same format) from ``root``: 28x28 grayscale, 10 classes."""
    folder = Path(root)
    files = [file for pair in IDX_FILES.values() for file in pair]
    _require(folder, files, name, "Plain or .gz files are accepted.", lambda p: _idx_path(p.parent, p.name).exists())
    splits = []
    for images_file, labels_file in IDX_FILES.values():
        images, labels = read_idx(_idx_path(folder, images_file)), read_idx(_idx_path(folder, labels_file))
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{name}: {images_file} {images.shape} and {labels_file} {labels.shape} do not match")
        x = to_unit_range(images.reshape(len(images), -1))
        splits.append(Dataset(name, x, labels.astype(np.int64), (1, *images.shape[1:]), 10))
    return splits[0], splits[1]


# ------------------------------------------------------------------------------------------ CIFAR-10


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and plain containers only; any other global is refused."""

    ALLOWED = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy.core.numeric", "_frombuffer"),
            ("numpy._core.numeric", "_frombuffer"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("_codecs", "encode"),
        }
    )

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a dataset file")
        return super().find_class(module, name)


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    batch = _ArrayUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
        raise ValueError(f"{path}: expected data (n, 3072) and n labels, got {data.shape} and {labels.shape}")
    return data, labels


def load_cifar10(root: str | Path) -> tuple[Dataset, Dataset]:
    """CIFAR-10 from the python batches: 32x32 RGB (rows are channel-major, as stored), 10 classes."""
    folder = Path(root)
    if (folder / CIFAR_FOLDER).is_dir():
        folder = folder / CIFAR_FOLDER
    _require(folder, [*CIFAR_TRAIN, CIFAR_TEST], "cifar10", f"Use the python version ({CIFAR_FOLDER}).")
    splits = []
    for names in (CIFAR_TRAIN, (CIFAR_TEST,)):
        parts = [_cifar_batch(folder / name) for name in names]
        x = to_unit_range(np.concatenate([data for data, _ in parts]))
        y = np.concatenate([labels for _, labels in parts])
        splits.append(Dataset("cifar10", x, y, (3, 32, 32), 10))
    return splits[0], splits[1]


# ------------------------------------------------------------------------------------------ CelebA


def _celeba_image(path: Path, size: int) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        rgb = image.convert("RGB")
        width, height = rgb.size
        side = min(CELEBA_CROP, width, height)
        left, top = (width - side) // 2, (height - side) // 2
        square = rgb.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BILINEAR)
        return np.asarray(square, dtype=np.uint8).transpose(2, 0, 1).reshape(-1)


def _celeba_column(path: Path, files: list[Path], parse: Callable[[list[str]], int]) -> np.ndarray:
    """``parse(values)`` of each image's ``file value...`` line (header lines name no image file)."""
    table = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) >= 2 and "." in fields[0]:
            table[fields[0]] = parse(fields[1:])
    missing = [f.name for f in files if f.name not in table]
    if missing:
        raise ValueError(f"celeba: {path.name} has no line for {len(missing)} image(s), e.g. {missing[0]}")
    return np.array([table[f.name] for f in files], dtype=np.int64)


def load_celeba(
    root: str | Path, size: int = 32, attribute: str | None = None, max_images: int | None = None
) -> tuple[Dataset, Dataset]:
    """CelebA faces centre-cropped and resized to ``size``; labels are ``attribute`` (0/1) or all 0.

    ``max_images`` keeps the first images in file-name order (the full set is 202,599 images).
    """
    folder = Path(root)
    _require(folder, [CELEBA_IMAGES], "celeba", f"Aligned images go in {CELEBA_IMAGES}/.")
    files = sorted(p for p in (folder / CELEBA_IMAGES).iterdir() if p.is_file())[:max_images]
    if not files:
        raise MissingDataError(f"celeba: {folder / CELEBA_IMAGES} holds no images")
    labels = np.zeros(len(files), dtype=np.int64)
    if attribute is not None:
        _require(folder, [CELEBA_ATTRIBUTES], "celeba", f"Labelling by {attribute!r} needs the attribute file.")
        lines = (folder / CELEBA_ATTRIBUTES).read_text(encoding="utf-8").splitlines()
        names = lines[1].split()
        if attribute not in names:
            raise ValueError(f"celeba has no attribute {attribute!r}; attributes: {', '.join(names)}")
        column = names.index(attribute)
        labels = _celeba_column(folder / CELEBA_ATTRIBUTES, files, lambda values: int(values[column] == "1"))
    if (folder / CELEBA_PARTITION).exists():
        is_test = _celeba_column(folder / CELEBA_PARTITION, files, lambda values: int(values[0])) == 2
    else:
        is_test = np.arange(len(files)) % 10 == 9
    x = to_unit_range(np.stack([_celeba_image(f, size) for f in files]))
    full = Dataset("celeba", x, labels, (3, size, size), 2 if attribute else 1)
    return full.subset(np.flatnonzero(~is_test)), full.subset(np.flatnonzero(is_test))


LOADERS: dict[str, Callable[..., tuple[Dataset, Dataset]]] = {
    "mnist": lambda root, **kw: load_idx_images(root, "mnist", **kw),
    "fashion-mnist": lambda root, **kw: load_idx_images(root, "fashion-mnist", **kw),
    "cifar10": load_cifar10,
    "celeba": load_celeba,
}


def load_real_split(name: str, root: str | Path, **options: Any) -> tuple[Dataset, Dataset]:
    """Train and test split of a real-scale dataset from the local folder ``root``."""
    try:
        loader = LOADERS[name]
    except KeyError:
        raise ValueError(f"unknown real dataset {name!r}; available: {', '.join(LOADERS)}") from None
    return loader(root, **options)
