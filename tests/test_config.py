"""Configs: every shipped recipe is valid and builds; bad keys and types are refused."""

import os

import pytest

from keras_gans import config as config_lib
from keras_gans import recipes

RECIPE_FILES = sorted(config_lib.RECIPES_DIR.glob("*.yaml"))


def test_there_is_a_recipe_for_each_foundation_method_and_dataset():
    names = {path.stem for path in RECIPE_FILES}
    for method in ("gan", "dcgan", "lsgan"):
        for data in ("digits", "mnist", "fashion_mnist", "cifar10"):
            assert f"{method}_{data}" in names


@pytest.mark.parametrize("path", RECIPE_FILES, ids=[p.stem for p in RECIPE_FILES])
def test_every_recipe_is_valid_and_names_its_method(path):
    values = config_lib.load_yaml(path)
    config = recipes.with_method_defaults(config_lib.TrainConfig(**values))
    assert path.stem.startswith(config.method + "_")
    recipes.get_recipe(config.method)


def test_plain_train_py_uses_the_digits_recipe():
    config = config_lib.resolve({})
    assert (config.method, config.data) == ("dcgan", "digits")
    assert config.epochs == config_lib.load_yaml(config_lib.RECIPES_DIR / "dcgan_digits.yaml")["epochs"]


def test_arguments_override_the_recipe():
    config = config_lib.resolve({"method": "lsgan", "data": "mnist", "epochs": 2})
    assert config.loss == "lsgan" and config.epochs == 2


def test_method_defaults_fill_only_unset_keys():
    config = recipes.with_method_defaults(config_lib.TrainConfig(method="lsgan", g_lr=1e-3))
    assert config.g_lr == 1e-3 and config.d_lr == 2e-4 and config.loss == "lsgan"


def test_data_without_a_recipe_gets_the_methods_batch_size():
    """CycleGAN's paper trains on single images; the GANs default to 64."""
    for method, batch_size in (("cyclegan", 1), ("dcgan", 64), ("wgan-gp", 64)):
        config = config_lib.resolve({"method": method, "data": "photos/a,photos/b"})
        assert recipes.with_method_defaults(config).batch_size == batch_size, method
    config = config_lib.resolve({"method": "cyclegan", "data": "x,y", "batch_size": 4})
    assert recipes.with_method_defaults(config).batch_size == 4


@pytest.mark.parametrize("values, message", [
    ({"learning_rate": 1}, "unknown config key 'learning_rate'"),
    ({"epochs": "ten"}, "'epochs' must be int"),
    ({"epochs": True}, "'epochs' must be int"),
    ({"g_lr": "fast"}, "'g_lr' must be float or null"),
    ({"xla": 1}, "'xla' must be bool"),
    ({"lambda_edges": -1}, "'lambda_edges' weighs a loss term and must be 0"),
])
def test_bad_values_are_refused(values, message):
    with pytest.raises(config_lib.ConfigError, match=message):
        config_lib.validate(values)


@pytest.mark.parametrize("method, key, value", [
    ("dcgan", "n_critic", 5), ("wgan-gp", "g_steps", 2), ("cyclegan", "gp_weight", 10.0),
    ("lsgan", "pool_size", 50), ("dcgan", "style_dim", 8),
    ("gan", "lambda_edges", 1.0)])
def test_a_key_of_another_method_is_refused(method, key, value):
    config = config_lib.TrainConfig(method=method, **{key: value})
    with pytest.raises(config_lib.ConfigError, match=f"{key!r} does not apply to method"):
        recipes.with_method_defaults(config)


@pytest.mark.parametrize("options, message", [
    ({"style_dim": 4, "generator": "unet"}, "style_dim needs the resnet generator"),
    ({"style_dim": -1}, "style_dim must be 0"),
])
def test_a_style_code_the_networks_cannot_take_is_refused(options, message):
    with pytest.raises(config_lib.ConfigError, match=message):
        recipes.build("cyclegan", (16, 16, 3), compile=False, **options)


@pytest.mark.parametrize("data, folder", [
    ("digits2digits-m", "cyclegan-digits2digits-m"),
    ("tfds:cycle_gan/horse2zebra", "cyclegan-tfds-cycle_gan-horse2zebra"),
    ("../shared/data/emojis/Apple,../shared/data/emojis/Windows", "cyclegan-Apple-Windows"),
    ("folder:/data/faces/", "cyclegan-faces"),
])
def test_the_default_run_folder_is_named_after_the_method_and_data(data, folder):
    assert config_lib.TrainConfig(method="cyclegan", data=data).run_dir() == os.path.join(
        "runs", folder)


def test_integers_are_accepted_for_floats():
    assert config_lib.validate({"g_lr": 1})["g_lr"] == 1.0


def test_build_from_python(tmp_path):
    import keras_gans

    gan = keras_gans.build("dcgan", image_shape=(32, 32, 3), g_filters=8, d_filters=8)
    assert gan.generate(2).shape == (2, 32, 32, 3)
    with pytest.raises(config_lib.ConfigError, match="unknown config key"):
        keras_gans.build("dcgan", image_shape=(28, 28, 1), filters=8)
