"""What a user sees of long work: the start-up line, and progress a log file can hold."""

import io
import os
import subprocess
import sys
import types
from pathlib import Path

import tensorflow as tf

from keras_gans import cli
from keras_gans import config as config_lib
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
    )
    line = start_line("runs/x", config, data, tf.distribute.get_strategy())
    assert line.startswith(
        "training cyclegan on digits2digits-m: 1438 images at 32x32x1, 10 classes; 179 steps of 8 per epoch, "
        "8 epochs; one device ("
    )
    assert "CPU" in line and line.endswith("run folder runs/x")


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
    assert lines[0].startswith("training sgan on digits2digits-m: 1438 images at 16x16x3, 10 classes; 3 steps")
    assert lines[1].startswith("epoch 1/1 done in ") and " g_ab " in lines[1]
    assert lines[-1] == f"exported {run}/export/generator" or lines[-1].startswith("exported ")

    monkeypatch.delenv("KERAS_GANS_VERBOSE_TF", raising=False)
    cli.show_only_what_is_the_users(True)
    assert os.environ["KERAS_GANS_VERBOSE_TF"] == "1" and os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
