"""Configs: every shipped recipe states only departures, resolves and builds; every declared
option is well formed; bad keys, types and values are refused with a one-line message."""

import dataclasses
import os
import types
import typing
from pathlib import Path

import keras
import numpy as np
import pytest

import keras_gans
from keras_gans import config as config_lib
from keras_gans import recipes, run
from keras_gans.methods import METHODS, get_method
from keras_gans.methods.base import GENERATOR, training_options
from keras_gans.methods.self_conditioned import SelfConditionedGAN
from keras_gans.options import ConfigError, coerce, fields

RECIPES = recipes.names()
NOISE_TO_IMAGE = ("gan", "dcgan", "lsgan", "wgan", "wgan-gp", "cgan", "acgan")
# Keys a recipe states even when they equal a default: what it is about, and at which size.
ALWAYS_STATED = {"method", "data", "image_size"}
# Recipes whose data is not a dataset name (PATH_A,PATH_B): found by name, not by method and data.
NAMED_ONLY = {"cyclegan_emoji"}
# What a recipe's data holds, without loading it: channels and classes.
DATA_SHAPES = {"digits": (1, 10), "mnist": (1, 10), "fashion_mnist": (1, 10), "cifar10": (3, 10)}
TINY = {"g_filters": 8, "d_filters": 8}


def recipe_values(name):
    return config_lib.load_yaml(recipes.named(name))


def defaults(method_name):
    """The value each key takes when a config does not state it."""
    method = get_method(method_name)
    values = {key: field.default for key, field in fields(config_lib.TrainConfig).items() if key != "options"}
    values["batch_size"] = method.batch_size
    values.update({key: field.default for key, field in fields(method.options).items()})
    return values


# --- the shipped recipes -------------------------------------------------------------------------


def test_recipes_ship_inside_the_package():
    folder = Path(keras_gans.__file__).parent / "recipes"
    assert RECIPES == sorted(path.stem for path in folder.glob("*.yaml"))
    assert len(RECIPES) == 28
    assert recipes.named("dcgan_mnist") == recipes.named("dcgan_mnist.yaml")
    assert recipes.named("no_such_recipe") is None


def test_there_is_a_recipe_for_each_foundation_method_and_dataset():
    for method in ("gan", "dcgan", "lsgan"):
        for data in ("digits", "mnist", "fashion_mnist", "cifar10"):
            assert f"{method}_{data}" in RECIPES
    for name in (
        "wgan_mnist",
        "wgan-gp_mnist",
        "cgan_mnist",
        "acgan_mnist",
        "cyclegan_digits",
        "cyclegan_horse2zebra",
        "cyclegan_emoji",
    ):
        assert name in RECIPES


def test_sgan_has_its_own_recipe_for_each_digit_pair_before_the_digits_alias():
    """cyclegan's pairs share cyclegan_digits; sgan_digits is a classifier, so sgan's pairs have
    recipes of their own, which the exact name finds first."""
    for data in ("mnist", "fashion_mnist", "digits", "digits2digits-m", "mnist2svhn"):
        assert f"sgan_{data}" in RECIPES
    assert recipes.find("sgan", "digits2digits-m") == recipes.named("sgan_digits2digits-m")
    assert recipes.find("cyclegan", "mnist2svhn") == recipes.named("cyclegan_digits")
    assert config_lib.resolve({"method": "sgan", "data": "digits2digits-m"}).options.lambda_identity == 0.0


@pytest.mark.parametrize("name", RECIPES)
def test_every_recipe_states_its_method_and_data_and_is_found_by_them(name):
    values = recipe_values(name)
    assert {"method", "data"} <= set(values), f"{name} must state method and data"
    assert values["method"] in METHODS
    assert name.startswith(values["method"] + "_")
    if name in NAMED_ONLY:
        assert recipes.find(values["method"], values["data"]) is None
    else:
        assert recipes.find(values["method"], values["data"]) == recipes.named(name)


@pytest.mark.parametrize("name", RECIPES)
def test_every_recipe_states_only_departures_from_the_defaults(name):
    values = recipe_values(name)
    default = defaults(values["method"])
    for key, value in values.items():
        assert key in default, f"{name}: {key!r} is neither a run key nor a {values['method']} option"
        if key not in ALWAYS_STATED:
            assert value != default[key], (
                f"{name} states {key}: {value!r}, which is {values['method']}'s default; drop it"
            )


