"""The command line's help and `--set`: help without TensorFlow (from keras_gans/cli_flags.json,
which must match the declarations), every method and data source listed, each flag's default and
the values a recipe applies; any config key settable with --set and checked like a recipe's; and
what `keras-gans` with no command prints."""

import os
import re
import subprocess
import sys
import textwrap

import pytest
from helpers import ROOT
from test_cli import help_entries

from keras_gans import cli
from keras_gans import config as config_lib


@pytest.fixture(autouse=True)
def fixed_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")


def train_help(capsys, *args):
    with pytest.raises(SystemExit) as exit_status:
        cli.main(["train", *args, "--help"])
    assert exit_status.value.code == 0
    return capsys.readouterr().out


def section(text, title):
    """The lines of a help text's description under `title`, up to the next blank line."""
    lines = text.split(title + "\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in lines.splitlines() if line.startswith("  ") and not line.startswith("   ")]


def test_the_shipped_flags_are_those_declared():
    """--help reads methods and data from keras_gans/cli_flags.json: it must say what the code declares."""
    shipped = (ROOT / "keras_gans" / cli.FLAGS_FILE).read_text()
    assert shipped == cli.render_catalog(cli.catalog()), (
        f"keras_gans/{cli.FLAGS_FILE} differs from the declared options and data; regenerate it: {cli.WRITE_FLAGS}"
    )


def test_help_imports_no_tensorflow():
    """Every help, and no command, through each entry point, in a fresh process: no TensorFlow, Keras or NumPy."""
    script = textwrap.dedent(
        """
        import runpy, sys
        calls = [
            ("train.py", ["--help"]),
            ("train.py", ["--method", "cyclegan", "--data", "digits2digits-m", "--help"]),
            ("train.py", ["--config", "cyclegan_emoji", "-h"]),
            ("train.py", ["--set", "method=sgan", "--set", "labelled=100", "--help"]),
            ("-m", ["--help"]),
            ("-m", []),
            ("-m", ["train", "--method", "wgan-gp", "--help"]),
            ("-m", ["generate", "--help"]),
            ("-m", ["evaluate", "--help"]),
            ("-m", ["translate", "--help"]),
        ]
        for entry, args in calls:
            sys.argv = [entry, *args]
            try:
                if entry == "-m":
                    runpy.run_module("keras_gans", run_name="__main__", alter_sys=True)
                else:
                    runpy.run_path(entry, run_name="__main__")
            except SystemExit as exit:
                assert exit.code in (0, 2), (args, exit.code)
        print("LOADED", sorted(name for name in ("tensorflow", "keras", "numpy") if name in sys.modules))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("usage: ") == 10
    assert result.stdout.strip().splitlines()[-1] == "LOADED []"


def test_help_from_the_shipped_flags_is_the_help_from_the_declarations(capsys, monkeypatch):
    args = ["--method", "cyclegan", "--data", "digits2digits-m"]
    fast = train_help(capsys, *args)
    monkeypatch.setattr(cli, "shipped_catalog", lambda: None)  # train's --help then comes from the declarations
    assert train_help(capsys, *args) == fast


def test_help_lists_every_method_and_data_source(capsys):
    from keras_gans.data.sources import dataset_names
    from keras_gans.methods import METHODS

    out = train_help(capsys)
    assert section(out, "Train a GAN. Methods (--method NAME --help lists its options):") == list(METHODS)
    data = section(out, "Data (--data NAME):")
    assert data[: len(dataset_names())] == dataset_names()
    assert {"horse2zebra", "digits-m", "digits2digits-m", "A,B", "tfds:NAME", "folder:PATH"} <= set(data)


def test_every_flag_shows_its_default(capsys):
    entries = help_entries(train_help(capsys, "--method", "sgan"))
    without = [flag for flag, text in entries.items() if "(default" not in text]
    assert without == ["-h", "--resume", "--verbose", "--set"]  # switches, and --set with no default of its own
    assert "(default 0.0002;" in entries["--g-lr"] and "(default all;" in entries["--labelled"]
    for command, flag, default in (("generate", "-n", 64), ("evaluate", "-n", 2000), ("translate", "--batch-size", 32)):
        with pytest.raises(SystemExit):
            cli.main([command, "--help"])
        out = capsys.readouterr().out
        assert out.startswith(f"usage: keras-gans {command} [-h]") and f"(default {default})" in help_entries(out)[flag]


@pytest.mark.parametrize(
    "args",
    [
        ["--method", "cyclegan", "--data", "digits2digits-m"],
        ["--method", "sgan", "--data", "mnist2svhn"],
        ["--method", "wgan-gp", "--data", "mnist"],
        ["--config", "cyclegan_emoji"],
        ["--set", "method=dcgan", "--set", "data=digits"],
    ],
)
def test_help_shows_the_values_the_recipe_applies(args, capsys):
    """Each `[recipe: X]` is the value training would take, and only those the recipe sets differ."""
    entries = help_entries(train_help(capsys, *args))
    shown = {
        flag.removeprefix("--").replace("-", "_"): re.search(r"\[recipe: (.*)\]", text).group(1)
        for flag, text in entries.items()
        if "[recipe:" in text
    }
    given = dict(zip(args[::2], args[1::2]))
    overrides = {"method": given.get("--method"), "data": given.get("--data")}
    if "--set" in given:
        overrides = {"method": "dcgan", "data": "digits"}
    config = config_lib.resolve(overrides, config_file_name=given.get("--config")).to_dict()
    assert shown and all(str(config[key]) == value for key, value in shown.items()), shown
    defaults = config_lib.from_values({"method": config["method"]}).to_dict()
    assert {key for key in config if key not in ("method", "data") and config[key] != defaults[key]} <= set(shown)


def test_cyclegan_digits_help_shows_the_recipes_weights_beside_the_papers(capsys):
    out = train_help(capsys, "--method", "cyclegan", "--data", "digits2digits-m")
    assert "Recipe: cyclegan_digits, cyclegan's for --data digits2digits-m" in " ".join(out.split())
    entries = help_entries(out)
    assert "(default 10.0; Zhu et al. 2017) [recipe: 3.0]" in entries["--lambda-cycle"]
    assert "(default 0.5; Zhu et al. 2017) [recipe: 0.0]" in entries["--lambda-identity"]
    assert "[recipe: 5.0]" in entries["--lambda-edges"]
    assert "[recipe:" not in entries["--pool-size"]


def test_help_says_when_no_recipe_applies(capsys):
    out = train_help(capsys, "--method", "wgan-gp", "--data", "digits")
    assert "Recipe: wgan-gp has no shipped recipe for --data digits; the defaults apply." in " ".join(out.split())
    assert "[recipe:" not in out


# --- --set KEY=VALUE ----------------------------------------------------------------------------


@pytest.fixture
def captured_train(monkeypatch, tmp_path):
    """Runs the train command up to `run.train`, and returns the configs it would train."""
    from keras_gans import run

    monkeypatch.chdir(tmp_path)
    configs = []
    monkeypatch.setattr(run, "train", lambda config, resume=False: configs.append(config))
    return configs


def test_set_reaches_the_config_over_the_recipe(captured_train):
    assert (
        cli.main(
            [
                "train",
                "--set",
                "method=cyclegan",
                "--data",
                "digits2digits-m",
                "--set",
                "lambda_cycle=4",
                "--set",
                "g_lr=1e-4",
                "--set",
                "augment=jitter",
                "--set",
                "epochs=null",
                "--set",
                "style_dim=2",
                "--set",
                "style_dim=3",
            ]
        )
        == 0
    )
    (config,) = captured_train
    assert (config.method, config.augment, config.epochs, config.batch_size) == ("cyclegan", "jitter", 10, 8)
    assert (config.options.lambda_cycle, config.options.g_lr, config.options.style_dim) == (4.0, 1e-4, 3)
    assert config.options.lambda_edges == 5.0  # the recipe's, untouched


def test_set_is_the_same_as_the_flag(captured_train):
    base = ["train", "--method", "wgan-gp", "--data", "mnist"]
    assert cli.main([*base, "--d-steps", "3", "--no-xla", "--seed", "7"]) == 0
    assert cli.main([*base, "--set", "d_steps=3", "--set", "xla=false", "--set", "seed=7"]) == 0
    flags, set_ = captured_train
    assert flags == set_


SET_ERRORS = [
    (["--set", "nope=1"], "error: unknown config key 'nope' in --set; known keys: method, data, "),
    (["--set", "g_lrr=0.1"], "error: unknown config key 'g_lrr' in --set; did you mean 'g_lr'?"),
    (
        ["--method", "dcgan", "--set", "lambda_cycle=5"],
        "error: config key 'lambda_cycle' does not apply to method 'dcgan' (it is cyclegan's); remove it",
    ),
    (["--set", "g_steps=0"], "error: config key 'g_steps' must be at least 1, got 0"),
    (["--set", "seed=many"], "error: config key 'seed' must be int, got 'many'"),
    (["--set", "strategy=tpu"], "error: config key 'strategy' must be one of auto, mirrored, multiworker, cpu"),
    (["--method", "wgan", "--set", "n_critic=5"], "error: config key 'n_critic' in --set is now called 'd_steps'"),
    (["--set", "method=nope"], "error: unknown method 'nope'; choose one of gan, dcgan,"),
    (["--set", "epochs"], "error: argument --set: expected KEY=VALUE, a config key and its value, got 'epochs'"),
    (["--set", "epochs=[1"], "error: argument --set: the value of epochs is not YAML (while parsing a flow"),
    (["--epochs", "3", "--set", "epochs=4"], "error: --epochs and --set epochs=... both set epochs; pass one of them"),
]


@pytest.mark.parametrize("args, message", SET_ERRORS, ids=[" ".join(args) for args, _ in SET_ERRORS])
def test_a_bad_set_is_one_line_and_status_2(args, message, captured_train, capsys):
    assert cli.main(["train", *args]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), lines
    assert not captured_train and not os.path.exists("runs")


@pytest.mark.parametrize("key, value", [("lambda_cycle", "5"), ("g_steps", "0"), ("seed", "many"), ("learnrate", "1")])
def test_set_is_refused_as_the_same_key_in_a_recipe(key, value, captured_train, capsys, tmp_path):
    (tmp_path / "recipe.yaml").write_text(f"method: dcgan\n{key}: {value}\n")
    assert cli.main(["train", "--config", str(tmp_path / "recipe.yaml")]) == 2
    from_recipe = capsys.readouterr().err.replace(f" in {tmp_path / 'recipe.yaml'}", "")
    assert cli.main(["train", "--set", f"{key}={value}"]) == 2
    assert capsys.readouterr().err.replace(" in --set", "") == from_recipe


# --- no command -----------------------------------------------------------------------------------


def test_no_command_lists_each_command_with_an_example(capsys):
    assert cli.main([]) == 2
    printed = capsys.readouterr()
    assert printed.err == ""
    for name, _, example in cli.COMMANDS:
        assert re.search(rf"^  {name} +\S", printed.out, re.M), name
        assert f"\n             keras-gans {example}\n" in printed.out
    assert "keras-gans train --method" in printed.out


def test_no_command_from_a_shell_names_how_it_was_called():
    result = subprocess.run([sys.executable, "-m", "keras_gans"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr == ""
    assert "python -m keras_gans generate --model runs/dcgan-mnist -n 64 --out samples.png" in result.stdout
