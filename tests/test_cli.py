"""The command line as a user meets it: a run folder with everything in it, a SavedModel that
loads with TensorFlow alone, resume after SIGKILL, one-line errors for bad input, and train flags
generated from each method's declared options (--help, and a flag of another method refused)."""

import csv
import subprocess
import sys
import textwrap

import pytest
from helpers import run_cli
from PIL import Image

QUICK = ["--epochs", "2", "--steps-per-epoch", "3", "--batch-size", "16"]


def history_epochs(run):
    with open(run / "history.csv") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


ARTIFACTS = (
    "config.yaml",
    "history.csv",
    "samples/epoch_0001.png",
    "samples/epoch_0002.png",
    "plots/losses.png",
    "plots/scores.png",
    "d_outputs/epoch_0001.png",
    "checkpoints/latest.npz",
    "export/generator/saved_model.pb",
)


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


def test_d_steps_from_the_cli_take_that_many_real_batches_per_step(tmp_path):
    """--d-steps 2 --g-steps 3: each of the 3 steps of an epoch updates the critic twice, on its
    own batch of 16 real images, and the generator three times."""
    import numpy as np

    from keras_gans.cli import train_main

    run = tmp_path / "run"
    assert (
        train_main(
            [
                "--method",
                "wgan-gp",
                "--data",
                "digits",
                *QUICK,
                "--d-steps",
                "2",
                "--g-steps",
                "3",
                "--g-filters",
                "8",
                "--d-filters",
                "8",
                "--output",
                str(run),
            ]
        )
        == 0
    )
    assert_complete_run(run, "wgan-gp")
    stored = (run / "config.yaml").read_text()
    assert "d_steps: 2" in stored and "g_steps: 3" in stored and "gp_weight: 10.0" in stored
    with np.load(run / "checkpoints" / "latest.npz") as state:
        # each optimizer's first variable is its iteration count: 2 epochs x 3 steps
        assert int(state["d_optimizer/00000"]) == 2 * 3 * 2
        assert int(state["g_optimizer/00000"]) == 2 * 3 * 3


