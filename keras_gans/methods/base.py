"""What every adversarial method shares: networks, optimizers, noise, metrics and the EMA generator.

Subclasses write only their `train_step`. The helpers here carry the pitfalls once:
losses are scaled by 1 / replicas before gradients (the TF trainer sums replica gradients),
each replica draws its own slice of the global batch's noise, mixed precision wraps each optimizer
in its own LossScaleOptimizer, and the EMA generator is what sampling and export use.
"""

import numpy as np
import keras
import tensorflow as tf
from keras import ops

from keras_gans.export import images_to_uint8


def _replica_context():
    """(replica id, number of replicas) inside a train step; (0, 1) outside any strategy."""
    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context, e.g. building variables in strategy.scope()
        return 0, 1
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


class AdversarialModel(keras.Model):
    """Base of every method: networks, each trained by its own optimizer.

    A subclass sets `networks`, a mapping from optimizer name to the network that optimizer
    trains (e.g. {"g_optimizer": generator, "d_optimizer": discriminator}); `compile` takes one
    optimizer per name, and `metric_names` lists what `train_step` reports through `record`.
    """

    metric_names = ()

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="train_noise")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.metric_names}
        self.built = True

    @property
    def networks(self):
        raise NotImplementedError

    def default_optimizer(self, name):
        return keras.optimizers.Adam(2e-4, beta_1=0.5)

    def get_config(self):
        return {"name": self.name, "seed": self.seed}

    def compile(self, jit_compile=False, run_eagerly=False, **optimizers):
        """Takes one optimizer per network (`g_optimizer=`, `d_optimizer=`, ...).

        Missing ones get the method's paper default. Optimizers are built here, inside the
        strategy scope the model was made in, so their slots are mirrored like the weights.
        """
        unknown = set(optimizers) - set(self.networks)
        if unknown:
            raise ValueError(
                f"{type(self).__name__}.compile got {sorted(unknown)}; it takes "
                f"{', '.join(self.networks)}, jit_compile and run_eagerly"
            )
        super().compile(jit_compile=jit_compile, run_eagerly=run_eagerly)
        mixed = keras.mixed_precision.global_policy().compute_dtype == "float16"
        for name, network in self.networks.items():
            optimizer = optimizers.get(name) or self.default_optimizer(name)
            if mixed and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
                optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
            optimizer.build(network.trainable_variables)
            setattr(self, name, optimizer)

    def get_compile_config(self):
        config = {name: keras.saving.serialize_keras_object(getattr(self, name))
                  for name in self.networks}
        config["jit_compile"] = bool(self.jit_compile)
        return config

    def compile_from_config(self, config):
        config = dict(config)
        jit_compile = config.pop("jit_compile", False)
        self.compile(jit_compile=jit_compile,
                     **{name: keras.saving.deserialize_keras_object(value)
                        for name, value in config.items()})

    def schedule_callbacks(self, epochs):
        """Callbacks the method's recipe needs over a run of `epochs` (learning-rate decay, say)."""
        return []

    @property
    def optimizers(self):
        """The compiled optimizers by name, for checkpoints and schedules."""
        return {name: getattr(self, name) for name in self.networks}

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
        return ops.slice(values, (replica * batch_size,) + (0,) * len(shape),
                         (batch_size,) + tuple(shape))

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



class NoiseToImageModel(AdversarialModel):
    """A generator from latent noise to images and a discriminator (or critic) of images.

    Sampling and export use an exponential moving average of the generator when `ema_decay` > 0.
    """

    metric_names = ("d_loss", "g_loss", "d_real", "d_fake")

    def __init__(self, generator, discriminator, latent_dim=None, ema_decay=0.999, seed=None,
                 **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim or generator.inputs[0].shape[-1])
        self.ema_decay = float(ema_decay or 0.0)
        self.ema_generator = self._make_ema(generator) if self.ema_decay else None

    @property
    def networks(self):
        return {"g_optimizer": self.generator, "d_optimizer": self.discriminator}

    def get_config(self):
        config = {**super().get_config(), "latent_dim": self.latent_dim,
                  "ema_decay": self.ema_decay}
        for attribute in ("generator", "discriminator"):
            config[attribute] = keras.saving.serialize_keras_object(getattr(self, attribute))
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for attribute in ("generator", "discriminator"):
            config[attribute] = keras.saving.deserialize_keras_object(config[attribute])
        return cls(**config)

    def sample_latent(self, batch_size):
        """Latent noise for this replica's share of the global batch (see `replica_share`)."""
        return self.replica_share(keras.random.normal, batch_size, (self.latent_dim,))

    # ----------------------------------------------------------------- EMA generator
    @staticmethod
    def _make_ema(network):
        ema = keras.models.clone_model(network)
        ema.name = f"ema_{network.name}"
        ema.set_weights(network.get_weights())
        ema.trainable = False
        return ema

    def update_ema(self):
        """ema = d * ema + (1 - d) * weights, with d warming up as (1 + t) / (10 + t).

        The warm-up lets the average follow the fast early changes instead of dragging the
        random initialisation along for thousands of steps.
        """
        if self.ema_generator is None:
            return
        step = ops.cast(self.g_optimizer.iterations, "float32")
        decay = ops.minimum(self.ema_decay, (1.0 + step) / (10.0 + step))
        for average, weight in zip(self.ema_generator.variables, self.generator.variables):
            average.assign(decay * average + (1.0 - decay) * ops.cast(weight, average.dtype))

    @property
    def sampling_generator(self):
        """The generator used for samples and export: the EMA one when there is one."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    # ----------------------------------------------------------------- sampling
    def latent_noise(self, n, seed=None):
        """`n` latent vectors as numpy, reproducible for a given seed."""
        rng = np.random.default_rng(seed)
        return rng.standard_normal((n, self.latent_dim)).astype("float32")

    def generate_from_latent(self, z, batch_size=256):
        """Images in [-1, 1] for the given latent vectors."""
        return np.concatenate([
            ops.convert_to_numpy(self.sampling_generator(z[i:i + batch_size], training=False))
            for i in range(0, len(z), batch_size)
        ]).astype("float32")

    def generate(self, n, seed=None):
        """`n` new images in [-1, 1], as a float32 numpy array (N, H, W, C)."""
        return self.generate_from_latent(self.latent_noise(n, seed))

    def preview_rows(self, seed=0, rows=8, columns=8):
        """What the sample grid shows, as (rows, columns, H, W, C): fixed noise for a given seed."""
        images = self.generate(rows * columns, seed=seed)
        return images.reshape((rows, columns) + images.shape[1:])

    # ----------------------------------------------------------------- export
    @property
    def export_networks(self):
        return [self.sampling_generator]

    def serving_signatures(self):
        """`serving_default`: z (float32 [batch, latent_dim]) -> images (uint8 [batch, H, W, C])."""
        generator = self.sampling_generator

        @tf.function(input_signature=[tf.TensorSpec([None, self.latent_dim], tf.float32, name="z")])
        def generate(z):
            return {"images": images_to_uint8(generator(z, training=False))}

        return {"serving_default": generate}
