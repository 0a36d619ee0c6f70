"""What a user sees of long work: the start-up line, progress a log file can hold, and warnings of
a collapse that come when there is one and not before."""

import io
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from keras_gans import cli
from keras_gans import config as config_lib
from keras_gans.callbacks import CollapseWatch
from keras_gans.progress import ProgressLog, duration
from keras_gans.run import start_line


class Clock:
    def __init__(self, step):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


def test_progress_lines_come_every_interval_with_the_step_the_eta_and_the_running_losses():
    out = io.StringIO()
    progress = ProgressLog(epochs=2, steps_per_epoch=10, interval=30, stream=out, clock=Clock(10.0))
    progress.on_train_begin()
    for epoch in range(2):
        progress.on_epoch_begin(epoch)
        for batch in range(10):
            progress.on_train_batch_end(batch, {"d_loss": 0.5, "g_loss": 2.0})
        progress.on_epoch_end(epoch, {"d_loss": 0.25, "g_loss": 1.5})
    lines = out.getvalue().splitlines()
    # The clock moves 10 s a call: a line at every third batch, then the epoch's own.
    assert lines[0] == "epoch 1/2  step 3/10 (30%), epoch eta 1m10s  d_loss 0.5  g_loss 2"
    assert [line.split("  ")[1] for line in lines[:3]] == ["step 3/10 (30%), epoch eta 1m10s"] + [
        "step 6/10 (60%), epoch eta 40s",
        "step 9/10 (90%), epoch eta 10s",
    ]
    assert lines[3] == "epoch 1/2 done in 1m50s, run eta 1m50s  d_loss 0.25  g_loss 1.5"
    assert lines[-1].startswith("epoch 2/2 done in") and "run eta" not in lines[-1]


def test_durations_read_as_a_person_would_write_them():
    assert [duration(s) for s in (5, 65, 3725)] == ["5s", "1m05s", "1h02m"]


def test_the_start_line_says_where_what_how_long_and_on_what():
    config = config_lib.from_values({"method": "cyclegan", "data": "digits2digits-m", "epochs": 8, "batch_size": 8})
    data = types.SimpleNamespace(
        image_shape=(32, 32, 1),
        num_classes=10,
        num_examples=1438,
        dataset=tf.data.Dataset.range(179),
        domain_sizes=(1438, 1437),
    )
    line = start_line("runs/x", config, data, tf.distribute.get_strategy())
    assert line.startswith(
        "training cyclegan on digits2digits-m: 1438 (A) and 1437 (B) images at 32x32x1, 10 classes; "
        "179 steps of 8 per epoch, 8 epochs; one device ("
    )
    assert "CPU" in line and line.endswith("run folder runs/x")
    data.domain_sizes = None
    assert "digits2digits-m: 1438 images at 32x32x1" in start_line("runs/x", config, data, tf.distribute.get_strategy())


def test_a_training_in_a_log_file_shows_only_its_own_lines_and_verbose_lets_tensorflow_speak(tmp_path, monkeypatch):
    """The label-keeping translation is the case where grappler logs a failed `remapper` as an
    error line; by default a user sees the start line, progress and the export, and no stderr."""
    run = tmp_path / "run"
    args = ["--method", "sgan", "--data", "digits2digits-m", "--image-size", "16", "--epochs", "1"]
    done = subprocess.run(
        [sys.executable, "train.py", *args, "--steps-per-epoch", "3", "--output", str(run)],
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0].startswith("training sgan on digits2digits-m: 1438 (A) and 1438 (B) images at 16x16x3, 10 classes")
    assert lines[1].startswith("epoch 1/1 done in ") and " g_ab " in lines[1]
    assert lines[-1] == f"exported {run}/export/generator" or lines[-1].startswith("exported ")

    monkeypatch.delenv("KERAS_GANS_VERBOSE_TF", raising=False)
    cli.show_only_what_is_the_users(True)
    assert os.environ["KERAS_GANS_VERBOSE_TF"] == "1" and os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"


class Previews:
    """A stand-in model whose preview samples are alike or spread, as told; with `one_per_row`,
    a row's samples are one image (a conditional generator that ignores its noise)."""

    def __init__(self, one_per_row=False, mode_seeking=None):
        self.spread = 0.0
        self.one_per_row = one_per_row
        self.mode_seeking = mode_seeking

    def preview_rows(self, seed=0):
        samples = np.random.default_rng(seed).uniform(-1, 1, (2, 4, 3, 3, 1)) * self.spread
        if self.one_per_row:
            samples = np.repeat(samples[:, :1], 4, axis=1)
        return samples.astype("float32")


