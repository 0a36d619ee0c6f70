"""The methods by name: what each registers about itself, and `build`, the Python entry point.

A method module declares its options dataclass, its model class and a builder of its networks,
and registers them under the name `--method` takes. Nothing else in the package lists methods.
"""

import dataclasses
from typing import Callable

from keras_gans.data.sources import domain_names
from keras_gans.methods.base import make_optimizer
from keras_gans.options import ConfigError, validate

DEFAULT_BATCH_SIZE = 64


@dataclasses.dataclass(frozen=True)
class Method:
    name: str
    model: type  # the AdversarialModel subclass: what data it takes, what it serves
    options: type  # its options dataclass, defaults and help included
    build: Callable  # (options, image_shape, num_classes, seed) -> uncompiled model
    summary: str  # one line for --help
    batch_size: int = DEFAULT_BATCH_SIZE  # for data without a recipe
    translation: tuple | None = None  # (model, build) for two labelled domains, if it also translates

    def option_names(self):
        return {field.name for field in dataclasses.fields(self.options)}

    def variant(self, translation):
        """(model, build): the translation pair when asked and the method has one."""
        if not translation:
            return self.model, self.build
        if self.translation is None:
            raise ConfigError(f"method {self.name!r} does not translate between labelled domains")
        return self.translation

    def variant_for(self, data):
        """(model, build) for a data spec: the translation pair when `data` names two domains."""
        return self.variant(self.translation is not None and domain_names(data) is not None)


METHODS = {}


def register(name, model, options, build, summary, batch_size=DEFAULT_BATCH_SIZE, translation=None):
    METHODS[name] = Method(name, model, options, build, summary, batch_size, translation)


def get_method(name):
    if not isinstance(name, str):
        raise ConfigError(f"method must be a name, got {name!r}; choose one of {', '.join(METHODS)}")
    try:
        return METHODS[name]
    except KeyError:
        raise ConfigError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}") from None


def methods_with_option(key):
    """The names of the methods that declare option `key`, for errors that name its owner."""
    return [name for name, spec in METHODS.items() if key in spec.option_names()]


def compile_model(model, options, jit_compile=False, steps_per_execution=1):
    """Compiles `model` with one optimizer per player as `options` declare them."""
    model.compile(
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
        **{name: make_optimizer(options, player.side) for name, player in model.players.items()},
    )
    return model


def build(method, image_shape, num_classes=None, compile=True, seed=None, xla=False, translation=False, **options):
    """A model for `method`, with its declared defaults under `options` (any of its options);
    with `translation`, the method's model of two labelled domains (sgan).

    >>> gan = keras_gans.build("dcgan", image_shape=(28, 28, 1))
    """
    spec = get_method(method)
    unknown = sorted(set(options) - spec.option_names())
    if unknown:
        raise ConfigError(
            f"method {method!r} has no option {unknown[0]!r}; its options are {', '.join(sorted(spec.option_names()))}"
        )
    resolved = spec.options(**validate(spec.options, options))
    _, build_model = spec.variant(translation)
    model = build_model(resolved, tuple(image_shape), num_classes, seed)
    return compile_model(model, resolved, xla) if compile else model
