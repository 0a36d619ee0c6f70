"""The command line as a user meets it: a run folder with everything in it, a SavedModel that
loads with TensorFlow alone, resume after SIGKILL, and one-line errors for bad input."""

import csv
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from helpers import ROOT, run_cli
QUICK = ["--epochs", "2", "--steps-per-epoch", "3", "--batch-size", "16"]


def history_epochs(run):
    with open(run / "history.csv") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


ARTIFACTS = ("config.yaml", "history.csv", "samples/epoch_0001.png", "samples/epoch_0002.png",
             "plots/losses.png", "plots/scores.png", "checkpoints/latest.npz",
             "export/generator/saved_model.pb")


def assert_complete_run(run, method):
    for path in ARTIFACTS:
        assert (run / path).exists(), path
    assert any((run / "logs").rglob("events.out.tfevents*"))
    assert history_epochs(run) == [1, 2]
    assert f"method: {method}" in (run / "config.yaml").read_text()


@pytest.fixture(scope="module")
def dcgan_run(tmp_path_factory):
    """One real `python train.py` run, shared by the tests that read its folder."""
    run = tmp_path_factory.mktemp("cli") / "run"
    result = run_cli("--data", "digits", *QUICK, "--output", str(run))
    assert result.returncode == 0, result.stderr[-2000:]
    return run


def test_train_py_writes_every_artifact(dcgan_run):
    assert_complete_run(dcgan_run, "dcgan")


@pytest.mark.parametrize("method", ["gan", "lsgan"])
def test_other_methods_run_through_the_cli(tmp_path, method):
    from keras_gans.cli import train_main

    run = tmp_path / "run"
    assert train_main(["--method", method, "--data", "digits", *QUICK, "--output", str(run)]) == 0
    assert_complete_run(run, method)


def test_saved_model_runs_in_a_process_that_imports_only_tensorflow(dcgan_run, tmp_path):
    script = textwrap.dedent(f"""
        import sys, tensorflow as tf
        model = tf.saved_model.load({str(dcgan_run / 'export' / 'generator')!r})
        out = model.signatures["serving_default"](z=tf.random.normal((5, 100)))["images"]
        assert out.dtype == tf.uint8 and tuple(out.shape) == (5, 28, 28, 1), out
        assert not any(name.startswith("keras_gans") for name in sys.modules)
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.stdout.strip().endswith("ok"), result.stderr[-2000:]


def test_generate_writes_a_grid(dcgan_run, tmp_path):
    from PIL import Image

    from keras_gans.cli import main

    assert main(["generate", "--model", str(dcgan_run), "-n", "10",
                 "--out", str(tmp_path / "g.png")]) == 0
    assert Image.open(tmp_path / "g.png").size == (4 * 29 - 1, 3 * 29 - 1)


def test_killed_run_resumes_where_it_stopped(tmp_path):
    """SIGKILL mid-training, then the same command with --resume: it says so, keeps the
    optimizer iteration counts going and ends with every epoch in history.csv."""
    run = tmp_path / "run"
    args = ["--data", "digits", "--epochs", "8", "--steps-per-epoch", "10", "--batch-size", "16",
            "--output", str(run)]
    process = subprocess.Popen([sys.executable, str(ROOT / "train.py"), *args],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and not (run / "samples" / "epoch_0002.png").exists():
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert (run / "checkpoints" / "latest.npz").exists(), "no checkpoint before the kill"
    import numpy as np

    with np.load(run / "checkpoints" / "latest.npz") as state:
        done = int(state["epoch"])
    assert 1 <= done < 8, "the kill came too late to test a resume"

    repeat = run_cli(*args)
    assert repeat.returncode == 2 and "--resume" in repeat.stderr  # nothing overwritten

    result = run_cli(*args, "--resume")
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"resumed {run} after epoch {done}" in result.stdout
    assert history_epochs(run) == list(range(1, 9))
    with np.load(run / "checkpoints" / "latest.npz") as state:
        assert int(state["epoch"]) == 8
        # each optimizer's first variable is its iteration count: 8 epochs x 10 steps
        assert int(state["g_optimizer/00000"]) == 80 and int(state["d_optimizer/00000"]) == 80
    assert (run / "export" / "generator" / "saved_model.pb").exists()


BAD_INPUTS = [
    (["--method", "nope"], "unknown method 'nope'"),
    (["--data", "nope"], "nope"),
    (["--data", "folder:/does/not/exist"], "does not exist"),
    (["--image-size", "30"], "image size 30"),
    (["--resume", "--output", "{tmp}/nothing"], "no run to resume"),
    (["--config", "{tmp}/bad_key.yaml"], "unknown config key 'learning_rate'"),
    (["--config", "{tmp}/bad_type.yaml"], "config key 'epochs' must be int"),
    (["--config", "{tmp}/missing.yaml"], "does not exist"),
    (["--config", "{tmp}/no_generator_steps.yaml"], "g_steps) must be at least 1"),
    (["--method", "dcgan", "--lambda-cycle", "5"],
     "config key 'lambda_cycle' does not apply to method 'dcgan'"),
    (["--data", "folder:{tmp}/empty"], "no"),
    (["--data", "folder:{tmp}/corrupt"], "no"),
    (["generate", "--model", "{tmp}", "-n", "4"], "neither a SavedModel nor a run folder"),
]


@pytest.fixture
def bad_input_folder(tmp_path):
    (tmp_path / "bad_key.yaml").write_text("method: dcgan\nlearning_rate: 0.1\n")
    (tmp_path / "bad_type.yaml").write_text("method: dcgan\nepochs: many\n")
    (tmp_path / "no_generator_steps.yaml").write_text("method: dcgan\ng_steps: 0\n")
    (tmp_path / "empty").mkdir()
    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt" / "a.png").write_bytes(b"not a png")
    (tmp_path / "keep.txt").write_text("precious")
    return tmp_path


def _arguments(args, folder):
    args = [a.format(tmp=folder) for a in args]
    return args if args[0] == "generate" else ["train", *args, *QUICK]


@pytest.mark.parametrize("args, message", BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_bad_input_gets_one_line_and_status_2(bad_input_folder, args, message, capsys,
                                              monkeypatch):
    from keras_gans.cli import main

    monkeypatch.chdir(bad_input_folder)
    assert main(_arguments(args, bad_input_folder)) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert (bad_input_folder / "keep.txt").read_text() == "precious"
    assert not (bad_input_folder / "runs").exists()


@pytest.mark.parametrize("args", [["--method", "nope"], ["--data", "folder:{tmp}/corrupt"]])
def test_bad_input_from_a_shell_shows_no_traceback(bad_input_folder, args):
    """In a real process: exit status 2 and exactly one line, TensorFlow's start-up noise included."""
    result = run_cli(*[a.format(tmp=bad_input_folder) for a in args], *QUICK, cwd=bad_input_folder)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-2000:]
