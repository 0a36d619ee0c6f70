"""keras-gans: GANs as keras.Models trained with plain `fit`."""

import os
import sys

# oneDNN kernels measured faster for these networks on CPU; must be set before TensorFlow loads.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


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


if "tensorflow" not in sys.modules:
    _mute_native_stderr(lambda: __import__("tensorflow"))

from keras_gans import callbacks, data, losses, metrics, networks  # noqa: E402
from keras_gans.export import export_generator  # noqa: E402
from keras_gans.methods import (  # noqa: E402
    ACGAN,
    GAN,
    WGAN,
    WGANGP,
    AdversarialModel,
    ConditionalGAN,
    CycleGAN,
    ExtendedCycleGAN,
    LabelKeepingCycleGAN,
    SemiSupervisedGAN,
    build,
)
from keras_gans.run import train  # noqa: E402

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
