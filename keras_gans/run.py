"""A training run on disk: config -> data -> build -> compile -> fit -> export, in `runs/<name>/`.

Layout: config.yaml, checkpoints/ (latest and previous), samples/epoch_0001.png,
d_outputs/epoch_0001.png, history.csv, plots/, logs/ (TensorBoard), export/generator/
(SavedModel). Everything that can fail on bad input (config, data, network shapes, resume) fails
before the run folder is touched.
"""

import collections
import contextlib
import dataclasses
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile

import keras
import numpy as np
import tensorflow as tf
import yaml

from keras_gans import _mute_native_stderr
from keras_gans import callbacks as gan_callbacks
from keras_gans import config as config_lib
from keras_gans.checkpoint import (
    LATEST,
    PREVIOUS,
    CheckpointError,
    CheckpointMismatch,
    latest_checkpoint,
    remove_leftovers,
    restore_training_state,
)
from keras_gans.data import load_dataset
from keras_gans.errors import ImageSizeError, UsageError
from keras_gans.export import export_saved_model, remove_export_leftovers
from keras_gans.methods.registry import compile_model, get_method
from keras_gans.methods.self_conditioned import SelfConditionedGAN
from keras_gans.progress import ProgressLog, plural

HOLDER = ".training-pid"
MAX_LEARNING_RATE_HALVINGS = 3
TF_CONFIG_EXAMPLE = (
    'TF_CONFIG=\'{"cluster": {"worker": ["host1:port", "host2:port"]}, "task": {"type": "worker", "index": 0}}\' '
    "(index 1 on host2)"
)
_ADDRESS = re.compile(r"([^:\s\[\]]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})")


class TrainingDiverged(Exception):
    """The losses or weights went non-finite and the run stopped; its last good checkpoint is kept."""


def make_strategy(name):
    """`auto`: all GPUs mirrored when there are several, else the default single device."""
    if name == "auto":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        check_tf_config(os.environ.get("TF_CONFIG"))
        try:  # muted: creating it starts TensorFlow's devices, and their notices (the command line skips them)
            return _mute_native_stderr(tf.distribute.MultiWorkerMirroredStrategy)
        except RuntimeError as error:  # its collective ops are configured as TensorFlow starts, or never
            raise UsageError(
                f"--strategy multiworker must be the process's first TensorFlow work ({error}); start it in a "
                "process of its own, e.g. python train.py --strategy multiworker"
            ) from None
    if name == "cpu":
        return tf.distribute.OneDeviceStrategy("/cpu:0")
    raise UsageError(f"strategy {name!r} is not one of auto, mirrored, multiworker, cpu")


def check_tf_config(text):
    """Refuses a TF_CONFIG that MultiWorkerMirroredStrategy would misread: without one it trains
    alone, silently, and a worker given a wrong address waits for its peers forever."""

    def refuse(problem):
        raise UsageError(f"--strategy multiworker: {problem}; set on each machine {TF_CONFIG_EXAMPLE}")

    if not text or not text.strip():
        refuse("TF_CONFIG is not set, so there is no cluster to join")
    try:
        settings = json.loads(text)
    except ValueError as error:
        refuse(f"TF_CONFIG is not JSON ({error})")
    if not isinstance(settings, dict) or not isinstance(settings.get("cluster"), dict) or not settings["cluster"]:
        refuse('TF_CONFIG has no "cluster" mapping jobs to their host:port addresses')
    cluster = settings["cluster"]
    for job, addresses in cluster.items():
        if job not in ("chief", "worker"):
            refuse(f"TF_CONFIG's cluster has a {job!r} job; multiworker training uses only 'worker' and 'chief' jobs")
        if not isinstance(addresses, list) or not addresses:
            refuse(f"TF_CONFIG's {job!r} job is not a list of host:port addresses")
        for address in addresses:
            match = _ADDRESS.fullmatch(address) if isinstance(address, str) else None
            if not match or not 0 < int(match[2]) < 65536:
                refuse(f"TF_CONFIG's {job} address {address!r} is not host:port")
    if len(cluster.get("chief", [])) > 1:
        refuse(f"TF_CONFIG names {len(cluster['chief'])} chiefs, and there can be one")
    every = [address for addresses in cluster.values() for address in addresses]
    if len(set(every)) < len(every):
        refuse("TF_CONFIG's cluster names an address twice; give each task a port of its own")
    task = settings.get("task")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        refuse('TF_CONFIG has no "task" with a "type" and an "index", this machine\'s place in the cluster')
    if task["type"] not in cluster:
        refuse(f"TF_CONFIG's task type {task['type']!r} is not a job of its cluster ({', '.join(cluster)})")
    tasks = len(cluster[task["type"]])
    if type(task["index"]) is not int or not 0 <= task["index"] < tasks:
        refuse(f"TF_CONFIG's task index {task['index']!r} is not one of its {task['type']} job's 0 to {tasks - 1}")


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


