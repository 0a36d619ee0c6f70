"""--strategy multiworker for real: two worker processes on 127.0.0.1, each with its TF_CONFIG, train
as one process does on the same global batches; only the chief writes the run folder; a worker
killed mid-run goes on from the last checkpoint once both are restarted with --resume. A TF_CONFIG
it cannot use is one line and exit status 2, before anything is written."""

import contextlib
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from helpers import ROOT

# Each worker pays TensorFlow's start-up and the first step's tracing (about 15 s of CPU here), so
# the networks are tiny and an epoch is two steps.
SMALL = "--method dcgan --image-size 16 --g-filters 8 --d-filters 8 --batch-size 16 --steps-per-epoch 2".split()
TIMEOUT = 300  # seconds a worker pair may take, on a loaded machine


def free_ports(count):
    """Ports nothing listens on now, held open together so that they differ."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


def tf_config(addresses, index):
    return json.dumps({"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}})


class Workers:
    """A two-worker cluster on 127.0.0.1: `python train.py ARGS --strategy multiworker` in two
    processes started together, each with its TF_CONFIG, its own TMPDIR (where a worker other than
    the chief keeps its files) and its output in files. `outputs[i]` is worker i's `--output`."""

    def __init__(self, folder):
        self.folder = folder
        self.processes = []

    def start(self, args, outputs):
        self.folder.mkdir(exist_ok=True)
        addresses = [f"127.0.0.1:{port}" for port in free_ports(2)]
        for index, output in enumerate(outputs):
            scratch = self.folder / f"tmp{index}"
            scratch.mkdir(exist_ok=True)
            command = [sys.executable, str(ROOT / "train.py"), *args, "--strategy", "multiworker", "--output", output]
            env = {**os.environ, "TF_CONFIG": tf_config(addresses, index), "TMPDIR": str(scratch)}
            log = self.folder / f"worker{index}"
            with open(f"{log}.out", "w") as out, open(f"{log}.err", "w") as err:
                self.processes.append(subprocess.Popen(command, env=env, stdout=out, stderr=err))

    def output(self, index):
        return (self.folder / f"worker{index}.out").read_text(), (self.folder / f"worker{index}.err").read_text()

    def wait(self, timeout=TIMEOUT):
        """The exit statuses, once both have ended."""
        deadline = time.monotonic() + timeout
        return [process.wait(timeout=max(1, deadline - time.monotonic())) for process in self.processes]

    def assert_succeeded(self):
        for index, status in enumerate(self.wait()):
            assert status == 0, f"worker {index} ended with {status}: {self.output(index)[1][-3000:]}"

    def kill(self):
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait()


@contextlib.contextmanager
def workers(folder, args, outputs):
    pair = Workers(folder)
    try:
        pair.start(args, outputs)
        yield pair
    finally:
        pair.kill()


def assert_same_training(a, b):
    """Two training states: equal counters, and every float array within 1e-4 of its largest value.

    Not bit-identical: one process sums the gradients of a batch in one order, two workers sum
    each half and then the halves. Measured here: at most 1e-5 of an array's scale after six
    steps, while a replica drawing its peer's noise is off by more than the scale (a bias before
    BatchNorm, which Adam moves by the learning rate whatever the sign of a tiny gradient).
    """
    with np.load(a) as x, np.load(b) as y:
        assert sorted(x.files) == sorted(y.files)
        worst = {}
        for key in x.files:
            if key == "checksum":  # of the bytes, which differ in the last bits
                continue
            if x[key].dtype.kind != "f":
                assert np.array_equal(x[key], y[key]), key
                continue
            scale = max(float(np.max(np.abs(x[key]))), 1e-12)
            worst[key] = float(np.max(np.abs(x[key] - y[key]))) / scale
    key = max(worst, key=worst.get)
    assert worst[key] < 1e-4, f"{key} differs by {worst[key]:.2g} of its scale"


def worker_folders(tmp):
    return [p.name for p in tmp.iterdir() if p.name.startswith("keras-gans-worker-")]


def run_files(run):
    """The files of a run folder, TensorBoard's (named by host and process) by their folder only."""
    return sorted(str(p.relative_to(run).parent if "logs" in p.parts else p.relative_to(run)) for p in run.rglob("*"))


