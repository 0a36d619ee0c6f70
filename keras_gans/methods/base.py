"""What every adversarial method shares, and the contract the rest of the package relies on.

A method is an `AdversarialModel` that declares, rather than leaves to be probed:
- its players (`players`): each network, the optimizer that trains it and its side
  (generator or discriminator), which decides the learning rate it gets;
- what it reports (`metric_names`) and what each history plot shows (`plot_panels`);
- the data it trains on (`training_data`, from `takes_labels`, `unpaired`, `batches_per_step`),
  the layout `fit` checks a user's data against (`batch_layout`), and what it reads of that data
  before the first step (`before_training`);
- what it previews (`preview_rows`) and serves (`exports`: by default one SavedModel, the
  generator, of `export_networks`, `serving_signatures` and `export_constants`).

The helpers here carry the training pitfalls once: losses are scaled by 1 / replicas before
gradients (the TF trainer sums replica gradients), each replica draws its own slice of the global
batch's noise, and mixed precision wraps each optimizer in its own LossScaleOptimizer.
"""

import contextlib
import dataclasses

import keras
import tensorflow as tf
from keras import ops

from keras_gans.data import checks, load_dataset, load_unpaired
from keras_gans.data.core import DataError, without_autotuning
from keras_gans.data.sources import UNPAIRED_IMAGE_SIZE
from keras_gans.options import RENAMED, ConfigError, option, validate

GENERATOR = "generator"
DISCRIMINATOR = "discriminator"


def _replica_context():
    """(replica id, number of replicas) inside a train step; (0, 1) outside any strategy."""
    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context, e.g. building variables in strategy.scope()
        return 0, 1
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


@dataclasses.dataclass(frozen=True)
class Player:
    """A network, and which side of the game it plays."""

    network: keras.Model
    side: str  # GENERATOR or DISCRIMINATOR


@dataclasses.dataclass(frozen=True)
class Export:
    """One SavedModel: the networks it holds, its serving functions and its integer constants."""

    networks: list
    signatures: dict
    constants: dict


@dataclasses.dataclass
class OptimizerOptions:
    """One optimizer per network: the generators' rate for the generator side, the
    discriminators' for the other. Every method's options start with these."""

    optimizer: str = option(
        "adam",
        "optimizer of every network",
        "Radford et al. 2015, and most GAN papers since",
        choices=("adam", "rmsprop"),
        stage="compile",
    )
    g_lr: float = option(
        2e-4,
        "learning rate of the generator side",
        "Radford et al. 2015, and most GAN papers since",
        minimum=0,
        stage="compile",
    )
    d_lr: float = option(
        2e-4,
        "learning rate of the discriminator side",
        "Radford et al. 2015, and most GAN papers since",
        minimum=0,
        stage="compile",
    )
    beta_1: float = option(
        0.5, "Adam's first-moment decay", "Radford et al. 2015, and most GAN papers since", minimum=0, stage="compile"
    )
    beta_2: float = option(0.999, "Adam's second-moment decay", "Kingma and Ba 2015", minimum=0, stage="compile")


def make_optimizer(options, side):
    """The optimizer `options` give a network of `side`."""
    rate = options.g_lr if side == GENERATOR else options.d_lr
    if options.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(rate)
    return keras.optimizers.Adam(rate, beta_1=options.beta_1, beta_2=options.beta_2)


def training_options(options):
    """The fields of an options dataclass that the model's constructor takes."""
    return {
        field.name: getattr(options, field.name)
        for field in dataclasses.fields(options)
        if field.metadata.get("stage") == "train"
    }


def frozen_copy(network):
    """A non-trainable clone of `network` with its weights: where a moving average starts."""
    copy = keras.models.clone_model(network)
    copy.name = f"ema_{network.name}"
    copy.set_weights(network.get_weights())
    copy.trainable = False
    return copy


