"""The pictures a run leaves to be judged by: sample grids upscaled and with named rows, previews
of held-out images, the histograms of D's outputs, and the history plots (a title, whole epochs,
grouped panels, the weighted terms of G's objective). None of them may change training."""

import csv
import functools
import itertools
import random

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import random_images, weights
from PIL import Image

import keras_gans
from keras_gans import callbacks
from keras_gans.callbacks import (
    DiscriminatorOutputs,
    DrawingBudget,
    HeldOut,
    HistoryPlots,
    SampleGrid,
    history_figure,
    preview_picture,
    read_held_out,
    weighted_terms,
)
from keras_gans.data import load_dataset
from keras_gans.methods.cyclegan import CycleGAN
from keras_gans.methods.extended_cyclegan import ExtendedCycleGAN
from keras_gans.networks import build_patchgan_discriminator, build_resnet_generator

SHAPE = (16, 16, 3)


def small_cyclegan(**options):
    generators = [build_resnet_generator(SHAPE, filters=4, blocks=1, name=f"generator_{d}") for d in ("ab", "ba")]
    discriminators = [build_patchgan_discriminator(SHAPE, filters=4, name=f"discriminator_{d}") for d in "ab"]
    return CycleGAN(*generators, *discriminators, seed=1, **options)


def styled_cyclegan(**options):
    """An ExtendedCycleGAN whose G_ab takes a style code of 2, with tiny networks."""
    model = keras_gans.build("cyclegan", SHAPE, compile=False, g_filters=4, d_filters=4, style_dim=2, **options)
    assert isinstance(model, ExtendedCycleGAN)
    return model


def held_out_domains(n=8):
    return HeldOut((random_images(n, SHAPE, 10), random_images(n, SHAPE, 11)), (None, None), "test")


class Previewing:
    """Just what SampleGrid asks of a model: fixed rows of 28 x 28 images, optionally named."""

    def __init__(self, rows, names=None):
        self.rows = rows
        self.preview_row_names = names

    def preview_rows(self, seed=0):
        return self.rows


# ------------------------------------------------------------------------------ sample grids
def test_the_saved_grid_is_upscaled_by_whole_pixels_to_readable_cells(tmp_path):
    rows = np.random.default_rng(0).integers(0, 256, (8, 8, 28, 28, 1)).astype("uint8")
    grid = SampleGrid(str(tmp_path / "samples"))
    grid.set_model(Previewing(rows))
    grid.on_epoch_end(0)
    picture = np.asarray(Image.open(tmp_path / "samples" / "epoch_0001.png"))
    # 28 px digits are drawn 3 times as large (84 px, at least 64), 2 px gutters between them.
    assert picture.shape == (8 * 84 + 7 * 2, 8 * 84 + 7 * 2)
    cell = picture[86 : 86 + 84, 2 * 86 : 2 * 86 + 84]  # row 1, column 2
    np.testing.assert_array_equal(cell, np.repeat(np.repeat(rows[1, 2, ..., 0], 3, axis=0), 3, axis=1))
    assert (tmp_path / "samples" / "epoch_0001.png").stat().st_size < 200_000


def test_cyclegan_preview_names_each_row_in_a_margin_and_shows_the_held_out_images():
    model = small_cyclegan()
    model.held_out = held_out_domains()
    rows = model.preview_rows(seed=0)
    np.testing.assert_allclose(rows[0], model.held_out.images[0], atol=1e-6)  # not the (grey) first training images
    np.testing.assert_allclose(rows[4], model.held_out.images[1], atol=1e-6)
    names = model.preview_row_names
    assert len(names) == len(rows) == 8 and len(set(names)) == 8
    assert names[0] == "real A\n(test)" and names[4] == "real B\n(test)"

    picture = preview_picture(model)
    grid = callbacks.tile(rows, 4)  # 16 px images, 4 times as large
    margin = picture.shape[1] - grid.shape[1]
    assert margin > 40 and picture.shape[0] == grid.shape[0]
    np.testing.assert_array_equal(picture[:, margin:], grid)
    # each row's band of the margin holds dark text, and no two rows read the same
    bands = [picture[r * 66 : r * 66 + 64, :margin].min(axis=-1) for r in range(8)]
    assert all((band < 100).sum() > 30 for band in bands)
    assert all(not np.array_equal(bands[i], bands[j]) for i in range(8) for j in range(i))


def test_without_held_out_images_cyclegan_previews_the_first_training_images():
    model = small_cyclegan()
    a, b = random_images(8, SHAPE, 0), random_images(8, SHAPE, 1)
    model.preview_a(a)  # as its train step keeps them (tests/test_cyclegan.py trains for them)
    model.preview_b(b)
    rows = model.preview_rows(seed=0)
    np.testing.assert_allclose(rows[0], a, atol=1e-6)
    assert model.preview_row_names[0] == "real A\n(train)"