def _cluster(model, config, data):
    """A self-conditioned model's k-means of the training images, read from a pipeline of their
    own: opening the training pipeline would move its shuffle orders on, and a resumed run, which
    does not cluster, would then train on other batches than the uninterrupted one."""
    print(f"clustering the training images into {model.num_classes} groups (k-means)", flush=True)
    height, _, channels = data.image_shape
    # batches of one, then rebatched: a batch of 500 would drop the last images of the split
    images = load_dataset(config.data, height, batch_size=1, channels=channels, shuffle=False).dataset
    sizes = model.cluster(images.unbatch().batch(1000))
    print(f"clustered {sizes.sum()} images into groups of {sizes.min()} to {sizes.max()}", flush=True)


def build_model(config, data):
    """The compiled model `config` describes, sized to `data`. Call inside the strategy's scope."""
    _, build = get_method(config.method).variant_for(config.data)
    try:
        model = build(config.options, data.image_shape, data.num_classes, config.seed)
    except ImageSizeError as error:
        if config.image_size is not None:
            raise
        raise ImageSizeError(f"{error} (no --image-size was given, so the images' own size was used)") from None
    return compile_model(model, config.options, config.xla, steps_per_call(config, tf.distribute.get_strategy()))


def steps_per_call(config, strategy):
    """`config.steps_per_execution`, fitted to the run. Keras runs all of a call's steps while
    data lasts, so epochs cut from an endless stream (`steps_per_epoch`) take a divisor of their
    length, and one pass over the data ends its last call early by itself. Under
    MultiWorkerMirroredStrategy one: Keras 3.15's loop of several steps fails to run there with
    two workers ("You must feed a value for placeholder tensor", tests/test_multiworker.py)."""
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return 1
    if config.steps_per_epoch:
        return max(n for n in range(1, config.steps_per_execution + 1) if config.steps_per_epoch % n == 0)
    return config.steps_per_execution


def resume_config(run_dir, overrides):
    """The stored config of a run, with this command's explicit arguments on top. A run killed
    before its first checkpoint has only its config.yaml, and resumes from the start."""
    stored = os.path.join(run_dir, "config.yaml")
    if not os.path.exists(stored):
        if latest_checkpoint(os.path.join(run_dir, "checkpoints")) is not None:
            raise CheckpointError(
                f"{run_dir} has checkpoints but no config.yaml, so its settings are unknown; put the run's "
                "config.yaml back, or start a new run with another --output"
            )
        raise CheckpointError(f"{run_dir} holds no run to resume; start it without --resume first")
    settings = config_lib.load_yaml(stored)
    if not isinstance(settings, dict) or "method" not in settings:
        raise CheckpointError(
            f"{stored} is empty or damaged (it names no method), so the run's settings are unknown; put the "
            "run's config.yaml back, or start a new run with another --output"
        )
    if overrides.get("method", settings["method"]) != settings["method"]:
        raise CheckpointError(
            f"{run_dir} is a {settings['method']} run; resume it with --method {settings['method']} (or none), "
            "or start the other method with another --output"
        )
    config = config_lib.resolve(overrides, config_file_name=stored)
    trained = config_lib.from_values(settings, stored).precision
    if "mixed_float16" in (trained, config.precision) and config.precision != trained:
        raise CheckpointError(
            f"{run_dir} was trained with --precision {trained}, and mixed_float16's checkpoints hold loss scales "
            f"the others' do not; resume it with --precision {trained}, or start a new run with another --output"
        )
    return dataclasses.replace(config, output=run_dir)


