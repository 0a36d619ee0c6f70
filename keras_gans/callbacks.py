"""Keras callbacks that make a run watchable and resumable: sample grids, checkpoints, plots."""

import csv
import os
import sys

import keras
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure
from PIL import Image

from keras_gans.checkpoint import non_finite_state, save_training_state


def to_uint8(images):
    """[-1, 1] floats to 0-255 bytes; NaN (a diverged epoch's samples) to black."""
    return np.clip(np.rint((np.nan_to_num(np.asarray(images), nan=-1.0) + 1.0) * 127.5), 0, 255).astype("uint8")


def tile(rows):
    """(rows, cols, H, W, C) images (uint8, or floats in [-1, 1]) to one uint8 picture with a
    1-pixel grey gutter, so neighbouring samples can be told apart."""
    rows = np.asarray(rows)
    rows = rows if rows.dtype == np.uint8 else to_uint8(rows)
    n_rows, n_cols, height, width, channels = rows.shape
    gutter = 1
    grid = np.full(
        (n_rows * (height + gutter) - gutter, n_cols * (width + gutter) - gutter, channels), 128, dtype="uint8"
    )
    for r in range(n_rows):
        for c in range(n_cols):
            top, left = r * (height + gutter), c * (width + gutter)
            grid[top : top + height, left : left + width] = rows[r, c]
    return grid


