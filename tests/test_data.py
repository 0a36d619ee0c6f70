"""keras_gans.data: sources, the shared pipeline, unpaired domains and augmentation."""

import numpy as np
import pytest
import sklearn.datasets
from PIL import Image

from keras_gans.data import (
    AUGMENTATIONS,
    DataError,
    ImageData,
    core,
    dataset_names,
    embedded,
    load_dataset,
    load_unpaired,
    make_digits_m,
)
from keras_gans.data.augment import augment_batch

NUM_DIGITS = 1797
NUM_TEST_DIGITS = 359  # round(0.2 * 1797)


def first(dataset):
    return next(iter(dataset))


def to_numpy(*tensors):
    return [tensor.numpy() for tensor in tensors]


def write_image(path, rgb, mode="RGB", **save_options):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(rgb, np.uint8), mode="RGB").convert(mode).save(path, **save_options)
    return path


def solid(height, width, colour):
    return np.broadcast_to(np.array(colour, np.uint8), (height, width, 3))


def assert_in_model_range(images):
    assert images.dtype == np.float32
    assert images.min() >= -1.0 and images.max() <= 1.0


# --- digits and digits-m ----------------------------------------------------------------------------


def test_digits_yield_float_batches_in_range_for_one_epoch():
    data = load_dataset("digits", batch_size=32, seed=0)
    assert isinstance(data, ImageData)
    assert data.image_shape == (28, 28, 1)
    assert data.num_examples == NUM_DIGITS - NUM_TEST_DIGITS
    assert data.num_classes == 10 and data.class_names == [str(d) for d in range(10)]
    (images,) = to_numpy(first(data.dataset))
    assert images.shape == (32, 28, 28, 1)
    assert_in_model_range(images)
    assert images.min() == -1.0 and images.max() > 0.9  # background -1, ink near +1
    assert sum(1 for _ in data.dataset) == data.num_examples // 32  # finite, drop_remainder


def test_digit_labels_follow_scikit_learn():
    data = load_dataset("digits", batch_size=16, with_labels=True, shuffle=False)
    images, labels = to_numpy(*first(data.dataset))
    assert labels.dtype == np.int32
    expected = sklearn.datasets.load_digits().target[embedded.split_indices("train", NUM_DIGITS)[:16]]
    np.testing.assert_array_equal(labels, expected)


def test_image_size_and_channels_are_forced():
    (images,) = to_numpy(first(load_dataset("digits", 16, batch_size=8, channels=3).dataset))
    assert images.shape == (8, 16, 16, 3)
    np.testing.assert_array_equal(images[..., 0], images[..., 2])


def test_shuffle_is_reproducible_with_a_seed_and_reshuffles_each_epoch():
    data = load_dataset("digits", batch_size=64, seed=7)
    epoch_1, epoch_2 = first(data.dataset).numpy(), first(data.dataset).numpy()
    again = first(load_dataset("digits", batch_size=64, seed=7).dataset).numpy()
    np.testing.assert_array_equal(epoch_1, again)
    assert not np.array_equal(epoch_1, epoch_2)


def test_digits_m_are_colour_digits_with_the_same_labels():
    kwargs = dict(batch_size=32, with_labels=True, shuffle=False, split="test")
    data = load_dataset("digits-m", **kwargs)
    colour, colour_labels = to_numpy(*first(data.dataset))
    _, gray_labels = to_numpy(*first(load_dataset("digits", **kwargs).dataset))
    assert data.image_shape == (28, 28, 3) and data.num_classes == 10
    assert colour.shape == (32, 28, 28, 3)
    assert_in_model_range(colour)
    np.testing.assert_array_equal(colour_labels, gray_labels)
    assert colour.std(axis=-1).mean() > 0.02  # channels differ: real colour, not gray


