"""Keras callbacks that make a run watchable and resumable: sample grids, checkpoints, plots,
and the distributions of D's outputs."""

import csv
import dataclasses
import os
import sys
import time

import keras
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image, ImageDraw, ImageFont

from keras_gans.checkpoint import non_finite_state, save_training_state
from keras_gans.data import DataError, load_dataset, load_unpaired
from keras_gans.data.sources import domain_names
from keras_gans.errors import UsageError

MIN_CELL_PIXELS = 64  # a saved grid's cells are upscaled to at least this, so a digit reads at a glance


def to_uint8(images):
    """[-1, 1] floats to 0-255 bytes; NaN (a diverged epoch's samples) to black."""
    return np.clip(np.rint((np.nan_to_num(np.asarray(images), nan=-1.0) + 1.0) * 127.5), 0, 255).astype("uint8")


def grid_scale(height, width, min_cell=MIN_CELL_PIXELS):
    """The smallest integer factor that makes an H x W cell at least `min_cell` pixels a side."""
    return max(1, -(-min_cell // min(height, width)))


def gutter_width(scale):
    """The grey lines between a grid's cells: 1 pixel at the images' own size, 2 upscaled."""
    return 1 if scale == 1 else 2


def tile(rows, scale=1):
    """(rows, cols, H, W, C) images (uint8, or floats in [-1, 1]) to one uint8 picture with a
    grey gutter (`gutter_width`), so neighbouring samples can be told apart; each image
    upscaled `scale` times by repeating its pixels (nearest neighbour: no invented detail, and a
    PNG of repeated pixels stays small)."""
    rows = np.asarray(rows)
    rows = rows if rows.dtype == np.uint8 else to_uint8(rows)
    if scale > 1:
        rows = np.repeat(np.repeat(rows, scale, axis=2), scale, axis=3)
    n_rows, n_cols, height, width, channels = rows.shape
    gutter = gutter_width(scale)
    grid = np.full(
        (n_rows * (height + gutter) - gutter, n_cols * (width + gutter) - gutter, channels), 128, dtype="uint8"
    )
    for r in range(n_rows):
        for c in range(n_cols):
            top, left = r * (height + gutter), c * (width + gutter)
            grid[top : top + height, left : left + width] = rows[r, c]
    return grid


def label_rows(picture, names, row_height, gutter):
    """`picture` (a `tile` of len(names) rows of `row_height` pixels) with a white left margin
    naming each row in black; a name may hold a line break."""
    font = ImageFont.load_default(size=max(10, min(16, row_height // 5)))
    measure = ImageDraw.Draw(Image.new("L", (1, 1)))
    boxes = [measure.multiline_textbbox((0, 0), name, font=font) for name in names]
    pad = 6
    margin = max(box[2] for box in boxes) + 2 * pad
    mode = "L" if picture.shape[-1] == 1 else "RGB"
    white, black = (255, 0) if mode == "L" else ((255, 255, 255), (0, 0, 0))
    canvas = Image.new(mode, (margin + picture.shape[1], picture.shape[0]), white)
    canvas.paste(Image.fromarray(picture.squeeze(-1) if mode == "L" else picture, mode), (margin, 0))
    draw = ImageDraw.Draw(canvas)
    for row, (name, box) in enumerate(zip(names, boxes)):
        middle = row * (row_height + gutter) + row_height / 2
        draw.multiline_text((pad, round(middle - (box[1] + box[3]) / 2)), name, fill=black, font=font)
    labelled = np.asarray(canvas)
    return labelled[..., None] if mode == "L" else labelled


def preview_picture(model, seed=0, min_cell=MIN_CELL_PIXELS):
    """The model's preview (`preview_rows`) as one uint8 picture: upscaled to cells of at least
    `min_cell` pixels, rows named in a left margin when the model names them
    (`preview_row_names`)."""
    rows = np.asarray(model.preview_rows(seed=seed))
    scale = grid_scale(*rows.shape[2:4], min_cell)
    picture = tile(rows, scale)
    names = model.preview_row_names
    if names and len(names) == len(rows):
        picture = label_rows(picture, names, rows.shape[2] * scale, gutter_width(scale))
    return picture


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


class EpochPicture(keras.callbacks.Callback):
    """A picture of the model after each epoch, `directory/epoch_0001.png`, drawn with fixed
    `seed`, and its TensorBoard summaries under `log_dir/<tensorboard_folder>` when given."""

    tensorboard_folder = None

    def __init__(self, directory, seed=0, log_dir=None):
        super().__init__()
        self.directory = directory
        self.seed = seed
        self.log_dir = log_dir
        self._writer = None

    def path(self, epoch):
        return os.path.join(self.directory, f"epoch_{epoch + 1:04d}.png")

    def summarise(self, write):
        """Runs `write()` (tf.summary calls) into this callback's TensorBoard folder, if any."""
        if not self.log_dir:
            return
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, self.tensorboard_folder))
        with self._writer.as_default():
            write()
        self._writer.flush()


class SampleGrid(EpochPicture):
    """The model's preview (fixed noise, or the method's own rows), upscaled and its rows named
    (`preview_picture`)."""

    tensorboard_folder = "samples"

    def on_epoch_end(self, epoch, logs=None):
        picture = preview_picture(self.model, seed=self.seed)
        save_png(picture, self.path(epoch))
        self.summarise(lambda: tf.summary.image("samples", picture[None], step=epoch + 1))


@dataclasses.dataclass(frozen=True)
class HeldOut:
    """Real images a run's pictures show (CycleGAN's preview) and D is judged on
    (`DiscriminatorOutputs`): per domain, float32 images in [-1, 1] and int32 labels (or None).
    `split` is where they come from: "test", or "train" where the data has none held out."""

    images: tuple
    labels: tuple
    split: str


def read_held_out(data, image_shape, model, count=None):
    """A HeldOut of up to `count` (default `model.held_out_count`) images per domain of `data`
    (as `model` trains on it: one domain, or two unpaired) at `image_shape`: the first of the
    test split; a single source without one gives the first of its training split, which the run
    trains on, and a pair without one gives None (CycleGAN then shows the first images it trained
    on). Read apart from the training pipeline, in the data's own order or with a fixed seed:
    no random state of training is drawn, and the training batches' order does not change."""
    count = count or model.held_out_count
    size, channels = image_shape[0], image_shape[-1]
    for split in ("test",) if model.unpaired else ("test", "train"):
        try:
            domains = _first_examples(data, split, size, channels, count, model.unpaired, model.takes_labels)
        except DataError:  # no such split
            continue
        return HeldOut(tuple(images for images, _ in domains), tuple(labels for _, labels in domains), split)
    return None


def _first_examples(data, split, size, channels, count, unpaired, with_labels):
    """[(images, labels or None)] of each domain's first `count` examples of `split`."""
    names = domain_names(data) if unpaired else (data,)
    if names:
        sources = [
            load_dataset(name, size, 1, channels=channels, with_labels=with_labels, split=split, shuffle=False).dataset
            for name in names
        ]
    else:  # a folder of trainA/ and testA/..., or a TFDS CycleGAN pair: always shuffled, here by a fixed seed
        pairs = load_unpaired(data, size, 1, channels=channels, split=split, seed=0, with_labels=with_labels).dataset
        sources = [pairs.map(lambda *domains, side=side: domains[side]) for side in (0, 1)]
    domains = []
    for source in sources:
        elements = list(source.take(count).as_numpy_iterator())
        if with_labels:
            domains.append(tuple(np.concatenate(part) for part in zip(*elements)))
        else:
            domains.append((np.concatenate(elements), None))
    return domains


class DrawingBudget:
    """When a matplotlib figure is worth drawing after an epoch: after the first and the last, and
    otherwise at most once every `interval` seconds, and no sooner than `1 / share` times what
    the last drawing took. A figure takes about 0.3 s to draw: drawn after every epoch, the two
    of each run took 0.55 s of the quick start's 1.9 s epochs (profiled); an epoch longer than
    `interval` still gets its own. "First" is the first epoch of each `fit`, a resumed one's too."""

    def __init__(self, share=0.1, interval=30.0, clock=time.monotonic):
        self.share = share
        self.interval = interval
        self.clock = clock
        self.last = None  # (when the last drawing ended, what it took), by `clock`
        self.pending = None  # the drawing of the latest epoch, while it is not done

    def due(self, epoch, epochs):
        if self.last is None or epoch + 1 >= epochs:
            return True
        ended, took = self.last
        return self.clock() - ended >= max(self.interval, took / self.share)

    def offer(self, epoch, epochs, drawing):
        """`drawing()` (the figure of `epoch` of `epochs`) now if it is due, else at the next
        `flush` unless a later epoch's replaces it."""
        self.pending = drawing
        if self.due(epoch, epochs):
            self.flush()

    def flush(self):
        """Draws the drawing held back, if any: at train end, a run that stopped early."""
        if self.pending is None:
            return
        start = self.clock()
        self.pending()
        self.pending = None
        ended = self.clock()
        self.last = (ended, ended - start)


def fit_epochs(callback, epoch):
    """The epochs of the `fit` a callback runs in; outside `fit`, `epoch` is taken for the last."""
    return (callback.params or {}).get("epochs", epoch + 1)


class DiscriminatorOutputs(EpochPicture):
    """The distributions of D's outputs on real and on generated images (the model's
    `discriminator_outputs`, on its held-out images and fixed noise): histograms in TensorBoard
    after each epoch when `log_dir` is given, and a histogram PNG `directory/epoch_0001.png` when
    `DrawingBudget` allows (the first and last epochs, and enough between to watch). Two
    distributions that overlap mean D cannot tell the images apart; two that sit apart at the
    ends, that D wins outright."""

    tensorboard_folder = "d_outputs"

    def __init__(self, directory, seed=0, log_dir=None):
        super().__init__(directory, seed, log_dir)
        self.budget = DrawingBudget()

    def on_epoch_end(self, epoch, logs=None):
        outputs = self.model.discriminator_outputs(seed=self.seed)
        if not outputs:
            return
        if not all(np.all(np.isfinite(values)) for pair in outputs.values() for values in pair):
            self.budget.flush()  # the last good epoch's picture, before a diverged one replaces it
        # A diverged epoch's NaN outputs are left out: DivergenceGuard reports the divergence.
        outputs = {name: tuple(finite(values) for values in pair) for name, pair in outputs.items()}
        self.budget.offer(epoch, fit_epochs(self, epoch), lambda: self.plot(epoch, outputs))

        def histograms():
            for name, (on_real, on_generated) in outputs.items():
                tf.summary.histogram(f"{name}/real", on_real, step=epoch + 1)
                tf.summary.histogram(f"{name}/generated", on_generated, step=epoch + 1)

        self.summarise(histograms)

    def on_train_end(self, logs=None):
        self.budget.flush()

    def plot(self, epoch, outputs):
        """The PNG of `epoch`'s finite outputs, `directory/epoch_0001.png` for epoch 0."""
        real = getattr(self.model.held_out, "split", "train")
        plot_discriminator_outputs(
            outputs,
            self.path(epoch),
            self.model.discriminator_output_label,
            title=f"{run_name(self.directory)}: D's outputs after epoch {epoch + 1}",
            real=f"real ({real})",
        )


def finite(values):
    """The finite values of an array, flat, as float64."""
    values = np.asarray(values, dtype="float64").ravel()
    return values[np.isfinite(values)]


def plot_discriminator_outputs(outputs, path, xlabel, title=None, real="real", bins=40):
    """One panel per discriminator (`outputs`: {name: (outputs on real, on generated)}), the two
    histograms overlaid on shared bins, their means in the legend; values that are not finite
    are left out."""
    figure = Figure(figsize=(7, 2.6 * len(outputs) + 0.6))
    axes = figure.subplots(len(outputs), 1, squeeze=False)[:, 0]
    for ax, (name, (on_real, on_generated)) in zip(axes, outputs.items()):
        on_real, on_generated = finite(on_real), finite(on_generated)
        edges = np.histogram_bin_edges(np.concatenate([on_real, on_generated]), bins=bins)
        for values, label, color in ((on_real, real, "tab:blue"), (on_generated, "generated", "tab:orange")):
            mean = f"mean {values.mean():.3g}" if len(values) else "no finite output"
            ax.hist(values, bins=edges, alpha=0.55, color=color, label=f"{label}, {mean}")
        ax.set_title(name, fontsize="medium")
        ax.set_ylabel("count")
        ax.legend(fontsize="small")
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel(xlabel)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    _save_figure(figure, path)


def run_name(directory):
    """The run's name for a plot title: the folder holding `directory` (runs/NAME/plots)."""
    return os.path.basename(os.path.dirname(os.path.abspath(directory)))


def _save_figure(figure, path):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    figure.savefig(path)


class DivergenceGuard(keras.callbacks.Callback):
    """Stops training at the end of an epoch whose losses or weights are not all finite, and
    notes it in `events` ({epoch: text}) for the history. Place it before any callback that records
    an epoch, so none records it as good; TrainingCheckpoint then keeps the last good state on disk."""

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
    - G's samples stop differing: the mean spread (per pixel, images in [-1, 1]) within a preview
      row is below `min_spread` while an earlier epoch's, or this epoch's across the whole grid,
      was at least 5 x `min_spread`. A generator near its initial weights draws alike samples
      everywhere (0.018 across the grid after the first epoch of an earlier digits quick start,
      0.3 by its fourth): that is a start, not a collapse. Within rows, because a
      conditional generator's row is one class: the MNIST ACGAN recipe before mode seeking drew
      one image per class from its first epoch (0.0135 within rows, 0.30 across), which the
      spread of the whole grid did not see; a healthy cGAN measures 0.24 to 0.27 within rows.
    The first needs D's outputs to be probabilities: a Wasserstein critic's scores are unbounded.
    """

    def __init__(self, events=None, pinned=0.99, min_spread=0.02, warn=None):
        super().__init__()
        self.events = {} if events is None else events
        self.pinned = pinned
        self.min_spread = min_spread
        self.widest_spread = 0.0
        self.warn = warn or (lambda text: print(f"warning: {text}", file=sys.stderr, flush=True))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        warnings = []
        real, fake = logs.get("d_real"), logs.get("d_fake")
        probabilities = real is not None and fake is not None and 0 <= real <= 1 and 0 <= fake <= 1
        if probabilities and real >= self.pinned and fake <= 1 - self.pinned:
            warnings.append(
                f"D scores real images {float(real):.3f} and fakes {float(fake):.3f}: it wins outright and "
                "G learns nothing; lower d_lr or raise g_lr"
            )
        rows = np.asarray(self.model.preview_rows(seed=0), dtype="float32")
        spread = float(np.mean(np.std(rows, axis=1)))
        across = float(np.mean(np.std(rows.reshape((-1,) + rows.shape[2:]), axis=0)))
        if rows.shape[1] > 1 and spread < self.min_spread <= max(self.widest_spread, across) / 5:
            # A method with a mode-seeking term not in use: the term that gave the ACGAN its variety.
            hint = "; --mode-seeking 0.1 makes G pay for it" if getattr(self.model, "mode_seeking", None) == 0 else ""
            best = f", {self.widest_spread:.4f} at best" if self.widest_spread else ""
            warnings.append(
                f"the samples have stopped differing (spread {spread:.4f} within a preview row, {across:.4f} "
                f"across the grid{best}): mode collapse, G ignores its noise{hint}"
            )
        self.widest_spread = max(self.widest_spread, spread)
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
        self.rows = history_until(self.path, self.resume_from_epoch) if self.resume_from_epoch else []
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


def history_until(path, epoch):
    """The rows of a run's history up to `epoch`, or a one-line UsageError if the file is damaged."""
    try:
        return [row for row in read_history(path) if int(row["epoch"]) <= epoch]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, csv.Error) as error:
        raise UsageError(
            f"{path} is damaged ({type(error).__name__}: {error}); move it away and --resume again "
            "(training goes on; the earlier epochs' rows are then missing from the plots)"
        ) from None


def read_history(path):
    """The rows of a history CSV as dicts; [] if there is none yet."""
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


class HistoryPlots(keras.callbacks.Callback):
    """Redraws one plot per panel the model declares (`plot_panels`: losses, D's scores, ...)
    from the history CSV after an epoch (as `DrawingBudget` allows, and always after the last),
    so a resumed run's plots cover the whole run; and, for
    a generator objective of several weighted terms (`generator_objective`), `objective.png`
    with each term's weighted share. `title` (default: the run folder's name) heads each plot."""

    def __init__(self, history_path, directory, title=None):
        super().__init__()
        self.history_path = history_path
        self.directory = directory
        self.title = title
        self.budget = DrawingBudget()

    def on_epoch_end(self, epoch, logs=None):
        self.budget.offer(epoch, fit_epochs(self, epoch), self.plot)

    def on_train_end(self, logs=None):
        self.budget.flush()

    def plot(self):
        rows = read_history(self.history_path)
        if rows:
            title = self.title or run_name(self.directory)
            plot_history(rows, self.directory, self.model.plot_panels, title=title)
            objective = self.model.generator_objective
            if len(objective) > 1:
                plot_objective(rows, self.directory, objective, title=title)


def _series(rows, key):
    """A metric's values by epoch; NaN where an epoch has none (a column added on resume)."""
    return [float(row[key]) if row.get(key) not in (None, "") else float("nan") for row in rows]


def _epoch_axis(axes, epochs):
    """Whole epochs on the x axis; with few of them, a margin of half an epoch, or matplotlib
    draws fractional ticks around a single point."""
    axes.set_xlabel("epoch")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(epochs) < 3:
        axes.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)


def plot_history(rows, directory, panels, title=None):
    """`panels` maps a plot's name to (y label, metric names), or to a list of those, one panel
    each, stacked on a shared epoch axis: one PNG per name."""
    for filename, spec in panels.items():
        _save_figure(history_figure(rows, spec, title), os.path.join(directory, f"{filename}.png"))


def history_figure(rows, spec, title=None):
    """The Figure of one plot of `plot_history` (`spec`: one panel or a list of panels)."""
    epochs = [int(row["epoch"]) for row in rows]
    spec = spec if isinstance(spec, list) else [spec]
    figure = Figure(figsize=(7, 1.2 + 2.6 * len(spec)))  # no pyplot: a notebook's backend stays as it was
    axes = figure.subplots(len(spec), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (ylabel, keys) in zip(axes, spec):
        keys = [key for key in keys if key in rows[0]]
        for key in keys:
            ax.plot(epochs, _series(rows, key), marker=".", label=key)
        ax.set_ylabel(ylabel)
        if keys:
            ax.legend(fontsize="small", ncol=2 if len(keys) > 3 else 1)
        ax.grid(alpha=0.3)
    _epoch_axis(axes[-1], epochs)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def weighted_terms(rows, objective):
    """{term: its weighted contribution by epoch} from the history and `objective` ({term:
    {metric: weight}}, the model's `generator_objective`); terms whose metrics were not logged
    are left out."""
    terms = {}
    for term, weights in objective.items():
        if all(key in rows[0] for key in weights):
            terms[term] = np.sum([weight * np.asarray(_series(rows, key)) for key, weight in weights.items()], axis=0)
    return terms


def plot_objective(rows, directory, objective, title=None):
    """`objective.png`: each term's weighted share of the generators' objective by epoch, and
    their sum (the objective itself)."""
    epochs = [int(row["epoch"]) for row in rows]
    switched_on = {term: weights for term, weights in objective.items() if any(weights.values())}
    terms = weighted_terms(rows, switched_on)
    figure = Figure(figsize=(7, 4.2))
    axes = figure.subplots()
    for term, values in terms.items():
        axes.plot(epochs, values, marker=".", label=term)
    if terms:
        axes.plot(epochs, np.sum(list(terms.values()), axis=0), "k--", label="objective (sum)")
        axes.legend(fontsize="small", ncol=2)
    axes.axhline(0.0, color="grey", linewidth=0.8)
    axes.set_ylabel("weighted term of G's objective")
    _epoch_axis(axes, epochs)
    axes.grid(alpha=0.3)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    _save_figure(figure, os.path.join(directory, "objective.png"))


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
