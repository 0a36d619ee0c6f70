"""Small tools the method tests share."""

import os
import subprocess
import sys
import types
from pathlib import Path

import keras
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def random_images(n, shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n,) + tuple(shape)).astype("float32")


def _variables(network, trainable):
    return network.trainable_variables if trainable else network.variables


def weights(network, trainable=True):
    """A copy of a network's (or model's) trainable variables; `trainable=False`: all of them
    (BatchNorm statistics, EMA weights, seeds...)."""
    return [v.numpy().copy() for v in _variables(network, trainable)]


def changed(before, network, trainable=True, exact=False):
    """Whether any variable moved since `weights(network, trainable)` gave `before`: beyond
    float tolerance, or by any bit with `exact`."""
    now = _variables(network, trainable)
    assert len(before) == len(now), "the snapshot is of other variables"
    same = np.array_equal if exact else np.allclose
    return any(not same(a, b.numpy()) for a, b in zip(before, now))


def assert_defaults_from_options(model):
    """Every training option of `model` is its class's declared default."""
    from keras_gans.methods.base import training_options

    for name, default in training_options(type(model).Options()).items():
        assert getattr(model, name) == default, name


class FixedNoise:
    """Mix in before a method class. XLA's random streams differ from TensorFlow's kernels for
    the same seed, so jitted and eager updates are compared on fixed, distinct noise (latent
    vectors and gradient-penalty epsilons)."""

    def sample_latent(self, batch_size):
        grid = keras.ops.arange(batch_size * self.latent_dim, dtype="float32")
        return keras.ops.reshape(keras.ops.sin(grid), (batch_size, self.latent_dim))

    def sample_uniform(self, batch_size):
        return 0.5 + 0.4 * keras.ops.sin(keras.ops.arange(batch_size, dtype="float32"))


def run_cli(*args, cwd=None, timeout=300):
    """Runs `python train.py ARGS`, or `python -m keras_gans ARGS` for a subcommand, in a new
    process as a user would."""
    command = [sys.executable, str(ROOT / "train.py"), *args]
    if args and args[0] in ("generate", "evaluate", "translate"):
        command = [sys.executable, "-m", "keras_gans", *args]
    return subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )


def run_main(capsys, *args):
    """`run_cli` in this process (no TensorFlow start-up to pay again): the exit status and what
    was printed, as `returncode`, `stdout` and `stderr`."""
    from keras_gans.cli import main

    capsys.readouterr()
    status = main(list(args) if args and args[0] in ("generate", "evaluate", "translate") else ["train", *args])
    printed = capsys.readouterr()
    return types.SimpleNamespace(returncode=status, stdout=printed.out, stderr=printed.err)


def assert_same_training(logs_a, logs_b, model_a, model_b, rtol=1e-4, atol=1e-5):
    """Two runs reported the same metrics and ended with the same weights, to float tolerance."""
    for key in logs_a:
        assert logs_a[key] == pytest.approx(logs_b[key], rel=rtol, abs=max(atol, 1e-4)), key
    for a, b in zip(model_a.get_weights(), model_b.get_weights()):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def fit_single_and_mirrored(make, strategy, compile_model, data):
    """`make()` twice with the same weights, one on one device and one under `strategy`, each
    compiled by `compile_model(model)` and fit one epoch on `data`. Returns the two models and
    their logs."""
    single = make()
    with strategy.scope():
        mirrored = make()
        mirrored.set_weights(single.get_weights())
        compile_model(mirrored)
    compile_model(single)
    logs = [
        {key: values[0] for key, values in model.fit(data, epochs=1, verbose=0).history.items()}
        for model in (single, mirrored)
    ]
    return single, mirrored, logs


def assert_updates_keep_to_their_networks(make, *batch):
    """A zero learning rate freezes one optimizer; the other update alone must then leave the
    frozen network as it was, and still move its own."""
    for frozen in ("g_optimizer", "d_optimizer"):
        gan = make()
        optimizers = {"g_optimizer": keras.optimizers.SGD(0.1), "d_optimizer": keras.optimizers.SGD(0.1)}
        optimizers[frozen] = keras.optimizers.SGD(0.0)
        gan.compile(run_eagerly=True, **optimizers)
        network = gan.generator if frozen == "g_optimizer" else gan.discriminator
        other = gan.discriminator if frozen == "g_optimizer" else gan.generator
        before, other_before = weights(network), weights(other)
        gan.train_on_batch(*batch)
        assert not changed(before, network), f"{frozen} at lr 0 still moved its network"
        assert changed(other_before, other), f"the other update did not move {other.name}"