def _refuse_to_overwrite(run_dir):
    """A new run starts only in an empty folder: any file there may be a finished run whose
    checkpoints are gone, or not a run at all, and must not be overwritten."""
    held = sorted(set(os.listdir(run_dir)) - {HOLDER})
    if not held:
        return
    if latest_checkpoint(os.path.join(run_dir, "checkpoints")) is not None or "config.yaml" in held:
        raise UsageError(
            f"{run_dir} already holds a run; add --resume to continue it, or pass --output with a new folder"
        )
    shown = ", ".join(held[:3]) + (f" and {len(held) - 3} more" if len(held) > 3 else "")
    raise UsageError(f"{run_dir} is not empty ({shown}); pass --output with a new or empty folder")


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


@contextlib.contextmanager
def locked_run_folder(run_dir):
    """Holds an exclusive lock on the folder `run_dir` itself for the life of a run, so two
    trainings never mix their files. The kernel drops it when its process dies: a killed run
    never blocks --resume. Locking the folder, not a file in it, leaves a run that fails on bad
    input as it was; folders this call created are removed again if the run leaves them empty."""
    created = []  # the folders this call makes, innermost first
    folder = os.path.abspath(run_dir)
    while not os.path.exists(folder):
        created.append(folder)
        folder = os.path.dirname(folder)
    try:
        os.makedirs(run_dir, exist_ok=True)
        handle = os.open(run_dir, os.O_RDONLY)
    except OSError as error:
        raise UsageError(
            f"cannot make the run folder {run_dir} ({error.strerror}); pass --output with a folder you can write to"
        ) from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(handle)
        try:
            with open(os.path.join(run_dir, HOLDER)) as f:
                holder = f"the training in process {f.read().strip()}"
        except OSError:
            holder = "another training"
        raise UsageError(
            f"{run_dir} is in use by {holder}; wait for it to end, or pass --output with another folder"
        ) from None
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.remove(os.path.join(run_dir, HOLDER))
        for folder in created:
            if os.listdir(folder):
                break
            os.rmdir(folder)
        os.close(handle)


def _announce_holder(run_dir):
    """Names this process in the run folder, for the error a second training gets."""
    with open(os.path.join(run_dir, HOLDER), "w") as f:
        f.write(f"{os.getpid()}\n")


