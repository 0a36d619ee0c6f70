"""benchmarks/compare.py's --smoke run, so the comparison cannot rot: a worker of each kind (this
library on the real pipeline, the keras.io step, PyTorch) starts, trains, counts its FLOPs and
reports, and PyTorch, hidden, must be reported as "not installed". The recipe case, left out of
that run to keep it short (every worker loads TensorFlow anew), is built and counted in this
process. No timing is asserted: the figures depend on the machine and its load."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def test_compare_smoke_runs_without_torch(tmp_path):
    hidden = tmp_path / "no_torch"
    hidden.mkdir()
    (hidden / "torch.py").write_text('raise ImportError("hidden by the smoke test")\n')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(hidden), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "compare.py"),
            "--smoke",
            "--peers",
            "ours-real,torch,keras-onednn,ours-bf16,keras-bf16",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    rows = {row.split(" | ")[1]: row for row in done.stdout.splitlines() if row.startswith("| mnist28 |")}
    by_case = {re.search(r"\[`(.*)`\]", label).group(1): row for label, row in rows.items()}
    assert set(by_case) == {"ours-real", "torch", "keras-onednn", "ours-bf16", "keras-bf16"}
    assert "not installed" in by_case["torch"]
    number = r"\d+\.\d+"
    for case in ("ours-real", "keras-onednn", "ours-bf16", "keras-bf16"):
        cells = by_case[case].strip("| ").split(" | ")
        images, ratio, flops, achieved, share = cells[3:8]
        assert re.fullmatch(number, images) and re.fullmatch(number, ratio), by_case[case]
        assert float(flops) > 0 and float(achieved) > 0 and share.endswith("%"), by_case[case]
    assert "digits (library loader)" in by_case["ours-real"]
    # Each precision's only peer is its fastest: a bfloat16 row is compared with bfloat16 peers alone.
    assert float(by_case["keras-onednn"].split(" | ")[4]) == 1.0
    assert float(by_case["keras-bf16"].split(" | ")[4]) == 1.0
    # The FLOPs counted from the traced graph agree with the count from the layers' shapes.
    counted = re.search(r"`mnist28` `ours-real`: forward MFLOP per image, counted: (.*)\.", done.stdout).group(1)
    for network, traced, analytic in re.findall(r"(\w+) ([\d.]+) \(per-layer count ([\d.]+)\)", counted):
        assert traced == analytic, counted
    for precision in ("float32", "bfloat16"):
        assert re.search(rf"{precision} matmul .* peak \d+\.\d GFLOP/s", done.stdout)


def test_compare_recipe_case_builds_and_counts():
    import compare
    import compare_keras

    workload = {**compare.WORKLOADS["mnist28"], "batch": 4}
    spec = dict(impl="ours", settings="recipe", data="synthetic", precision="float32")
    runner = compare_keras.build_runner(spec, workload)
    assert runner.model.num_classes == 40 and runner.model.mode_seeking == 0.02  # the dcgan_mnist recipe's
    for network, (traced, analytic) in runner.forward_flops().items():
        assert traced == analytic > 0, network
    # One step: D on the real and the fake batch, then G through D; more than the forward passes alone.
    generator, discriminator = (analytic for _, analytic in runner.forward_flops().values())
    assert runner.step_flops() / runner.images_per_step > 3 * generator + 3 * discriminator


def test_flops_count_what_a_call_runs_not_what_it_traced():
    """A convolution whose result nothing reads, and a tape's gradient nobody asks for, are traced
    but pruned before the graph runs: they are not counted."""
    import tensorflow as tf
    from compare_keras import counted_flops

    kernel = tf.ones((3, 3, 1, 2))
    one_convolution = 2 * (8 * 8 * 2) * 3 * 3 * 1

    def step(images):
        with tf.GradientTape() as tape:
            tape.watch(images)
            unread = tf.nn.conv2d(images, kernel, 1, "SAME")
            scores = tf.nn.conv2d(images, kernel, 1, "SAME")
        tape.gradient(unread, images)  # traced, never read
        return scores

    assert counted_flops(step, tf.TensorSpec((1, 8, 8, 1))) == one_convolution


def test_flops_count_a_loop_inside_a_loop_once_per_call_site():
    import tensorflow as tf
    from compare_keras import counted_flops

    def nested(matrix):
        def outer(i, x):
            inner = tf.while_loop(lambda j, y: j < 2, lambda j, y: (j + 1, tf.matmul(y, y)), (0, x))[1]
            return i + 1, inner

        return tf.while_loop(lambda i, x: i < 3, outer, (0, matrix))[1]

    assert counted_flops(nested, tf.TensorSpec((4, 4))) == 2 * 4 * 4 * 4
