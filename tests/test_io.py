"""`io.read_images`, the one reader of user images (.npz, an image file, a folder), and the label
parser of `models/labels.py`: the rules and their error messages."""

import numpy as np
import pytest
from PIL import Image

from gennet.data import DataSpec
from gennet.errors import GennetError
from gennet.io import read_images
from gennet.models.labels import class_index, parse_labels

GRAY = DataSpec(1, 8, 8)
RGB = DataSpec(3, 8, 8)


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_npz_layouts_and_dtypes(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, size=(5, 3, 8, 8), dtype=np.uint8)
    assert np.array_equal(read_images(_npz(tmp_path / "nchw.npz", images=x), RGB), x)
    nhwc = _npz(tmp_path / "nhwc.npz", images=x.transpose(0, 2, 3, 1))
    assert np.array_equal(read_images(nhwc, RGB), x)
    assert np.array_equal(read_images(_npz(tmp_path / "nhw.npz", images=x[:, 0]), GRAY), x[:, :1])
    only = _npz(tmp_path / "only.npz", samples=x)  # the only array, whatever its name
    assert np.array_equal(read_images(only, None), x)
    f = read_images(_npz(tmp_path / "f.npz", images=x.astype(np.float32) / 255), RGB)
    assert f.dtype == np.uint8 and np.array_equal(f, x)  # floats in [0, 1], rounded back exactly
    with pytest.raises(GennetError, match=r"c\.npz: float images must lie in \[0, 1\]"):  # not clipped
        read_images(_npz(tmp_path / "c.npz", images=np.array([[[[-0.5, 0.5, 2.0]]]])), None)
    wide = read_images(_npz(tmp_path / "i.npz", images=x.astype(np.int64)), RGB)
    assert wide.dtype == np.uint8 and np.array_equal(wide, x)


@pytest.mark.parametrize(
    "arrays, needles",
    [
        ({"a": np.zeros((2, 1, 8, 8)), "b": np.zeros((2, 1, 8, 8))}, ["['a', 'b']", "'images'"]),
        ({"images": np.zeros((2, 8))}, ["(2, 8)", "(N, C, H, W)"]),
        ({"images": np.full((2, 1, 8, 8), 300)}, ["0..255", "300"]),
        ({"images": np.zeros((3, 1, 4, 4), np.uint8)}, ["(3, 1, 4, 4)", "(N, 1, 8, 8)"]),
        ({"images": np.zeros((3, 3, 8, 8), np.uint8)}, ["(3, 3, 8, 8)", "(N, 1, 8, 8)"]),
    ],
)
def test_npz_errors_say_what_is_wrong_and_what_is_accepted(tmp_path, arrays, needles):
    with pytest.raises(GennetError) as err:
        read_images(_npz(tmp_path / "bad.npz", **arrays), GRAY)
    assert all(n in str(err.value) for n in needles), str(err.value)


def test_an_image_file_and_a_folder(tmp_path):
    Image.new("RGB", (20, 12), (200, 10, 10)).save(tmp_path / "one.png")
    one = read_images(tmp_path / "one.png", RGB)
    assert one.shape == (1, 3, 8, 8) and one.dtype == np.uint8 and one[0, 0].mean() > 150
    assert read_images(tmp_path / "one.png", GRAY).shape == (1, 1, 8, 8)
    folder = tmp_path / "dir"
    (folder / "sub").mkdir(parents=True)
    Image.new("L", (8, 8), 30).save(folder / "b.png")
    Image.new("L", (16, 16), 90).save(folder / "sub" / "a.jpg")
    imgs = read_images(folder, GRAY)  # every image, sorted by path, subfolders included
    assert imgs.shape == (2, 1, 8, 8) and abs(int(imgs[0].mean()) - 30) <= 2
    assert read_images(tmp_path / "one.png", None).shape == (1, 3, 12, 20)  # no spec: as it is


def test_path_and_suffix_errors(tmp_path):
    with pytest.raises(GennetError, match="input not found.*none.npz.*folder"):
        read_images(tmp_path / "none.npz", GRAY)
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(GennetError, match=r"unsupported suffix '\.txt'.*\.npz.*\.png"):
        read_images(tmp_path / "x.txt", GRAY)
    (tmp_path / "empty").mkdir()
    with pytest.raises(GennetError, match="no images"):
        read_images(tmp_path / "empty", GRAY)
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(GennetError, match="unreadable image"):
        read_images(tmp_path / "broken.png", GRAY)
    Image.new("L", (8, 8)).save(tmp_path / "ok.png")
    with pytest.raises(GennetError, match="square"):
        read_images(tmp_path / "ok.png", DataSpec(1, 8, 16))


def test_labels_by_index_name_one_or_one_per_image():
    classes = ["zero", "one", "cross"]
    assert class_index("cross", classes) == 2 and class_index(" 1 ", classes) == 1
    assert parse_labels("cross", 3, classes) == [2, 2, 2]
    assert parse_labels("0,cross,1", 3, classes) == [0, 2, 1]
    assert parse_labels(None, 4, classes) == [0, 1, 2, 0]  # default: classes in turn
    assert parse_labels(None, 4, None) is None
    with pytest.raises(GennetError, match="unknown class '3'; the classes are zero, one, cross"):
        parse_labels("3", 2, classes)
    with pytest.raises(GennetError, match="give one label or 2"):
        parse_labels("1,1,1", 2, classes)
    with pytest.raises(GennetError, match="model 'vae' is not conditional"):
        parse_labels("1", 2, None, model="vae")
