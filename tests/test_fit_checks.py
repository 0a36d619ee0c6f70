"""`fit` from Python refuses data a model cannot train on, in one line naming the fix, before
the data trains; and the conversions those fixes name do what they say. What it trains on it
reads without tf.data's autotuning (data/core.py says why), unless the dataset asks for it."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_gans
from keras_gans.data import DataError, checks

SHAPE = (8, 8, 1)
RNG = np.random.default_rng(0)
PIXELS = RNG.integers(0, 256, (40, *SHAPE)).astype("float32")  # what image_dataset_from_directory gives
IMAGES = PIXELS / 127.5 - 1.0
LABELS = np.arange(40, dtype="int32") % 4


def tiny(method, **options):
    return keras_gans.build(method, image_shape=SHAPE, g_filters=4, d_filters=4, latent_dim=4, seed=0, **options)


def batches(*arrays, size=8):
    return tf.data.Dataset.from_tensor_slices(arrays[0] if len(arrays) == 1 else arrays).batch(size)


WRONG = [
    (
        "dcgan",
        lambda: batches(PIXELS),
        "none below 0, as pixels 0-255 are; convert with keras_gans.data.rescale(data)",
    ),
    ("dcgan", lambda: batches(PIXELS.astype("uint8")), "GAN got uint8 images; the networks take floats in [-1, 1]"),
    (
        "dcgan",
        lambda: batches(IMAGES, LABELS),
        "GAN trains on images alone, got (float32 [None, 8, 8, 1], int32 [None])",
    ),
    ("dcgan", lambda: batches(np.zeros((40, 16, 16, 1), "float32")), "GAN's networks take 8x8x1 images, got 16x16x1"),
    ("dcgan", lambda: tf.data.Dataset.from_tensor_slices(IMAGES), "GAN got single images [8, 8, 1], not batches"),
    (
        "dcgan",
        lambda: batches(np.zeros((40, 8, 8, 3), "float32")),
        "GAN's networks take 1-channel images, got 3-channel ones; convert them "
        "(keras_gans.data.from_directory(path, channels=1), or color_mode='grayscale'",
    ),
    ("dcgan", lambda: batches(IMAGES * 3), "got values outside it; rescale them to [-1, 1]"),
    ("wgan", lambda: batches(IMAGES), "a batch must hold 5 x batch_size images, got a batch whose size is not a mu"),
    ("wgan", lambda: batches(IMAGES).unbatch().batch(8, drop_remainder=True), "images, got a batch of 8; group"),
    ("cgan", lambda: batches(IMAGES), "ConditionalGAN trains on (images, labels) batches, got float32"),
    ("cgan", lambda: batches(IMAGES, np.eye(4)[LABELS]), "takes class indices [batch], got one-hot labels"),
    ("cgan", lambda: batches(IMAGES, LABELS + 4), "labels must be class indices 0..3; relabel"),
    ("cgan", lambda: batches(IMAGES, LABELS.astype("float32")), "takes integer class indices [batch] as labels"),
]


@pytest.mark.parametrize("method, data, message", WRONG, ids=[w[2][:30] for w in WRONG])
def test_wrong_data_is_refused_in_one_line_before_it_trains(method, data, message):
    model = tiny(method, num_classes=4, d_steps=1) if method == "cgan" else tiny(method)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(DataError) as refused:
        model.fit(data(), epochs=1, verbose=0)
    assert message in str(refused.value) and "\n" not in str(refused.value)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights())), "trained on refused data"


def test_arrays_are_checked_too_and_labels_given_as_y_are_taken_where_a_method_wants_them():
    with pytest.raises(DataError, match="as pixels 0-255 are"):
        tiny("dcgan").fit(PIXELS, verbose=0)
    with pytest.raises(DataError, match="GAN trains on images alone"):
        tiny("dcgan").fit(IMAGES, LABELS, verbose=0)
    history = tiny("cgan", num_classes=4).fit(IMAGES, LABELS, batch_size=8, verbose=0).history
    assert np.isfinite(history["d_loss"][0])


def test_the_conversions_the_refusals_name_make_the_data_trainable():
    model = tiny("dcgan")
    model.fit(checks.images_only(checks.rescale(batches(PIXELS, LABELS))), verbose=0)
    assert np.allclose(checks.rescale(PIXELS), IMAGES)
    assert next(iter(checks.rescale(batches(PIXELS.astype("uint8"))))).dtype == tf.float32


def test_a_wgan_takes_arrays_batched_as_usual_and_step_batches_give_update_k_the_kth_batch():
    wgan = tiny("wgan", d_steps=2)
    logs = wgan.fit(IMAGES, batch_size=8, epochs=1, verbose=0).history
    assert wgan.d_optimizer.iterations.numpy() == 2 * 2 and np.isfinite(logs["d_loss"][0])  # 40 // 16 steps

    ordinary = batches(np.arange(12, dtype="float32").reshape(12, 1, 1, 1), size=3)
    step = next(iter(checks.step_batches(ordinary, 2)))
    assert [list(batch.numpy().ravel()) for batch in wgan.per_update(step)] == [[0, 1, 2], [3, 4, 5]]


def test_from_directory_reads_a_class_folder_as_fit_takes_it(tmp_path):
    from PIL import Image

    for label in ("a", "b"):
        (tmp_path / label).mkdir()
        for i in range(4):
            Image.fromarray(RNG.integers(0, 256, (12, 12), dtype="uint8")).save(tmp_path / label / f"{i}.png")
    dataset = checks.from_directory(tmp_path, image_size=8, batch_size=4, labels=True, channels=1, seed=0)
    model = tiny("cgan", num_classes=2, d_steps=1)
    assert np.isfinite(model.fit(dataset, verbose=0).history["d_loss"][0])


def test_semi_supervised_and_translation_layouts_are_checked():
    classifier = keras_gans.build("sgan", image_shape=SHAPE, num_classes=4, seed=0)
    with pytest.raises(DataError, match=r"SemiSupervisedGAN trains on \(\(images, labels\), images\) batches"):
        classifier.fit(batches(IMAGES, LABELS), verbose=0)
    cyclegan = keras_gans.build("cyclegan", image_shape=SHAPE, g_filters=4, d_filters=4, seed=0)
    with pytest.raises(DataError, match=r"CycleGAN trains on \(images, images\) batches"):
        cyclegan.fit(batches(IMAGES), verbose=0)
    assert isinstance(cyclegan, keras.Model)


def test_fit_reads_datasets_without_autotuning_unless_they_ask_for_it(monkeypatch):
    read = []
    monkeypatch.setattr(keras.Model, "fit", lambda self, x, y=None, **kwargs: read.append(x.options().autotune.enabled))
    asked, budgeted = tf.data.Options(), tf.data.Options()
    asked.autotune.enabled = True
    budgeted.autotune.ram_budget = 2**30  # a budget is for autotuning: it asks for it too
    tiny("dcgan").fit(batches(IMAGES))
    tiny("dcgan").fit(batches(IMAGES).with_options(asked))
    tiny("dcgan").fit(batches(IMAGES).with_options(budgeted))
    tiny("wgan", d_steps=2).fit(IMAGES, batch_size=8)  # arrays a WGAN step takes as a dataset of its own
    assert read == [False, True, None, False]
