"""The command line: `keras-gans train|generate|evaluate|translate`; `python train.py` is `train`.

Only wiring: parse, resolve the config, call keras_gans.run / the SavedModel, report. Bad input
ends in a one-line `error: ...` on stderr and exit status 2; a training that diverged, in one
line and exit status 3.

--help needs no TensorFlow: this module imports it (quietly) only once there is work to do, and
train's --help describes the methods and data from keras_gans/cli_flags.json, which
`python -m keras_gans.cli write-flags` generates from their declarations (a test fails when it is
out of date). Everything else (training, and any help this file cannot give) uses the
declarations themselves, through the same parser.
"""

import argparse
import collections
import importlib.resources
import json
import os
import re
import shutil
import sys
import textwrap
import warnings
from pathlib import Path

import yaml

from keras_gans import _import_tensorflow, _mute_native_stderr, recipes
from keras_gans import config as config_lib
from keras_gans.errors import UsageError
from keras_gans.options import RENAMED, declared, describe

FLAGS_FILE = "cli_flags.json"
WRITE_FLAGS = "python -m keras_gans.cli write-flags"

# Each command, what it does and an example: the overview of --help, and of no command at all.
COMMANDS = (
    ("train", "train a GAN into a run folder; python train.py is the same", "train --method dcgan --data mnist"),
    ("generate", "draw a grid of samples from a run", "generate --model runs/dcgan-mnist -n 64 --out samples.png"),
    ("evaluate", "score samples with two reference classifiers", "evaluate --model runs/dcgan-mnist"),
    (
        "translate",
        "translate images with a CycleGAN run",
        "translate --model runs/cyclegan-digits2digits-m --direction a2b my_digits/ --out translated/",
    ),
)