def test_two_workers_train_as_one_process_does_and_only_the_chief_writes(tmp_path):
    from keras_gans.cli import main

    run, reference = tmp_path / "run", tmp_path / "reference"
    args = [*SMALL, "--data", "digits", "--epochs", "1"]
    with workers(tmp_path, args, [str(run), str(run)]) as pair:
        # One process on the same global batches, meanwhile. `cpu` (OneDeviceStrategy) because fit
        # reads a tf.data pipeline through a strategy one shuffle order later than without one.
        assert main(["train", *args, "--strategy", "cpu", "--output", str(reference)]) == 0
        pair.assert_succeeded()
    chief, worker = pair.output(0)[0], pair.output(1)[0]
    assert "MultiWorkerMirroredStrategy over 2 replicas, here worker 0" in chief, chief
    assert_same_training(run / "checkpoints" / "latest.npz", reference / "checkpoints" / "latest.npz")

    # The chief's run folder is what one process writes, and nothing else.
    assert run_files(run) == run_files(reference)
    assert (run / "export" / "generator" / "saved_model.pb").exists()
    # The other worker wrote the same files into a folder of its own, and removed it.
    scratch = worker.split("this worker's files go to ")[1].split(",")[0]
    assert scratch.startswith(str(tmp_path / "tmp1")), worker
    assert f"exported {scratch}/export/generator" in worker
    assert not worker_folders(tmp_path / "tmp1") and not worker_folders(tmp_path / "tmp0")