@pytest.mark.parametrize("name", RECIPES)
def test_every_recipe_resolves_to_its_methods_options_and_round_trips(name, tmp_path):
    values = recipe_values(name)
    config = config_lib.resolve({}, name)
    method = get_method(values["method"])
    assert type(config.options) is method.options
    assert (config.method, config.data) == (values["method"], values["data"])
    flat = config.to_dict()
    for key, value in values.items():
        assert flat[key] == value, key
    for key in set(flat) - set(values):
        assert flat[key] == defaults(config.method)[key], key
    config_lib.save(config, tmp_path / "config.yaml")
    assert config_lib.from_values(config_lib.load_yaml(tmp_path / "config.yaml")) == config


def image_shape_and_classes(config):
    model, _ = get_method(config.method).variant_for(config.data)
    if model.unpaired:
        return (config.image_size or 256,) * 2 + (config.channels or 3,), 10 if model.takes_labels else None
    channels, classes = DATA_SHAPES[config.data]
    return (config.image_size,) * 2 + (config.channels or channels,), classes


def samples(model, shape):
    """Two images out of a fresh model: generated, or translated from A."""
    if model.unpaired:
        return model.translate(np.zeros((2, *shape), "float32"))
    return model.generate(2)


@pytest.mark.parametrize("name", RECIPES)
def test_every_recipe_builds_a_compiled_model_with_its_options(name):
    """Each shipped recipe, narrowed to 8 filters, built as `train` builds it (without data):
    the method's model, its training options in the model, its optimizers as declared."""
    keras.utils.set_random_seed(0)
    config = config_lib.resolve(TINY, name)
    shape, num_classes = image_shape_and_classes(config)
    model = run.build_model(config, types.SimpleNamespace(image_shape=shape, num_classes=num_classes))
    method = get_method(config.method)
    # a self-conditioned recipe builds the one class that serves every GAN loop's options
    clustered = getattr(config.options, "clusters", 0)
    assert isinstance(model, SelfConditionedGAN if clustered else method.variant_for(config.data)[0])
    assert model.compiled
    stored = model.get_config()
    declared = fields(method.options)
    for key, value in training_options(config.options).items():
        if key in stored:
            assert stored[key] == value, key
        else:  # a term the plain model leaves out must be off
            assert value == declared[key].default, key
    for key in ("latent_dim", "style_dim"):
        if hasattr(model, key):
            assert getattr(model, key) == getattr(config.options, key), key
    options = config.options
    for attribute, player in model.players.items():
        optimizer = getattr(model, attribute)
        expected = keras.optimizers.RMSprop if options.optimizer == "rmsprop" else keras.optimizers.Adam
        assert type(optimizer) is expected, attribute
        rate = options.g_lr if player.side == GENERATOR else options.d_lr
        assert float(optimizer.learning_rate) == pytest.approx(rate), attribute
        if expected is keras.optimizers.Adam:
            assert (optimizer.beta_1, optimizer.beta_2) == (options.beta_1, options.beta_2)
    images = samples(model, shape)
    assert images.shape == (2, *shape) and np.isfinite(images).all()


# --- resolution: method defaults, recipe, arguments -----------------------------------------------


def test_plain_train_py_uses_the_digits_recipe():
    config = config_lib.resolve({})
    assert (config.method, config.data) == ("dcgan", "digits")
    stated = recipe_values("dcgan_digits")
    assert (config.epochs, config.batch_size) == (stated["epochs"], stated["batch_size"])
    method = get_method("dcgan")
    departures = {name: stated[name] for name in fields(method.options) if name in stated}
    assert config.options == method.options(**departures)


def test_arguments_override_the_recipe():
    config = config_lib.resolve({"method": "lsgan", "data": "mnist", "epochs": 2, "d_lr": 3e-4})
    assert config.options.adversarial_loss == "lsgan" and config.epochs == 2
    assert config.options.d_lr == 3e-4
    assert config.options.g_filters == 96 and config.batch_size == 16  # the recipe's, kept


def test_null_arguments_leave_the_recipe_alone():
    config = config_lib.resolve({"method": "lsgan", "data": "mnist", "epochs": None, "g_filters": None})
    assert config.epochs == 20 and config.options.g_filters == 96


def test_a_recipe_is_found_by_name():
    config = config_lib.resolve({}, "cyclegan_emoji")
    assert (config.method, config.image_size, config.batch_size, config.augment) == ("cyclegan", 32, 16, "jitter")
    assert config.data == "../shared/data/emojis/Apple,../shared/data/emojis/Windows"
    assert config.options == get_method("cyclegan").options()
    assert config_lib.resolve({"lambda_cycle": 3}, "cyclegan_emoji.yaml").options.lambda_cycle == 3.0