@contextlib.contextmanager
def _precision_policy(precision):
    """The run's dtype policy for this run only: Keras' policy is global, and models the caller
    builds afterwards (a classifier in the same notebook) must not inherit it."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(precision)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def train(config, resume=False, verbose=None):
    """Trains as `config` (a config.TrainConfig) says and returns the run folder; `resume`
    continues a killed run."""
    with _precision_policy(config.precision):
        try:
            return _train(config, resume, verbose)
        except OSError as error:
            if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST):
                raise UsageError(
                    f"cannot write {error.filename or config.run_dir()} ({error.strerror}); make it writable or "
                    "pass --output with a folder you can write to (a checkpoint already written is kept)"
                ) from None
            if error.errno != errno.ENOSPC:
                raise
            raise UsageError(
                f"no space left on the device writing {error.filename or config.run_dir()}; free some space and "
                "rerun with --resume (the last checkpoint is kept)"
            ) from None


def _train(config, resume, verbose):
    run_dir = config.run_dir()
    if os.path.exists(run_dir) and not os.path.isdir(run_dir):
        raise UsageError(f"output {run_dir} is a file, not a folder; pass --output with a folder path")
    strategy = make_strategy(config.strategy)  # first: multiworker's must be TensorFlow's first work
    keras.utils.set_random_seed(config.seed)
    if not strategy.extended.should_checkpoint:
        return _train_as_worker(run_dir, config, strategy, resume, verbose)
    with locked_run_folder(run_dir):
        if not resume:
            _refuse_to_overwrite(run_dir)
        remove_leftovers(os.path.join(run_dir, "checkpoints"))
        remove_export_leftovers(os.path.join(run_dir, "export"))
        return _train_in(run_dir, config, strategy, resume, verbose)


def _train_as_worker(run_dir, config, strategy, resume, verbose):
    """A worker other than the chief takes every step with it, callbacks and export included (they
    may hold collective ops), but writes into a folder of its own, removed at the end: only the
    chief writes the run folder. It resumes from a copy of the chief's checkpoints, so the chief's
    folder must be at the same path on every machine (a shared filesystem, or a copy)."""
    scratch = tempfile.mkdtemp(prefix="keras-gans-worker-")
    try:
        if resume:
            os.makedirs(os.path.join(scratch, "checkpoints"))
            for name in (LATEST, PREVIOUS):
                with contextlib.suppress(FileNotFoundError):  # the chief may set a damaged one aside
                    shutil.copy(os.path.join(run_dir, "checkpoints", name), os.path.join(scratch, "checkpoints"))
        resolver = strategy.cluster_resolver
        print(
            f"{resolver.task_type} {resolver.task_id}: the chief writes {run_dir}; this worker's files go to "
            f"{scratch}, removed at the end",
            flush=True,
        )
        _train_in(scratch, config, strategy, resume, verbose)
        return run_dir
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _train_in(run_dir, config, strategy, resume, verbose):
    checkpoints = os.path.join(run_dir, "checkpoints")
    data = load_data(config)
    events = {}  # {epoch: what happened}, for history.csv
    for attempt in range(MAX_LEARNING_RATE_HALVINGS + 1):
        with strategy.scope():
            model = build_model(config, data)
        try:
            initial_epoch = _restore(model, checkpoints) if resume or attempt else 0
        except CheckpointMismatch as error:
            raise CheckpointMismatch(f"{error}{_changes_since_run(run_dir, config)}") from None
        if isinstance(model, SelfConditionedGAN) and not model.clustered:  # not yet checkpointed
            _cluster(model, config, data)
        if _on_several_workers(strategy):
            _check_workers_agree(strategy, config, data, model, initial_epoch)
            _log_vectors(model)
        if not attempt:
            print(start_line(run_dir, config, data, strategy), flush=True)
        if resume and not attempt:
            print(f"resumed {run_dir} after epoch {initial_epoch} of {config.epochs}", flush=True)
        _announce_holder(run_dir)
        if initial_epoch > config.epochs:
            raise UsageError(
                f"{run_dir} has finished {initial_epoch} epochs, more than --epochs {config.epochs}; pass --epochs "
                f"above {initial_epoch} to train it on"
            )
        if initial_epoch:  # a damaged history is refused before anything is written
            gan_callbacks.history_until(os.path.join(run_dir, "history.csv"), initial_epoch)
        if data.manifest:  # checked before config.yaml is written: a refused resume changes nothing
            _record_manifest(data.manifest, os.path.join(run_dir, "data.yaml"), bool(resume or attempt))
        config_lib.save(config, os.path.join(run_dir, "config.yaml"))
        guard = gan_callbacks.DivergenceGuard(events)
        _fit(model, data, config, run_dir, initial_epoch, guard, events, verbose)
        if not guard.diverged:
            break
        if config.on_divergence == "stop" or attempt == MAX_LEARNING_RATE_HALVINGS:
            kept = f"the checkpoint of epoch {initial_epoch} is kept" if initial_epoch else "no epoch finished"
            raise TrainingDiverged(
                f"{guard.diverged}; {kept} and nothing was exported; lower the learning rates "
                "(--resume --g-lr ... --d-lr ...), or pass --on-divergence lower_lr"
            )
        config = _with_half_learning_rates(config)
        rates = ", ".join(f"{key} {value:g}" for key, value in _learning_rates(config).items())
        note = f"{guard.diverged}; rolled back to epoch {initial_epoch} and halved the learning rates ({rates})"
        print(f"warning: {note}", file=sys.stderr, flush=True)
        events[initial_epoch + 1] = note  # the retried epoch's row replaces the diverged one
    for name, export in model.exports().items():
        print(f"exported {export_saved_model(export, os.path.join(run_dir, 'export', name))}", flush=True)
    return run_dir


def _check_workers_agree(strategy, config, data, model, epoch):
    """Refuses to train unless every worker has the same config, data size and training state.
    Workers exchange only gradients: one resumed from another checkpoint, or run with another
    command, would train other weights without an error."""
    digest = hashlib.sha256(repr((config.to_dict() | {"output": None, "name": None}, data.num_examples)).encode())
    for variable in model.variables + [v for optimizer in model.optimizers.values() for v in optimizer.variables]:
        digest.update(np.asarray(variable.numpy()).tobytes())
    mine = tf.constant(np.frombuffer(digest.digest()[:8], np.int32))
    every = strategy.gather(strategy.experimental_distribute_values_from_function(lambda _: mine), axis=0)
    digests = every.numpy().reshape(-1, 2)
    if (digests != digests[0]).any():
        raise UsageError(
            f"the workers differ in their command, data or checkpoint (this one is after epoch {epoch}); run the "
            "same command on each, and to resume, keep the chief's run folder at the same path on every machine"
        )


def _on_several_workers(strategy):
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and (
        strategy.num_replicas_in_sync > len(strategy.extended.worker_devices)
    )


def _log_vectors(model):
    """Makes each value a train step logs a one-element vector. Keras 3 averages the logs of a
    step on several workers over their first axis, which a scalar lacks (TensorFlow issue 72388);
    the average of the vectors is the scalar again."""
    step = model.train_step
    model.train_step = lambda data: tf.nest.map_structure(lambda value: tf.reshape(value, [1]), step(data))


def steps_per_epoch(config, data):
    """Train steps in an epoch, or None when the pipeline cannot count them ahead."""
    if config.steps_per_epoch:
        return config.steps_per_epoch
    steps = int(data.dataset.cardinality())
    return steps if steps > 0 else None


def start_line(run_dir, config, data, strategy):
    """What a run is about to do, in one line: where, on what, how long, on which devices."""
    height, width, channels = data.image_shape
    classes = f", {data.num_classes} classes" if data.num_classes else ""
    steps = steps_per_epoch(config, data)
    devices = collections.Counter(device.device_type for device in tf.config.list_logical_devices())
    on = ", ".join(f"{count} {kind}" for kind, count in sorted(devices.items()) if kind in ("CPU", "GPU", "TPU"))
    replicas = strategy.num_replicas_in_sync
    spread = f"{type(strategy).__name__} over {replicas} replicas" if replicas > 1 else "one device"
    if _on_several_workers(strategy):
        resolver = strategy.cluster_resolver
        spread = f"MultiWorkerMirroredStrategy over {replicas} replicas, here {resolver.task_type} {resolver.task_id}"
    images = f"{data.num_examples} images"
    if data.domain_sizes:
        images = "{} (A) and {} (B) images".format(*data.domain_sizes)
    return (
        f"training {config.method} on {config.data}: {images} at {height}x{width}x{channels}"
        f"{classes}; {steps or 'unknown'} steps of {config.batch_size} per epoch, {plural(config.epochs, 'epoch')}; "
        f"{spread} ({on}); run folder {run_dir}"
    )


def _fit(model, data, config, run_dir, initial_epoch, guard, events, verbose):
    history = os.path.join(run_dir, "history.csv")
    model.held_out = gan_callbacks.read_held_out(config.data, data.image_shape, model)  # for the pictures
    callback_list = [
        guard,  # first (after Keras' bar, which records nothing): a diverged epoch is marked before anything records it
        gan_callbacks.CollapseWatch(events),
        gan_callbacks.SampleGrid(
            os.path.join(run_dir, "samples"), seed=config.seed, log_dir=os.path.join(run_dir, "logs")
        ),
        gan_callbacks.HistoryCSV(history, resume_from_epoch=initial_epoch, events=events),
        gan_callbacks.TrainingCheckpoint(os.path.join(run_dir, "checkpoints"), guard),
        gan_callbacks.HistoryPlots(history, os.path.join(run_dir, "plots")),
        gan_callbacks.DiscriminatorOutputs(os.path.join(run_dir, "d_outputs"), log_dir=os.path.join(run_dir, "logs")),
        keras.callbacks.TensorBoard(os.path.join(run_dir, "logs"), write_graph=False),
        *model.schedule_callbacks(config.epochs),
    ]
    if verbose is None:  # Keras' bar on a terminal; lines a log file can hold elsewhere
        verbose = 1 if sys.stdout.isatty() else 0
        if not verbose:
            callback_list.append(ProgressLog(config.epochs, steps_per_epoch(config, data)))
    if verbose:  # Keras would put its bar last, and a warning at an epoch's end would land on the bar's line
        callback_list.insert(0, keras.callbacks.ProgbarLogger())
    if initial_epoch < config.epochs:
        dataset = _data_after(data.dataset, initial_epoch, config.steps_per_epoch)
        if _on_several_workers(model.distribute_strategy):
            dataset = _whole_batches(dataset)
        # shuffle=False: the tf.data pipeline shuffles; fit would only warn that it cannot.
        model.fit(
            dataset,
            epochs=config.epochs,
            initial_epoch=initial_epoch,
            shuffle=False,
            steps_per_epoch=config.steps_per_epoch,
            callbacks=callback_list,
            verbose=verbose,
        )


def _whole_batches(dataset):
    """`dataset` read whole by every worker, each keeping its replicas' share of every global batch:
    the batches one process would train on. TensorFlow would otherwise give each worker its own
    files (or fail, with fewer files than workers), which changes what a global batch holds."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def _data_after(dataset, epochs_done, steps_per_epoch):
    """`dataset` as fit draws from it, moved on by `epochs_done` epochs, so that a resumed run
    trains on the very batches the uninterrupted one would have (tests/test_faults.py checks the
    final weights are equal). The pipeline is seeded and draws a new shuffle order each time an
    iterator of it is opened."""
    if steps_per_epoch:  # one endless stream, epochs cut from it
        return dataset.repeat().skip(epochs_done * steps_per_epoch)
    # Keras' EpochIterator opens a fresh iterator of a dataset of known length when an epoch
    # begins and another when it ends. Opening (and dropping) as many moves the orders on
    # without decoding a batch.
    for _ in range(2 * epochs_done):
        iter(dataset)
    return dataset


