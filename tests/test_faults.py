"""Nothing lost: a run killed at any moment resumes to the very weights of an uninterrupted run; a
run that diverges keeps its last good checkpoint and exports nothing; two trainings never share a
run folder."""

import csv
import signal
import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT, run_cli

# One pass over the digits per epoch (14 batches), so a resume must also find the shuffle order
# the uninterrupted run would have drawn for its epoch.
RUN = ["--method", "gan", "--data", "digits", "--epochs", "3", "--batch-size", "128"]

# Each kill comes at the COUNT-th time the resumed process reaches its point (fault_driver.py),
# so together they cover every moment of a run: mid-epoch before any checkpoint, inside the first
# checkpoint write, between hard-linking the old checkpoint aside and making it previous.npz,
# after an epoch's history row but before its checkpoint, inside the export, and (below) inside
# the swap of an old export for a new one.
KILLS = [
    ("batch", 5),
    ("replace:latest.npz", 1),
    ("link", 1),
    ("replace:previous.npz", 1),
    ("replaced:history.csv", 2),
    ("saved_model", 1),
]


def history_epochs(run):
    with open(run / "history.csv") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def train_killed_at(where, count, args):
    driver = [sys.executable, str(ROOT / "tests" / "fault_driver.py"), where, str(count), "--", *args]
    result = subprocess.run(driver, capture_output=True, text=True, timeout=300)
    assert result.returncode == -signal.SIGKILL, f"never reached {where}: {result.stderr[-2000:]}"


def assert_same_state(a, b):
    with np.load(a) as x, np.load(b) as y:
        assert sorted(x.files) == sorted(y.files)
        different = [key for key in x.files if not np.array_equal(x[key], y[key])]
    assert not different, f"{len(different)} arrays differ, first {different[:3]}"


@pytest.mark.slow
def test_a_run_killed_at_every_moment_ends_as_if_never_killed(tmp_path):
    reference = tmp_path / "reference"
    uninterrupted = subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), *RUN, "--output", str(reference)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    run = tmp_path / "run"
    args = [*RUN, "--output", str(run)]
    train_killed_at(*KILLS[0], args)
    for where, count in KILLS[1:]:
        train_killed_at(where, count, [*args, "--resume"])

    finished = run_cli(*args, "--resume")
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert f"resumed {run} after epoch 3 of 3" in finished.stdout
    # Re-export a finished run and kill it between retiring the old export and moving in the new.
    train_killed_at("replace:generator", 1, [*args, "--resume"])
    assert not (run / "export" / "generator").exists()
    again = run_cli(*args, "--resume")
    assert again.returncode == 0, again.stderr[-2000:]

    assert uninterrupted.wait(timeout=300) == 0, uninterrupted.stderr.read()[-2000:]
    assert history_epochs(run) == [1, 2, 3]
    assert_same_state(run / "checkpoints" / "latest.npz", reference / "checkpoints" / "latest.npz")
    assert_same_state(run / "checkpoints" / "previous.npz", reference / "checkpoints" / "previous.npz")
    assert (run / "export" / "generator" / "saved_model.pb").exists()
    leftovers = [p.name for p in run.rglob(".*") if p.name != ".training-pid"]
    assert not leftovers, leftovers


def train(*args):
    """`train ARGS` in this process, as the command line runs it: its exit status."""
    from keras_gans.cli import main

    return main(["train", *args])


DIVERGING = ["--method", "gan", "--data", "digits", "--steps-per-epoch", "20", "--batch-size", "8"]