def test_without_the_identity_loss_the_cyclegan_preview_has_no_identity_rows():
    model = small_cyclegan(lambda_identity=0.0)
    b = random_images(8, SHAPE, 1)
    model.preview_b(b)
    rows, names = model.preview_rows(seed=0), model.preview_row_names
    assert len(rows) == len(names) == 6 and not any("identity" in name for name in names)
    np.testing.assert_allclose(rows[names.index("real B\n(train)")], b, atol=1e-6)


def test_conditional_rows_are_named_by_class_and_unconditional_ones_are_not(tmp_path):
    cgan = keras_gans.build("cgan", (16, 16, 1), num_classes=3, compile=False, g_filters=4, d_filters=4, latent_dim=4)
    assert cgan.preview_row_names == ["class 0", "class 1", "class 2"]
    picture = preview_picture(cgan)
    assert picture.shape[1] > 8 * 64 + 7 * 2  # a margin beside the 8 columns of 64 px
    dcgan = keras_gans.build("dcgan", (16, 16, 1), compile=False, g_filters=4, d_filters=4, latent_dim=4)
    assert preview_picture(dcgan).shape == (8 * 64 + 7 * 2, 8 * 64 + 7 * 2, 1)


# ------------------------------------------------------------------------------ held-out images
def test_held_out_images_are_the_test_split_read_without_drawing_random_state():
    cgan = keras_gans.build("cgan", (28, 28, 1), num_classes=10, compile=False, g_filters=4, d_filters=4)

    def draws():
        return (tf.random.uniform([3]).numpy(), keras.random.normal([3]).numpy(), np.random.rand(), random.random())

    keras.utils.set_random_seed(5)
    expected = draws()
    keras.utils.set_random_seed(5)
    held_out = read_held_out("digits", (28, 28, 1), cgan, count=6)
    after = draws()
    for a, b in zip(expected, after):
        np.testing.assert_array_equal(a, b)

    assert held_out.split == "test"
    test = load_dataset("digits", 28, 6, with_labels=True, split="test", shuffle=False).dataset
    images, labels = next(iter(test))
    np.testing.assert_array_equal(held_out.images[0], images.numpy())
    np.testing.assert_array_equal(held_out.labels[0], labels.numpy())

    pair = read_held_out("digits2digits-m", (16, 16, 3), small_cyclegan())
    assert pair.split == "test" and [domain.shape for domain in pair.images] == [(16, 16, 16, 3)] * 2


def test_data_without_a_test_split_gives_training_images_or_none_for_a_pair(tmp_path):
    for i in range(3):
        Image.new("RGB", (16, 16), (i * 80, 0, 0)).save(tmp_path / f"{i}.png")
    dcgan = keras_gans.build("dcgan", (16, 16, 3), compile=False, g_filters=4, d_filters=4)
    held_out = read_held_out(str(tmp_path), (16, 16, 3), dcgan)
    assert held_out.split == "train" and held_out.images[0].shape == (3, 16, 16, 3)
    assert read_held_out(f"{tmp_path},{tmp_path}", (16, 16, 3), small_cyclegan()) is None


# ------------------------------------------------------------------------------ D's outputs
def test_discriminator_outputs_leave_every_variable_as_it_was():
    """The DCGAN hook runs both networks on batch statistics, as a train step does; their
    BatchNorm statistics must be set back, or the picture would change the training."""
    dcgan = keras_gans.build("dcgan", (16, 16, 1), compile=False, g_filters=4, d_filters=4, latent_dim=4)
    dcgan.held_out = HeldOut((random_images(16, (16, 16, 1)),), (None,), "test")
    before = weights(dcgan, trainable=False)
    outputs = dcgan.discriminator_outputs(seed=0)
    after = weights(dcgan, trainable=False)
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    real, generated = outputs["D"]
    assert real.shape == generated.shape == (16,) and np.all((real > 0) & (real < 1))


