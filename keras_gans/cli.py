"""The command line: `keras-gans train|generate|evaluate|translate`; `python train.py` is `train`.

Only wiring: parse, resolve the config, call keras_gans.run / the SavedModel, report. Bad input
ends in a one-line `error: ...` on stderr and exit status 2; a training that diverged, in one
line and exit status 3.
"""

import argparse
import collections
import os
import sys
import typing
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_gans import _mute_native_stderr, run
from keras_gans import config as config_lib
from keras_gans.callbacks import save_png, tile
from keras_gans.data.folders import list_images, read_image_and_size
from keras_gans.errors import UsageError
from keras_gans.export import load_translation, sample_saved_model, saved_model_info
from keras_gans.methods import METHODS, get_method
from keras_gans.methods.registry import methods_with_option
from keras_gans.metrics import evaluation
from keras_gans.options import RENAMED, describe, fields


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (`error: ...`, exit status 2, via
    UsageError), like every other bad input, instead of argparse's usage block."""

    def error(self, message):
        raise UsageError(f"{message}; see {self.prog} --help")


def _flag(key):
    return "--" + key.replace("_", "-")


def _number_or_word(text):
    """An option that takes a count or a word (`--labelled 100`, `--labelled all`)."""
    return int(text) if text.isdigit() else text


def _add_declared(group, options_class, skip=()):
    """One flag per field of an options dataclass, typed and with its declared help."""
    hints = typing.get_type_hints(options_class)
    for key, field in fields(options_class).items():
        if key in skip:
            continue
        kinds = [t for t in getattr(hints[key], "__args__", (hints[key],)) if t is not type(None)]
        kind = _number_or_word if kinds == [int, str] else kinds[0]
        if kind is bool:
            group.add_argument(
                _flag(key), dest=key, action=argparse.BooleanOptionalAction, default=None, help=describe(field)
            )
        else:
            choices = field.metadata.get("choices")
            group.add_argument(
                _flag(key),
                dest=key,
                type=kind,
                default=None,
                choices=choices,
                metavar=None if choices else key.upper(),
                help=describe(field),
            )


def _method_of(argv):
    """The method a train command is about: --method, else its --config's, else dcgan."""
    probe = OneLineParser(add_help=False)
    probe.add_argument("--method")
    probe.add_argument("--config")
    args, _ = probe.parse_known_args(argv)
    if args.method:
        return args.method
    if args.config:
        return config_lib.load_yaml(config_lib.config_file(args.config)).get("method", config_lib.TrainConfig.method)
    return config_lib.TrainConfig.method


def train_parser(method_name, prog="keras-gans train"):
    """The train command's parser: the run's options, then `method_name`'s own."""
    method = get_method(method_name)
    methods = "\n".join(f"  {name:10} {spec.summary}" for name, spec in METHODS.items())
    parser = OneLineParser(
        prog=prog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=f"Train a GAN. Methods (--method NAME --help lists its options):\n{methods}",
    )
    run = parser.add_argument_group("run")
    run.add_argument(
        "--config",
        help="a YAML recipe: a file, or a shipped recipe's name "
        "(default: the shipped recipe of the method and data, if any)",
    )
    run.add_argument("--resume", action="store_true", help="continue the run in --output from its last checkpoint")
    _add_declared(run, config_lib.TrainConfig, skip=("options",))
    _add_declared(
        parser.add_argument_group(f"options of {method_name} (defaults from the papers; a recipe may change them)"),
        method.options,
    )
    return parser


def parse_train_arguments(argv):
    """Parses `train` arguments with the flags of the method they name. A flag of another
    method is a one-line error naming that method."""
    method_name = _method_of(argv)
    parser = train_parser(method_name)
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
    return args


def command_train(args):
    overrides = {
        key: value for key, value in vars(args).items() if key not in ("config", "resume") and value is not None
    }
    if args.resume:
        if args.config:
            overrides = {**config_lib.load_yaml(config_lib.config_file(args.config)), **overrides}
        probe = config_lib.resolve(overrides)
        config = run.resume_config(probe.run_dir(), overrides)
    else:
        config = config_lib.resolve(overrides, config_file_name=args.config)
    run.train(config, resume=args.resume)


def command_generate(args):
    """Draws -n samples into one PNG grid. The noise is drawn here from --seed, never taken from
    the user: an export given NaN or inf noise returns black or flat grey images without an
    error, so callers of its `z` signature must keep their noise finite."""
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
        save_png(tile(padded.reshape((rows, columns) + images.shape[1:])), str(out))
    except OSError as error:
        raise UsageError(
            f"cannot write {out} ({error.strerror}: {error.filename}); pass --out in a folder you can write to"
        ) from error
    print(f"wrote {args.n} samples to {out}")