def collapse_warnings(epochs, one_per_row=False, mode_seeking=None):
    """The warnings CollapseWatch gives over `epochs`: (preview spread, logs) per epoch."""
    said, model = [], Previews(one_per_row, mode_seeking)
    watch = CollapseWatch(warn=said.append)
    watch.set_model(model)
    for epoch, (spread, logs) in enumerate(epochs):
        model.spread = spread
        watch.on_epoch_end(epoch, logs)
    return said


def test_alike_samples_are_a_collapse_only_after_they_differed():
    assert collapse_warnings([(0.0, {}), (0.001, {})]) == []  # a generator at its start
    said = collapse_warnings([(0.0, {}), (1.0, {}), (0.001, {})])
    assert len(said) == 1 and said[0].startswith("epoch 3: the samples have stopped differing (spread 0.0")


def test_rows_of_one_image_each_are_a_collapse_from_the_first_epoch():
    """A conditional generator's preview row is one class: rows that differ while each row's
    samples are one image is a generator ignoring its noise, even at its start."""
    said = collapse_warnings([(1.0, {})], one_per_row=True)
    assert len(said) == 1 and said[0].startswith("epoch 1: the samples have stopped differing (spread 0.0000 within")
    assert said[0].endswith("G ignores its noise")
    assert collapse_warnings([(1.0, {})]) == []
    hinted = collapse_warnings([(1.0, {})], one_per_row=True, mode_seeking=0.0)
    assert hinted[0].endswith("G ignores its noise; --mode-seeking 0.1 makes G pay for it")


def test_d_winning_outright_is_told_for_probabilities_and_not_for_a_critic():
    said = collapse_warnings([(1.0, {"d_real": 0.995, "d_fake": 0.004})])
    assert said == [
        "epoch 1: D scores real images 0.995 and fakes 0.004: it wins outright and G learns nothing; "
        "lower d_lr or raise g_lr"
    ]
    assert collapse_warnings([(1.0, {"d_real": 9.7, "d_fake": -7.6})]) == []


def test_the_first_step_which_also_compiles_gives_no_eta():
    out = io.StringIO()
    progress = ProgressLog(epochs=1, steps_per_epoch=10, interval=0, stream=out, clock=Clock(10.0))
    progress.on_train_begin()
    progress.on_epoch_begin(0)
    progress.on_train_batch_end(0, {})
    progress.on_train_batch_end(1, {})
    assert out.getvalue().splitlines() == [
        "epoch 1/1  step 1/10 (10%)  ",
        "epoch 1/1  step 2/10 (20%), epoch eta 1m20s  ",
    ]


def test_calls_of_several_steps_report_their_last_step_and_time_the_eta_from_the_second_call():
    """train.py runs 8 steps a call (steps_per_execution): Keras reports a call by its last step."""
    out = io.StringIO()
    progress = ProgressLog(epochs=1, steps_per_epoch=10, interval=0, stream=out, clock=Clock(10.0))
    progress.on_train_begin()
    progress.on_epoch_begin(0)
    progress.on_train_batch_end(3, {})  # steps 1-4, with the compilation
    progress.on_train_batch_end(7, {})  # steps 5-8 in 10 s: 2.5 s a step, 2 to go
    progress.on_train_batch_end(11, {})  # Keras names a short last call (steps 9-10) as a full one
    assert out.getvalue().splitlines() == [
        "epoch 1/1  step 4/10 (40%)  ",
        "epoch 1/1  step 8/10 (80%), epoch eta 5s  ",
        "epoch 1/1  step 10/10 (100%), epoch eta 0s  ",
    ]


class Stop(Exception):
    pass


def test_keras_bar_ends_its_line_before_any_callback_prints_a_warning(monkeypatch, tmp_path):
    """On a terminal Keras draws a bar that ends its line only at the epoch's end; the bar must
    come first among the callbacks, or a warning printed at the epoch's end joins its line."""
    import keras

    from keras_gans.run import train

    def fit(model, *args, callbacks, verbose, **kwargs):
        seen.append((verbose, callbacks))
        raise Stop

    seen = []
    monkeypatch.setattr(keras.Model, "fit", fit)
    config = {"method": "gan", "data": "digits", "image_size": 16, "batch_size": 8, "epochs": 1}
    for verbose, run in ((1, "bar"), (0, "quiet")):
        with pytest.raises(Stop):
            train(config_lib.from_values({**config, "output": str(tmp_path / run)}), verbose=verbose)
    (verbose, callbacks), (_, quiet) = seen
    assert verbose == 1 and isinstance(callbacks[0], keras.callbacks.ProgbarLogger)
    assert not any(isinstance(callback, keras.callbacks.ProgbarLogger) for callback in quiet)
