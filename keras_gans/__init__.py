"""keras-gans: GANs as keras.Models trained with plain `fit`."""

import importlib
import os
import sys

# oneDNN kernels measured faster for these networks on CPU; must be set before TensorFlow loads.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
# Errors too: TensorFlow logs a failed cuInit on a machine without a GPU and grappler's failed
# optimisations at level E, none of them a user's to act on; real failures raise in Python.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _mute_native_stderr(action):
    """Runs `action` with file descriptor 2 sent to /dev/null.

    TensorFlow's C++ start-up notices (oneDNN, CUDA probing) bypass Python logging and every
    TF_CPP_* setting, and would bury a one-line error. Exceptions still propagate and print
    once stderr is back. KERAS_GANS_VERBOSE_TF=1 keeps the notices.
    """
    if os.environ.get("KERAS_GANS_VERBOSE_TF"):
        return action()
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            return action()
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _import_tensorflow():
    """TensorFlow, imported with its native start-up notices muted."""
    if "tensorflow" not in sys.modules:
        _mute_native_stderr(lambda: importlib.import_module("tensorflow"))
    return sys.modules["tensorflow"]


# The API loads on first use, with TensorFlow imported quietly first: `import keras_gans` and the
# command line's --help (which `python -m keras_gans` reaches through this package) cost no
# TensorFlow start-up. Modules that do not need TensorFlow load without it.
_METHODS_API = (
    "ACGAN",
    "GAN",
    "WGAN",
    "WGANGP",
    "AdversarialModel",
    "ConditionalGAN",
    "CycleGAN",
    "ExtendedCycleGAN",
    "LabelKeepingCycleGAN",
    "SelfConditionedGAN",
    "SemiSupervisedGAN",
    "build",
)
_LAZY = {
    **dict.fromkeys(_METHODS_API, "keras_gans.methods"),
    "export_generator": "keras_gans.export",
    "train": "keras_gans.run",
}
_HEAVY_MODULES = ("callbacks", "checkpoint", "data", "export", "losses", "methods", "metrics", "networks", "run")
_LIGHT_MODULES = ("cli", "config", "errors", "options", "recipes")


def __getattr__(name):
    if name in _LAZY:
        _import_tensorflow()
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _HEAVY_MODULES or name in _LIGHT_MODULES:
        if name in _HEAVY_MODULES:
            _import_tensorflow()
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *__all__})


__version__ = "0.1.0"
__all__ = [
    "ACGAN",
    "AdversarialModel",
    "ConditionalGAN",
    "CycleGAN",
    "ExtendedCycleGAN",
    "GAN",
    "LabelKeepingCycleGAN",
    "SemiSupervisedGAN",
    "WGAN",
    "WGANGP",
    "build",
    "callbacks",
    "data",
    "export_generator",
    "losses",
    "metrics",
    "networks",
    "train",
]
