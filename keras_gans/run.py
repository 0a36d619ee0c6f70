"""A training run on disk: config -> data -> build -> compile -> fit -> export, in `runs/<name>/`.

Layout: config.yaml, checkpoints/ (latest and previous), samples/epoch_0001.png, history.csv,
plots/, logs/ (TensorBoard), export/generator/ (SavedModel). Everything that can fail on bad input
(config, data, network shapes, resume) fails before the run folder is touched.
"""

import contextlib
import dataclasses
import os
import sys

import keras
import tensorflow as tf
import yaml

from keras_gans import callbacks as gan_callbacks
from keras_gans import config as config_lib
from keras_gans.checkpoint import CheckpointError, latest_checkpoint, restore_training_state
from keras_gans.errors import UsageError
from keras_gans.export import export_saved_model
from keras_gans.methods.registry import compile_model, get_method


def make_strategy(name):
    """`auto`: all GPUs mirrored when there are several, else the default single device."""
    if name == "auto":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":  # reads the cluster from TF_CONFIG
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "cpu":
        return tf.distribute.OneDeviceStrategy("/cpu:0")
    raise UsageError(f"strategy {name!r} is not one of auto, mirrored, multiworker, cpu")


def load_data(config):
    """The batches `config.method` trains on, as the method declares them."""
    model, _ = get_method(config.method).variant_for(config.data)
    return model.training_data(
        config.data,
        options=config.options,
        batch_size=config.batch_size,
        image_size=config.image_size,
        channels=config.channels,
        seed=config.seed,
        augment=config.augment,
    )


def build_model(config, data):
    """The compiled model `config` describes, sized to `data`. Call inside the strategy's scope."""
    _, build = get_method(config.method).variant_for(config.data)
    model = build(config.options, data.image_shape, data.num_classes, config.seed)
    return compile_model(model, config.options, config.xla)


def resume_config(run_dir, overrides):
    """The stored config of a run, with this command's explicit arguments on top."""
    stored = os.path.join(run_dir, "config.yaml")
    if not os.path.exists(stored) or latest_checkpoint(os.path.join(run_dir, "checkpoints")) is None:
        raise CheckpointError(f"{run_dir} holds no run to resume; start it without --resume first")
    config = config_lib.resolve(overrides, config_file_name=stored)
    return dataclasses.replace(config, output=run_dir)


def _refuse_to_overwrite(run_dir):
    if latest_checkpoint(os.path.join(run_dir, "checkpoints")) is not None:
        raise UsageError(
            f"{run_dir} already holds a run; add --resume to continue it, or pass --output with a new folder"
        )


def _record_manifest(manifest, path, resume):
    """Writes what the data chose (a labelled subset) beside the config. On resume the data must
    choose the same, or the run would go on with other data."""
    if resume and os.path.exists(path):
        with open(path) as f:
            if yaml.safe_load(f) != manifest:
                raise UsageError(
                    f"{path} records other data than this run would train on; "
                    "resume with the same data, seed and options"
                )
        return
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        yaml.safe_dump(manifest, f, default_flow_style=None)
    os.replace(tmp, path)


def _is_chief(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    return (
        resolver is None
        or resolver.task_type in (None, "chief")
        or (resolver.task_type == "worker" and resolver.task_id == 0)
    )


@contextlib.contextmanager
def _precision_policy(mixed):
    """Mixed precision for this run only: Keras' dtype policy is global, and models the caller
    builds afterwards (a classifier in the same notebook) must not inherit it."""
    previous = keras.mixed_precision.global_policy()
    if mixed:
        keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def train(config, resume=False, verbose=None):
    """Trains as `config` (a config.TrainConfig) says and returns the run folder; `resume`
    continues a killed run."""
    with _precision_policy(config.mixed_precision):
        return _train(config, resume, verbose)


def _train(config, resume, verbose):
    run_dir = config.run_dir()
    if not resume:
        _refuse_to_overwrite(run_dir)
    keras.utils.set_random_seed(config.seed)
    strategy = make_strategy(config.strategy)
    data = load_data(config)
    with strategy.scope():
        model = build_model(config, data)

    initial_epoch = 0
    if resume:
        initial_epoch = restore_training_state(model, os.path.join(run_dir, "checkpoints"))
        print(f"resumed {run_dir} after epoch {initial_epoch} of {config.epochs}", flush=True)
    chief = _is_chief(strategy)
    if not chief:  # other workers train in step but write nothing the chief writes
        run_dir = os.path.join(run_dir, "workers", str(strategy.cluster_resolver.task_id))
    os.makedirs(run_dir, exist_ok=True)
    checkpoints = os.path.join(run_dir, "checkpoints")
    config_lib.save(config, os.path.join(run_dir, "config.yaml"))
    if data.manifest:
        _record_manifest(data.manifest, os.path.join(run_dir, "data.yaml"), resume)

    history = os.path.join(run_dir, "history.csv")
    callback_list = [
        gan_callbacks.SampleGrid(
            os.path.join(run_dir, "samples"), seed=config.seed, log_dir=os.path.join(run_dir, "logs")
        ),
        gan_callbacks.HistoryCSV(history, resume_from_epoch=initial_epoch),
        gan_callbacks.TrainingCheckpoint(checkpoints),
        gan_callbacks.HistoryPlots(history, os.path.join(run_dir, "plots")),
        keras.callbacks.TensorBoard(os.path.join(run_dir, "logs"), write_graph=False),
        *model.schedule_callbacks(config.epochs),
    ]
    dataset = data.dataset.repeat() if config.steps_per_epoch else data.dataset
    if initial_epoch < config.epochs:
        # shuffle=False: the tf.data pipeline shuffles; fit would only warn that it cannot.
        model.fit(
            dataset,
            epochs=config.epochs,
            initial_epoch=initial_epoch,
            shuffle=False,
            steps_per_epoch=config.steps_per_epoch,
            callbacks=callback_list,
            verbose=verbose if verbose is not None else (1 if sys.stdout.isatty() else 2),
        )
    for name, export in model.exports().items():
        print(f"exported {export_saved_model(export, os.path.join(run_dir, 'export', name))}", flush=True)
    return run_dir