def test_held_out_split_is_fixed_and_disjoint():
    train, test = embedded.split_indices("train", NUM_DIGITS), embedded.split_indices("test", NUM_DIGITS)
    assert len(test) == NUM_TEST_DIGITS
    assert not set(train) & set(test)
    assert sorted([*train, *test]) == list(range(NUM_DIGITS))
    np.testing.assert_array_equal(test, embedded.split_indices("test", NUM_DIGITS))
    assert load_dataset("digits-m", split="test", batch_size=8).num_examples == NUM_TEST_DIGITS
    assert load_dataset("digits", split="all", batch_size=8).num_examples == NUM_DIGITS


def test_make_digits_m_is_deterministic_and_keeps_strokes_readable():
    (images,) = to_numpy(first(load_dataset("digits", split="test", batch_size=64, shuffle=False).dataset))
    masks = (images + 1.0) / 2.0
    coloured = make_digits_m(masks, seed=3)
    assert coloured.shape == (64, 28, 28, 3) and coloured.min() >= 0.0 and coloured.max() <= 1.0
    np.testing.assert_array_equal(coloured, make_digits_m(masks, seed=3))
    assert not np.array_equal(coloured, make_digits_m(masks, seed=4))
    for image, mask in zip(coloured, masks[..., 0]):  # strokes and background never share a value range
        stroke, background = image[mask == 1.0], image[mask == 0.0]
        light_on_dark = stroke.min() >= 0.6 - 1e-6 and background.max() <= 0.4 + 1e-6
        dark_on_light = stroke.max() <= 0.4 + 1e-6 and background.min() >= 0.6 - 1e-6
        assert light_on_dark or dark_on_light


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(name="digits", batch_size=0), "batch_size"),
        (dict(name="digits", image_size=4), "image_size"),
        (dict(name="no_such_dataset"), "unknown dataset"),
        (dict(name="digits", augment="blur"), "unknown augmentation"),
        (dict(name="digits", channels=2), "channels"),
        (dict(name="digits", split="validation"), "no split"),
        (dict(name="digits", split="test", batch_size=1000), "fewer than batch_size"),
        (dict(name="digits2digits-m"), "load_unpaired"),
    ],
)
def test_bad_arguments_are_one_line_data_errors(kwargs, message):
    with pytest.raises(DataError, match=message) as error:
        load_dataset(**kwargs)
    assert "\n" not in str(error.value) and ";" in str(error.value)  # problem; fix


def test_dataset_names_cover_the_registry():
    assert {"digits", "digits-m", "mnist", "fashion_mnist", "cifar10", "svhn", "horse2zebra", "digits2digits-m"} <= set(
        dataset_names()
    )


# --- folders ----------------------------------------------------------------------------------------


@pytest.fixture
def mixed_folder(tmp_path):
    """Four valid images in four formats and sizes, one corrupt file and a non-image file."""
    write_image(tmp_path / "a.png", solid(20, 30, (255, 0, 0)))
    write_image(tmp_path / "b.jpg", solid(40, 24, (0, 255, 0)))
    write_image(tmp_path / "nested" / "c.bmp", solid(16, 16, (0, 0, 255)))
    write_image(tmp_path / "nested" / "d.gif", solid(18, 18, (255, 255, 0)), mode="P")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def test_folder_skips_corrupt_files_with_a_warning(mixed_folder):
    with pytest.warns(UserWarning, match="skipped 1 unreadable image in"):
        data = load_dataset(f"folder:{mixed_folder}", 16, batch_size=2, seed=0)
    assert data.num_examples == 4 and data.num_classes is None and data.image_shape == (16, 16, 3)
    (images,) = to_numpy(first(data.dataset))
    assert images.shape == (2, 16, 16, 3)
    assert_in_model_range(images)


def test_streamed_folder_matches_the_in_memory_one(mixed_folder, monkeypatch):
    with pytest.warns(UserWarning, match="skipped 1"):
        in_memory = first(load_dataset(str(mixed_folder), 16, batch_size=4, shuffle=False).dataset).numpy()
    monkeypatch.setattr(core, "MEMORY_BUDGET_BYTES", 0)
    with pytest.warns(UserWarning, match="skipped 1"):
        streamed = load_dataset(str(mixed_folder), 16, batch_size=4, shuffle=False)
    assert streamed.num_examples == 4
    np.testing.assert_array_equal(first(streamed.dataset).numpy(), in_memory)