@pytest.mark.parametrize("kind", ["cgan", "acgan", "sgan", "sgan-translation", "styled-cyclegan"])
def test_every_method_gives_d_outputs_on_real_and_generated_images(kind):
    labels = np.arange(8, dtype="int32") % 3
    small = dict(compile=False, g_filters=4, d_filters=4)
    if kind in ("cgan", "acgan", "sgan"):
        model = keras_gans.build(kind, (16, 16, 1), num_classes=3, latent_dim=4, **small)
        model.held_out = HeldOut((random_images(8, (16, 16, 1)),), (labels,), "test")
    elif kind == "sgan-translation":
        model = keras_gans.build("sgan", SHAPE, num_classes=3, translation=True, **small)
        model.held_out = HeldOut(held_out_domains().images, (labels, labels), "test")
    else:
        model = styled_cyclegan(lambda_edges=1.0)
        model.held_out = held_out_domains()
    before = weights(model, trainable=False)
    outputs = model.discriminator_outputs(seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, weights(model, trainable=False)))
    assert set(outputs) == ({"D_a", "D_b"} if "cyclegan" in kind or "translation" in kind else {"D"})
    for real, generated in outputs.values():
        assert real.ndim == generated.ndim == 1 and len(real) == len(generated) >= 8
        assert np.all(np.isfinite(real)) and np.all(np.isfinite(generated))


def budgeted_drawings(epochs, epoch_seconds, stop=None, drawing_seconds=1.0):
    """The epochs a DrawingBudget (a tenth of the time, every 30 s at most) draws when each epoch
    takes `epoch_seconds` and each drawing `drawing_seconds` (a fake clock); a run stopped after
    epoch `stop` flushes, as `on_train_end` does."""
    clock = [0.0]
    budget, drawn = DrawingBudget(share=0.1, interval=30.0, clock=lambda: clock[0]), []

    def drawing(epoch):
        clock[0] += drawing_seconds
        drawn.append(epoch)

    for epoch in range(epochs if stop is None else stop + 1):
        clock[0] += epoch_seconds
        budget.offer(epoch, epochs, lambda epoch=epoch: drawing(epoch))
    budget.flush()
    return drawn


def test_figures_of_short_epochs_are_drawn_first_last_and_every_30_seconds_or_ten_times_their_cost():
    assert budgeted_drawings(40, 2.0) == [0, 15, 30, 39]
    assert budgeted_drawings(40, 2.0, stop=20) == [0, 15, 20]  # stopped early: its last epoch too
    assert budgeted_drawings(40, 2.0, drawing_seconds=4.0) == [0, 20, 39]  # slow drawings: 40 s apart
    assert budgeted_drawings(4, 40.0) == [0, 1, 2, 3]  # long epochs: every one


def watched_run(tmp_path, epochs, diverged_at=None):
    """The D-output PNGs and the losses plots after `epochs` epochs through both figure callbacks,
    with drawings slow beside the epochs (each reading of their clock 10 s after the last); from
    epoch `diverged_at` on, D's outputs on generated images are NaN."""
    model = small_cyclegan()
    model.held_out = held_out_domains()
    history = tmp_path / "history.csv"
    pictures = DiscriminatorOutputs(str(tmp_path / "d_outputs"))
    plots = HistoryPlots(str(history), str(tmp_path / "plots"))
    measured = model.discriminator_outputs
    losses_drawn = []
    for watch in (pictures, plots):
        watch.set_model(model)
        watch.set_params({"epochs": epochs})
        watch.budget.clock = functools.partial(next, itertools.count(step=10))
    for epoch in range(epochs if diverged_at is None else diverged_at + 1):  # DivergenceGuard stops there
        if epoch == diverged_at:
            model.discriminator_outputs = lambda seed: {
                name: (real, np.full_like(fake, np.nan)) for name, (real, fake) in measured(seed=seed).items()
            }
        history.write_text("epoch,d_loss\n" + "".join(f"{e + 1},{e}\n" for e in range(epoch + 1)))
        for watch in (pictures, plots):
            watch.on_epoch_end(epoch)
        losses_drawn.append((tmp_path / "plots" / "losses.png").read_bytes())
    for watch in (pictures, plots):
        watch.on_train_end()
    losses_drawn.append((tmp_path / "plots" / "losses.png").read_bytes())
    return sorted(path.name for path in (tmp_path / "d_outputs").glob("*.png")), losses_drawn


def test_a_run_of_short_epochs_keeps_the_first_and_last_d_outputs_and_plots_its_whole_history(tmp_path):
    pictures, losses = watched_run(tmp_path, 5)
    assert pictures == ["epoch_0001.png", "epoch_0005.png"]
    assert losses[0] == losses[3] != losses[4]  # the middle epochs wait; the last is drawn


def test_a_diverged_epoch_keeps_the_last_good_epochs_d_outputs(tmp_path):
    """A run that diverges at its 4th epoch stops there (DivergenceGuard): the 3rd epoch, its
    last good state, would otherwise have no picture."""
    pictures, _ = watched_run(tmp_path, 10, diverged_at=3)
    assert pictures == ["epoch_0001.png", "epoch_0003.png", "epoch_0004.png"]


