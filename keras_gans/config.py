"""One typed config for a run: the keys every run has, plus the method's own options, validated
against the method's declaration. Recipe YAML, then command-line overrides, resolve into it.

A config is flat where a user writes it (`g_steps: 2` beside `epochs: 20`); `TrainConfig.options`
holds the method's part as its options dataclass. A key no method knows, a key of another
method, or a value of the wrong type is a `ConfigError` with a one-line message, never a silent
default. `null` means "the default".
"""

import dataclasses
import difflib
import os

import yaml

from keras_gans import recipes
from keras_gans.options import RENAMED, ConfigError, fields, option, validate

# Larger images than any shipped recipe by far (CycleGAN's 256): a mistyped size is refused before
# the data is resized to it, which for the embedded digits at 10,000 px needs 700 GB.
MAX_IMAGE_SIZE = 1024


@dataclasses.dataclass
class TrainConfig:
    method: str = option("dcgan", "training method", stage="run")
    data: str = option(
        "digits", "dataset: a registered name, tfds:NAME, folder:PATH, or PATH_A,PATH_B for translation", stage="run"
    )
    name: str | None = option(None, "run folder name under runs/; none: METHOD-DATA", stage="run")
    output: str | None = option(None, "run folder; none: runs/NAME", stage="run")
    image_size: int | None = option(
        None,
        "image size in pixels; none: the data's own (256 for translation)",
        minimum=8,
        maximum=MAX_IMAGE_SIZE,
        stage="run",
    )
    channels: int | None = option(None, "1 or 3; none: the data's own", choices=(1, 3), stage="run")
    epochs: int = option(20, "epochs to train", minimum=1, stage="run")
    batch_size: int | None = option(
        None, "images per update; none: the method's (64, or 1 for cyclegan)", minimum=1, stage="run"
    )
    steps_per_epoch: int | None = option(
        None, "train steps per epoch; none: one pass over the data", minimum=1, stage="run"
    )
    seed: int = option(
        0, "seed of every random draw: weights, noise, data order", minimum=0, maximum=2**32 - 1, stage="run"
    )
    augment: str | None = option(None, "jitter, affine or jitter+affine", stage="run")
    strategy: str = option(
        "auto", "auto, mirrored, multiworker or cpu", choices=("auto", "mirrored", "multiworker", "cpu"), stage="run"
    )
    xla: bool = option(False, "jit-compile the train step with XLA", stage="run")
    steps_per_execution: int = option(
        8,
        "train steps per call from Python into TensorFlow: fewer round trips, 9% faster steps on the quick "
        "start; batch callbacks see every Nth step (at most: a divisor of steps_per_epoch; 1 on several workers)",
        minimum=1,
        stage="run",
    )
    precision: str = option(
        "float32",
        "compute dtype policy: float32; mixed_float16 (GPUs, loss-scaled); or mixed_bfloat16 (CPUs with AMX "
        "or AVX512-BF16, and recent GPUs). Weights, losses and outputs stay float32",
        choices=("float32", "mixed_float16", "mixed_bfloat16"),
        stage="run",
    )
    on_divergence: str = option(
        "stop",
        "when losses or weights turn NaN or inf: stop, keeping the last good checkpoint; or lower_lr: "
        "roll back to it, halve the learning rates and go on (at most 3 times)",
        choices=("stop", "lower_lr"),
        stage="run",
    )
    options: object = None  # the method's options dataclass

    def run_dir(self):
        return self.output or os.path.join("runs", self.name or f"{self.method}-{_data_label(self.data)}")

    def to_dict(self):
        """The flat mapping a user would write: run keys, then the method's options."""
        values = {key: getattr(self, key) for key in RUN_KEYS}
        return {**values, **dataclasses.asdict(self.options)}


RUN_KEYS = tuple(name for name in fields(TrainConfig) if name != "options")


def _data_label(data):
    """`data` as part of a folder name: a named dataset as it is, a folder by its own name
    (`../shared/data/emojis/Apple,../shared/data/emojis/Windows` gives `Apple-Windows`)."""
    parts = data.removeprefix("folder:").split(",")
    if not data.startswith("tfds:") and any("/" in part or os.sep in part for part in parts):
        parts = [os.path.basename(os.path.normpath(part)) for part in parts]
    return "-".join(parts).replace(":", "-").replace("/", "-")


