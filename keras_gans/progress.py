"""Progress a log file can hold: Keras' bar redraws one line with carriage returns, which a file
or a pipe keeps as one unreadable line per step, or (verbose=2) stays silent until an epoch ends,
minutes into a CycleGAN epoch on a CPU."""

import sys
import time

import keras


def duration(seconds):
    """`1h02m`, `3m05s`, `12s`: short enough for a progress line."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def plural(number, noun):
    """`1 image`, `3 images`."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def losses_text(logs):
    return "  ".join(f"{name} {float(value):.4g}" for name, value in (logs or {}).items())


class ProgressLog(keras.callbacks.Callback):
    """A line every `interval` seconds inside an epoch (step, share, ETA of the epoch, running
    losses) and one when it ends (its time, the run's ETA, its losses)."""

    def __init__(self, epochs, steps_per_epoch, interval=30.0, stream=None, clock=time.monotonic):
        super().__init__()
        self.epochs = epochs
        self.steps = steps_per_epoch
        self.interval = interval
        self.stream = stream or sys.stdout
        self.clock = clock

    def on_train_begin(self, logs=None):
        self.epoch_times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.started = self.last_line = self.clock()
        self.first_call = None  # (steps done, when) after the epoch's first call into TensorFlow

    def on_train_batch_end(self, batch, logs=None):
        now = self.clock()
        done = batch + 1  # `batch` is the last step of the call, which may run several (fewer at the end)
        if self.steps:
            done = min(done, self.steps)
        if self.first_call is None:
            self.first_call = (done, now)
        if now - self.last_line < self.interval:
            return
        self.last_line = now
        where = f"step {done}"
        if self.steps:
            where = f"step {done}/{self.steps} ({done / self.steps:.0%})"
            first_done, first_time = self.first_call
            if done > first_done:  # timed from the second call: the first also compiles (22 min forecast, 71 s run)
                eta = duration((now - first_time) / (done - first_done) * (self.steps - done))
                where += f", epoch eta {eta}"
        self._print(f"epoch {self.epoch + 1}/{self.epochs}  {where}  {losses_text(logs)}")

    def on_epoch_end(self, epoch, logs=None):
        took = self.clock() - self.started
        self.epoch_times.append(took)
        left = self.epochs - epoch - 1
        eta = f", run eta {duration(left * sum(self.epoch_times) / len(self.epoch_times))}" if left else ""
        self._print(f"epoch {epoch + 1}/{self.epochs} done in {duration(took)}{eta}  {losses_text(logs)}")

    def _print(self, line):
        print(line, file=self.stream, flush=True)
