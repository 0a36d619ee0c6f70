"""generate and translate as a user meets them: outputs never lost or overwritten silently,
image folders with link loops read once, bad input refused in one line with nothing on disk
changed, and a corrupt cached reference classifier trained again instead of failing."""

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

TINY_DCGAN = ["--data", "digits", "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "16"]
TINY_CYCLEGAN = [
    "--method",
    "cyclegan",
    "--data",
    "digits2digits-m",
    "--image-size",
    "16",
    "--epochs",
    "1",
    "--steps-per-epoch",
    "2",
    "--g-filters",
    "8",
    "--d-filters",
    "8",
    "--batch-size",
    "2",
]


def trained(tmp_path_factory, args):
    from keras_gans.cli import main

    run = tmp_path_factory.mktemp("serving") / "run"
    assert main(["train", *args, "--output", str(run)]) == 0
    return run


@pytest.fixture(scope="module")
def dcgan_run(tmp_path_factory):
    """A generator of 28x28 digits, shared by the tests that only need one to exist."""
    return trained(tmp_path_factory, TINY_DCGAN)


@pytest.fixture(scope="module")
def cyclegan_run(tmp_path_factory):
    """A 16x16 translation model, shared likewise."""
    return trained(tmp_path_factory, TINY_CYCLEGAN)


def write_image(path, size=16, value=90):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size, 3), value, np.uint8)).save(path)


def snapshot(folder):
    """Every path under `folder` with its bytes (None for a folder), links not followed."""
    return {
        str(path.relative_to(folder)): None if path.is_dir() else path.read_bytes()
        for path in sorted(folder.rglob("*"))
    }


def translate(cyclegan_run, *args):
    from keras_gans.cli import main

    return main(["translate", "--model", str(cyclegan_run), *map(str, args)])


# --- image folders with links ---------------------------------------------------------------------


@pytest.fixture
def looped_folder(tmp_path):
    """Two images, a link from a sub-folder back up to the folder, and a second name for a file.
    (One loop: the old walk went round it about 40 times; two loops branch, and it never ended.)"""
    folder = tmp_path / "photos"
    write_image(folder / "a.png")
    write_image(folder / "sub" / "b.png")
    (folder / "sub" / "up").symlink_to("..")
    (folder / "sub" / "alias.png").symlink_to("../a.png")
    return folder


def test_a_folder_with_link_loops_lists_each_image_once(looped_folder):
    from keras_gans.data.folders import list_images, load_folder

    assert list_images(looped_folder) == [looped_folder / "a.png", looped_folder / "sub" / "b.png"]
    assert load_folder(looped_folder, "train", 8).num_examples == 2


def test_a_link_is_followed_once_to_a_folder_outside_and_never_to_one_inside(tmp_path):
    """A class folder linked from another class keeps its own label; an outside folder linked
    twice is read once, at the first link."""
    from keras_gans.data.folders import class_labels, list_images

    root = tmp_path / "classes"
    write_image(root / "cat" / "1.png")
    write_image(root / "dog" / "deeper" / "2.png")
    (root / "cat" / "dogs").symlink_to("../dog/deeper")
    write_image(tmp_path / "elsewhere" / "3.png")
    (root / "cat" / "more").symlink_to("../../elsewhere")
    (root / "dog" / "more").symlink_to("../../elsewhere")

    files = list_images(root)
    assert [str(file.relative_to(root)) for file in files] == ["cat/1.png", "cat/more/3.png", "dog/deeper/2.png"]
    labels, names = class_labels(root, files)
    assert names == ["cat", "dog"] and list(labels) == [0, 0, 1]


