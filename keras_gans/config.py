"""One typed config for a run: recipe YAML, then command-line overrides, validated in one place.

Recipes live in `configs/<method>_<data>.yaml` beside the package (one per method and dataset,
with the papers' hyperparameters). A key the config does not know, or a value of the wrong type,
is a `ConfigError` with a one-line message, never a silent default.
"""

import dataclasses
import os
import pathlib
import types
import typing

import yaml

from keras_gans.errors import UsageError

RECIPES_DIR = pathlib.Path(__file__).resolve().parent.parent / "configs"


class ConfigError(UsageError):
    pass


@dataclasses.dataclass
class TrainConfig:
    method: str = "dcgan"
    data: str = "digits"
    name: str | None = None            # run folder name under runs/; default <method>-<data>
    output: str | None = None          # run folder; default runs/<name>
    image_size: int | None = None      # default: the data's own size
    channels: int | None = None        # 1 or 3; default: the data's own
    epochs: int = 20
    batch_size: int | None = None      # default per method: 64; 1 for cyclegan, as in the paper
    steps_per_epoch: int | None = None
    seed: int = 0
    # networks
    generator: str | None = None       # mlp, dcgan; resnet, unet for cyclegan (default per method)
    latent_dim: int = 100
    g_filters: int = 64
    d_filters: int = 64
    # loss and optimisation; None means the method's paper default (keras_gans.recipes)
    loss: str | None = None            # bce, lsgan, hinge, wasserstein
    optimizer: str | None = None       # adam, rmsprop
    g_lr: float | None = None
    d_lr: float | None = None
    beta_1: float | None = None
    beta_2: float | None = None
    n_critic: int | None = None        # critic updates per generator update (WGAN family)
    g_steps: int | None = None         # generator updates per discriminator update (gan, dcgan, lsgan)
    clip_value: float | None = None    # WGAN's critic weight clip
    gp_weight: float | None = None     # WGAN-GP's gradient penalty weight (lambda)
    ema_decay: float = 0.999           # 0 disables the EMA generator
    augment: str | None = None
    # translation (cyclegan)
    lambda_cycle: float | None = None     # weight of the L1 cycle loss
    lambda_identity: float | None = None  # weight of the L1 identity loss, times lambda_cycle
    pool_size: int | None = None          # generated images the discriminators learn from
    lr_decay_start: float | None = None   # share of the epochs before the LR decays linearly to 0
    style_dim: int | None = None          # >0: G_ab also takes a style code of this size (resnet)
    lambda_style: float | None = None     # weight of the L1 style reconstruction (style_dim > 0)
    lambda_diversity: float | None = None # weight of the diversity of G_ab's styles (style_dim > 0)
    lambda_edges: float | None = None     # weight of keeping the source's edges in a translation
    # execution
    strategy: str = "auto"             # auto, mirrored, multiworker, cpu
    xla: bool = False
    mixed_precision: bool = False

    def run_dir(self):
        return self.output or os.path.join(
            "runs", self.name or f"{self.method}-{_data_label(self.data)}")

    def to_dict(self):
        return dataclasses.asdict(self)


def _data_label(data):
    """`data` as part of a folder name: a named dataset as it is, a folder by its own name
    (`../shared/data/emojis/Apple,../shared/data/emojis/Windows` gives `Apple-Windows`)."""
    parts = data.removeprefix("folder:").split(",")
    if not data.startswith("tfds:") and any("/" in part or os.sep in part for part in parts):
        parts = [os.path.basename(os.path.normpath(part)) for part in parts]
    return "-".join(parts).replace(":", "-").replace("/", "-")


FIELDS = {field.name: field for field in dataclasses.fields(TrainConfig)}
_HINTS = typing.get_type_hints(TrainConfig)


def _allowed_types(hint):
    if isinstance(hint, types.UnionType):
        return hint.__args__
    return (hint,)


def _coerce(key, value):
    allowed = _allowed_types(_HINTS[key])
    if value is None:
        if type(None) in allowed:
            return None
    elif float in allowed and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    elif any(isinstance(value, t) and not (t is int and isinstance(value, bool)) for t in allowed
             if t is not type(None)):
        return value
    names = " or ".join("null" if t is type(None) else t.__name__ for t in allowed)
    raise ConfigError(f"config key {key!r} must be {names}, got {value!r}")


def validate(values, source="config"):
    """Checks keys and types of a mapping; returns it with numbers coerced."""
    if not isinstance(values, dict):
        raise ConfigError(f"{source} must be a mapping of keys to values")
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise ConfigError(
            f"unknown config key {unknown[0]!r} in {source}; known keys: {', '.join(FIELDS)}")
    values = {key: _coerce(key, value) for key, value in values.items()}
    for key, value in values.items():
        if key.startswith("lambda_") and value is not None and value < 0:
            raise ConfigError(f"config key {key!r} weighs a loss term and must be 0 (off) or "
                              f"positive, got {value}")
    return values


def load_yaml(path):
    try:
        with open(path) as f:
            values = yaml.safe_load(f) or {}
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist; pass an existing YAML recipe") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {path} is not valid YAML ({str(error).splitlines()[0]})"
                          ) from None
    return validate(values, source=str(path))


# Data whose recipe is named after another dataset: both digit pairs train like digits.
RECIPE_NAMES = {"digits2digits-m": "digits", "mnist2svhn": "digits"}


def recipe_path(method, data):
    """The shipped recipe for a method and dataset, if there is one."""
    name = data.split(":", 1)[-1].replace("/", "_").replace(",", "_")
    name = RECIPE_NAMES.get(name, name)
    path = RECIPES_DIR / f"{method}_{name}.yaml"
    return path if path.exists() else None


def resolve(overrides, config_file=None):
    """Config from (in increasing priority) defaults, the recipe, `config_file` and `overrides`.

    The recipe is the config file when given, else the shipped `configs/<method>_<data>.yaml`
    for the method and data named by the config file or the overrides.
    """
    overrides = validate({k: v for k, v in overrides.items() if v is not None}, "the arguments")
    values = load_yaml(config_file) if config_file else {}
    method = overrides.get("method", values.get("method", TrainConfig.method))
    data = overrides.get("data", values.get("data", TrainConfig.data))
    if not config_file:
        shipped = recipe_path(method, data)
        values = load_yaml(shipped) if shipped else {"method": method, "data": data}
    values.update(overrides)
    return TrainConfig(**values)


def save(config, path):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        yaml.safe_dump(config.to_dict(), f, sort_keys=False)
    os.replace(tmp, path)