@pytest.mark.slow
def test_a_killed_worker_goes_on_from_the_last_checkpoint_when_both_restart(tmp_path, tfds_data_dir):
    """Worker 1 is killed in the second of three epochs; worker 0 then fails (TensorFlow's
    UnavailableError) or, if slower to notice, is stopped. Both restarted with --resume go on
    after epoch 1 and end with the very weights of an uninterrupted pair: the checkpoint holds the
    whole state, the data moves on as on one process (test_faults.py), and two workers sum
    gradients in a fixed order. On MNIST from TFDS: data in files, which TensorFlow would share
    out among the workers by file."""
    run, uninterrupted = tmp_path / "run", tmp_path / "uninterrupted"
    args = [*SMALL, "--data", "mnist", "--epochs", "3"]
    with workers(tmp_path / "a", args, [str(uninterrupted)] * 2) as whole:
        with workers(tmp_path / "b", args, [str(run)] * 2) as killed:
            deadline = time.monotonic() + TIMEOUT
            while not (run / "checkpoints" / "latest.npz").exists():
                assert killed.processes[1].poll() is None, killed.output(1)[1][-3000:]
                assert time.monotonic() < deadline, "no checkpoint in time"
                time.sleep(0.2)
            killed.processes[1].send_signal(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                killed.processes[0].wait(timeout=30)  # it may wait for its peer longer
        whole.assert_succeeded()
    with np.load(run / "checkpoints" / "latest.npz") as state:
        assert int(state["epoch"]) == 1
    # The killed worker's folder stays in its TMPDIR: nothing removes what a SIGKILL interrupts.
    assert len(worker_folders(tmp_path / "b" / "tmp1")) == 1

    # A worker that would resume from another checkpoint (a folder of its own) is refused, on both.
    stale = tmp_path / "stale"
    (stale / "checkpoints").mkdir(parents=True)
    (stale / "config.yaml").write_bytes((run / "config.yaml").read_bytes())
    with workers(tmp_path / "c", [*args, "--resume"], [str(run), str(stale)]) as refused:
        for index, status in enumerate(refused.wait()):
            lines = refused.output(index)[1].strip().splitlines()
            assert status == 2 and len(lines) == 1, lines[-20:]
            assert lines[0].startswith("error: the workers differ in their command, data or checkpoint"), lines

    with workers(tmp_path / "d", [*args, "--resume"], [str(run)] * 2) as resumed:
        resumed.assert_succeeded()
    assert f"resumed {run} after epoch 1 of 3" in resumed.output(0)[0]
    with open(run / "history.csv") as f:
        assert [int(row["epoch"]) for row in csv.DictReader(f)] == [1, 2, 3]
    for name in ("latest.npz", "previous.npz"):
        with np.load(run / "checkpoints" / name) as x, np.load(uninterrupted / "checkpoints" / name) as y:
            different = [key for key in x.files if not np.array_equal(x[key], y[key])]
        assert not different, f"{name}: {len(different)} arrays differ, first {different[:3]}"


# TF_CONFIG values a worker cannot join a cluster with; None: unset.
ADDRESSES = ["127.0.0.1:2222", "127.0.0.1:2223"]
BAD_TF_CONFIGS = [
    (None, "TF_CONFIG is not set, so there is no cluster to join; set on each machine TF_CONFIG="),
    ("{'cluster': {}}", "TF_CONFIG is not JSON (Expecting property name enclosed in double quotes"),
    ('{"task": {"type": "worker", "index": 0}}', 'TF_CONFIG has no "cluster" mapping jobs to'),
    (
        '{"cluster": {"ps": ["127.0.0.1:2222"]}}',
        "TF_CONFIG's cluster has a 'ps' job; multiworker training uses only 'worker' and 'chief' jobs",
    ),
    ('{"cluster": {"worker": "127.0.0.1:2222"}}', "TF_CONFIG's 'worker' job is not a list of host:port"),
    (tf_config(["127.0.0.1", "127.0.0.1:2223"], 0), "TF_CONFIG's worker address '127.0.0.1' is not host:port"),
    (tf_config(["127.0.0.1:2222", "127.0.0.1:70000"], 0), "TF_CONFIG's worker address '127.0.0.1:70000' is not"),
    (tf_config(["127.0.0.1:2222", "127.0.0.1:2222"], 0), "TF_CONFIG's cluster names an address twice"),
    (json.dumps({"cluster": {"worker": ADDRESSES}}), 'TF_CONFIG has no "task" with a "type" and an "index"'),
    (tf_config(ADDRESSES, 2), "TF_CONFIG's task index 2 is not one of its worker job's 0 to 1"),
    (tf_config(ADDRESSES, "1"), "TF_CONFIG's task index '1' is not one of its worker job's 0 to 1"),
    (
        json.dumps({"cluster": {"worker": ADDRESSES}, "task": {"type": "chief", "index": 0}}),
        "TF_CONFIG's task type 'chief' is not a job of its cluster (worker)",
    ),
    (
        json.dumps({"cluster": {"chief": ADDRESSES, "worker": ["127.0.0.1:2224"]}, "task": {"type": "chief"}}),
        "TF_CONFIG names 2 chiefs, and there can be one",
    ),
]


@pytest.mark.parametrize("value, message", BAD_TF_CONFIGS, ids=[m.split(";")[0] for _, m in BAD_TF_CONFIGS])
def test_a_tf_config_it_cannot_use_is_one_line_and_touches_nothing(tmp_path, monkeypatch, capsys, value, message):
    from keras_gans.cli import main

    def joins(*args, **kwargs):  # what a check letting it through would do: wait for peers, or train alone
        raise AssertionError("a cluster was joined with a TF_CONFIG that should have been refused")

    monkeypatch.setattr(tf.distribute, "MultiWorkerMirroredStrategy", joins)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    if value is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", value)
    monkeypatch.chdir(tmp_path)
    assert main(["train", *SMALL, "--data", "digits", "--strategy", "multiworker", "--output", "run"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --strategy multiworker: {message}"), lines
    assert not list(tmp_path.iterdir())


def test_multiworker_after_other_tensorflow_work_is_one_line(tmp_path, monkeypatch, capsys):
    """Its collective ops are configured as TensorFlow starts: in a process (this one) whose
    TensorFlow has run already, the strategy cannot be made, and the user is told to start a
    process of its own rather than shown TensorFlow's RuntimeError."""
    from keras_gans.cli import main

    tf.config.list_logical_devices()  # TensorFlow has started, as after any other work
    monkeypatch.setenv("TF_CONFIG", tf_config(ADDRESSES, 0))
    monkeypatch.chdir(tmp_path)
    assert main(["train", *SMALL, "--data", "digits", "--strategy", "multiworker", "--output", "run"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        "error: --strategy multiworker must be the process's first TensorFlow work (Collective ops must be "
        "configured at program startup); start it in a process of its own, e.g. python train.py --strategy "
        "multiworker"
    ]
    assert not list(tmp_path.iterdir())