def test_translate_writes_one_output_per_image_of_a_looped_folder(cyclegan_run, looped_folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert translate(cyclegan_run, looped_folder, "--out", out) == 0
    assert sorted(str(path.relative_to(out)) for path in out.rglob("*.png")) == ["a.png", "sub/b.png"]
    assert "translated 2 images a2b" in capsys.readouterr().out


# --- what translate says --------------------------------------------------------------------------


def test_translate_says_one_image_and_what_it_resized(cyclegan_run, tmp_path, capsys):
    write_image(tmp_path / "small" / "x.png", size=16)
    assert translate(cyclegan_run, tmp_path / "small", "--out", tmp_path / "out") == 0
    assert capsys.readouterr().out.splitlines() == [f"translated 1 image a2b into {tmp_path / 'out'}"]

    for i, size in enumerate((20, 20, 24)):
        write_image(tmp_path / "big" / f"{i}.png", size=size)
    assert translate(cyclegan_run, tmp_path / "big", tmp_path / "big", "--out", tmp_path / "out") == 0
    assert capsys.readouterr().out.splitlines() == [
        f"translated 3 images a2b into {tmp_path / 'out'}",
        "resized 3 images from 20x20, 24x24 to 16x16, the model's size",
    ]


# --- bad input: one line, exit status 2, nothing on disk changed -----------------------------------

GENERATE = ["generate", "--model", "{dcgan}"]
TRANSLATE = ["translate", "--model", "{cyclegan}"]
ON_LINUX = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")

# Every case names the input at fault and the fix; {tmp} is the test's folder.
BAD_INPUTS = [
    ([*GENERATE, "--out", "{tmp}"], "error: --out {tmp} is a folder; pass the name of a .png file to write"),
    (
        [*GENERATE, "--out", "{tmp}/keep.txt/g.png"],
        "error: cannot write {tmp}/keep.txt/g.png (File exists: {tmp}/keep.txt); pass --out",
    ),
    pytest.param(
        [*GENERATE, "--out", "/proc/g.png"], "error: cannot write /proc/g.png (", marks=ON_LINUX, id="generate /proc"
    ),
    (
        [*GENERATE, "--out", "{tmp}/g.jpg"],
        "error: --out {tmp}/g.jpg does not end in .png; generate writes PNG only, so name a .png file",
    ),
    ([*GENERATE, "--seed", "-1", "--out", "{tmp}/g.png"], "error: --seed must be a non-negative integer, got -1"),
    (
        [*TRANSLATE, "{tmp}/images", "--out", "{tmp}/keep.txt"],
        "error: --out {tmp}/keep.txt is a file; pass a folder to write the translated PNGs to",
    ),
    (
        [*TRANSLATE, "{tmp}/clash", "--out", "{tmp}/out"],
        "error: {tmp}/clash/x.jpg and {tmp}/clash/x.png would both be written to {tmp}/out/x.png; rename one, "
        "or translate them into separate --out folders",
    ),
    (
        [*TRANSLATE, "{tmp}/images", "{tmp}/clash/x.png", "--out", "{tmp}/out"],
        "error: {tmp}/images/x.png and {tmp}/clash/x.png would both be written to {tmp}/out/x.png; ",
    ),
    (
        ["evaluate", "--model", "{cyclegan}", "--data", "{tmp}/images,{tmp}/clash"],
        "error: {tmp}/images,{tmp}/clash holds no classes, so there is no label to keep and nothing for evaluate "
        "to score; judge its translations in the run's samples/ folder",
    ),
    pytest.param(
        [*TRANSLATE, "{tmp}/images", "--out", "/proc/t"],
        "error: cannot write /proc/t/x.png (",
        marks=ON_LINUX,
        id="translate /proc",
    ),
]


@pytest.fixture
def bad_input_folder(tmp_path):
    write_image(tmp_path / "images" / "x.png")
    write_image(tmp_path / "clash" / "x.png")
    write_image(tmp_path / "clash" / "x.jpg")
    (tmp_path / "keep.txt").write_text("precious")
    return tmp_path


def _case_id(case):
    return " ".join([case[0][0], *case[0][3:]]).replace("{tmp}/", "")


@pytest.mark.parametrize(
    "args, message", BAD_INPUTS, ids=[None if hasattr(case, "marks") else _case_id(case) for case in BAD_INPUTS]
)
def test_bad_input_gets_one_line_and_status_2(
    dcgan_run, cyclegan_run, bad_input_folder, args, message, capsys, monkeypatch
):
    from keras_gans.cli import main

    monkeypatch.chdir(bad_input_folder)
    names = {"tmp": bad_input_folder, "dcgan": dcgan_run, "cyclegan": cyclegan_run}
    before = snapshot(bad_input_folder)
    assert main([arg.format(**names) for arg in args]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message.format(**names)), lines
    assert snapshot(bad_input_folder) == before


def test_a_failed_save_leaves_no_temporary_file(tmp_path):
    from keras_gans.callbacks import save_png

    (tmp_path / "taken").mkdir()
    with pytest.raises(IsADirectoryError):
        save_png(np.zeros((4, 4, 3), np.uint8), str(tmp_path / "taken"))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["taken"]


# --- reference classifiers ------------------------------------------------------------------------


def test_a_corrupt_cached_classifier_is_trained_again(tmp_path, monkeypatch, capsys):
    from keras_gans.metrics.reference import cache_dir, reference_classifier

    monkeypatch.setenv("KERAS_GANS_CACHE", str(tmp_path))
    cached = cache_dir() / "digits-8px-1ch.keras"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"PK\x03\x04 cut short")
    classifier = reference_classifier("digits", 8, 1, epochs=1)
    said = capsys.readouterr().err.splitlines()
    assert said[0] == f"cached classifier {cached} is truncated or corrupt; training it again"
    assert said[1].startswith("training a reference classifier of digits at 8px first (1 epoch over ")
    assert said[2].startswith("reference classifier trained in ") and len(said) == 3
    assert classifier.output_shape == (None, 10)
    assert Path(cached).stat().st_size > 1000 and reference_classifier("digits", 8, 1) is not None
    assert capsys.readouterr().err == ""


def test_an_exported_generator_refuses_non_finite_noise(dcgan_run):
    import tensorflow as tf

    serve = tf.saved_model.load(str(dcgan_run / "export" / "generator")).signatures["serving_default"]
    z = np.zeros((2, serve.structured_input_signature[1]["z"].shape[1]), np.float32)
    assert serve(z=tf.constant(z))["images"].shape[0] == 2
    z[1, 0] = np.nan
    with pytest.raises(tf.errors.InvalidArgumentError, match="z holds NaN or inf; pass finite noise"):
        serve(z=tf.constant(z))


def test_exports_and_checkpoints_are_as_readable_as_the_umask_makes_files(dcgan_run):
    """mkdtemp's 0700 and mkstemp's 0600 would hide a run from a serving account."""
    umask = os.umask(0)
    os.umask(umask)
    assert (dcgan_run / "export" / "generator").stat().st_mode & 0o777 == 0o777 & ~umask
    assert (dcgan_run / "checkpoints" / "latest.npz").stat().st_mode & 0o777 == 0o666 & ~umask