def test_a_diverged_run_keeps_its_last_good_checkpoint_and_exports_nothing(tmp_path, capsys):
    run = tmp_path / "run"
    args = [*DIVERGING, "--output", str(run)]
    assert train(*args, "--epochs", "1") == 0
    good = (run / "checkpoints" / "latest.npz").read_bytes()
    exported = (run / "export" / "generator" / "saved_model.pb").read_bytes()
    capsys.readouterr()

    # A learning rate given with --resume is the one that runs (and config.yaml says so).
    assert train(*args, "--epochs", "3", "--resume", "--g-lr", "1e6", "--d-lr", "1e6") == 3
    assert (
        capsys.readouterr()
        .err.strip()
        .splitlines()[-1]
        .startswith(
            "error: epoch 2 diverged (d_fake is not finite); the checkpoint of epoch 1 is kept and nothing was exported"
        )
    )
    assert (run / "checkpoints" / "latest.npz").read_bytes() == good
    assert (run / "export" / "generator" / "saved_model.pb").read_bytes() == exported
    with open(run / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert rows[1]["event"] == "epoch 2 diverged (d_fake is not finite); not checkpointed"
    assert "g_lr: 1000000.0" in (run / "config.yaml").read_text()


def test_lower_lr_rolls_back_and_halves_the_rates_until_it_gives_up(tmp_path, capsys):
    run = tmp_path / "run"
    args = [*DIVERGING, "--output", str(run), "--epochs", "2", "--g-lr", "1e6", "--d-lr", "1e6"]
    assert train(*args, "--on-divergence", "lower_lr") == 3
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning: epoch 1 diverged")]
    rates = ["500000, d_lr 500000)", "250000, d_lr 250000)", "125000, d_lr 125000)"]
    assert [w.split("(g_lr ")[1] for w in warnings] == rates
    assert "g_lr: 125000.0" in (run / "config.yaml").read_text()  # the record is what ran last
    assert not (run / "export").exists() and not (run / "checkpoints").exists()


def test_lower_lr_goes_on_from_the_last_good_state(tmp_path, monkeypatch):
    """The rates that rescue a run are found by halving; here one step stands in for that search."""
    from keras_gans import run as run_lib

    def rescue(config):
        return run_lib.dataclasses.replace(
            config, options=run_lib.dataclasses.replace(config.options, g_lr=2e-4, d_lr=2e-4)
        )

    monkeypatch.setattr(run_lib, "_with_half_learning_rates", rescue)
    run = tmp_path / "run"
    args = [*DIVERGING, "--output", str(run), "--on-divergence", "lower_lr"]
    assert train(*args, "--epochs", "1") == 0
    assert train(*args, "--epochs", "3", "--resume", "--g-lr", "1e6", "--d-lr", "1e6") == 0
    with open(run / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [row["epoch"] for row in rows] == ["1", "2", "3"]
    assert rows[1]["event"].startswith("epoch 2 diverged (d_fake is not finite); rolled back to epoch 1")
    assert all(np.isfinite(float(row["g_loss"])) for row in rows)
    assert (run / "export" / "generator" / "saved_model.pb").exists()


HOLD_THE_LOCK = """
import fcntl, os, sys, time
handle = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(handle, fcntl.LOCK_EX)
with open(os.path.join(sys.argv[1], ".training-pid"), "w") as f:
    f.write(f"{os.getpid()}\\n")
print("holding", flush=True)
time.sleep(600)
"""


def test_a_second_training_of_the_same_folder_is_refused_while_the_first_runs(tmp_path, capsys):
    run = tmp_path / "run"
    args = [*DIVERGING[:6], "--steps-per-epoch", "2", "--output", str(run), "--epochs", "1"]
    assert train(*args) == 0
    capsys.readouterr()
    # A training in another process, as run.locked_run_folder holds it.
    first = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, str(run)], stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline() == "holding\n"
        before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
        for extra in ([], ["--resume"]):
            assert train(*args, *extra) == 2
            assert capsys.readouterr().err.strip() == (
                f"error: {run} is in use by the training in process {first.pid}; wait for it to end, "
                "or pass --output with another folder"
            )
        assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # The kernel dropped the killed holder's lock: --resume goes on.
    assert train(*args, "--resume") == 0


def test_a_full_disk_is_one_line_and_keeps_the_last_checkpoint(tmp_path, capsys, monkeypatch):
    import errno

    from keras_gans import checkpoint

    run = tmp_path / "run"
    args = [*DIVERGING[:6], "--steps-per-epoch", "2", "--output", str(run)]
    assert train(*args, "--epochs", "1") == 0
    good = (run / "checkpoints" / "latest.npz").read_bytes()

    def full(file, **arrays):
        file.write(b"PK")  # part of the file made it to disk
        raise OSError(errno.ENOSPC, "No space left on device", str(run / "checkpoints" / "x.npz"))

    monkeypatch.setattr(checkpoint.np, "savez", full)
    capsys.readouterr()
    assert train(*args, "--epochs", "2", "--resume") == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"error: no space left on the device writing {run / 'checkpoints' / 'x.npz'}; free some space and rerun "
        "with --resume (the last checkpoint is kept)"
    )
    assert (run / "checkpoints" / "latest.npz").read_bytes() == good
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["latest.npz", "previous.npz"]  # no partial file


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A 2-epoch run that the tests below copy and then damage."""
    run = tmp_path_factory.mktemp("finished") / "run"
    assert train(*DIVERGING[:6], "--steps-per-epoch", "2", "--epochs", "2", "--output", str(run)) == 0
    return run


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def copied(finished_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    return run


SHORT = [*DIVERGING[:6], "--steps-per-epoch", "2"]


@pytest.mark.parametrize(
    "damage, args, message",
    [
        (
            lambda run: __import__("shutil").rmtree(run / "checkpoints"),
            ["--epochs", "1"],
            "error: {run} already holds a run; add --resume",
        ),
        (
            lambda run: [(run / name).unlink() for name in ("config.yaml",)] and None,
            ["--epochs", "3", "--resume"],
            "error: {run} has checkpoints but no config.yaml, so its settings are unknown; put the run's",
        ),
        (
            lambda run: (run / "config.yaml").write_text(""),
            ["--epochs", "3", "--resume"],
            "error: {run}/config.yaml is empty or damaged (it names no method), so the run's settings are unknown",
        ),
        (
            lambda run: (run / "history.csv").write_bytes(b"\xff\xfe\x00garbage"),
            ["--epochs", "3", "--resume"],
            "error: {run}/history.csv is damaged (UnicodeDecodeError: ",
        ),
        (
            lambda run: None,
            ["--method", "wgan", "--epochs", "3", "--resume"],
            "error: {run} is a gan run; resume it with --method gan (or none), or start the other method",
        ),
        (
            lambda run: None,
            ["--epochs", "1", "--resume"],
            "error: {run} has finished 2 epochs, more than --epochs 1; pass --epochs above 2 to train it on",
        ),
    ],
    ids=["no checkpoints", "no config", "empty config", "damaged history", "other method", "fewer epochs"],
)
def test_a_damaged_run_folder_is_refused_in_one_line_and_left_as_it_was(
    finished_run, tmp_path, capsys, damage, args, message
):
    run = copied(finished_run, tmp_path)
    damage(run)
    before = snapshot(run)
    capsys.readouterr()
    assert train(*SHORT, *args, "--output", str(run)) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(message.format(run=run))
    assert snapshot(run) == before


def test_a_folder_that_is_not_a_run_is_never_trained_into(tmp_path, capsys):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("precious")
    (tmp_path / "afile").write_text("precious")
    assert train(*SHORT, "--epochs", "1", "--output", str(tmp_path / "mine")) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {tmp_path / 'mine'} is not empty (notes.txt); pass --output with a new or empty folder"
    )
    assert train(*SHORT, "--epochs", "1", "--output", str(tmp_path / "afile" / "run")) == 2
    assert (
        capsys.readouterr().err.strip().startswith(f"error: cannot make the run folder {tmp_path / 'afile' / 'run'} (")
    )
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["afile", "mine", "notes.txt"]


def test_a_resume_that_changes_the_networks_names_the_changed_options(finished_run, tmp_path, capsys):
    run = copied(finished_run, tmp_path)
    before = snapshot(run)
    capsys.readouterr()
    assert train(*SHORT, "--epochs", "3", "--latent-dim", "50", "--resume", "--output", str(run)) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"error: {run}/checkpoints/latest.npz: ")
    assert error.endswith(
        "resume with the same config that wrote it "
        "(this command changes latent_dim: 100 in the run's config.yaml, 50 now)"
    )
    assert snapshot(run) == before


def test_a_refused_resume_leaves_config_yaml_as_it_was(tmp_path, capsys):
    run = tmp_path / "run"
    sgan = ["--method", "sgan", "--data", "digits", "--batch-size", "16", "--steps-per-epoch", "1"]
    assert train(*sgan, "--labelled", "50", "--epochs", "1", "--output", str(run)) == 0
    before = (run / "config.yaml").read_text()
    assert train(*sgan, "--labelled", "60", "--epochs", "2", "--resume", "--output", str(run)) == 2
    assert "records other data than this run would train on" in capsys.readouterr().err
    assert (run / "config.yaml").read_text() == before


def test_after_falling_back_from_a_damaged_latest_the_previous_checkpoint_stays_whole(finished_run, tmp_path):
    from keras_gans.checkpoint import read_checkpoint

    run = copied(finished_run, tmp_path)
    checkpoints = run / "checkpoints"
    whole_previous = (checkpoints / "previous.npz").read_bytes()
    (checkpoints / "latest.npz").write_bytes((checkpoints / "latest.npz").read_bytes()[:5000])
    assert train(*SHORT, "--epochs", "2", "--resume", "--output", str(run)) == 0  # trains epoch 2 again
    assert (checkpoints / "previous.npz").read_bytes() == whole_previous
    assert int(read_checkpoint(checkpoints / "latest.npz")["epoch"]) == 2
    assert (checkpoints / "latest.npz.damaged").stat().st_size == 5000