def save_png(picture, path):
    """Writes through a temporary file, so `path` is never half a PNG; a failed write (full disk,
    `path` a folder) leaves no temporary file behind."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    mode = "L" if picture.shape[-1] == 1 else "RGB"
    tmp = path + ".tmp.png"
    try:
        Image.fromarray(picture.squeeze(-1) if mode == "L" else picture, mode).save(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.remove(tmp)
        raise


class SampleGrid(keras.callbacks.Callback):
    """Writes the model's preview (fixed noise, or the method's own rows) as
    `directory/epoch_0001.png` after each epoch, and to TensorBoard when `log_dir` is given."""

    def __init__(self, directory, seed=0, log_dir=None):
        super().__init__()
        self.directory = directory
        self.seed = seed
        self.log_dir = log_dir
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        picture = tile(self.model.preview_rows(seed=self.seed))
        save_png(picture, os.path.join(self.directory, f"epoch_{epoch + 1:04d}.png"))
        if self.log_dir:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "samples"))
            with self._writer.as_default():
                tf.summary.image("samples", picture[None], step=epoch + 1)
            self._writer.flush()


class DivergenceGuard(keras.callbacks.Callback):
    """Stops training at the end of an epoch whose losses or weights are not all finite, and
    notes it in `events` ({epoch: text}) for the history. Place it first, so no callback after it
    records the epoch as good; TrainingCheckpoint then keeps the last good state on disk."""

    def __init__(self, events=None):
        super().__init__()
        self.events = {} if events is None else events
        self.diverged = None

    def on_epoch_end(self, epoch, logs=None):
        bad = [key for key, value in (logs or {}).items() if not np.isfinite(float(value))]
        bad = bad or [f"variable {key}" for key in non_finite_state(self.model)[:1]]
        if bad:
            self.diverged = f"epoch {epoch + 1} diverged ({bad[0]} is not finite)"
            add_event(self.events, epoch + 1, f"{self.diverged}; not checkpointed")
            self.model.stop_training = True


class TrainingCheckpoint(keras.callbacks.Callback):
    """Saves the whole training state after every epoch (see keras_gans.checkpoint), except one
    its `guard` (a DivergenceGuard) found non-finite. Place it after HistoryCSV: a kill between
    the two then leaves a history row past the checkpoint, which resume drops, never a
    checkpointed epoch without its row."""

    def __init__(self, directory, guard=None):
        super().__init__()
        self.directory = directory
        self.guard = guard

    def on_epoch_end(self, epoch, logs=None):
        if not (self.guard and self.guard.diverged):
            save_training_state(self.model, self.directory, epoch + 1)


def add_event(events, epoch, text):
    """Notes what happened in an epoch for its history row (`events`: {epoch: text})."""
    events[epoch] = f"{events[epoch]}; {text}" if epoch in events else text


class CollapseWatch(keras.callbacks.Callback):
    """Warns, cheaply and early, of the two collapses a user otherwise sees only at the end.

    - D wins outright: its mean score on real images at least `pinned` and on fakes at most
      1 - `pinned` over a whole epoch (most of its steps), so G's gradient has vanished.
    - G's samples stop differing: the spread across the preview's samples, per pixel, below
      `min_spread` (images span [-1, 1]; a trained digit generator measures about 0.5 here).
    """

    def __init__(self, events=None, pinned=0.99, min_spread=0.02, warn=None):
        super().__init__()
        self.events = {} if events is None else events
        self.pinned = pinned
        self.min_spread = min_spread
        self.warn = warn or (lambda text: print(f"warning: {text}", file=sys.stderr, flush=True))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        warnings = []
        real, fake = logs.get("d_real"), logs.get("d_fake")
        if real is not None and fake is not None and real >= self.pinned and fake <= 1 - self.pinned:
            warnings.append(
                f"D scores real images {float(real):.3f} and fakes {float(fake):.3f}: it wins outright and "
                "G learns nothing; lower d_lr or raise g_lr"
            )
        samples = np.asarray(self.model.preview_rows(seed=0), dtype="float32")
        samples = samples.reshape((-1,) + samples.shape[2:])
        spread = float(np.mean(np.std(samples, axis=0)))
        if len(samples) > 1 and spread < self.min_spread:
            warnings.append(f"the samples have stopped differing (spread {spread:.4f}): mode collapse")
        for text in warnings:
            self.warn(f"epoch {epoch + 1}: {text}")
            add_event(self.events, epoch + 1, text)


class HistoryCSV(keras.callbacks.Callback):
    """Appends one row per epoch to a CSV file and survives resume.

    On resume, rows of epochs after the restored checkpoint are dropped (they were written by the
    killed run after its last checkpoint and will be trained again), so every epoch appears once.
    An epoch with an entry in `events` ({epoch: text}, from the callbacks before this one) has it
    in its `event` column.
    """

    def __init__(self, path, resume_from_epoch=0, events=None):
        super().__init__()
        self.path = path
        self.resume_from_epoch = resume_from_epoch
        self.events = {} if events is None else events

    def on_train_begin(self, logs=None):
        rows = read_history(self.path) if self.resume_from_epoch else []
        self.rows = [row for row in rows if int(row["epoch"]) <= self.resume_from_epoch]
        self._write()

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1}
        row.update({key: float(value) for key, value in (logs or {}).items()})
        if epoch + 1 in self.events:
            row["event"] = self.events[epoch + 1]
        self.rows.append(row)
        self._write()

    def _write(self):
        keys = list(dict.fromkeys(key for row in self.rows for key in row)) or ["epoch"]
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        tmp = self.path + ".tmp"
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=keys)
            writer.writeheader()
            writer.writerows(self.rows)
        os.replace(tmp, self.path)


def read_history(path):
    """The rows of a history CSV as dicts; [] if there is none yet."""
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


class HistoryPlots(keras.callbacks.Callback):
    """Redraws one plot per panel the model declares (`plot_panels`: losses, D's scores, ...)
    from the history CSV after each epoch, so a resumed run's plots cover the whole run."""

    def __init__(self, history_path, directory):
        super().__init__()
        self.history_path = history_path
        self.directory = directory

    def on_epoch_end(self, epoch, logs=None):
        rows = read_history(self.history_path)
        if rows:
            plot_history(rows, self.directory, self.model.plot_panels)


def plot_history(rows, directory, panels):
    """`panels` maps a plot's name to (y label, metric names): one PNG each."""
    os.makedirs(directory, exist_ok=True)
    epochs = [int(row["epoch"]) for row in rows]
    for filename, (ylabel, keys) in panels.items():
        keys = [key for key in keys if key in rows[0]]
        figure = Figure(figsize=(7, 4))  # no pyplot: a notebook's backend stays as it was
        axes = figure.subplots()
        for key in keys:
            axes.plot(epochs, [float(row[key]) for row in rows], marker=".", label=key)
        axes.set_xlabel("epoch")
        axes.set_ylabel(ylabel)
        if keys:
            axes.legend()
        axes.grid(alpha=0.3)
        figure.tight_layout()
        figure.savefig(os.path.join(directory, f"{filename}.png"))


def linear_decay_factor(epoch, epochs, constant_epochs):
    """Multiplier of the initial learning rate for 0-based `epoch` of `epochs`: 1 for the first
    `constant_epochs`, then down by equal steps towards 0, which it would reach at epoch `epochs`.

    CycleGAN's rule (100 constant + 100 decaying epochs, 1 - max(0, k - 100) / 101 at 1-based
    epoch k) scaled to any length: the last epoch still trains, at 1 / (decaying epochs + 1).
    """
    decaying = epochs - constant_epochs
    return 1.0 - max(0, epoch - constant_epochs + 1) / (decaying + 1)


class LinearDecay(keras.callbacks.Callback):
    """Sets each optimizer's learning rate to initial x `linear_decay_factor` when an epoch begins.

    The rate is a function of the epoch alone, so a resumed run (fit with `initial_epoch`) picks
    up the schedule where it stopped. `initial_rates` maps names in `model.optimizers` to the
    rates before any decay: read them from the config, not from an optimizer restored mid-decay.
    """

    def __init__(self, initial_rates, epochs, constant_epochs):
        super().__init__()
        self.initial_rates = dict(initial_rates)
        self.epochs = epochs
        self.constant_epochs = constant_epochs

    def on_epoch_begin(self, epoch, logs=None):
        factor = linear_decay_factor(epoch, self.epochs, self.constant_epochs)
        for name, rate in self.initial_rates.items():
            self.model.optimizers[name].learning_rate = rate * factor