def command_evaluate(args):
    """Scores an exported model with reference classifiers, by what it serves: samples of a
    generator, labels kept by a conditional generator, or labels kept through a translation;
    and a run's exported classifier by its accuracy on the test images."""
    if args.n <= 0:
        raise UsageError(f"-n must be a positive number of images, got {args.n}")
    info = saved_model_info(args.model)
    stored = os.path.join(args.model, "config.yaml")
    data = args.data or (config_lib.load_yaml(stored).get("data") if os.path.exists(stored) else None)
    if not data:
        raise UsageError("pass --data NAME: the SavedModel does not say which data it learned")
    if "a2b" in info.signatures:
        for direction in ("a2b", "b2a"):
            scores = evaluation.score_translation(info.path, data, direction, args.n)
            print(f"{direction}: {scores}")
        return
    scores = evaluation.score_samples(info.path, data, args.n, args.seed)
    print(f"{args.n} samples of {args.model} on {data}'s reference classifier: {scores}")
    if info.num_classes:
        print(f"samples drawn per class: {evaluation.score_labels(info.path, data, args.n, args.seed)}")
    classifier = os.path.join(args.model, "export", "classifier")
    if os.path.isdir(classifier):
        print(f"classifier on {data}'s test images: {evaluation.score_classifier(classifier, data)}")


def command_translate(args):
    """Translates image files (or every image in folders) with an exported CycleGAN into --out,
    as PNGs at the model's size (short side resized, centre-cropped, transparency on white)."""

    def count(number, noun):
        return f"{number} {noun}{'' if number == 1 else 's'}"

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


def build_parser():
    parser = OneLineParser(prog="keras-gans", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    # Listed for --help; main parses train's arguments itself, with the method's own flags.
    commands.add_parser(
        "train", help="train a GAN (python train.py is the same; train --method NAME --help lists its options)"
    )
    generate = commands.add_parser("generate", help="draw a grid of samples from a run")
    generate.add_argument("--model", required=True, help="run folder or SavedModel folder")
    generate.add_argument("-n", type=int, default=64, help="number of samples")
    generate.add_argument("--out", default="samples.png", help="PNG file to write (its name ends in .png)")
    generate.add_argument("--seed", type=int, default=0, help="seed (>= 0) of the noise, drawn here and always finite")
    generate.add_argument("--label", type=int, help="class to draw, for conditional models")
    generate.set_defaults(handler=command_generate)
    evaluate = commands.add_parser("evaluate", help="score samples with a reference classifier")
    evaluate.add_argument("--model", required=True, help="run folder or SavedModel folder")
    evaluate.add_argument("--data", help="labelled dataset to score against (default: the run's)")
    evaluate.add_argument("-n", type=int, default=2000, help="number of samples")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.set_defaults(handler=command_evaluate)
    translate = commands.add_parser("translate", help="translate images with a CycleGAN run")
    translate.add_argument("inputs", nargs="+", metavar="IMAGE_OR_FOLDER")
    translate.add_argument("--model", required=True, help="run folder or SavedModel folder")
    translate.add_argument("--direction", choices=["a2b", "b2a"], default="a2b")
    translate.add_argument(
        "--out", required=True, help="folder to write the translated PNGs to, each named after its input"
    )
    translate.add_argument("--batch-size", type=int, default=32)
    translate.set_defaults(handler=command_translate)
    return parser


def find_devices_quietly():
    """Initialises TensorFlow's devices with native stderr muted: on a machine without a GPU a
    CUDA build logs a failed cuInit there, which is noise to a command-line user."""
    _mute_native_stderr(tf.config.list_logical_devices)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv[:1] == ["train"]:
            arguments = parse_train_arguments(argv[1:])
            find_devices_quietly()
            command_train(arguments)
        else:
            args = build_parser().parse_args(argv)
            find_devices_quietly()
            args.handler(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except run.TrainingDiverged as error:  # not bad input: the run went wrong, and says how to go on
        print(f"error: {error}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("interrupted; the last finished epoch is checkpointed: rerun with --resume", file=sys.stderr)
        return 130
    return 0


def train_main(argv=None):
    """`python train.py ...` is `keras-gans train ...`."""
    return main(["train", *(sys.argv[1:] if argv is None else argv)])