def test_the_histogram_png_shows_real_and_generated_and_tensorboard_gets_both(tmp_path):
    model = small_cyclegan()
    model.held_out = held_out_domains()
    watch = DiscriminatorOutputs(str(tmp_path / "run" / "d_outputs"), log_dir=str(tmp_path / "logs"))
    watch.set_model(model)
    watch.on_epoch_end(0)
    picture = np.asarray(Image.open(tmp_path / "run" / "d_outputs" / "epoch_0001.png").convert("RGB")).astype(int)

    def share(color, alpha=0.55):  # bars of `color` drawn at `alpha` over white
        drawn = alpha * np.array(color) + (1 - alpha) * 255
        return np.sum(np.abs(picture - drawn).max(axis=-1) <= 3)

    assert share((31, 119, 180)) > 100  # tab:blue, the real images
    assert share((255, 127, 14)) > 100  # tab:orange, the generated ones

    tags = set()
    for path in (tmp_path / "logs" / "d_outputs").glob("events.out.tfevents*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            tags.update(value.tag for value in event.summary.value)
    assert tags == {"D_a/real", "D_a/generated", "D_b/real", "D_b/generated"}


def test_a_diverged_epochs_outputs_still_give_a_histogram(tmp_path):
    """NaN outputs are left out of the picture, not raised out of fit: DivergenceGuard must still
    get to report the divergence."""
    path = tmp_path / "d.png"
    callbacks.plot_discriminator_outputs({"D": (np.array([np.nan, 0.2, 0.4]), np.full(3, np.inf))}, str(path), "D(x)")
    assert path.exists()


# ------------------------------------------------------------------------------ history plots
def history_rows(names, epochs=3):
    rng = np.random.default_rng(0)
    return [{"epoch": str(e), **{n: str(rng.uniform(0, 2)) for n in names}} for e in range(1, epochs + 1)]


def test_cyclegan_losses_are_grouped_in_titled_panels_over_whole_epochs():
    model = small_cyclegan()
    rows = history_rows(model.metric_names)
    figure = history_figure(rows, model.plot_panels["losses"], title="my-run")
    figure.canvas.draw()
    assert figure.get_suptitle() == "my-run"
    legends = [[text.get_text() for text in ax.get_legend().get_texts()] for ax in figure.axes]
    assert legends == [["g_ab", "g_ba"], ["d_a", "d_b"]]
    lower, upper = figure.axes[-1].get_xlim()
    ticks = [t for t in figure.axes[-1].get_xticks() if lower <= t <= upper]
    assert ticks == [1, 2, 3]
    terms = history_figure(rows, model.plot_panels["terms"])
    assert [[t.get_text() for t in ax.get_legend().get_texts()] for ax in terms.axes] == [
        ["cycle_a", "cycle_b", "identity_a", "identity_b"]
    ]


def objective_models():
    acgan = keras_gans.build("acgan", (16, 16, 1), num_classes=3, compile=False, g_filters=4, d_filters=4)
    return [
        small_cyclegan(lambda_cycle=7.0, lambda_identity=0.3),
        styled_cyclegan(lambda_edges=2.0, lambda_style=0.5, lambda_diversity=0.25),
        keras_gans.build(
            "sgan", SHAPE, num_classes=3, translation=True, compile=False, g_filters=4, d_filters=4, lambda_edges=3.0
        ),
        acgan,
    ]


@pytest.mark.parametrize("index", range(4))
def test_the_weighted_terms_add_up_to_the_generators_objective(index):
    model = objective_models()[index]
    names = list(model.metric_names)
    rows = history_rows(names)
    terms = weighted_terms(rows, model.generator_objective)
    assert len(terms) == len(model.generator_objective) > 1
    total = np.sum(list(terms.values()), axis=0)
    for row, value in zip(rows, total):
        logged = {name: float(row[name]) for name in names}
        if "g_loss" in logged:  # ACGAN reports its whole objective
            expected = logged["g_loss"]
        else:
            expected = float(model.generator_loss({key: tf.constant(v) for key, v in logged.items()}))
        assert value == pytest.approx(expected, rel=1e-5)


def test_history_plots_draw_the_objective_under_the_run_name(tmp_path):
    model = small_cyclegan()
    run = tmp_path / "cyclegan-run"
    rows = history_rows(model.metric_names)
    run.mkdir()
    with open(run / "history.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plots = HistoryPlots(str(run / "history.csv"), str(run / "plots"))
    plots.set_model(model)
    plots.on_epoch_end(2)
    assert sorted(path.name for path in (run / "plots").glob("*.png")) == ["losses.png", "objective.png", "terms.png"]
    assert callbacks.run_name(str(run / "plots")) == "cyclegan-run"