def test_saved_model_runs_in_a_process_that_imports_only_tensorflow(dcgan_run, tmp_path):
    script = textwrap.dedent(f"""
        import sys, tensorflow as tf
        model = tf.saved_model.load({str(dcgan_run / "export" / "generator")!r})
        out = model.signatures["serving_default"](z=tf.random.normal((5, 100)))["images"]
        assert out.dtype == tf.uint8 and tuple(out.shape) == (5, 28, 28, 1), out
        assert not any(name.startswith("keras_gans") for name in sys.modules)
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.stdout.strip().endswith("ok"), result.stderr[-2000:]


def test_generate_writes_a_grid(dcgan_run, tmp_path):
    from PIL import Image

    from keras_gans.cli import main

    assert main(["generate", "--model", str(dcgan_run), "-n", "10", "--out", str(tmp_path / "g.png")]) == 0
    # 28 px digits upscaled 3 times, as the run's sample grids, with 2 px gutters.
    assert Image.open(tmp_path / "g.png").size == (4 * (84 + 2) - 2, 3 * (84 + 2) - 2)


# Every case names the input at fault and the fix; {tmp} is the test's folder.
BAD_INPUTS = [
    (
        ["--method", "nope"],
        "error: unknown method 'nope'; choose one of gan, dcgan, lsgan, wgan, wgan-gp, cgan, acgan, cyclegan",
    ),
    (["--data", "nope"], "error: unknown dataset 'nope'; use one of digits, digits-m, mnist"),
    (
        ["--data", "folder:/does/not/exist"],
        "error: folder '/does/not/exist' does not exist; pass an existing folder of images",
    ),
    (["--image-size", "30"], "error: image size 30 cannot be built by a stride-2 network; use a size"),
    (
        ["--resume", "--output", "{tmp}/nothing"],
        "error: {tmp}/nothing holds no run to resume; start it without --resume first",
    ),
    (
        ["--config", "{tmp}/bad_key.yaml"],
        "error: unknown config key 'learning_rate' in {tmp}/bad_key.yaml; known keys: method, data",
    ),
    (["--config", "{tmp}/bad_type.yaml"], "error: config key 'seed' must be int, got 'many'"),
    (
        ["--config", "{tmp}/missing.yaml"],
        "error: config file {tmp}/missing.yaml does not exist; pass an existing YAML recipe or a "
        "shipped one (acgan_cifar10, ",
    ),
    (
        ["--config", "no_such_recipe"],
        "error: config file no_such_recipe does not exist; pass an existing YAML recipe or a "
        "shipped one (acgan_cifar10, ",
    ),
    (["--config", "{tmp}/no_generator_steps.yaml"], "error: config key 'g_steps' must be at least 1, got 0"),
    (
        ["--config", "{tmp}/renamed.yaml"],
        "error: config key 'n_critic' in {tmp}/renamed.yaml is now called 'd_steps'; rename it",
    ),
    (
        ["--config", "{tmp}/other_method.yaml"],
        "error: config key 'lambda_cycle' does not apply to method 'dcgan' (it is cyclegan's); remove it",
    ),
    (["--method", "wgan", "--d-steps", "0"], "error: config key 'd_steps' must be at least 1, got 0"),
    (
        ["--method", "dcgan", "--lambda-cycle", "5"],
        "error: --lambda-cycle is an option of cyclegan, sgan, not of dcgan; drop it or pass --method cyclegan",
    ),
    (
        ["--method", "cyclegan", "--gp-weight=10"],
        "error: --gp-weight is an option of gan, dcgan, lsgan, wgan, wgan-gp, cgan, acgan, not of "
        "cyclegan; drop it or pass --method gan",
    ),
    (
        ["--config", "cyclegan_emoji", "--d-steps", "2"],
        "error: --d-steps is an option of gan, dcgan, lsgan, wgan, wgan-gp, cgan, acgan, not of cyclegan",
    ),
    (
        ["--data", "folder:{tmp}/empty"],
        "error: folder '{tmp}/empty' holds no .jpg/.jpeg/.png/.bmp/.gif files; pass a folder of images",
    ),
    (
        ["--data", "folder:{tmp}/corrupt"],
        "error: folder '{tmp}/corrupt' has no readable image (1 files failed); pass a folder of valid images",
    ),
    (
        ["generate", "--model", "{tmp}", "-n", "4"],
        "error: {tmp} is neither a SavedModel nor a run folder with export/generator; pass a finished run folder",
    ),
    (["generate", "--model", "{tmp}", "-n", "0"], "error: -n must be a positive number of samples, got 0"),
    (["--seed", "4294967296"], "error: config key 'seed' must be at most 4294967295, got 4294967296"),
    (["--g-lr", "nan"], "error: config key 'g_lr' must be a finite number, got nan"),
    (["--d-lr", "inf"], "error: config key 'd_lr' must be a finite number, got inf"),
    (["--config", "{tmp}"], "error: config file {tmp} is a folder; pass a YAML recipe file"),
    (["--config", "{tmp}/binary.yaml"], "error: config file {tmp}/binary.yaml is not text; pass a YAML recipe file"),
    (
        ["--output", "{tmp}/keep.txt"],
        "error: output {tmp}/keep.txt is a file, not a folder; pass --output with a folder path",
    ),
    (["--image-size", "10000"], "error: config key 'image_size' must be at most 1024, got 10000"),
    (
        ["--name", "../.."],
        "error: config key 'name' must be one folder name under runs/, got '../..'; use --output for a path",
    ),
    (
        ["--method", "wgan", "--data", "folder:{tmp}/few"],
        "error: dataset 'folder:{tmp}/few' has 20 images, fewer than batch_size 16 x 5 batches per train step; "
        "lower batch_size or add images",
    ),
    (
        ["--data", "folder:{tmp}/tiny"],
        "error: image size 3 cannot be built by a stride-2 network; use a size such as 28, 32, 56, 64 or 128 (a "
        "power of two times 4 or 7) (no --image-size was given, so the images' own size was used)",
    ),
    (
        ["--draw-size", "9"],
        "error: config key 'draw_size' must be 0 or 3, 4, 5 or 7 times 2, 4, 8, ... (6, 8, 10, 12, 14, 16, ...), got 9",
    ),
    (
        ["--draw-size", "28"],
        "error: draw_size 28 (the recipe's or yours) is not smaller than the image size 28; pass --draw-size 0 "
        "(draw_size: 0) to draw at the image size, or a smaller draw size",
    ),
    (
        ["--method", "gan", "--draw-size", "8"],
        "error: draw_size is an option of the dcgan networks; set generator: dcgan or draw_size: 0",
    ),
    (
        ["--resume", "--output", "{tmp}/damaged"],
        "error: no whole checkpoint: {tmp}/damaged/checkpoints/latest.npz is damaged (File is not a zip file); "
        "start the run again in a new folder",
    ),
    (  # other TF_CONFIGs it cannot use: tests/test_multiworker.py
        ["--strategy", "multiworker"],
        "error: --strategy multiworker: TF_CONFIG is not set, so there is no cluster to join; set on each machine "
        "TF_CONFIG='",
    ),
]


@pytest.fixture
def bad_input_folder(tmp_path):
    (tmp_path / "bad_key.yaml").write_text("method: dcgan\nlearning_rate: 0.1\n")
    (tmp_path / "bad_type.yaml").write_text("method: dcgan\nseed: many\n")
    (tmp_path / "no_generator_steps.yaml").write_text("method: dcgan\ng_steps: 0\n")
    (tmp_path / "renamed.yaml").write_text("method: wgan\nn_critic: 5\n")
    (tmp_path / "other_method.yaml").write_text("method: dcgan\nlambda_cycle: 5\n")
    (tmp_path / "empty").mkdir()
    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt" / "a.png").write_bytes(b"not a png")
    (tmp_path / "keep.txt").write_text("precious")
    (tmp_path / "binary.yaml").write_bytes(bytes(range(128, 256)))
    for folder, count, size in (("few", 20, 8), ("tiny", 20, 3)):
        (tmp_path / folder).mkdir()
        for i in range(count):
            Image.new("RGB", (size, size), (i, i, i)).save(tmp_path / folder / f"{i}.png")
    (tmp_path / "damaged" / "checkpoints").mkdir(parents=True)
    (tmp_path / "damaged" / "config.yaml").write_text("method: dcgan\ndata: digits\nepochs: 2\n")
    (tmp_path / "damaged" / "checkpoints" / "latest.npz").write_bytes(b"cut short by a power failure")
    return tmp_path


def _arguments(args, folder):
    args = [a.format(tmp=folder) for a in args]
    return args if args[0] == "generate" else ["train", *args, *QUICK]


@pytest.mark.parametrize("args, message", BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_bad_input_gets_one_line_and_status_2(bad_input_folder, args, message, capsys, monkeypatch):
    from keras_gans.cli import main

    monkeypatch.chdir(bad_input_folder)
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert main(_arguments(args, bad_input_folder)) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message.format(tmp=bad_input_folder)), lines
    assert (bad_input_folder / "keep.txt").read_text() == "precious"
    assert not (bad_input_folder / "runs").exists()
    assert sorted(p.name for p in (bad_input_folder / "damaged").rglob("*")) == [
        "checkpoints",
        "config.yaml",
        "latest.npz",
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--method", "nope"], "error: unknown method 'nope'"),
        (["--data", "folder:{tmp}/corrupt"], "error: folder '{tmp}/corrupt' has no readable image"),
        (
            ["--method", "dcgan", "--lambda-cycle", "5"],
            "error: --lambda-cycle is an option of cyclegan, sgan, not of dcgan",
        ),
    ],
)
def test_bad_input_from_a_shell_shows_no_traceback(bad_input_folder, args, message):
    """In a real process: exit status 2 and exactly one line, TensorFlow's start-up noise included."""
    result = run_cli(*[a.format(tmp=bad_input_folder) for a in args], *QUICK, cwd=bad_input_folder)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message.format(tmp=bad_input_folder)), result.stderr[-2000:]