def test_a_users_file_comes_before_a_shipped_recipe_of_the_same_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("dcgan_digits.yaml").write_text("method: wgan\ndata: digits\nepochs: 3\n")
    assert config_lib.config_file("dcgan_digits.yaml") == "dcgan_digits.yaml"
    config = config_lib.resolve({}, "dcgan_digits.yaml")
    assert (config.method, config.epochs, config.options.d_steps) == ("wgan", 3, 5)
    assert config_lib.config_file("dcgan_digits") == recipes.named("dcgan_digits")


def test_method_defaults_fill_only_unset_keys():
    config = config_lib.from_values({"method": "lsgan", "g_lr": 1e-3})
    assert config.options.g_lr == 1e-3 and config.options.d_lr == 2e-4
    assert config.options.adversarial_loss == "lsgan"
    gp = config_lib.from_values({"method": "wgan-gp", "d_steps": None, "gp_weight": None})
    assert (gp.options.d_steps, gp.options.gp_weight) == (5, 10.0)  # null is the default
    gp = config_lib.from_values({"method": "wgan-gp"}).options
    assert (gp.d_steps, gp.gp_weight, gp.g_lr, gp.beta_1, gp.beta_2) == (5, 10.0, 1e-4, 0.0, 0.9)


def test_data_without_a_recipe_gets_the_methods_batch_size():
    """CycleGAN's paper trains on single images; the GANs default to 64."""
    for method, batch_size in (("cyclegan", 1), ("dcgan", 64), ("wgan-gp", 64)):
        config = config_lib.resolve({"method": method, "data": "photos/a,photos/b"})
        assert config.batch_size == batch_size, method
    config = config_lib.resolve({"method": "cyclegan", "data": "x,y", "batch_size": 4})
    assert config.batch_size == 4


@pytest.mark.parametrize("method", NOISE_TO_IMAGE)
def test_the_gan_loop_options_apply_to_every_noise_to_image_method(method):
    options = {"g_steps": 2, "d_steps": 3, "clip_value": 0.05, "gp_weight": 1.0}
    config = config_lib.from_values({"method": method, **options})
    assert {key: getattr(config.options, key) for key in options} == options
    model = keras_gans.build(method, (16, 16, 1), num_classes=10, compile=False, g_filters=4, d_filters=4, **options)
    assert {key: getattr(model, key) for key in ("g_steps", "d_steps", "clip_value", "gp_weight")} == options
    assert get_method(method).model.batches_per_step(config.options) == 3


# --- declarations ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_every_option_is_declared_with_help_source_stage_and_a_valid_default(method):
    options_class = get_method(method).options
    hints = typing.get_type_hints(options_class)
    for key, field in fields(options_class).items():
        assert field.metadata["help"] and field.metadata["source"], key
        assert field.metadata["stage"] in ("data", "build", "compile", "train"), key
        assert coerce(field, hints[key], field.default) == field.default, key
    assert not set(config_lib.RUN_KEYS) & get_method(method).option_names()


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values, message",
    [
        ({"learning_rate": 1}, "unknown config key 'learning_rate' in config; known keys: method, data"),
        ({"epoch": 3}, "unknown config key 'epoch' in config; did you mean 'epochs'?"),
        ({"method": "cyclegan", "lambda_cycel": 3}, "did you mean 'lambda_cycle'?"),
        ({"epochs": "ten"}, "config key 'epochs' must be int, got 'ten'"),
        ({"epochs": True}, "config key 'epochs' must be int, got True"),
        ({"epochs": 0}, "config key 'epochs' must be at least 1, got 0"),
        ({"g_lr": "fast"}, "config key 'g_lr' must be float, got 'fast'"),
        ({"clip_value": "off"}, "config key 'clip_value' must be float, got 'off'"),
        ({"xla": 1}, "config key 'xla' must be bool, got 1"),
        ({"channels": 2}, "config key 'channels' must be one of 1, 3, got 2"),
        ({"strategy": "tpu"}, "config key 'strategy' must be one of auto, mirrored, multiworker, cpu"),
        (
            {"adversarial_loss": "l1"},
            "config key 'adversarial_loss' must be one of bce, lsgan, hinge, wasserstein, got 'l1'",
        ),
        ({"method": "wgan", "d_steps": 0}, "config key 'd_steps' must be at least 1, got 0"),
        ({"method": "cyclegan", "lambda_edges": -1}, "config key 'lambda_edges' must be at least 0, got -1"),
        ({"method": "cgan", "generator": "mlp"}, "config key 'generator' must be one of dcgan, got 'mlp'"),
        ({"method": "nope"}, "unknown method 'nope'; choose one of gan, dcgan, lsgan"),
        ({"n_critic": 5}, "config key 'n_critic' in config is now called 'd_steps'; rename it"),
        ({"loss": "lsgan"}, "config key 'loss' in config is now called 'adversarial_loss'; rename it"),
        ({"mixed_precision": "bfloat16"}, "config key 'mixed_precision' in config is now called 'precision'"),
        (
            {"precision": "bfloat16"},
            "config key 'precision' must be one of float32, mixed_float16, mixed_bfloat16, got 'bfloat16'",
        ),
    ],
)
def test_bad_values_are_refused(values, message):
    with pytest.raises(ConfigError) as error:
        config_lib.from_values(values)
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("stored, precision", [(False, "float32"), (True, "mixed_float16")])
def test_a_config_from_before_precision_reads_as_the_precision_it_meant(tmp_path, stored, precision):
    """Every config.yaml written before `precision` holds `mixed_precision: true|false`; those
    runs must resume, and an explicit --precision still wins."""
    path = tmp_path / "config.yaml"
    path.write_text(f"method: gan\nepochs: 3\nmixed_precision: {str(stored).lower()}\n")
    assert config_lib.resolve({}, str(path)).precision == precision
    assert config_lib.resolve({"precision": "mixed_bfloat16"}, str(path)).precision == "mixed_bfloat16"