def update_moving_average(average, network, step, decay):
    """average = d * average + (1 - d) * network, with d warming up as (1 + t) / (10 + t) after
    update t (`step`, an optimizer's iteration count).

    The warm-up lets the average follow the fast early changes instead of dragging the random
    initialisation along for thousands of steps.
    """
    step = ops.cast(step, "float32")
    decay = ops.minimum(decay, (1.0 + step) / (10.0 + step))
    for mean, weight in zip(average.variables, network.variables):
        if keras.backend.is_float_dtype(mean.dtype):  # not the noise layers' seed states
            mean.assign(decay * mean + (1.0 - decay) * ops.cast(weight, mean.dtype))


@contextlib.contextmanager
def state_restored(*networks):
    """Sets every non-trainable variable of `networks` (BatchNorm's moving statistics, the noise
    layers' seed states) back as it was after the body: networks called with training=True for a
    picture leave training to go on exactly as it would have."""
    saved = [(variable, variable.numpy()) for network in networks for variable in network.non_trainable_variables]
    try:
        yield
    finally:
        for variable, value in saved:
            variable.assign(value)


class AdversarialModel(keras.Model):
    """Base of every method: players, each trained by its own optimizer.

    `Options` is the method's options dataclass: its training fields are the constructor's
    keyword options (with their declared defaults), its optimizer fields give `compile` the
    paper's optimizers when none are passed.
    """

    Options = OptimizerOptions
    takes_labels = False  # batches are (images, int labels)
    unpaired = False  # batches are (images_a, images_b)
    network_arguments = {}  # constructor arguments that are networks: argument -> attribute

    def __init__(self, seed=None, metric_names=(), **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="train_noise")
        self.metric_names = tuple(metric_names)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.metric_names}
        self.built = True

    @classmethod
    def resolve_options(cls, options):
        """The class's declared training options, overridden by `options` (the constructor's
        keywords); a keyword the class does not declare is a one-line error."""
        defaults = training_options(cls.Options())
        for key in sorted(set(options) - set(defaults)):
            renamed = f" (it is now called {RENAMED[key]!r})" if key in RENAMED else ""
            raise ConfigError(
                f"{cls.__name__} takes no option {key!r}{renamed}; its options are "
                f"{', '.join(defaults)} (network sizes go to keras_gans.build)"
            )
        return {**defaults, **validate(cls.Options, options)}

    @classmethod
    def batches_per_step(cls, options):
        """Real batches one train step consumes (the discriminator's updates, for the GANs)."""
        return 1

    @classmethod
    def training_data(cls, data, *, options, batch_size, image_size=None, channels=None, seed=None, augment=None):
        """The batches the method trains on (a data.ImageData): two unpaired domains, or one
        source whose elements hold every real batch of a step, with labels where it takes them."""
        if cls.unpaired:
            return load_unpaired(
                data, image_size or UNPAIRED_IMAGE_SIZE, batch_size, channels=channels or 3, seed=seed, augment=augment
            )
        return load_dataset(
            data,
            image_size,
            batch_size,
            batches_per_step=cls.batches_per_step(options),
            channels=channels,
            with_labels=cls.takes_labels,
            seed=seed,
            augment=augment,
        )

    @property
    def batch_layout(self):
        """What a batch holds, as data.checks' IMAGES and LABELS nested in tuples."""
        one = (checks.IMAGES, checks.LABELS) if self.takes_labels else checks.IMAGES
        return (one, one) if self.unpaired else one

    # ----------------------------------------------------------------- the contract
    @property
    def players(self):
        """{optimizer attribute: Player}, in the order the optimizers are checkpointed."""
        raise NotImplementedError

    @property
    def plot_panels(self):
        """{plot name: (y label, metric names)}: what each history plot shows."""
        return {"losses": ("loss", self.metric_names)}

    def preview_rows(self, seed=0):
        """The sample grid as (rows, columns, H, W, C) images in [-1, 1]."""
        raise NotImplementedError

    # The pictures' hooks (keras_gans.callbacks): real images the run does not train on, read by
    # the run (callbacks.read_held_out, held_out_count per domain; None: the method's fallback);
    # a name per preview row for the grid's margin (None: unnamed); the x-axis of D's outputs.
    held_out = None
    held_out_count = 64
    preview_row_names = None
    discriminator_output_label = "D's output"

    def discriminator_outputs(self, seed=0):
        """{name: (D's outputs on real images, on generated ones)} as flat numpy arrays, for the
        histograms of callbacks.DiscriminatorOutputs; None where the method has none. The real
        images are `held_out`, the generated ones come from numpy noise of `seed`. Networks run
        in inference mode, or where batch statistics matter (BatchNorm) as in a train step and
        then `state_restored`: no variable or random state of training may change."""
        return None

    @property
    def generator_objective(self):
        """{term: {metric: weight}}: the generators' objective as a weighted sum of reported
        metrics, for the plot of each term's weighted share; {} where it is a single term."""
        return {}

    @property
    def export_networks(self):
        """The networks the serving signatures use (saved with the export)."""
        raise NotImplementedError

    def serving_signatures(self):
        """{name: tf.function with an input signature} for the SavedModel."""
        raise NotImplementedError

    def export_constants(self):
        """Integers a caller of the export must know (e.g. num_classes), saved beside it."""
        return {}

    def exports(self):
        """{folder name under export/: Export}; the generator by default."""
        return {"generator": Export(list(self.export_networks), self.serving_signatures(), self.export_constants())}

    def before_training(self, data):
        """What the model must read of its checked training data before the first step (fit's
        `x`, or `(x, y)`); nothing by default. A self-conditioned GAN clusters it."""

    def schedule_callbacks(self, epochs):
        """Callbacks the method's recipe needs over a run of `epochs` (learning-rate decay, say)."""
        return []

    # ----------------------------------------------------------------- fit
    def fit(self, x=None, y=None, batch_size=None, **kwargs):
        """Keras' fit, refusing data this model cannot train on with a one-line DataError that
        names the fix (data.checks): the element's structure, dtypes and image shape before
        training starts, each batch's values before it trains. Arrays given to a model that
        makes several discriminator updates per step (WGAN's d_steps) are batched by
        d_steps x batch_size here, so `batch_size` means one update's batch as elsewhere."""
        name = type(self).__name__
        steps = type(self).batches_per_step(self)  # a model holds its training options as attributes
        layout, num_classes, image_shape = (
            self.batch_layout,
            getattr(self, "num_classes", None),
            self.network_image_shape(),
        )
        try:  # a value check failing, in the arrays or in the pipeline, raises InvalidArgumentError
            if isinstance(x, tf.data.Dataset):
                if y is not None:
                    raise DataError(f"{name}.fit got a dataset and y; a dataset's elements carry the labels")
                checks.check_spec(
                    x.element_spec, layout, model_name=name, image_shape=image_shape, batches_per_step=steps
                )
                x = checks.checked_values(x, layout, model_name=name, num_classes=num_classes, batches_per_step=steps)
                kwargs.setdefault("shuffle", False)  # the pipeline shuffles; fit would only warn it cannot
            elif isinstance(x, (list, tuple)) or hasattr(x, "__array__"):
                arrays = x if y is None else (x, y)
                checks.check_spec(checks.spec_of_arrays(arrays), layout, model_name=name, image_shape=image_shape)
                checks.checked_arrays(arrays, layout, model_name=name, num_classes=num_classes)
                if steps > 1:
                    shuffle = kwargs.pop("shuffle", True)
                    x, y, batch_size = (
                        checks.array_steps(arrays, batch_size or 32, steps, shuffle, self.seed),
                        None,
                        None,
                    )
                    kwargs["shuffle"] = False
            if isinstance(x, tf.data.Dataset):  # the user's, or the steps made of their arrays
                x = without_autotuning(x)
            self.before_training(x if y is None else (x, y))
            return super().fit(x, y, batch_size=batch_size, **kwargs)
        except tf.errors.InvalidArgumentError as error:
            refusal = checks.fit_refusal(error)
            if refusal is None:
                raise
            raise DataError(refusal) from None

    def network_image_shape(self):
        """(H, W, C) of the images the first discriminator takes, or None if it does not say."""
        for player in self.players.values():
            if player.side == DISCRIMINATOR:
                inputs = getattr(player.network, "inputs", None)
                return tuple(inputs[0].shape[1:]) if inputs else None
        return None

    # ----------------------------------------------------------------- compile and config
    def get_config(self):
        """The constructor's arguments: name, seed, the training options and the networks."""
        config = {"name": self.name, "seed": self.seed, **{key: getattr(self, key) for key in self.resolve_options({})}}
        for argument, attribute in self.network_arguments.items():
            network = getattr(self, attribute)
            config[argument] = None if network is None else keras.saving.serialize_keras_object(network)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for argument in cls.network_arguments:
            if config.get(argument) is not None:
                config[argument] = keras.saving.deserialize_keras_object(config[argument])
        return cls(**config)

    def compile(self, jit_compile=False, run_eagerly=False, steps_per_execution=1, **optimizers):
        """Takes one optimizer per player (`g_optimizer=`, `d_optimizer=`, ...).

        Missing ones get the method's declared default. Optimizers are built here, inside the
        strategy scope the model was made in, so their slots are mirrored like the weights.
        """
        unknown = set(optimizers) - set(self.players)
        if unknown:
            raise ValueError(
                f"{type(self).__name__}.compile got {sorted(unknown)}; it takes "
                f"{', '.join(self.players)}, jit_compile, run_eagerly and steps_per_execution"
            )
        super().compile(jit_compile=jit_compile, run_eagerly=run_eagerly, steps_per_execution=steps_per_execution)
        mixed = keras.mixed_precision.global_policy().compute_dtype == "float16"
        defaults = self.Options()
        for name, player in self.players.items():
            optimizer = optimizers.get(name) or make_optimizer(defaults, player.side)
            if mixed and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
                optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
            optimizer.build(player.network.trainable_variables)
            setattr(self, name, optimizer)

    def get_compile_config(self):
        config = {name: keras.saving.serialize_keras_object(getattr(self, name)) for name in self.players}
        config["jit_compile"] = bool(self.jit_compile)
        config["steps_per_execution"] = int(self.steps_per_execution)
        return config

    def compile_from_config(self, config):
        config = dict(config)
        jit_compile = config.pop("jit_compile", False)
        steps_per_execution = config.pop("steps_per_execution", 1)
        self.compile(
            jit_compile=jit_compile,
            steps_per_execution=steps_per_execution,
            **{name: keras.saving.deserialize_keras_object(value) for name, value in config.items()},
        )

    @property
    def optimizers(self):
        """The compiled optimizers by name, for checkpoints and schedules."""
        return {name: getattr(self, name) for name in self.players}

    @property
    def metrics(self):
        return list(self.trackers.values())

    # ----------------------------------------------------------------- train-step helpers
    @staticmethod
    def images_of(data):
        """The image batch of a dataset element, which may carry labels."""
        return data[0] if isinstance(data, (tuple, list)) else data

    def replica_share(self, draw, batch_size, shape=()):
        """This replica's share of random draws made for the global batch.

        A SeedGenerator is mirrored, so every replica would draw the same numbers; drawing for
        the global batch and slicing gives each replica distinct draws, and the same draws a
        single device would make for the whole batch. `draw(shape, seed=...)` is a keras.random
        function.
        """
        replica, replicas = _replica_context()
        values = draw((batch_size * replicas,) + tuple(shape), seed=self.seed_generator)
        if replicas == 1:
            return values
        return ops.slice(values, (replica * batch_size,) + (0,) * len(shape), (batch_size,) + tuple(shape))

    def sample_uniform(self, batch_size):
        """Per-sample uniform draws in [0, 1) (interpolation weights, say)."""
        return self.replica_share(keras.random.uniform, batch_size)

    @staticmethod
    def scale_loss(loss, optimizer):
        """Loss as it must be differentiated: divided by the replicas, times the loss scale.

        Call it inside the tape.
        """
        _, replicas = _replica_context()
        if replicas > 1:
            loss = loss / replicas
        return optimizer.scale_loss(loss)

    @staticmethod
    def apply_gradients(tape, scaled_loss, optimizer, network):
        variables = network.trainable_variables
        optimizer.apply(tape.gradient(scaled_loss, variables), variables)

    def record(self, **values):
        """Updates the metric trackers and returns what `fit` shows."""
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}