def test_folder_without_readable_images_is_an_error(tmp_path):
    (tmp_path / "x.png").write_bytes(b"garbage")
    (tmp_path / "y.jpg").write_bytes(b"")
    with pytest.raises(DataError, match="no readable image"):
        load_dataset(f"folder:{tmp_path}", 16)


@pytest.mark.parametrize("prefix", ["folder:", ""])
def test_missing_folder_is_an_error(tmp_path, prefix):
    with pytest.raises(DataError, match="does not exist; pass an existing folder"):
        load_dataset(f"{prefix}{tmp_path / 'absent'}", 16)


def test_class_sub_folders_become_sorted_labels(tmp_path):
    for i in range(2):
        write_image(tmp_path / "dog" / f"{i}.png", solid(8, 8, (255, 0, 0)))
        write_image(tmp_path / "cat" / "deeper" / f"{i}.png", solid(8, 8, (0, 0, 255)))
    data = load_dataset(str(tmp_path), batch_size=4, with_labels=True, seed=0)
    assert data.num_classes == 2 and data.class_names == ["cat", "dog"] and data.image_shape == (8, 8, 3)
    images, labels = to_numpy(*first(data.dataset))
    is_blue = images[:, 0, 0, 2] > 0.9
    np.testing.assert_array_equal(labels, np.where(is_blue, 0, 1))


@pytest.mark.parametrize("layout", ["flat", "one sub-folder"])
def test_folder_without_classes_has_no_labels(tmp_path, layout):
    folder = tmp_path if layout == "flat" else tmp_path / "only"
    for i in range(2):
        write_image(folder / f"{i}.png", solid(8, 8, (9, 9, 9)))
    assert load_dataset(str(tmp_path), batch_size=2).num_classes is None
    with pytest.raises(DataError, match="has no labels; use a folder with one sub-folder per class"):
        load_dataset(str(tmp_path), batch_size=2, with_labels=True)


def test_images_keep_their_aspect_and_are_centre_cropped(tmp_path):
    thirds = np.concatenate([solid(10, 10, (255, 0, 0)), solid(10, 10, (0, 255, 0)), solid(10, 10, (0, 0, 255))], 1)
    write_image(tmp_path / "wide.png", thirds)
    (images,) = to_numpy(first(load_dataset(str(tmp_path), 8, batch_size=1).dataset))
    np.testing.assert_allclose(images[0, :, 1:-1], np.broadcast_to([-1.0, 1.0, -1.0], (8, 6, 3)), atol=0.02)


def test_transparent_pngs_are_composited_on_white(tmp_path):
    rgba = np.zeros((16, 16, 4), np.uint8)  # transparent black, except an opaque black centre
    rgba[6:10, 6:10, 3] = 255
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "rgba.png")
    palette = Image.new("P", (16, 16), 0)  # index 0 (black) is the transparent colour
    palette.putpalette([0, 0, 0, 0, 0, 1] + [0] * 762)
    palette.paste(1, (6, 6, 10, 10))
    palette.save(tmp_path / "palette.png", transparency=0)
    (images,) = to_numpy(first(load_dataset(str(tmp_path), batch_size=2).dataset))
    np.testing.assert_allclose(images[:, 0, 0], 1.0)  # corner: white
    np.testing.assert_allclose(images[:, 8, 8], -1.0, atol=0.01)  # centre: the opaque black square


# --- unpaired domains -------------------------------------------------------------------------------


def shade_folder(folder, count, channel):
    """`count` solid 8x8 images, image i having value 100 + 20 i in `channel`."""
    for i in range(count):
        colour = [0, 0, 0]
        colour[channel] = 100 + 20 * i
        write_image(folder / f"{i}.png", solid(8, 8, colour))
    return folder


