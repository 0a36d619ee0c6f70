"""Declared options: a method's (or a run's) settings as a dataclass whose fields carry their
default, a one-line help, where the default comes from, and the values they accept.

One declaration serves the YAML recipes, the command line (one flag per field) and the model:
the name a user writes in a recipe is the flag and the attribute, with no renaming on the way.
"""

import dataclasses
import math
import types
import typing

from keras_gans.errors import UsageError


class ConfigError(UsageError):
    pass


# Options an earlier version named otherwise, and their names now: a stored config.yaml or
# .keras file that uses one is refused with the new name rather than with "unknown".
RENAMED = {
    "n_critic": "d_steps",
    "loss": "adversarial_loss",
    "generator_steps": "g_steps",
    "mixed_precision": "precision",  # a bool; config.py reads a stored one as the precision it meant
}


def option(default, help, source=None, choices=None, minimum=None, maximum=None, stage="train", check=None):
    """A field of an options dataclass. `source` names the paper (or measurement) behind the
    default; `choices`, `minimum` and `maximum` bound the values a user may give, and `check(value)`
    returns what else is wrong with one (or None). `stage` says who reads it: "data" (the method's
    training_data), "build" (the network builders), "compile" (the optimizers) or "train" (the
    model's constructor)."""
    return dataclasses.field(
        default=default,
        metadata={
            "help": help,
            "source": source,
            "choices": choices,
            "minimum": minimum,
            "maximum": maximum,
            "stage": stage,
            "check": check,
        },
    )


def fields(options_class):
    """The declared fields of an options dataclass, by name."""
    return {field.name: field for field in dataclasses.fields(options_class)}


def _allowed_types(hint):
    return hint.__args__ if isinstance(hint, types.UnionType) else (hint,)


def _type_names(allowed):
    return " or ".join("null" if t is type(None) else t.__name__ for t in allowed)


def coerce(field, hint, value):
    """`value` checked against a field's type, choices and bounds; ints are taken for floats, and
    no float is NaN or infinite (a NaN learning rate passes every bound and trains NaN)."""
    allowed = _allowed_types(hint)
    if value is None and type(None) in allowed:
        return None
    if float in allowed and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"config key {field.name!r} must be a finite number, got {value!r}")
    elif not any(
        isinstance(value, t) and not (t is int and isinstance(value, bool)) for t in allowed if t is not type(None)
    ):
        raise ConfigError(f"config key {field.name!r} must be {_type_names(allowed)}, got {value!r}")
    choices, minimum, maximum = (field.metadata.get(key) for key in ("choices", "minimum", "maximum"))
    if choices and value not in choices:
        raise ConfigError(f"config key {field.name!r} must be one of {', '.join(map(str, choices))}, got {value!r}")
    if minimum is not None and value is not None and value < minimum:
        raise ConfigError(f"config key {field.name!r} must be at least {minimum}, got {value!r}")
    if maximum is not None and value is not None and value > maximum:
        raise ConfigError(f"config key {field.name!r} must be at most {maximum}, got {value!r}")
    problem = field.metadata.get("check") and field.metadata["check"](value)
    if problem:
        raise ConfigError(f"config key {field.name!r} {problem}")
    return value


def validate(options_class, values):
    """`values` (a mapping) checked key by key against `options_class`; returns them coerced.

    Unknown keys are not checked here: callers split a mapping between several declarations.
    """
    hints = typing.get_type_hints(options_class)
    declared = fields(options_class)
    return {key: coerce(declared[key], hints[key], value) for key, value in values.items() if key in declared}


def declared(options_class):
    """The fields an options dataclass declares with `option`, as plain data in declaration order:
    `key`, `types` (their names, "null" for None), `default`, `help`, `source` and `choices`.
    The command line makes its flags and their help from these, and keras_gans/cli_flags.json
    keeps them for a --help that needs no TensorFlow."""
    hints = typing.get_type_hints(options_class)
    specs = []
    for key, field in fields(options_class).items():
        if "help" not in field.metadata:
            continue
        choices = field.metadata.get("choices")
        specs.append(
            {
                "key": key,
                "types": ["null" if t is type(None) else t.__name__ for t in _allowed_types(hints[key])],
                "default": field.default,
                "help": field.metadata["help"],
                "source": field.metadata.get("source"),
                "choices": list(choices) if choices else None,
            }
        )
    return specs


def describe(spec):
    """The help line of a declared field (one of `declared`'s): its help, its default and where
    the default comes from."""
    default = spec["default"]
    text = f"{spec['help']} (default {'none' if default is None else default}"
    return text + (f"; {spec['source']})" if spec["source"] else ")")
