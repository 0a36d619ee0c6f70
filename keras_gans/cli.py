"""The command line: `keras-gans train|generate|evaluate|translate`; `python train.py` is `train`.

Only wiring: parse, resolve the config, call keras_gans.run / the SavedModel, report. Bad input
ends in a one-line `error: ...` on stderr and exit status 2.
"""

import argparse
import os
import sys


def _add_train_arguments(parser):
    parser.add_argument("--method", help="gan, dcgan, lsgan, ... (default dcgan)")
    parser.add_argument("--data", help="digits (embedded), mnist, fashion_mnist, cifar10, svhn, "
                        "tfds:NAME, folder:PATH (default digits)")
    parser.add_argument("--config", help="a YAML recipe; default configs/<method>_<data>.yaml")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--image-size", type=int)
    parser.add_argument("--steps-per-epoch", type=int)
    parser.add_argument("--output", help="run folder (default runs/<method>-<data>)")
    parser.add_argument("--name", help="run name under runs/")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--strategy", choices=["auto", "mirrored", "multiworker", "cpu"])
    parser.add_argument("--no-xla", dest="xla", action="store_false", default=None,
                        help="never jit-compile the train step")
    parser.add_argument("--xla", dest="xla", action="store_true", default=None,
                        help="jit-compile the train step with XLA")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --output from its last checkpoint")
    parser.add_argument("--generator", help="generator network: mlp, dcgan; resnet, unet (cyclegan)")
    parser.add_argument("--augment", help="jitter, affine or jitter+affine")
    parser.add_argument("--lambda-cycle", type=float, help="cyclegan's cycle loss weight (10)")
    parser.add_argument("--lambda-identity", type=float,
                        help="cyclegan's identity loss weight, times --lambda-cycle (0.5)")
    parser.add_argument("--style-dim", type=int,
                        help="cyclegan: size of G_ab's style code, 0 for one translation per image")
    parser.add_argument("--lambda-edges", type=float,
                        help="cyclegan: weight of keeping each image's edges in its translation (0)")


TRAIN_KEYS = ("method", "data", "epochs", "batch_size", "image_size", "steps_per_epoch",
              "output", "name", "seed", "strategy", "xla", "generator", "augment", "lambda_cycle",
              "lambda_identity", "style_dim", "lambda_edges")


def command_train(args):
    from keras_gans import config as config_lib
    from keras_gans import run

    overrides = {key: getattr(args, key) for key in TRAIN_KEYS}
    if args.resume:
        if args.config:
            overrides.update(config_lib.load_yaml(args.config))
        probe = config_lib.resolve(overrides)
        config = run.resume_config(probe.run_dir(), overrides)
    else:
        config = config_lib.resolve(overrides, config_file=args.config)
    run.train(config, resume=args.resume)


def command_generate(args):
    import numpy as np

    from keras_gans.callbacks import save_png, tile
    from keras_gans.errors import UsageError
    from keras_gans.export import sample_saved_model

    if args.n <= 0:
        raise UsageError(f"-n must be a positive number of samples, got {args.n}")
    images = sample_saved_model(args.model, args.n, seed=args.seed, labels=args.label)
    columns = int(np.ceil(np.sqrt(args.n)))
    rows = int(np.ceil(args.n / columns))
    padded = np.zeros((rows * columns,) + images.shape[1:], "uint8")
    padded[:args.n] = images
    save_png(tile(padded.reshape((rows, columns) + images.shape[1:])), args.out)
    print(f"wrote {args.n} samples to {args.out}")


def command_evaluate(args):
    """Scores an exported model with reference classifiers, by what it serves: samples of a
    generator, labels kept by a conditional generator, or labels kept through a translation."""
    from keras_gans import config as config_lib
    from keras_gans.errors import UsageError
    from keras_gans.export import saved_model_info
    from keras_gans.metrics import evaluation

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


def command_translate(args):
    """Translates image files (or every image in folders) with an exported CycleGAN into --out,
    as PNGs at the model's size (short side resized, centre-cropped, transparency on white)."""
    from pathlib import Path

    import numpy as np
    import tensorflow as tf

    from keras_gans.callbacks import save_png
    from keras_gans.data.folders import list_images, read_image
    from keras_gans.errors import UsageError
    from keras_gans.export import load_translation

    if args.batch_size <= 0:
        raise UsageError(f"--batch-size must be positive, got {args.batch_size}")
    serve, (size, _, channels) = load_translation(args.model, args.direction)
    out = Path(args.out)
    jobs = []  # (image file, PNG to write)
    for given in map(Path, args.inputs):
        if given.is_dir():
            jobs += [(file, out / file.relative_to(given).with_suffix(".png"))
                     for file in list_images(given)]
        elif given.is_file():
            jobs.append((given, out / f"{given.stem}.png"))
        else:
            raise UsageError(f"{given} is neither an image file nor a folder; pass images or folders")
    written = 0
    for start in range(0, len(jobs), args.batch_size):
        chunk = [(read_image(file, size), target) for file, target in jobs[start:start + args.batch_size]]
        chunk = [(image, target) for image, target in chunk if image is not None]
        if not chunk:
            continue
        images = tf.constant(np.stack([image for image, _ in chunk]))
        if channels == 1:
            images = tf.cast(tf.round(tf.image.rgb_to_grayscale(tf.cast(images, tf.float32))),
                             tf.uint8)
        for translated, (_, target) in zip(serve(images=images)["images"].numpy(), chunk):
            save_png(translated, str(target))
        written += len(chunk)
    if not written:
        raise UsageError(f"no readable image among {len(jobs)} files; pass jpg, png, bmp or gif images")
    skipped = f" ({len(jobs) - written} unreadable skipped)" if written < len(jobs) else ""
    print(f"translated {written} images {args.direction} into {out}{skipped}")


def build_parser():
    parser = argparse.ArgumentParser(prog="keras-gans", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train a GAN (python train.py is the same)")
    _add_train_arguments(train)
    train.set_defaults(handler=command_train)
    generate = commands.add_parser("generate", help="draw a grid of samples from a run")
    generate.add_argument("--model", required=True, help="run folder or SavedModel folder")
    generate.add_argument("-n", type=int, default=64, help="number of samples")
    generate.add_argument("--out", default="samples.png", help="PNG file to write")
    generate.add_argument("--seed", type=int, default=0)
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
    translate.add_argument("--out", required=True, help="folder to write the translated PNGs to")
    translate.add_argument("--batch-size", type=int, default=32)
    translate.set_defaults(handler=command_translate)
    return parser


def find_devices_quietly():
    """Initialises TensorFlow's devices with native stderr muted: on a machine without a GPU a
    CUDA build logs a failed cuInit there, which is noise to a command-line user."""
    import tensorflow as tf

    from keras_gans import _mute_native_stderr

    _mute_native_stderr(tf.config.list_logical_devices)


def main(argv=None):
    from keras_gans.errors import UsageError

    args = build_parser().parse_args(argv)
    find_devices_quietly()
    try:
        args.handler(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the last finished epoch is checkpointed: rerun with --resume",
              file=sys.stderr)
        return 130
    return 0


def train_main(argv=None):
    """`python train.py ...` is `keras-gans train ...`."""
    return main(["train", *(sys.argv[1:] if argv is None else argv)])