def shades(images, channel):
    return set(np.round((images[:, 0, 0, channel] + 1.0) * 127.5).astype(int))


def test_unpaired_epoch_covers_the_larger_domain(tmp_path):
    red, blue = shade_folder(tmp_path / "A", 6, 0), shade_folder(tmp_path / "B", 3, 2)
    data = load_unpaired(f"{red},{blue}", 8, batch_size=2, seed=0)
    assert data.num_examples == 6 and data.image_shape == (8, 8, 3) and data.domain_sizes == (6, 3)
    epoch = [to_numpy(*pair) for pair in data.dataset]
    assert len(epoch) == 3
    all_a, all_b = np.concatenate([a for a, _ in epoch]), np.concatenate([b for _, b in epoch])
    assert all_a.shape == all_b.shape == (6, 8, 8, 3)
    assert shades(all_a, 0) == {100 + 20 * i for i in range(6)}  # each image of the larger domain once
    assert shades(all_b, 2) == {100, 120, 140}  # the smaller domain repeated to keep pace


def test_unpaired_cyclegan_folder_layout(tmp_path):
    for split, count in (("train", 4), ("test", 2)):
        shade_folder(tmp_path / f"{split}A", count, 0)
        shade_folder(tmp_path / f"{split}B", count, 1)
    assert load_unpaired(str(tmp_path), 8).num_examples == 4
    test = load_unpaired(str(tmp_path), 8, batch_size=2, split="test")
    assert test.num_examples == 2
    images_a, images_b = to_numpy(*first(test.dataset))
    assert shades(images_a, 0) == shades(images_b, 1) == {100, 120}  # both images of testA and of testB


def test_unpaired_bad_spec_is_an_error(tmp_path):
    with pytest.raises(DataError, match="cannot read two domains"):
        load_unpaired(str(tmp_path), 8)
    with pytest.raises(DataError, match="image_size"):
        load_unpaired("digits2digits-m", None)


def test_digits_to_digits_m_are_unpaired_labelled_rgb_domains():
    data = load_unpaired("digits2digits-m", 28, batch_size=16, seed=0, with_labels=True)
    assert data.num_examples == NUM_DIGITS - NUM_TEST_DIGITS and data.num_classes == 10
    (images_a, labels_a), (images_b, labels_b) = first(data.dataset)
    assert images_a.shape == images_b.shape == (16, 28, 28, 3)
    np.testing.assert_array_equal(images_a[..., 0], images_a[..., 1])  # gray digits as RGB
    assert labels_a.dtype == labels_b.dtype == np.int32
    assert not np.array_equal(labels_a, labels_b)  # independently shuffled: not secretly paired


# --- augmentation -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", AUGMENTATIONS)
def test_augmentation_keeps_shape_and_range_and_changes_images(name):
    plain = first(load_dataset("digits", batch_size=32, shuffle=False).dataset).numpy()
    data = load_dataset("digits", batch_size=32, shuffle=False, seed=0, augment=name)
    augmented, next_epoch = first(data.dataset).numpy(), first(data.dataset).numpy()
    assert augmented.shape == plain.shape
    assert_in_model_range(augmented)
    assert np.abs(augmented - plain).mean() > 0.05
    assert not np.array_equal(augmented, next_epoch)  # fresh randomness every epoch
    again = first(load_dataset("digits", batch_size=32, shuffle=False, seed=0, augment=name).dataset).numpy()
    np.testing.assert_array_equal(augmented, again)  # reproducible from the seed


def test_jitter_never_samples_outside_the_image():
    white = np.ones((16, 32, 32, 3), np.float32)
    np.testing.assert_allclose(augment_batch(white, [1, 2], "jitter").numpy(), 1.0, atol=1e-5)


