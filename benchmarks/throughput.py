"""Training throughput in images per second, for choosing defaults by measurement.

    python benchmarks/throughput.py --method dcgan --data mnist --steps 300   # the recipe's batch
    python benchmarks/throughput.py --compare   # oneDNN on/off x XLA on/off, one process each
    python benchmarks/throughput.py --method cyclegan --data horse2zebra --image-size 64 --batch-size 1
    python benchmarks/throughput.py --data digits --steps 40 --epochs 16 --autotune on   # ms a step, epoch by epoch
    python benchmarks/throughput.py --data digits --steps 400 --steps-per-execution 1    # one step a call
    python benchmarks/throughput.py --data digits --steps 400 --precision mixed_bfloat16  # AMX's bfloat16
    python benchmarks/throughput.py --method wgan --data mnist --set clusters=0   # any config key, as train's --set

An image is one real image consumed by a train step (a WGAN step takes d_steps batches); for
CycleGAN, one pair (an image of each domain). The first steps (tracing, compilation, caching the
data) are excluded. Not part of the tests: timings depend on the machine and its load.
"""

import argparse
import json
import os
import subprocess
import sys
import time

from keras_gans.cli import config_setting


def measure(args):
    import keras

    from keras_gans import config as config_lib
    from keras_gans.methods import get_method
    from keras_gans.run import build_model, load_data

    # The shipped recipe for the method and data when there is one, as `train.py` would run it.
    config = config_lib.resolve(
        dict(
            method=args.method,
            data=args.data,
            batch_size=args.batch_size,
            image_size=args.image_size,
            xla=args.xla,
            steps_per_execution=args.steps_per_execution,
            steps_per_epoch=args.steps,  # so that a call's steps divide the timed ones
            precision=args.precision,
        )
        | dict(args.set)
    )
    keras.mixed_precision.set_global_policy(config.precision)  # this process trains nothing else
    keras.utils.set_random_seed(config.seed)
    data = load_data(config)
    model = build_model(config, data)
    images_per_step = config.batch_size * get_method(config.method).model.batches_per_step(config.options)
    model.before_training(data.dataset)  # a self-conditioned recipe clusters the images once, as fit would
    dataset = data.dataset.repeat()
    # shuffle=False: the tf.data pipeline shuffles, as in `train`.
    model.fit(dataset, epochs=1, steps_per_epoch=args.warmup, shuffle=False, verbose=0)
    if args.epochs:
        return epoch_by_epoch(model, dataset, args)

    class Clock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

    clock = Clock()
    model.fit(dataset, epochs=1, steps_per_epoch=args.steps, shuffle=False, verbose=0, callbacks=[clock])
    seconds = time.perf_counter() - clock.start
    return {
        "method": args.method,
        "data": args.data,
        "batch_size": config.batch_size,
        "xla": args.xla,
        "steps_per_execution": model.steps_per_execution,
        "precision": config.precision,
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
        "images_per_second": round(args.steps * images_per_step / seconds, 1),
    }


def epoch_by_epoch(model, dataset, args):
    """Milliseconds a step in each of `args.epochs` epochs of `args.steps` steps, each epoch a new
    iterator as in `train`: tf.data's autotuning can leave a whole epoch slow
    (`keras_gans.data.core.without_autotuning`). `fit` keeps a dataset's own autotune setting."""
    import keras
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = args.autotune == "on"
    one_epoch = dataset.take(args.steps).with_options(options)
    times = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(round(1000 * (time.perf_counter() - self.start) / args.steps, 1))

    model.fit(one_epoch, epochs=args.epochs, shuffle=False, verbose=0, callbacks=[Clock()])
    return {"method": args.method, "data": args.data, "autotune": args.autotune, "ms_per_step": times}


def compare(args):
    """Each setting in its own process: oneDNN is fixed when TensorFlow loads."""
    for onednn in ("1", "0"):
        for xla in (False, True):
            command = [
                sys.executable,
                __file__,
                "--method",
                args.method,
                "--data",
                args.data,
                "--steps",
                str(args.steps),
                "--warmup",
                str(args.warmup),
            ]
            command += ["--xla"] if xla else []
            for flag, value in (("--batch-size", args.batch_size), ("--image-size", args.image_size)):
                command += [flag, str(value)] if value else []
            for key, value in args.set:  # JSON is YAML, which --set reads
                command += ["--set", f"{key}={json.dumps(value)}"]
            env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "TF_CPP_MIN_LOG_LEVEL": "3"}
            output = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            print(output.stdout.strip().splitlines()[-1], flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="dcgan")
    parser.add_argument("--data", default="mnist")
    parser.add_argument("--image-size", type=int)
    parser.add_argument("--batch-size", type=int, help="default: the recipe's")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--xla", action="store_true")
    parser.add_argument("--steps-per-execution", type=int, help="default: train.py's")
    parser.add_argument("--precision", help="float32, mixed_float16 or mixed_bfloat16; default: train.py's")
    parser.add_argument("--epochs", type=int, help="time each of this many epochs of --steps steps instead")
    parser.add_argument("--autotune", choices=("on", "off"), default="off", help="tf.data's, with --epochs")
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--set", action="append", default=[], type=config_setting, help="KEY=VALUE, any config key")
    args = parser.parse_args()
    if args.compare:
        compare(args)
    else:
        print(json.dumps(measure(args)))


if __name__ == "__main__":
    main()
