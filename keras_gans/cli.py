"""The command line: `keras-gans train|generate|export`, and `python train.py` for `train`.

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


TRAIN_KEYS = ("method", "data", "epochs", "batch_size", "image_size", "steps_per_epoch",
              "output", "name", "seed", "strategy", "xla")


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


def _saved_model_dir(path):
    """A SavedModel folder, or a run folder's exported generator."""
    for candidate in (path, os.path.join(path, "export", "generator")):
        if os.path.exists(os.path.join(candidate, "saved_model.pb")):
            return candidate
    from keras_gans.errors import UsageError

    raise UsageError(f"{path} is neither a SavedModel nor a run folder with export/generator; "
                     "pass a finished run folder or its export/generator")


def command_generate(args):
    import numpy as np
    import tensorflow as tf

    from keras_gans.callbacks import save_png, tile

    generator = tf.saved_model.load(_saved_model_dir(args.model))
    serve = generator.signatures["serving_default"]
    inputs = serve.structured_input_signature[1]
    latent_dim = inputs["z"].shape[-1]
    rng = np.random.default_rng(args.seed)
    feed = {"z": tf.constant(rng.standard_normal((args.n, latent_dim)), tf.float32)}
    if "label" in inputs:
        labels = np.full(args.n, args.label) if args.label is not None else np.arange(args.n) % 10
        feed["label"] = tf.constant(labels, tf.int32)
    images = serve(**feed)["images"].numpy()
    columns = int(np.ceil(np.sqrt(args.n)))
    rows = int(np.ceil(args.n / columns))
    padded = np.zeros((rows * columns,) + images.shape[1:], "uint8")
    padded[:args.n] = images
    save_png(tile(padded.reshape((rows, columns) + images.shape[1:])), args.out)
    print(f"wrote {args.n} samples to {args.out}")


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
    return parser


def main(argv=None):
    from keras_gans.errors import UsageError

    args = build_parser().parse_args(argv)
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