# --- the train command's flags, generated from the declarations -----------------------------------


def help_entries(text):
    """{flag: its help, on one line} of an argparse --help text."""
    entries, flag = {}, None
    for line in text.splitlines():
        stripped = line.strip()
        if line.startswith("  -"):
            flag = stripped.split()[0].rstrip(",")
            entries[flag] = stripped
        elif flag and line.startswith("    ") and stripped:
            entries[flag] += " " + stripped
        else:
            flag = None
    return entries


def test_wgan_gp_help_from_a_shell_lists_its_options_with_defaults_and_sources():
    result = run_cli("--method", "wgan-gp", "--help")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "options of wgan-gp" in result.stdout
    entries = help_entries(result.stdout)
    assert "(default 5; Arjovsky et al. 2017)" in entries["--d-steps"]
    assert "(default 10.0; Gulrajani et al. 2017)" in entries["--gp-weight"]
    assert "(default 0.0001; Gulrajani et al. 2017)" in entries["--g-lr"]
    assert "(default wasserstein;" in entries["--adversarial-loss"]
    for run_flag in ("--method", "--data", "--epochs", "--batch-size", "--config", "--resume"):
        assert run_flag in entries
    assert "(default 20)" in entries["--epochs"]
    for other in ("--lambda-cycle", "--pool-size", "--class-weight", "--n-critic", "--loss"):
        assert other not in entries