def test_affine_moves_content_within_the_documented_bounds():
    size = 64
    dot = -np.ones((256, size, size, 1), np.float32)
    dot[:, 31:33, 31:33] = 1.0  # a bright 2x2 dot at the centre
    moved = (augment_batch(dot, [3, 4], "affine").numpy()[..., 0] + 1.0) / 2.0
    rows, cols = np.mgrid[:size, :size]
    weight = moved.sum(axis=(1, 2))
    shift_y = (moved * rows).sum(axis=(1, 2)) / weight - 31.5
    shift_x = (moved * cols).sum(axis=(1, 2)) / weight - 31.5
    assert np.abs(shift_x).max() <= 0.1 * size + 0.5  # horizontal shift up to 10% of the width
    assert np.abs(shift_y).max() <= 0.3 * size + 0.5  # vertical shift up to 30% of the height
    assert np.abs(shift_y).max() > 0.2 * size
    white = augment_batch(np.ones((64, size, size, 1), np.float32), [3, 4], "affine").numpy()
    assert white.min() == -1.0  # rotated and shrunk images reveal the -1 background


# --- TFDS and the shared data -----------------------------------------------------------------------


def test_mnist_from_the_shared_tfds_copy(tfds_data_dir, require_shared):
    require_shared(tfds_data_dir / "mnist", "TFDS mnist")
    data = load_dataset("mnist", batch_size=16, split="test", shuffle=False, with_labels=True)
    assert data.num_examples == 10_000 and data.image_shape == (28, 28, 1) and data.num_classes == 10
    images, labels = to_numpy(*first(data.dataset))
    assert images.shape == (16, 28, 28, 1) and labels.dtype == np.int32 and set(labels) <= set(range(10))
    assert_in_model_range(images)
    resized = load_dataset("mnist", 32, batch_size=8, channels=3, split="test[:100]")
    assert resized.num_examples == 100 and first(resized.dataset).shape == (8, 32, 32, 3)
    with pytest.raises(DataError, match="cannot read two domains from 'mnist' .*trainA.*; pass PATH_A,PATH_B"):
        load_unpaired("mnist", 32)  # one dataset: the two-domain advice, with TFDS's reason


def test_horse2zebra_unpaired_from_the_shared_tfds_copy(tfds_data_dir, require_shared):
    require_shared(tfds_data_dir / "cycle_gan" / "horse2zebra", "TFDS cycle_gan/horse2zebra")
    data = load_unpaired("horse2zebra", 32, batch_size=4, seed=0, augment="jitter")
    assert data.num_examples == 120 and data.image_shape == (32, 32, 3)
    horses, zebras = to_numpy(*first(data.dataset))
    assert horses.shape == zebras.shape == (4, 32, 32, 3)
    assert_in_model_range(horses)
    assert load_unpaired("horse2zebra", 32, split="test").num_examples == 30


def test_emoji_folders_unpaired_from_the_shared_copy(shared_dir, require_shared):
    apple = require_shared(shared_dir / "data" / "emojis" / "Apple", "Apple emojis")
    windows = require_shared(shared_dir / "data" / "emojis" / "Windows", "Windows emojis")
    data = load_unpaired(f"{apple},{windows}", 32, batch_size=8, seed=0)
    assert data.num_examples == 2270 and data.image_shape == (32, 32, 3) and data.num_classes is None
    apples, windows_images = to_numpy(*first(data.dataset))
    assert apples.shape == windows_images.shape == (8, 32, 32, 3)
    corners = np.concatenate([apples[:, 0, 0], windows_images[:, 0, 0]])
    assert corners.mean() > 0.9  # transparent palette backgrounds composited on white


def test_svhn_and_cifar10_code_paths_with_mock_data(monkeypatch, tmp_path):
    """No SVHN or CIFAR-10 copy exists offline: tfds.testing.mock_data feeds random examples instead."""
    import tensorflow_datasets as tfds

    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    with tfds.testing.mock_data(num_examples=8):
        svhn = load_dataset("svhn", batch_size=4, with_labels=True, seed=0)
        images, labels = to_numpy(*first(svhn.dataset))
        cifar = load_dataset("cifar10", 16, batch_size=4, channels=1)
        assert first(cifar.dataset).shape == (4, 16, 16, 1)
    assert svhn.num_examples == 8 and svhn.image_shape == (32, 32, 3) and svhn.num_classes == 10
    assert images.shape == (4, 32, 32, 3) and labels.dtype == np.int32
    assert_in_model_range(images)