# The forms of --data beyond the registered names (keras_gans.data.sources resolves them).
DATA_FORMS = {
    "tfds:NAME": "any TFDS image dataset",
    "folder:PATH": "a folder of images, class sub-folders as labels (PATH alone, when it exists)",
    "A,B": "two domains for translation, each a name, tfds:NAME or folder above",
    "ROOT": "a folder holding trainA/ and trainB/: two domains for translation",
}


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (`error: ...`, exit status 2, via
    UsageError), like every other bad input, instead of argparse's usage block."""

    def error(self, message):
        raise UsageError(f"{message}; see {self.prog} --help")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks, and gives every option that takes a value and has a
    default a `(default X)` when its help does not state one."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "(default" in text or action.default in (None, argparse.SUPPRESS) or action.nargs == 0:
            return text
        return f"{text} (default {str(action.default).replace('%', '%%')})"


def _width():
    """The width argparse formats help to."""
    return max(40, shutil.get_terminal_size().columns - 2)


def _table(rows, indent=2, column=None):
    """`name  text` rows, the text wrapped to the terminal under itself."""
    column = column or indent + max(len(name) for name, _ in rows) + 2
    return "\n".join(
        textwrap.fill(
            text,
            _width(),
            initial_indent=f"{' ' * indent}{name:{column - indent}}",
            subsequent_indent=" " * column,
            break_on_hyphens=False,
        )
        for name, text in rows
    )


def _flag(key):
    return "--" + key.replace("_", "-")


def _number_or_word(text):
    """An option that takes a count or a word (`--labelled 100`, `--labelled all`)."""
    return int(text) if text.isdigit() else text


# A number with an exponent and no dot (1e-4), which YAML 1.1 (PyYAML) reads as text and YAML 1.2 as
# a number; --set takes it as the number a user means.
_EXPONENT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def config_setting(text):
    """`--set KEY=VALUE` as (key, value), the value read as YAML."""
    key, equals, value = text.partition("=")
    key = key.strip()
    if not equals or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, a config key and its value, got {text!r}")
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError as error:
        raise argparse.ArgumentTypeError(
            f"the value of {key} is not YAML ({str(error).splitlines()[0]}); quote it"
        ) from None
    if isinstance(parsed, str) and _EXPONENT.fullmatch(parsed.strip()):
        return key, float(parsed)
    return key, parsed


def _add_declared(group, specs, recipe_values=None):
    """One flag per declared field (`options.declared`), typed and with its declared help; a value
    the applied recipe gives the field is appended as `[recipe: VALUE]`."""
    for spec in specs:
        key = spec["key"]
        kinds = [kind for kind in spec["types"] if kind != "null"]
        text = describe(spec)
        if recipe_values and key in recipe_values:
            text += f" [recipe: {recipe_values[key]}]"
        text = text.replace("%", "%%")
        if kinds == ["bool"]:
            group.add_argument(_flag(key), dest=key, action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            choices = spec["choices"]
            group.add_argument(
                _flag(key),
                dest=key,
                type=_number_or_word if kinds == ["int", "str"] else {"int": int, "float": float, "str": str}[kinds[0]],
                default=None,
                choices=choices,
                metavar=None if choices else key.upper(),
                help=text,
            )


def _probe(argv, prog=None):
    """The arguments of a train command that decide its method and recipe; malformed --set pairs
    are left to the train parser, which checks them all afterwards."""
    probe = OneLineParser(prog=prog, add_help=False)
    probe.add_argument("--method")
    probe.add_argument("--config")
    probe.add_argument("--data")
    probe.add_argument("--set", action="append", default=[])
    args, _ = probe.parse_known_args(argv)
    args.set_values = {}
    for text in args.set:
        try:
            key, value = config_setting(text)
        except argparse.ArgumentTypeError:
            continue
        args.set_values[key] = value
    return args


def _method_of(argv, prog=None):
    """The method a train command is about: --method (or --set method=), else its --config's,
    else dcgan."""
    args = _probe(argv, prog)
    if args.method:
        return args.method
    if isinstance(args.set_values.get("method"), str):
        return args.set_values["method"]
    if args.config:
        return config_lib.load_yaml(config_lib.config_file(args.config)).get("method", config_lib.TrainConfig.method)
    return config_lib.TrainConfig.method


def _applied_recipe(argv, method_name):
    """The recipe a train command applies, found as config.resolve finds it: (a sentence saying
    which, its values). The values of a shipped recipe found by method and data leave out those
    two, which the command sets."""
    args = _probe(argv)
    if args.config:
        values = config_lib.load_yaml(config_lib.config_file(args.config))
        return f"Recipe: --config {args.config} sets the values marked [recipe: ...].", values
    data = args.data or args.set_values.get("data") or config_lib.TrainConfig.data
    source = recipes.find(method_name, str(data))
    if source is None:
        return f"Recipe: {method_name} has no shipped recipe for --data {data}; the defaults apply.", {}
    values = {key: value for key, value in config_lib.load_yaml(source).items() if key not in ("method", "data")}
    name = source.name.removesuffix(".yaml")
    return f"Recipe: {name}, {method_name}'s for --data {data}, sets the values marked [recipe: ...].", values


def catalog():
    """What the train command's flags and help say about methods and data, from their
    declarations (this imports TensorFlow): {"methods": {name: {"summary", "options"}}, "data":
    {name: description}}, in the registries' order. keras_gans/cli_flags.json ships it."""
    _import_tensorflow()
    from keras_gans.data import sources
    from keras_gans.methods import METHODS

    data = dict.fromkeys(sources.EMBEDDED, "embedded, no download")
    for name, tfds_name in sources.TFDS_ALIASES.items():
        two = ": two domains, for translation" if tfds_name.startswith("cycle_gan/") else ""
        data[name] = f"TFDS {tfds_name}{two}"
    for name, (a, b) in sources.PAIRS.items():
        data[name] = f"two domains, for translation: {a} (A) and {b} (B)"
    return {
        "about": f"what train --help says of methods and data, without TensorFlow; generated by {WRITE_FLAGS}",
        "methods": {
            name: {"summary": method.summary, "options": declared(method.options)} for name, method in METHODS.items()
        },
        "data": data,
    }


def render_catalog(document):
    return json.dumps(document, indent=1) + "\n"


def declared_catalog():
    """`catalog()` as cli_flags.json holds it (through JSON), so both paths read the same data."""
    return json.loads(render_catalog(catalog()))


def shipped_catalog():
    """keras_gans/cli_flags.json, or None when it is missing or unreadable."""
    try:
        return json.loads((importlib.resources.files("keras_gans") / FLAGS_FILE).read_text())
    except (OSError, ValueError):
        return None


def write_flags():
    path = Path(__file__).with_name(FLAGS_FILE)
    path.write_text(render_catalog(catalog()))
    print(f"wrote {path}")


def _methods_text(methods):
    """Each method, its summary and the data it has shipped recipes for."""
    names = [name.split("_", 1) for name in recipes.names()]
    rows = []
    for name, method in methods.items():
        own = [data for recipe_method, data in names if recipe_method == name]
        rows.append((name, method["summary"] + (f"; recipes: {', '.join(own)}" if own else "")))
    return _table(rows)


def train_parser(method_name, prog="keras-gans train", catalog=None, recipe=None):
    """The train command's parser: the run's options, then `method_name`'s own, as `catalog`
    (`declared_catalog()` when None) describes them. `recipe`, (a sentence naming it, its values) from
    `_applied_recipe`, marks the values the recipe applies."""
    catalog = declared_catalog() if catalog is None else catalog
    sentence, recipe_values = recipe or (None, {})
    description = [
        "Train a GAN. Methods (--method NAME --help lists its options):",
        _methods_text(catalog["methods"]),
        "",
        "Data (--data NAME):",
        _table([*catalog["data"].items(), *DATA_FORMS.items()]),
        "",
        textwrap.fill(
            "The method's shipped recipe for the data (listed above), if any, applies; --config names another: "
            "a YAML file, or a shipped recipe by its name (cyclegan_emoji). Flags and --set override it.",
            _width(),
        ),
    ]
    if sentence:
        description += ["", textwrap.fill(sentence, _width())]
    parser = OneLineParser(prog=prog, formatter_class=HelpFormatter, description="\n".join(description))
    run = parser.add_argument_group("run")
    run.add_argument(
        "--config",
        help="a YAML recipe: a file, or a shipped recipe's name "
        "(default: the shipped recipe of the method and data, if any)",
    )
    run.add_argument("--resume", action="store_true", help="continue the run in --output from its last checkpoint")
    run.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    run.add_argument(
        "--set",
        action="append",
        type=config_setting,
        metavar="KEY=VALUE",
        help="set any config key, with or without a flag of its own (--set lambda_cycle=3 is --lambda-cycle 3), "
        "checked as in a recipe; VALUE is read as YAML (1e-4 is a number; null leaves the key to the recipe "
        "or its default); repeatable",
    )
    _add_declared(run, declared(config_lib.TrainConfig), recipe_values)
    _add_declared(
        parser.add_argument_group(f"options of {method_name} (defaults from the papers; a recipe may change them)"),
        catalog["methods"][method_name]["options"],
        recipe_values,
    )
    return parser


def asks_for_help(argv):
    """Whether arguments hold -h or --help (or an abbreviation argparse takes) before any `--`."""
    for arg in argv:
        if arg == "--":
            return False
        if arg == "-h" or (len(arg) > 2 and "--help".startswith(arg)):
            return True
    return False


def help_without_tensorflow(argv, prog):
    """Prints train's --help from the shipped catalog and exits, as parse_train_arguments would.
    Returns when it cannot (no catalog, a method it does not list, an error in the arguments):
    parse_train_arguments then answers, from the declarations."""
    shipped = shipped_catalog()
    if shipped is None:
        return
    try:
        method_name = _method_of(argv, prog)
        if method_name in shipped["methods"]:
            train_parser(method_name, prog, shipped, _applied_recipe(argv, method_name)).parse_known_args(argv)
    except UsageError:
        return


def parse_train_arguments(argv, prog="keras-gans train"):
    """Parses `train` arguments with the flags of the method they name. A flag of another
    method is a one-line error naming that method; `--set` pairs become `args.set`, a dict
    checked like a recipe's keys."""
    from keras_gans.methods.registry import get_method, methods_with_option

    method_name = _method_of(argv, prog)
    get_method(method_name)
    recipe = _applied_recipe(argv, method_name) if asks_for_help(argv) else None
    parser = train_parser(method_name, prog, recipe=recipe)
    args, unknown = parser.parse_known_args(argv)
    for flag in (flag.split("=", 1)[0] for flag in unknown if flag.startswith("--")):
        key = flag.removeprefix("--").replace("-", "_")
        if key in RENAMED:
            raise UsageError(f"{flag} is now called {_flag(RENAMED[key])}")
        owners = methods_with_option(key)
        if owners:
            raise UsageError(
                f"{flag} is an option of {', '.join(owners)}, not of {method_name}; "
                f"drop it or pass --method {owners[0]}"
            )
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.set = dict(args.set or ())
    flags = {key for key in vars(args) if key not in ("config", "resume", "set")}
    for key in args.set:
        if key in flags and getattr(args, key) is not None:
            raise UsageError(f"{_flag(key)} and --set {key}=... both set {key}; pass one of them")
    if args.set:
        config_lib.from_values({"method": method_name, **args.set}, "--set")
    return args


def command_train(args):
    from keras_gans import run

    flags = {key: value for key, value in vars(args).items() if key not in ("config", "resume", "set", "verbose")}
    overrides = {key: value for key, value in {**flags, **args.set}.items() if value is not None}
    if args.resume:
        if args.config:
            overrides = {**config_lib.load_yaml(config_lib.config_file(args.config)), **overrides}
        probe = config_lib.resolve(overrides)
        config = run.resume_config(probe.run_dir(), overrides)
    else:
        config = config_lib.resolve(overrides, config_file_name=args.config)
    # multiworker's strategy must start TensorFlow's devices itself (run.make_strategy)
    find_devices_quietly(start_devices=config.strategy != "multiworker")
    run.train(config, resume=args.resume)


def command_generate(args):
    """Draws -n samples into one PNG grid. The noise is drawn here from --seed, never taken from
    the user: an export given NaN or inf noise returns black or flat grey images without an
    error, so callers of its `z` signature must keep their noise finite."""
    import numpy as np

    from keras_gans.callbacks import grid_scale, save_png, tile
    from keras_gans.export import sample_saved_model

    out = Path(args.out)
    if args.n <= 0:
        raise UsageError(f"-n must be a positive number of samples, got {args.n}")
    if args.seed < 0:
        raise UsageError(f"--seed must be a non-negative integer, got {args.seed}")
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; pass the name of a .png file to write")
    if out.suffix.lower() != ".png":
        raise UsageError(f"--out {out} does not end in .png; generate writes PNG only, so name a .png file")
    images = sample_saved_model(args.model, args.n, seed=args.seed, labels=args.label)
    columns = int(np.ceil(np.sqrt(args.n)))
    rows = int(np.ceil(args.n / columns))
    padded = np.zeros((rows * columns,) + images.shape[1:], "uint8")
    padded[: args.n] = images
    try:
        scale = grid_scale(*images.shape[1:3])  # as the run's sample grids: a digit reads at a glance
        save_png(tile(padded.reshape((rows, columns) + images.shape[1:]), scale), str(out))
    except OSError as error:
        raise UsageError(
            f"cannot write {out} ({error.strerror}: {error.filename}); pass --out in a folder you can write to"
        ) from error
    print(f"wrote {args.n} samples to {out}")


def command_evaluate(args):
    """Scores an exported model with two reference classifiers (judges), by what it serves: samples
    of a generator, labels kept by a conditional generator, or labels kept through a translation;
    and a run's exported classifier by its accuracy on the test images."""
    from keras_gans.export import saved_model_info
    from keras_gans.metrics import JUDGES, disagreement, evaluation

    if args.n <= 0:
        raise UsageError(f"-n must be a positive number of images, got {args.n}")
    info = saved_model_info(args.model)
    stored = os.path.join(args.model, "config.yaml")
    data = args.data or (config_lib.load_yaml(stored).get("data") if os.path.exists(stored) else None)
    if not data:
        raise UsageError("pass --data NAME: the SavedModel does not say which data it learned")
    names = {judge: f"judge {number}" for number, judge in enumerate(JUDGES, 1)}
    if "a2b" in info.signatures:
        for direction in ("a2b", "b2a"):
            for judge, name in names.items():
                scores = evaluation.score_translation(info.path, data, direction, args.n, judge)
                print(f"{direction}: {scores} ({name}, {JUDGES[judge]})")
        if "classify_a" in info.signatures:
            for signature, (domain, scores) in evaluation.score_domain_classifiers(info.path, data).items():
                print(f"{signature}, the discriminator's classes, on the test images of {domain}: {scores}")
        return
    judged = evaluation.score_samples_by_judge(info.path, data, args.n, args.seed)
    print(f"{args.n} samples of {args.model}, read by two reference classifiers of {data}:")
    for judge, scores in judged.items():
        print(f"{names[judge]} ({JUDGES[judge]}): {scores}")
        print(f"  {scores.class_mix()}")
        if info.num_classes:
            print(f"  samples drawn per class: {evaluation.score_labels(info.path, data, args.n, args.seed, judge)}")
    said = disagreement({names[judge]: scores for judge, scores in judged.items()})
    if said:
        print(said)
    classifier = os.path.join(args.model, "export", "classifier")
    if os.path.isdir(classifier):
        print(f"classifier on the test images of {data}: {evaluation.score_classifier(classifier, data)}")


def command_translate(args):
    """Translates image files (or every image in folders) with an exported CycleGAN into --out,
    as PNGs at the model's size (short side resized, centre-cropped, transparency on white)."""
    import numpy as np
    import tensorflow as tf

    from keras_gans.callbacks import save_png
    from keras_gans.data.folders import list_images, read_image_and_size
    from keras_gans.export import load_translation
    from keras_gans.progress import plural as count

    if args.batch_size <= 0:
        raise UsageError(f"--batch-size must be positive, got {args.batch_size}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; pass a folder to write the translated PNGs to")
    # Each output is its input's name with .png, so it can be traced back: two inputs that would
    # share one (x.jpg and x.png) are refused rather than one overwriting the other or being renamed.
    sources = {}  # PNG to write -> image file
    for given in map(Path, args.inputs):
        if given.is_dir():
            pairs = [(file, out / file.relative_to(given).with_suffix(".png")) for file in list_images(given)]
        elif given.is_file():
            pairs = [(given, out / f"{given.stem}.png")]
        else:
            raise UsageError(f"{given} is neither an image file nor a folder; pass images or folders")
        for file, target in pairs:
            earlier = sources.setdefault(target, file)
            if earlier.resolve() != file.resolve():
                raise UsageError(
                    f"{earlier} and {file} would both be written to {target}; "
                    "rename one, or translate them into separate --out folders"
                )
    serve, (size, _, channels) = load_translation(args.model, args.direction)
    jobs = [(file, target) for target, file in sources.items()]
    written, resized = 0, collections.Counter()
    for start in range(0, len(jobs), args.batch_size):
        chunk = []
        for file, target in jobs[start : start + args.batch_size]:
            image, native = read_image_and_size(file, size)
            if image is None:
                continue
            chunk.append((image, target))
            if native != (size, size):
                resized["{}x{}".format(*native)] += 1
        if not chunk:
            continue
        images = tf.constant(np.stack([image for image, _ in chunk]))
        if channels == 1:
            images = tf.cast(tf.round(tf.image.rgb_to_grayscale(tf.cast(images, tf.float32))), tf.uint8)
        for translated, (_, target) in zip(serve(images=images)["images"].numpy(), chunk):
            try:
                save_png(translated, str(target))
            except OSError as error:
                raise UsageError(
                    f"cannot write {target} ({error.strerror}: {error.filename}); "
                    "pass --out in a folder you can write to"
                ) from error
        written += len(chunk)
    if not written:
        raise UsageError(f"no readable image among {len(jobs)} files; pass jpg, png, bmp or gif images")
    skipped = f" ({len(jobs) - written} unreadable skipped)" if written < len(jobs) else ""
    print(f"translated {count(written, 'image')} {args.direction} into {out}{skipped}")
    if resized:
        sizes = sorted(resized)
        shown = ", ".join(sizes[:3]) + (f" and {count(len(sizes) - 3, 'other size')}" if len(sizes) > 3 else "")
        print(f"resized {count(resized.total(), 'image')} from {shown} to {size}x{size}, the model's size")


def _overview(prog):
    """Each command with what it does, and an example on the line below (not wrapped, to copy)."""
    column = 2 + max(len(name) for name, _, _ in COMMANDS) + 2
    return "\n".join(
        f"{_table([(name, text)], column=column)}\n{' ' * column}{prog} {example}" for name, text, example in COMMANDS
    )


def build_parser(prog="keras-gans"):
    parser = OneLineParser(
        prog=prog,
        usage=f"{prog} [-h] COMMAND ...",
        formatter_class=HelpFormatter,
        description=textwrap.fill(
            f"Train GANs and use what they learn. Commands, each with an example ({prog} COMMAND --help lists "
            "its options):",
            _width(),
        )
        + f"\n{_overview(prog)}",
    )
    parser.add_argument("--verbose", action="store_true", help=VERBOSE_HELP + " (any command takes it)")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help=argparse.SUPPRESS, prog=prog
    )
    helps = {name: text for name, text, _ in COMMANDS}
    # Listed for --help; main parses train's arguments itself, with the method's own flags.
    commands.add_parser("train", help=helps["train"])
    generate = commands.add_parser("generate", help=helps["generate"], formatter_class=HelpFormatter)
    generate.add_argument("--model", required=True, help="run folder or SavedModel folder")
    generate.add_argument("-n", type=int, default=64, help="number of samples")
    generate.add_argument("--out", default="samples.png", help="PNG file to write (its name ends in .png)")
    generate.add_argument("--seed", type=int, default=0, help="seed (>= 0) of the noise, drawn here and always finite")
    generate.add_argument("--label", type=int, help="class to draw, for conditional models")
    generate.set_defaults(handler=command_generate)
    evaluate = commands.add_parser("evaluate", help=helps["evaluate"], formatter_class=HelpFormatter)
    evaluate.add_argument("--model", required=True, help="run folder or SavedModel folder")
    evaluate.add_argument("--data", help="labelled dataset to score against (default: the run's)")
    evaluate.add_argument("-n", type=int, default=2000, help="number of samples")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the noise")
    evaluate.set_defaults(handler=command_evaluate)
    translate = commands.add_parser("translate", help=helps["translate"], formatter_class=HelpFormatter)
    translate.add_argument("inputs", nargs="+", metavar="IMAGE_OR_FOLDER")
    translate.add_argument("--model", required=True, help="run folder or SavedModel folder")
    translate.add_argument("--direction", choices=["a2b", "b2a"], default="a2b", help="which generator translates")
    translate.add_argument(
        "--out", required=True, help="folder to write the translated PNGs to, each named after its input"
    )
    translate.add_argument("--batch-size", type=int, default=32, help="images translated at once")
    translate.set_defaults(handler=command_translate)
    return parser


VERBOSE_HELP = "also show TensorFlow's own log lines and Python warnings with their source lines"


def show_only_what_is_the_users(verbose):
    """Below what a user acts on, TensorFlow logs grappler's failed optimisations (an `E` line
    that reads like a crash), deprecation notes and retracing warnings; --verbose shows them.
    Python warnings (a skipped unreadable image) stay, as one `warning: ...` line."""
    if verbose:
        os.environ["KERAS_GANS_VERBOSE_TF"] = "1"
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
        return
    warnings.showwarning = _one_line_warning


def _one_line_warning(message, category, *_):
    """Ours and the user's (UserWarning) as one line; libraries' deprecation notes are not theirs."""
    if issubclass(category, UserWarning):
        print(f"warning: {message}", file=sys.stderr, flush=True)


def find_devices_quietly(start_devices=True):
    """Imports TensorFlow and initialises its devices with native stderr muted: its start-up
    notices, and on a machine without a GPU a CUDA build's failed cuInit, are noise to a
    command-line user."""
    tf = _import_tensorflow()
    if not os.environ.get("KERAS_GANS_VERBOSE_TF"):
        tf.get_logger().setLevel("ERROR")
    if start_devices:
        _mute_native_stderr(tf.config.list_logical_devices)


def _diverged(error):
    run = sys.modules.get("keras_gans.run")  # loaded by any training that can diverge
    return run is not None and isinstance(error, run.TrainingDiverged)


def main(argv=None, prog="keras-gans", train_prog=None):
    """The command line; `prog` and `train_prog` are how the user called it and its train
    command, for help and errors. Returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    train_prog = train_prog or f"{prog} train"
    show_only_what_is_the_users("--verbose" in argv)
    argv = [arg for arg in argv if arg != "--verbose"]  # before TensorFlow loads, on every command
    try:
        if not argv:  # a usage error (nothing to do), answered with what there is to do
            build_parser(prog).print_help()
            return 2
        if argv[0] == "train":
            if asks_for_help(argv[1:]):
                help_without_tensorflow(argv[1:], train_prog)
            _import_tensorflow()
            command_train(parse_train_arguments(argv[1:], train_prog))
        else:
            args = build_parser(prog).parse_args(argv)
            find_devices_quietly()
            args.handler(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the last finished epoch is checkpointed: rerun with --resume", file=sys.stderr)
        return 130
    except Exception as error:
        if not _diverged(error):
            raise
        # not bad input: the run went wrong, and says how to go on
        print(f"error: {error}", file=sys.stderr)
        return 3
    return 0


def train_main(argv=None):
    """`python train.py ...` is `keras-gans train ...`."""
    return main(["train", *(sys.argv[1:] if argv is None else argv)], train_prog="python train.py")


if __name__ == "__main__":
    if sys.argv[1:] != ["write-flags"]:
        sys.exit(f"usage: {WRITE_FLAGS}  (rewrites keras_gans/{FLAGS_FILE} from the declarations)")
    write_flags()
