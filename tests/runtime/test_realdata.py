"""Real-scale loaders on tiny files written here: formats parsed exactly, missing files named, nothing fetched."""

from __future__ import annotations

import fractions
import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fedgen_registry.data import realdata


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if compress else payload)


def make_idx_folder(root: Path) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (5, 28, 28)),
        "train-labels-idx1-ubyte": np.array([0, 1, 2, 3, 9]),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (3, 28, 28)),
        "t10k-labels-idx1-ubyte": np.array([7, 8, 9]),
    }
    arrays["train-images-idx3-ubyte"][0, 0, :2] = [0, 255]
    for i, (name, array) in enumerate(arrays.items()):
        compress = i % 2 == 1  # plain and .gz files may be mixed
        write_idx(root / (name + (".gz" if compress else "")), array, compress)
    return arrays


def test_idx_images_load_exactly(tmp_path: Path) -> None:
    arrays = make_idx_folder(tmp_path)
    train, test = realdata.load_real_split("fashion-mnist", tmp_path)
    assert train.x.shape == (5, 784) and test.x.shape == (3, 784)
    assert train.shape == (1, 28, 28) and train.num_classes == 10 and train.name == "fashion-mnist"
    assert train.x.dtype == np.float32 and train.x[0, 0] == -1.0 and train.x[0, 1] == 1.0
    expected = arrays["t10k-images-idx3-ubyte"].reshape(3, -1) / 127.5 - 1
    assert np.allclose(test.x, expected, atol=1e-6)
    assert test.y.tolist() == [7, 8, 9] and train.y.dtype == np.int64


def test_missing_files_are_named_with_what_is_expected(tmp_path: Path) -> None:
    make_idx_folder(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(realdata.MissingDataError, match=r"missing t10k-labels-idx1-ubyte in .*expected: train-images"):
        realdata.load_idx_images(tmp_path)
    with pytest.raises(realdata.MissingDataError, match=r"data_batch_1.*test_batch.*cifar-10-batches-py"):
        realdata.load_cifar10(tmp_path)
    with pytest.raises(realdata.MissingDataError, match="img_align_celeba"):
        realdata.load_celeba(tmp_path)
    with pytest.raises(ValueError, match="unknown real dataset 'svhn'"):
        realdata.load_real_split("svhn", tmp_path)


def test_idx_header_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "bad"
    path.write_bytes(bytes([0, 0, 0x08, 1]) + struct.pack(">I", 10) + bytes(9))  # one byte short
    with pytest.raises(ValueError, match="header says"):
        realdata.read_idx(path)
    path.write_bytes(b"\x1f\x8b\x08\x00")
    with pytest.raises(ValueError, match="not an IDX file"):
        realdata.read_idx(path)


def write_cifar(folder: Path, rows_per_batch: int = 2) -> np.ndarray:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    rows = []
    for name in (*realdata.CIFAR_TRAIN, realdata.CIFAR_TEST):
        data = rng.integers(0, 256, (rows_per_batch, 3072)).astype(np.uint8)
        rows.append(data)
        batch = {b"batch_label": b"x", b"labels": [int(v) for v in rng.integers(0, 10, rows_per_batch)], b"data": data}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    return np.concatenate(rows)


def test_cifar_batches_load_channel_major(tmp_path: Path) -> None:
    rows = write_cifar(tmp_path / realdata.CIFAR_FOLDER)
    train, test = realdata.load_cifar10(tmp_path)  # the root or its cifar-10-batches-py folder
    assert train.x.shape == (10, 3072) and test.x.shape == (2, 3072) and train.shape == (3, 32, 32)
    image = train.x[0].reshape(3, 32, 32)
    assert np.isclose(image[1, 0, 0], rows[0, 1024] / 127.5 - 1, atol=1e-6)  # green plane starts at 1024


def test_cifar_unpickler_refuses_other_objects(tmp_path: Path) -> None:
    write_cifar(tmp_path)
    (tmp_path / "test_batch").write_bytes(pickle.dumps({b"data": fractions.Fraction(1, 2), b"labels": []}))
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to load fractions\.Fraction"):
        realdata.load_cifar10(tmp_path)


def test_celeba_folder_is_cropped_resized_labelled_and_split(tmp_path: Path) -> None:
    images = tmp_path / realdata.CELEBA_IMAGES
    images.mkdir()
    names = [f"{i:06d}.jpg" for i in range(1, 5)]
    for i, name in enumerate(names):
        pixels = np.zeros((218, 178, 3), dtype=np.uint8)
        pixels[39:179, 19:159] = (255, 0, 0) if i % 2 else (0, 0, 255)  # the 140x140 centre square
        Image.fromarray(pixels).save(images / name, format="PNG")  # CelebA's names, any Pillow format
    (tmp_path / realdata.CELEBA_PARTITION).write_text(
        "".join(f"{n} {2 if i == 3 else 0}\n" for i, n in enumerate(names))
    )
    header = "4\nSmiling Male Young\n"
    rows = "".join(f"{n}  1 {1 if i % 2 else -1} 1\n" for i, n in enumerate(names))
    (tmp_path / realdata.CELEBA_ATTRIBUTES).write_text(header + rows)
    train, test = realdata.load_celeba(tmp_path, size=8, attribute="Male")
    assert train.x.shape == (3, 192) and test.x.shape == (1, 192) and train.shape == (3, 8, 8)
    assert train.y.tolist() == [0, 1, 0] and test.y.tolist() == [1] and train.num_classes == 2
    red = test.x[0].reshape(3, 8, 8)
    assert np.allclose(red[0], 1.0) and np.allclose(red[2], -1.0)  # the crop holds only the centre square
    with pytest.raises(ValueError, match="no attribute 'Bald'"):
        realdata.load_celeba(tmp_path, size=8, attribute="Bald")
    unlabelled, _ = realdata.load_celeba(tmp_path, size=8, max_images=2)
    assert len(unlabelled) == 2 and set(unlabelled.y.tolist()) == {0}