def test_tfds_data_that_cannot_be_downloaded_is_an_error_naming_tfds_data_dir(monkeypatch, tmp_path):
    import tensorflow_datasets as tfds

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", offline)
    with pytest.raises(DataError, match="could not be downloaded.*TFDS_DATA_DIR"):
        load_dataset("svhn")
    with pytest.raises(DataError, match="unknown TFDS dataset"):
        load_dataset("tfds:no_such_dataset_anywhere")


def test_real_images_fall_back_to_train_only_when_the_split_is_missing(tmp_path, monkeypatch):
    """A labelled folder has no test split, so scoring reads its train images; data that cannot
    be read at all must say why, not that it has no split."""
    import tensorflow_datasets as tfds

    from keras_gans.metrics import real_images

    for i in range(2):
        write_image(tmp_path / "red" / f"{i}.png", solid(8, 8, (255, 0, 0)))
        write_image(tmp_path / "blue" / f"{i}.png", solid(8, 8, (0, 0, 255)))
    images, labels = real_images(str(tmp_path), n=10)
    assert images.shape == (4, 8, 8, 3) and sorted(labels) == [0, 0, 1, 1]

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", offline)
    with pytest.raises(DataError, match="could not be downloaded.*TFDS_DATA_DIR"):
        real_images("svhn")


# --- what a run loads -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, images, labels",
    [
        ({"method": "dcgan"}, 8, False),
        ({"method": "dcgan", "d_steps": 3}, 24, False),
        ({"method": "wgan"}, 40, False),  # wgan's 5 critic updates per step, each on its own batch
        ({"method": "wgan-gp", "d_steps": 2}, 16, False),
        ({"method": "cgan"}, 40, True),
        ({"method": "acgan", "d_steps": 2}, 16, True),
    ],
)
def test_a_run_loads_every_real_batch_of_a_step(overrides, images, labels):
    """run.load_data: one element per train step, holding batch_size x the method's
    batches_per_step real images (d_steps for the GAN family), with labels where it takes them."""
    from keras_gans import config as config_lib
    from keras_gans.methods import get_method
    from keras_gans.run import load_data

    config = config_lib.from_values({"data": "digits", "image_size": 16, "batch_size": 8, **overrides})
    assert config.batch_size * get_method(config.method).model.batches_per_step(config.options) == images
    data = load_data(config)
    element = first(data.dataset)
    if labels:
        batch, label_batch = to_numpy(*element)
        assert label_batch.shape == (images,) and label_batch.dtype == np.int32
    else:
        assert not isinstance(element, tuple)
        (batch,) = to_numpy(element)
    assert batch.shape == (images, 16, 16, 1) and data.image_shape == (16, 16, 1)
    assert_in_model_range(batch)
    assert sum(1 for _ in data.dataset) == data.num_examples // images


def test_a_translation_run_loads_unpaired_batches_at_256_by_default(tmp_path):
    from keras_gans import config as config_lib
    from keras_gans.run import load_data

    red, blue = shade_folder(tmp_path / "A", 3, 0), shade_folder(tmp_path / "B", 2, 2)
    data = load_data(config_lib.from_values({"method": "cyclegan", "data": f"{red},{blue}"}))
    assert data.image_shape == (256, 256, 3) and data.num_examples == 3
    images_a, images_b = to_numpy(*first(data.dataset))
    assert images_a.shape == images_b.shape == (1, 256, 256, 3)  # the paper's single images
    small = load_data(
        config_lib.from_values(
            {"method": "cyclegan", "data": "digits2digits-m", "image_size": 16, "channels": 1, "batch_size": 4}
        )
    )
    images_a, images_b = to_numpy(*first(small.dataset))
    assert images_a.shape == images_b.shape == (4, 16, 16, 1)