def test_a_resume_may_change_precision_but_not_to_or_from_mixed_float16(tmp_path):
    """float32 and bfloat16 runs share their checkpoints' variables; a float16 run's hold each
    optimizer's loss scale as well, so a switch would be refused by a count of variables."""
    from keras_gans.checkpoint import CheckpointError
    from keras_gans.run import resume_config

    (tmp_path / "config.yaml").write_text("method: gan\nepochs: 3\nmixed_precision: false\n")
    assert resume_config(str(tmp_path), {"precision": "mixed_bfloat16"}).precision == "mixed_bfloat16"
    with pytest.raises(CheckpointError) as error:
        resume_config(str(tmp_path), {"precision": "mixed_float16"})
    assert str(error.value) == (
        f"{tmp_path} was trained with --precision float32, and mixed_float16's checkpoints hold loss scales "
        "the others' do not; resume it with --precision float32, or start a new run with another --output"
    )


def test_a_config_must_be_a_mapping(tmp_path):
    with pytest.raises(ConfigError, match="recipe.yaml must be a mapping of keys to values"):
        config_lib.from_values(["epochs", 2], "recipe.yaml")
    (tmp_path / "list.yaml").write_text("- epochs\n- 2\n")
    with pytest.raises(ConfigError, match="list.yaml must be a mapping of keys to values"):
        config_lib.load_yaml(tmp_path / "list.yaml")
    (tmp_path / "broken.yaml").write_text("epochs: [2\n")
    with pytest.raises(ConfigError, match="broken.yaml is not valid YAML"):
        config_lib.load_yaml(tmp_path / "broken.yaml")
    with pytest.raises(
        ConfigError,
        match=r"absent.yaml does not exist; pass an existing YAML "
        r"recipe or a shipped one \(acgan_cifar10, ",
    ):
        config_lib.resolve({}, str(tmp_path / "absent.yaml"))


