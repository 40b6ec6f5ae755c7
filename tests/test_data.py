"""Tests for gennet.data: IDX reader, embedded/full MNIST, Fashion-MNIST, image folders, synthetic sets."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gennet.data import (
    DataSpec,
    ImageData,
    convert_channels,
    dataset_names,
    load_dataset,
    load_image_folder,
    make_synthetic,
    read_idx,
    read_idx_pair,
    register_dataset,
    resize_images,
    split_indices,
    write_idx,
)
from gennet.data import mnist as mnist_module
from gennet.data import synthetic as synthetic_module
from gennet.errors import ConfigError, DataError

MNIST_COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
ASSET_SHA256 = {
    "images-idx3-ubyte.gz": "c57357b7f233235eb1e538ee125b55b20d88da422662fd72fe439c4947307fbd",
    "labels-idx1-ubyte.gz": "ed545b8ffef8656e44a67816308b76cf033930d9076bb519d941f927f54811df",
}
STEMS = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
]


@pytest.fixture(autouse=True)
def _no_env_data(monkeypatch):
    monkeypatch.delenv("GENNET_DATA", raising=False)


# ---------------------------------------------------------------- embedded MNIST


def test_embedded_mnist_splits_and_counts():
    train, test = load_dataset("mnist"), load_dataset("mnist", split="test")
    assert (len(train), len(test)) == (9000, 1000)
    for data in (train, test):
        assert data.images.dtype == torch.uint8 and data.images.is_contiguous()
        assert data.labels.dtype == torch.int64 and data.labels.min() >= 0 and data.labels.max() <= 9
        assert data.classes == [str(d) for d in range(10)] and data.name == "mnist"
    assert train.images.shape == (9000, 1, 28, 28) and test.images.shape == (1000, 1, 28, 28)
    counts = torch.bincount(train.labels, minlength=10) + torch.bincount(test.labels, minlength=10)
    assert counts.tolist() == MNIST_COUNTS
    assert train.spec == DataSpec(1, 28, 28, 10)
    assert 0 < train.images.float().mean() < 128 and train.images.max() == 255


def test_embedded_mnist_split_is_disjoint_and_deterministic():
    full = read_idx(mnist_module.MNIST_EMBEDDED / "images-idx3-ubyte.gz")
    train_idx, test_idx = split_indices(10000, 0.1, 0)
    assert np.intersect1d(train_idx, test_idx).size == 0
    assert np.array_equal(np.union1d(train_idx, test_idx), np.arange(10000))
    train, test = load_dataset("mnist"), load_dataset("mnist", split="test")
    assert np.array_equal(train.images[:, 0].numpy(), full[train_idx])
    assert np.array_equal(test.images[:, 0].numpy(), full[test_idx])
    again = load_dataset("mnist", split="test")
    assert torch.equal(again.images, test.images) and torch.equal(again.labels, test.labels)
    other_seed = load_dataset("mnist", split="test", seed=1)
    assert not torch.equal(other_seed.labels, test.labels)


def test_embedded_asset_checksums():
    for name, digest in ASSET_SHA256.items():
        assert hashlib.sha256((mnist_module.MNIST_EMBEDDED / name).read_bytes()).hexdigest() == digest


def test_split_indices_properties():
    train, test = split_indices(101, 0.25, 7)
    assert len(test) == 25 and len(train) == 76
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(101))
    assert np.array_equal(split_indices(101, 0.25, 7)[1], test)
    assert not np.array_equal(split_indices(101, 0.25, 8)[1], test)
    with pytest.raises(ConfigError):
        split_indices(10, 1.0, 0)


# ---------------------------------------------------------------- IDX reader


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, dtype, compress):
    arr = (np.arange(2 * 3 * 4) * 3 - 5).reshape(2, 3, 4)
    arr = (
        (arr % 256).astype(dtype)
        if dtype == np.uint8
        else arr.astype(dtype) / (2 if dtype in (np.float32, np.float64) else 1)
    )
    path = tmp_path / "plain-name"  # no .gz suffix: gzip is detected by its magic bytes
    write_idx(path, arr, compress=compress)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == compress
    out = read_idx(path)
    assert out.dtype == arr.dtype and out.shape == (2, 3, 4) and np.array_equal(out, arr)


def test_idx_is_big_endian(tmp_path):
    path = tmp_path / "short.idx"
    path.write_bytes(bytes([0, 0, 0x0B, 1, 0, 0, 0, 2]) + b"\x01\x02\xff\xfe")
    assert read_idx(path).tolist() == [0x0102, -2]


def _header(code=0x08, dims=(2, 3)):
    return bytes([0, 0, code, len(dims)]) + np.asarray(dims, dtype=">u4").tobytes()


@pytest.mark.parametrize(
    "content, fragment",
    [
        (b"\x01\x00\x08\x01" + b"\x00\x00\x00\x01" + b"\x00", "magic"),
        (_header(code=0x0A) + bytes(6), "type code 0x0A"),
        (bytes([0, 0, 8, 0]), "dimensions"),
        (bytes([0, 0, 8, 5]) + bytes(20), "dimensions"),
        (_header() + bytes(5), "truncated: header says 6 items of ubyte (2x3) = 6 bytes, file has 5"),
        (_header() + bytes(7), "1 extra trailing bytes"),
        (_header(dims=(2, 3))[:7], "truncated inside its header"),
        (gzip.compress(_header() + bytes(6))[:-12] + b"garbage!", "corrupt gzip"),
    ],
)
def test_idx_errors_name_the_file(tmp_path, content, fragment):
    path = tmp_path / "broken-idx3-ubyte"
    path.write_bytes(content)
    with pytest.raises(DataError, match="broken-idx3-ubyte") as info:
        read_idx(path)
    assert fragment in str(info.value)


def test_idx_missing_file(tmp_path):
    with pytest.raises(DataError, match="nothere"):
        read_idx(tmp_path / "nothere")


def test_idx_pair_checks(tmp_path):
    write_idx(tmp_path / "imgs", np.zeros((3, 4, 4), np.uint8))
    write_idx(tmp_path / "labs", np.zeros(2, np.uint8))
    with pytest.raises(DataError) as info:
        read_idx_pair(tmp_path / "imgs", tmp_path / "labs")
    msg = str(info.value)
    assert "imgs" in msg and "labs" in msg and "3 images" in msg and "2 labels" in msg
    write_idx(tmp_path / "labs2d", np.zeros((3, 1), np.uint8))
    with pytest.raises(DataError, match="1-D"):
        read_idx_pair(tmp_path / "imgs", tmp_path / "labs2d")
    write_idx(tmp_path / "labs", np.array([0, 1, 2], np.uint8))
    images, labels = read_idx_pair(tmp_path / "imgs", tmp_path / "labs")
    assert images.shape == (3, 4, 4) and labels.tolist() == [0, 1, 2]


# ---------------------------------------------------------------- full MNIST / Fashion-MNIST from a folder


def _write_standard(folder: Path, n_train=12, n_test=5, gz=True, seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = []
    for n in (n_train, n_test):
        arrays += [rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), np.arange(n, dtype=np.uint8) % 10]
    for stem, arr in zip(STEMS, arrays, strict=True):
        write_idx(folder / (stem + (".gz" if gz else "")), arr, compress=gz)
    return arrays


@pytest.mark.parametrize("sub, gz", [("", True), ("mnist", False)])
def test_full_mnist_from_data_dir(tmp_path, sub, gz):
    arrays = _write_standard(tmp_path / sub if sub else tmp_path, gz=gz)
    train = load_dataset("mnist", data_dir=str(tmp_path))
    test = load_dataset("mnist", split="test", data_dir=str(tmp_path))
    assert train.images.shape == (12, 1, 28, 28) and test.images.shape == (5, 1, 28, 28)
    assert np.array_equal(train.images[:, 0].numpy(), arrays[0])
    assert test.labels.tolist() == arrays[3].tolist()


def test_full_mnist_from_env(tmp_path, monkeypatch):
    _write_standard(tmp_path)
    monkeypatch.setenv("GENNET_DATA", str(tmp_path))
    assert len(load_dataset("mnist")) == 12


def test_env_without_mnist_falls_back_to_the_embedded_digits(tmp_path, monkeypatch):
    _write_standard(tmp_path / "fashion-mnist")  # GENNET_DATA holding other sets only
    monkeypatch.setenv("GENNET_DATA", str(tmp_path))
    with pytest.warns(UserWarning, match="embedded 10,000"):
        assert len(load_dataset("mnist")) == 9000


def test_full_mnist_missing_lists_searched_paths(tmp_path):
    with pytest.raises(DataError) as info:
        load_dataset("mnist", data_dir=str(tmp_path))
    msg = str(info.value)
    assert str(tmp_path) in msg and str(tmp_path / "mnist") in msg
    assert "train-images-idx3-ubyte" in msg and "embedded 10,000" in msg


def test_incomplete_idx_folder_names_missing_file(tmp_path):
    _write_standard(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte"):
        load_dataset("mnist", data_dir=str(tmp_path))


def test_fashion_mnist_from_data_dir(tmp_path):
    arrays = _write_standard(tmp_path / "fm", n_train=8, n_test=4)
    data = load_dataset("fashion-mnist", split="test", data_dir=str(tmp_path / "fm"))
    assert data.images.shape == (4, 1, 28, 28) and data.name == "fashion-mnist"
    assert data.classes[0] == "T-shirt/top" and data.classes[9] == "Ankle boot" and len(data.classes) == 10
    assert np.array_equal(data.images[:, 0].numpy(), arrays[2]) and data.spec.num_classes == 10


def test_fashion_mnist_from_env_subfolder_and_system_dir(tmp_path, monkeypatch):
    _write_standard(tmp_path / "env" / "fashion-mnist", n_train=6)
    monkeypatch.setenv("GENNET_DATA", str(tmp_path / "env"))
    assert len(load_dataset("fashion-mnist")) == 6
    monkeypatch.delenv("GENNET_DATA")
    _write_standard(tmp_path / "system", n_train=7)
    monkeypatch.setattr(mnist_module, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "system")
    assert len(load_dataset("fashion-mnist")) == 7


def test_fashion_mnist_missing_error(tmp_path, monkeypatch):
    system = tmp_path / "no-such-system-dir"
    monkeypatch.setattr(mnist_module, "FASHION_MNIST_SYSTEM_DIR", system)
    monkeypatch.setenv("GENNET_DATA", str(tmp_path / "envdir"))
    with pytest.raises(DataError) as info:
        load_dataset("fashion-mnist", data_dir=str(tmp_path / "given"))
    msg = str(info.value)
    for place in (tmp_path / "given", tmp_path / "envdir", tmp_path / "envdir" / "fashion-mnist", system):
        assert str(place) in msg
    assert "apt-get install dataset-fashion-mnist" in msg and "--data-dir" in msg


# ---------------------------------------------------------------- image folders


def _save(path: Path, mode: str, size, color, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path, format=fmt)


def test_image_folder_gray_classes(tmp_path):
    _save(tmp_path / "cats" / "a.png", "L", (8, 8), 10)
    _save(tmp_path / "cats" / "deep" / "b.PNG", "L", (8, 8), 20)
    _save(tmp_path / "dogs" / "c.jpg", "L", (8, 8), 200)
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    data = load_image_folder(tmp_path)
    assert data.images.shape == (3, 1, 8, 8) and data.images.dtype == torch.uint8
    assert data.classes == ["cats", "dogs"] and data.labels.tolist() == [0, 0, 1]
    assert data.images[:, 0, 0, 0].tolist()[:2] == [10, 20] and abs(int(data.images[2, 0, 0, 0]) - 200) <= 3
    assert data.spec == DataSpec(1, 8, 8, 2) and data.name == tmp_path.name


def test_image_folder_rgb_and_channel_override(tmp_path):
    _save(tmp_path / "a.png", "RGB", (6, 6), (255, 0, 0))
    _save(tmp_path / "b.jpeg", "L", (6, 6), 100)
    _save(tmp_path / "c.png", "RGBA", (6, 6), (0, 0, 255, 0))  # fully transparent -> white
    data = load_image_folder(tmp_path)
    assert data.labels is None and data.classes is None
    assert data.images.shape == (3, 3, 6, 6)
    assert data.images[0, :, 0, 0].tolist() == [255, 0, 0]
    assert data.images[2, :, 0, 0].tolist() == [255, 255, 255]
    gray = load_image_folder(tmp_path, channels=1)
    assert gray.images.shape == (3, 1, 6, 6) and int(gray.images[0, 0, 0, 0]) == 76  # 0.299 * 255


def test_image_folder_single_subfolder_has_no_labels(tmp_path):
    _save(tmp_path / "only" / "a.png", "L", (4, 4), 0)
    _save(tmp_path / "only" / "b.png", "L", (4, 4), 0)
    assert load_image_folder(tmp_path).labels is None


def test_image_folder_corrupt_file(tmp_path):
    _save(tmp_path / "x" / "good.png", "L", (5, 5), 50)
    _save(tmp_path / "y" / "good2.png", "L", (5, 5), 60)
    full = tmp_path / "full.png"
    _save(full, "RGB", (64, 64), (1, 2, 3))
    (tmp_path / "y" / "truncated.png").write_bytes(full.read_bytes()[:60])
    full.unlink()
    (tmp_path / "x" / "garbage.jpg").write_bytes(b"this is not a jpeg")
    with pytest.warns(UserWarning, match="skipping unreadable image") as record:
        data = load_image_folder(tmp_path)
    messages = " ".join(str(w.message) for w in record)
    assert "garbage.jpg" in messages and "truncated.png" in messages
    # the unreadable RGB file does not make the grayscale set 3-channel
    assert data.images.shape == (2, 1, 5, 5) and data.labels.tolist() == [0, 1]
    with pytest.raises(DataError, match=r"garbage\.jpg"):
        load_image_folder(tmp_path, strict=True)


def test_image_folder_16bit_and_loose_files(tmp_path):
    arr = np.full((4, 4), 257 * 100, dtype=np.uint16)
    arr[0, 0] = 65535
    (tmp_path / "a").mkdir()
    Image.fromarray(arr).save(tmp_path / "a" / "deep.png")
    _save(tmp_path / "b" / "x.png", "LA", (4, 4), (0, 0))  # transparent black -> white
    _save(tmp_path / "loose.png", "L", (4, 4), 9)
    with pytest.warns(UserWarning, match=r"loose\.png"):
        data = load_image_folder(tmp_path)
    assert data.images.shape == (2, 1, 4, 4) and data.labels.tolist() == [0, 1]
    assert data.images[0, 0, 0, 0] == 255 and data.images[0, 0, 1, 1] == 100 and data.images[1].min() == 255


def test_image_folder_sizes(tmp_path):
    _save(tmp_path / "wide.png", "RGB", (40, 20), (0, 128, 0))
    _save(tmp_path / "tall.png", "RGB", (10, 30), (0, 0, 128))
    with pytest.raises(DataError, match="image size"):
        load_image_folder(tmp_path)
    data = load_image_folder(tmp_path, image_size=12)
    assert data.images.shape == (2, 3, 12, 12)
    assert data.images[0, :, 6, 6].tolist() == [0, 0, 128] and data.images[1, :, 6, 6].tolist() == [0, 128, 0]


def test_image_folder_empty_or_missing(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "readme.txt").write_text("x")
    with pytest.raises(DataError, match=str(tmp_path)):
        load_image_folder(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        load_image_folder(tmp_path / "missing")


def test_load_dataset_folder_split(tmp_path):
    for i in range(20):
        _save(tmp_path / ("a" if i % 2 else "b") / f"{i:02d}.png", "L", (4, 4), i * 10)
    train = load_dataset(str(tmp_path), test_fraction=0.25)
    test = load_dataset(str(tmp_path), split="test", test_fraction=0.25)
    assert (len(train), len(test)) == (15, 5) and train.classes == ["a", "b"]
    values = sorted(train.images[:, 0, 0, 0].tolist() + test.images[:, 0, 0, 0].tolist())
    assert values == [i * 10 for i in range(20)]


def test_load_dataset_folder_options(tmp_path):
    for i in range(6):
        _save(tmp_path / f"{i}.jpg", "RGB", (10 + i, 12), (200, 100, 50))
    data = load_dataset(str(tmp_path), image_size=8, channels=1, test_fraction=0.5)
    assert data.images.shape == (3, 1, 8, 8) and data.labels is None
    assert abs(int(data.images[0, 0, 4, 4]) - 124) <= 3  # 0.299*200 + 0.587*100 + 0.114*50


def test_load_dataset_folder_train_test_layout(tmp_path):
    _save(tmp_path / "train" / "cat" / "1.png", "L", (4, 4), 1)
    _save(tmp_path / "train" / "dog" / "2.png", "L", (4, 4), 2)
    _save(tmp_path / "train" / "dog" / "3.png", "L", (4, 4), 3)
    _save(tmp_path / "test" / "dog" / "4.png", "L", (4, 4), 4)
    _save(tmp_path / "test" / "emu" / "5.png", "L", (4, 4), 5)
    train, test = load_dataset(str(tmp_path)), load_dataset(str(tmp_path), split="test")
    assert len(train) == 3 and len(test) == 2
    assert train.classes == test.classes == ["cat", "dog", "emu"]
    assert test.labels.tolist() == [1, 2] and test.images[:, 0, 0, 0].tolist() == [4, 5]


# ---------------------------------------------------------------- synthetic sets


SYNTH_CASES = [("synthetic-shapes", (1, 16, 16), 4), ("synthetic-rgb", (3, 16, 16), 3)]


@pytest.mark.parametrize("name, shape, k", SYNTH_CASES)
def test_synthetic_sets(name, shape, k):
    a, b = make_synthetic(name, 40, seed=3), make_synthetic(name, 40, seed=3)
    c = make_synthetic(name, 40, seed=4)
    assert a.images.shape == (40, *shape) and a.images.dtype == torch.uint8 and a.labels.dtype == torch.int64
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.images, c.images)
    assert set(a.labels.tolist()) == set(range(k)) and len(a.classes) == k
    assert a.images.max() > 150  # the shape/blob is bright against the background
    full = load_dataset(name)
    assert len(full) + len(load_dataset(name, split="test")) == synthetic_module.SYNTHETIC_SIZES[name]


def test_synthetic_rgb_blob_color_matches_label():
    data = make_synthetic("synthetic-rgb", 30, seed=0)
    brightest = data.images.float().amax(dim=(2, 3)).argmax(dim=1)
    assert torch.equal(brightest, data.labels)


def test_synthetic_unknown_name():
    with pytest.raises(DataError, match="synthetic-shapes"):
        make_synthetic("synthetic-nope", 4)


# ---------------------------------------------------------------- conversions, spec, errors


def test_mnist_channels_and_size():
    base = load_dataset("mnist", split="test")
    rgb = load_dataset("mnist", split="test", channels=3, image_size=32)
    assert rgb.images.shape == (1000, 3, 32, 32) and rgb.images.dtype == torch.uint8
    assert torch.equal(rgb.images[:, 0], rgb.images[:, 1]) and torch.equal(rgb.images[:, 1], rgb.images[:, 2])
    small = load_dataset("mnist", split="test", image_size=14)
    assert small.images.shape == (1000, 1, 14, 14)
    assert abs(small.images.float().mean() - base.images.float().mean()) < 2.0
    gray = load_dataset("synthetic-rgb", split="test", channels=1)
    assert gray.images.shape[1] == 1 and gray.spec.channels == 1


def test_resize_and_convert_helpers():
    const = torch.full((2, 1, 10, 10), 77, dtype=torch.uint8)
    assert torch.equal(resize_images(const, 5), torch.full((2, 1, 5, 5), 77, dtype=torch.uint8))
    rgb = torch.tensor([255, 0, 0], dtype=torch.uint8).view(1, 3, 1, 1)
    assert convert_channels(rgb, 1).item() == 76
    with pytest.raises(ConfigError):
        convert_channels(torch.zeros(1, 2, 1, 1, dtype=torch.uint8), 3)


def test_data_spec_and_subset():
    spec = DataSpec(3, 16, 16, 3)
    assert (
        DataSpec.from_dict(spec.to_dict()) == spec
        and DataSpec.from_dict({"channels": 1, "height": 2, "width": 2}).num_classes is None
    )
    with pytest.raises(ConfigError):
        DataSpec.from_dict({"channels": 1})
    data = ImageData(torch.arange(5, dtype=torch.uint8).view(5, 1, 1, 1), torch.tensor([0, 1, 0, 1, 4]), "t")
    assert data.spec.num_classes == 5 and len(data) == 5
    assert data.subset([4, 0]).labels.tolist() == [4, 0]
    assert data.subset(slice(1, 3)).images.flatten().tolist() == [1, 2]
    assert data.subset(torch.tensor([True, False, True, False, False])).images.flatten().tolist() == [0, 2]
    assert data.subset(np.array([3])).labels.tolist() == [1]
    assert ImageData(data.images, None, "u").spec.num_classes is None


def test_load_dataset_errors():
    with pytest.raises(DataError) as info:
        load_dataset("no-such-set")
    assert "mnist" in str(info.value) and "folder" in str(info.value)
    with pytest.raises((DataError, ConfigError)):
        load_dataset("mnist", split="validation")
    with pytest.raises(ConfigError):
        load_dataset("mnist", channels=2)
    names = dataset_names()
    assert {"mnist", "fashion-mnist", "synthetic-shapes", "synthetic-rgb"} <= set(names)
    assert all(isinstance(v, str) and v and "\n" not in v for v in names.values())


# ---- the dataset registry and the layering of gennet.data --------------------------------------
def test_a_registered_dataset_is_listed_and_loads():
    from gennet.data.registry import unregister_dataset

    @register_dataset("test-tiny-squares", description="4 gray squares for a test")
    def tiny(split, data_dir=None, test_fraction=0.1, seed=0):
        images = torch.full((4, 1, 4, 4), 100 if split == "train" else 200, dtype=torch.uint8)
        return ImageData(images, torch.arange(4), "test-tiny-squares", list("abcd"))

    try:
        assert dataset_names()["test-tiny-squares"] == "4 gray squares for a test"
        data = load_dataset("test-tiny-squares", split="test", image_size=8, channels=3)
        assert data.images.shape == (4, 3, 8, 8) and int(data.images.min()) == 200
        assert data.spec == DataSpec(3, 8, 8, 4)
        with pytest.raises(RuntimeError, match="registered twice"):
            register_dataset("test-tiny-squares")(tiny)
        with pytest.raises(RuntimeError, match="registered twice"):
            register_dataset("mnist")(tiny)
    finally:
        unregister_dataset("test-tiny-squares")
    assert "test-tiny-squares" not in dataset_names()


def test_unknown_name_lists_every_registered_name_and_builtins_register():
    names = dataset_names()
    singles = ["mnist", "fashion-mnist", "synthetic-shapes", "synthetic-rgb", "synthetic-ring"]
    assert list(names)[:5] == singles  # registration order: the order `gennet list` prints
    assert {"mnist-thick", "mnist-inverted", "fashion-sneaker-boot", "synthetic-rgb-pair"} <= set(names)
    with pytest.raises(DataError, match="unknown dataset 'nope'") as err:
        load_dataset("nope")
    assert all(name in str(err.value) for name in names)


def test_a_registered_name_wins_over_a_folder_of_that_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _save(tmp_path / "synthetic-rgb" / "x.png", "L", (8, 8), 0)
    assert load_dataset("synthetic-rgb").images.shape[1:] == (3, 16, 16)


def _data_imports() -> dict[str, set[tuple[str, str]]]:
    """gennet.data module -> (module, name) it imports from gennet, at the top or inside functions;
    sibling modules by their short name, others as "..x"."""
    import ast

    import gennet.data

    out = {}
    for path in sorted(Path(gennet.data.__file__).parent.glob("*.py")):
        if path.name == "__init__.py":
            continue
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                found |= {(node.module, a.name) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 1:
                found |= {(a.name, "") for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level >= 2:
                found |= {(f"..{node.module}", a.name) for a in node.names}
        out[path.stem] = found
    return out


def test_gennet_data_has_no_import_cycle_and_no_private_imports():
    graph = _data_imports()
    deps = {m: {d for d, _ in found} for m, found in graph.items()}
    bottom = {"..errors", "..atomic", "..validation"}  # leaf modules that import only errors
    assert deps["types"] <= {"..errors"} and deps["idx"] <= bottom
    assert deps["registry"] <= {"types", "..errors"}
    state: dict[str, str] = {}

    def visit(m, path):
        assert state.get(m) != "open", f"import cycle: {' -> '.join([*path, m])}"
        if state.get(m) is None:
            state[m] = "open"
            for dep in deps[m] & set(graph):
                visit(dep, [*path, m])
            state[m] = "done"

    for module in graph:
        visit(module, [])
    private = [(m, d, n) for m, found in graph.items() for d, n in found if n.startswith("_")]
    assert not private, f"private helpers imported across modules: {private}"