def _registry():
    """The method registry, imported when a config is checked rather than with this module: it
    loads TensorFlow, which reading recipes and the command line's --help never need."""
    from keras_gans.methods import registry

    return registry


def _refuse_key(key, method, source):
    """The one-line error for a key that is not one of `method`'s or a run's."""
    if key in RENAMED:
        raise ConfigError(f"config key {key!r} in {source} is now called {RENAMED[key]!r}; rename it")
    owners = _registry().methods_with_option(key)
    if owners:
        raise ConfigError(
            f"config key {key!r} does not apply to method {method.name!r} (it is "
            f"{owners[0]}'s); remove it (this method takes "
            f"{', '.join(sorted(method.option_names()))})"
        )
    known = [*RUN_KEYS, *sorted(method.option_names())]
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
    raise ConfigError(f"unknown config key {key!r} in {source}; {hint}")


def from_values(values, source="config"):
    """The TrainConfig a flat mapping describes, every key checked against its declaration."""
    if not isinstance(values, dict):
        raise ConfigError(f"{source} must be a mapping of keys to values")
    values = _read_mixed_precision({key: value for key, value in values.items() if value is not None})
    run = validate(TrainConfig, {k: v for k, v in values.items() if k in RUN_KEYS})
    method = _registry().get_method(run.get("method", TrainConfig.method))
    for key in values:
        if key not in RUN_KEYS and key not in method.option_names():
            _refuse_key(key, method, source)
    options = method.options(**validate(method.options, values))
    run.setdefault("batch_size", method.batch_size)
    name = run.get("name")
    if name is not None and (name in ("", ".", "..") or "/" in name or os.sep in name):
        raise ConfigError(
            f"config key 'name' must be one folder name under runs/, got {name!r}; use --output for a path"
        )
    return TrainConfig(**run, options=options)


def _read_mixed_precision(values):
    """`mixed_precision: true|false`, the key before `precision`, as the precision it meant: every
    config.yaml written before 2026-12-05 holds it, and those runs must still resume."""
    legacy = values.get("mixed_precision")
    if not isinstance(legacy, bool):
        return values  # absent, or refused below with its new name
    values = {key: value for key, value in values.items() if key != "mixed_precision"}
    values.setdefault("precision", "mixed_float16" if legacy else "float32")
    return values


def load_yaml(path):
    """The mapping in a YAML file (a path, or a shipped recipe from `recipes`), unvalidated."""
    try:
        text = path.read_text() if hasattr(path, "read_text") else open(path).read()
        values = yaml.safe_load(text) or {}
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a folder; pass a YAML recipe file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not text; pass a YAML recipe file") from None
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path} does not exist; pass an existing YAML recipe or "
            f"a shipped one ({', '.join(recipes.names())})"
        ) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {path} is not valid YAML ({str(error).splitlines()[0]})") from None
    if not isinstance(values, dict):
        raise ConfigError(f"config file {path} must be a mapping of keys to values")
    return values


def config_file(name):
    """A user's YAML file, or the shipped recipe of that name (`cyclegan_emoji`)."""
    if os.path.exists(name):
        return name
    return recipes.named(name) or name


def resolve(overrides, config_file_name=None):
    """Config from (in increasing priority) the method's defaults, the recipe, and `overrides`.

    The recipe is the config file when given, else the shipped recipe for the method and data
    named by the overrides, if there is one.
    """
    overrides = {key: value for key, value in overrides.items() if value is not None}
    if config_file_name:
        source = config_file(config_file_name)
        values = load_yaml(source)
    else:
        method = overrides.get("method", TrainConfig.method)
        source = recipes.find(method, overrides.get("data", TrainConfig.data))
        values = load_yaml(source) if source else {}
    if values:  # the file's own values are checked, also those the arguments replace
        from_values({**values, "method": overrides.get("method", values.get("method"))}, str(source))
    return from_values({**values, **overrides}, "the arguments")


def save(config, path):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        yaml.safe_dump(config.to_dict(), f, sort_keys=False)
    os.replace(tmp, path)