def test_cyclegan_help_lists_its_options_with_defaults(capsys):
    from keras_gans.cli import main

    with pytest.raises(SystemExit) as exit_status:
        main(["train", "--method", "cyclegan", "--help"])
    assert exit_status.value.code == 0
    entries = help_entries(capsys.readouterr().out)
    assert "(default 10.0; Zhu et al. 2017)" in entries["--lambda-cycle"]
    assert "(default 0.5; Zhu et al. 2017)" in entries["--lambda-identity"]
    assert "(default 50;" in entries["--pool-size"]
    for other in ("--d-steps", "--g-steps", "--gp-weight", "--latent-dim"):
        assert other not in entries


@pytest.mark.parametrize(
    "args, method",
    [
        (["--config", "cyclegan_emoji"], "cyclegan"),
        (["--config", "wgan-gp_mnist"], "wgan-gp"),
        ([], "dcgan"),
        (["--config", "cyclegan_emoji", "--method", "acgan"], "acgan"),
    ],
)
def test_help_lists_the_options_of_the_method_named_or_of_the_recipes(args, method, capsys):
    from keras_gans.cli import main

    with pytest.raises(SystemExit) as exit_status:
        main(["train", *args, "--help"])
    assert exit_status.value.code == 0
    out = capsys.readouterr().out
    assert f"options of {method} (" in out
    entries = help_entries(out)
    assert ("--lambda-cycle" in entries) == (method == "cyclegan")
    assert ("--d-steps" in entries) == (method != "cyclegan")
    assert ("--class-weight" in entries) == (method == "acgan")


@pytest.fixture
def captured_train(monkeypatch):
    """Runs the train command up to `run.train`, and returns the configs it would train."""
    from keras_gans import run

    configs = []
    monkeypatch.setattr(run, "train", lambda config, resume=False: configs.append(config))
    return configs


def test_a_recipe_is_found_by_name_and_flags_override_it(captured_train):
    from keras_gans.cli import main

    assert main(["train", "--config", "cyclegan_emoji", "--epochs", "1", "--lambda-cycle", "3"]) == 0
    (config,) = captured_train
    assert (config.method, config.image_size, config.batch_size, config.augment) == ("cyclegan", 32, 16, "jitter")
    assert config.data == "../shared/data/emojis/Apple,../shared/data/emojis/Windows"
    assert config.epochs == 1 and config.options.lambda_cycle == 3.0
    assert config.options.lambda_identity == 0.5


def test_method_flags_reach_the_options(captured_train):
    from keras_gans.cli import main, parse_train_arguments
    from keras_gans.methods import get_method

    args = parse_train_arguments(["--method", "wgan-gp", "--d-steps", "3", "--no-xla"])
    assert (args.method, args.d_steps, args.xla, args.g_steps) == ("wgan-gp", 3, False, None)
    assert (
        main(
            [
                "train",
                "--method",
                "wgan-gp",
                "--data",
                "mnist",
                "--d-steps",
                "3",
                "--g-steps",
                "2",
                "--clip-value",
                "0.1",
                "--xla",
            ]
        )
        == 0
    )
    (config,) = captured_train
    assert type(config.options) is get_method("wgan-gp").options
    assert (config.options.d_steps, config.options.g_steps, config.options.clip_value) == (3, 2, 0.1)
    assert config.options.gp_weight == 10.0 and config.xla is True
    assert config.batch_size == 16 and config.options.g_lr == 2e-4  # the wgan-gp_mnist recipe's


def test_a_recipe_whose_method_is_not_a_name_is_one_line(tmp_path, capsys):
    from keras_gans.cli import main

    (tmp_path / "listed.yaml").write_text("method: [dcgan]\n")
    assert main(["train", "--config", str(tmp_path / "listed.yaml")]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: method must be a name, got ['dcgan']; choose one of gan, dcgan, lsgan, wgan, wgan-gp, cgan, acgan, "
        "cyclegan, sgan"
    )