def test_load_yaml_returns_the_raw_mapping_and_from_values_names_its_source(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("method: dcgan\nn_critic: 5\nepochs: null\n")
    assert config_lib.load_yaml(path) == {"method": "dcgan", "n_critic": 5, "epochs": None}
    with pytest.raises(ConfigError, match=f"config key 'n_critic' in {path} is now called 'd_steps'"):
        config_lib.resolve({}, str(path))


@pytest.mark.parametrize(
    "method, key, value, owner",
    [
        ("cyclegan", "gp_weight", 10.0, "gan"),
        ("cyclegan", "d_steps", 5, "gan"),
        ("cyclegan", "g_steps", 2, "gan"),
        ("cyclegan", "latent_dim", 64, "gan"),
        ("lsgan", "pool_size", 50, "cyclegan"),
        ("dcgan", "style_dim", 8, "cyclegan"),
        ("gan", "lambda_edges", 1.0, "cyclegan"),
        ("wgan-gp", "lambda_cycle", 10.0, "cyclegan"),
        ("dcgan", "class_weight", 1.0, "acgan"),
    ],
)
def test_a_key_of_another_method_is_refused(method, key, value, owner):
    with pytest.raises(ConfigError) as error:
        config_lib.from_values({"method": method, key: value})
    assert str(error.value).startswith(
        f"config key {key!r} does not apply to method {method!r} (it is {owner}'s); remove it"
    )
    with pytest.raises(ConfigError, match=f"method {method!r} has no option {key!r}"):
        keras_gans.build(method, (16, 16, 1), num_classes=10, compile=False, **{key: value})


@pytest.mark.parametrize(
    "options, message",
    [
        ({"style_dim": 4, "generator": "unet"}, "style_dim needs the resnet generator"),
        ({"style_dim": -1}, "config key 'style_dim' must be at least 0, got -1"),
    ],
)
def test_a_style_code_the_networks_cannot_take_is_refused(options, message):
    with pytest.raises(ConfigError, match=message):
        keras_gans.build("cyclegan", (16, 16, 3), compile=False, **options)


# --- the rest of a config -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, folder",
    [
        ("digits2digits-m", "cyclegan-digits2digits-m"),
        ("tfds:cycle_gan/horse2zebra", "cyclegan-tfds-cycle_gan-horse2zebra"),
        ("../shared/data/emojis/Apple,../shared/data/emojis/Windows", "cyclegan-Apple-Windows"),
        ("folder:/data/faces/", "cyclegan-faces"),
    ],
)
def test_the_default_run_folder_is_named_after_the_method_and_data(data, folder):
    config = config_lib.from_values({"method": "cyclegan", "data": data})
    assert config.run_dir() == os.path.join("runs", folder)
    assert dataclasses.replace(config, name="mine").run_dir() == os.path.join("runs", "mine")
    assert dataclasses.replace(config, output="/tmp/x").run_dir() == "/tmp/x"


def test_integers_are_accepted_for_floats():
    options = config_lib.from_values({"g_lr": 1, "method": "wgan", "clip_value": 1}).options
    assert options.g_lr == 1.0 and type(options.g_lr) is float and type(options.clip_value) is float


def test_to_dict_is_the_flat_mapping_a_user_writes():
    config = config_lib.from_values({"method": "wgan-gp", "epochs": 3, "d_steps": 2})
    flat = config.to_dict()
    assert list(flat)[: len(config_lib.RUN_KEYS)] == list(config_lib.RUN_KEYS)
    assert set(flat) == set(config_lib.RUN_KEYS) | get_method("wgan-gp").option_names()
    assert (flat["epochs"], flat["d_steps"], flat["gp_weight"]) == (3, 2, 10.0)
    assert "options" not in flat


def test_build_from_python():
    gan = keras_gans.build("dcgan", image_shape=(32, 32, 3), g_filters=8, d_filters=8)
    assert gan.generate(2).shape == (2, 32, 32, 3)
    assert gan.compiled and type(gan.g_optimizer) is keras.optimizers.Adam
    wgan = keras_gans.build("wgan", image_shape=(16, 16, 1), g_filters=4, d_filters=4)
    assert type(wgan.d_optimizer) is keras.optimizers.RMSprop
    assert float(wgan.d_optimizer.learning_rate) == pytest.approx(5e-5)
    with pytest.raises(ConfigError, match="method 'dcgan' has no option 'filters'; its options are"):
        keras_gans.build("dcgan", image_shape=(28, 28, 1), filters=8)
    with pytest.raises(ConfigError, match="config key 'g_filters' must be int, got 8.5"):
        keras_gans.build("dcgan", image_shape=(28, 28, 1), g_filters=8.5)
    with pytest.raises(ConfigError, match="unknown method 'dcgam'"):
        keras_gans.build("dcgam", image_shape=(28, 28, 1))


def test_steps_per_call_divide_an_epoch_cut_from_an_endless_stream():
    """Keras runs all of a call's steps while data lasts: 8 a call would make a 12-step epoch 16."""
    import tensorflow as tf

    from keras_gans.run import steps_per_call

    one_device = tf.distribute.get_strategy()
    assert steps_per_call(config_lib.from_values({}), one_device) == 8  # one pass over the data ends itself
    assert steps_per_call(config_lib.from_values({"steps_per_epoch": 12}), one_device) == 6
    assert steps_per_call(config_lib.from_values({"steps_per_epoch": 7, "steps_per_execution": 4}), one_device) == 1