def _changes_since_run(run_dir, config):
    """' (this command changes ...)', naming the settings in which `config` departs from the run's
    config.yaml (not yet overwritten), or '': the likely reason a checkpoint does not fit."""
    path = os.path.join(run_dir, "config.yaml")
    try:
        stored = config_lib.from_values(config_lib.load_yaml(path), path)
    except (OSError, UsageError):
        return ""
    before, now = stored.to_dict(), config.to_dict()
    changed = [
        f"{key}: {before[key]} in the run's config.yaml, {now[key]} now"
        for key in now
        if key not in ("epochs", "output", "name") and before.get(key, now[key]) != now[key]
    ]
    return f" (this command changes {'; '.join(changed)})" if changed else ""


def _restore(model, checkpoints):
    """The finished epochs of the run's last whole checkpoint (0 before the first), restored into
    `model`. The learning rates stay the config's: what config.yaml records is what runs."""
    if latest_checkpoint(checkpoints) is None:  # killed before its first checkpoint was written
        print(f"no checkpoint yet in {checkpoints}; starting from the first epoch", flush=True)
        return 0
    rates = {name: float(keras.ops.convert_to_numpy(o.learning_rate)) for name, o in model.optimizers.items()}
    epoch = restore_training_state(
        model, checkpoints, on_fallback=lambda text: print(f"warning: {text}", file=sys.stderr, flush=True)
    )
    for name, rate in rates.items():
        model.optimizers[name].learning_rate = rate
    return epoch


def _learning_rates(config):
    return {key: value for key, value in dataclasses.asdict(config.options).items() if key.endswith("_lr")}


def _with_half_learning_rates(config):
    halved = {key: value / 2 for key, value in _learning_rates(config).items()}
    return dataclasses.replace(config, options=dataclasses.replace(config.options, **halved))
