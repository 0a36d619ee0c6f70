"""The GAN of noise to images (Goodfellow et al. 2014), and the loop every noise-to-image method
shares: `gan` (MLP networks), `dcgan` (Radford et al. 2015), `lsgan` (Mao et al. 2017), and in
their own modules WGAN, WGAN-GP, cGAN and ACGAN.

One train step, Algorithm 1 of Goodfellow et al. (and of Arjovsky et al., with k = n_critic):

    for each of d_steps real batches x:      # "k steps of the discriminator"
        z ~ N(0, I);  update D on (x, G(z));  apply D's constraint (clip, say)
    for each of g_steps:
        z ~ N(0, I);  update G on D(G(z));  update the moving average of G

A dataset element holds all of a step's real images: d_steps x batch_size of them. Update k takes
every d_steps-th image starting at k, a strided rather than a blocked split, because it commutes
with MirroredStrategy's split of the global batch into contiguous per-replica blocks: replica
r's k-th batch is then exactly its share of the single-device k-th batch.

Real and fake batches go through the discriminator in separate calls, as in DCGAN: with
BatchNorm in the discriminator, a mixed batch would let it separate the two by their batch
statistics instead of by the images.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_gans import losses, networks
from keras_gans.errors import UsageError
from keras_gans.export import finite_noise, images_to_uint8
from keras_gans.methods import registry
from keras_gans.methods.base import (
    DISCRIMINATOR,
    GENERATOR,
    AdversarialModel,
    OptimizerOptions,
    Player,
    frozen_copy,
    state_restored,
    training_options,
    update_moving_average,
)
from keras_gans.methods.constraints import (
    DifferentiableAugmentation,
    GradientPenalty,
    R1Penalty,
    SpectralNormalization,
    WeightClipping,
)
from keras_gans.networks.dcgan import draw_size_problem
from keras_gans.options import option


@dataclasses.dataclass
class GANOptions(OptimizerOptions):
    """The options of every noise-to-image method; `dcgan` takes them as they are."""

    generator: str = option(
        "dcgan",
        "networks: mlp (Goodfellow et al.) or dcgan (convolutional)",
        "Radford et al. 2015",
        choices=("mlp", "dcgan"),
        stage="build",
    )
    latent_dim: int = option(100, "size of the noise z", "Radford et al. 2015", minimum=1, stage="build")
    g_filters: int = option(
        64,
        "width of the generator's last hidden layer (dcgan networks)",
        "Radford et al. 2015",
        minimum=1,
        stage="build",
    )
    d_filters: int = option(
        64, "width of the discriminator's first layer (dcgan networks)", "Radford et al. 2015", minimum=1, stage="build"
    )
    draw_size: int = option(
        0,
        "the generator draws images this size and resizes them bicubically to the image size, for data "
        "made that way, such as the embedded digits (8); 0: it draws at the image size (dcgan networks)",
        "this project (docs/coverage.md)",
        minimum=0,
        stage="build",
        check=draw_size_problem,
    )
    adversarial_loss: str = option(
        "bce",
        "bce (non-saturating), lsgan, hinge or wasserstein",
        "Goodfellow et al. 2014",
        choices=tuple(losses.ADVERSARIAL_LOSSES),
    )
    d_steps: int = option(
        1,
        "discriminator updates per step, each on its own real batch (the WGAN papers' n_critic)",
        "Goodfellow et al. 2014",
        minimum=1,
    )
    g_steps: int = option(
        1, "generator updates per discriminator update, each on fresh noise", "Goodfellow et al. 2014", minimum=1
    )
    clip_value: float = option(
        0.0,
        "clip the discriminator's weights to +-this after each update (0: no clipping)",
        "Arjovsky et al. 2017",
        minimum=0,
    )
    gp_weight: float = option(
        0.0, "weight of the gradient penalty on the discriminator (0: off)", "Gulrajani et al. 2017", minimum=0
    )
    ema_decay: float = option(
        0.999,
        "decay of the generator's moving average that samples and exports use (0: the raw generator); "
        "a warm-up, (1 + t) / (10 + t) after t generator updates, caps it: 0.999 holds from update 8,990",
        "Karras et al. 2018",
        minimum=0,
    )
    spectral_norm: bool = option(
        False,
        "divide each discriminator kernel by its largest singular value after every update",
        "Miyato et al. 2018",
    )
    r1_gamma: float = option(
        0.0,
        "gamma of the R1 penalty, gamma/2 * |grad D(real)|^2, on the discriminator (0: off)",
        "Mescheder et al. 2018",
        minimum=0,
    )
    diff_augment: str = option(
        "",
        "augment real and generated images alike before D, differentiably: a comma-separated "
        "list of color, translation, cutout ('': none)",
        "Zhao et al. 2020",
        check=DifferentiableAugmentation.policy_problem,
    )
    minibatch_std: int = option(
        0,
        "add a channel of the spread over groups of this many images at D's base (0: off)",
        "Karras et al. 2018",
        minimum=0,
        stage="build",
    )
    mode_seeking: float = option(
        0.0,
        "weight of the mode-seeking term: G pays 1 / (how far apart two noises' images lie per unit "
        "of noise distance), in pairs of the same label (0: off)",
        "Mao et al. 2019 (docs/coverage.md)",
        minimum=0,
    )
    clusters: int = option(
        0,
        "self-conditioning: G(z, c) and D(x, c) for c the k-means cluster of the real images, drawn "
        "in the data's shares (0: off; dcgan networks)",
        "Liu et al. 2020 (docs/coverage.md)",
        minimum=0,
        stage="build",
    )


class NoiseToImage:
    """The players, sampling and export of a model with a `generator` from noise (of size
    `latent_dim`, averaged in `ema_generator` or None) and a `discriminator` of images."""

    @property
    def players(self):
        return {
            "g_optimizer": Player(self.generator, GENERATOR),
            "d_optimizer": Player(self.discriminator, DISCRIMINATOR),
        }

    def sample_latent(self, batch_size):
        """Latent noise for this replica's share of the global batch (see `replica_share`)."""
        return self.replica_share(keras.random.normal, batch_size, (self.latent_dim,))

    @property
    def sampling_generator(self):
        """The generator used for samples and export: the EMA one when there is one."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def latent_noise(self, n, seed=None):
        """`n` latent vectors as numpy, reproducible for a given seed."""
        rng = np.random.default_rng(seed)
        return rng.standard_normal((n, self.latent_dim)).astype("float32")

    def generate_from_latent(self, z, batch_size=256):
        """Images in [-1, 1] for the given latent vectors."""
        return np.concatenate(
            [
                ops.convert_to_numpy(self.sampling_generator(z[i : i + batch_size], training=False))
                for i in range(0, len(z), batch_size)
            ]
        ).astype("float32")

    def generate(self, n, seed=None):
        """`n` new images in [-1, 1], as a float32 numpy array (N, H, W, C)."""
        return self.generate_from_latent(self.latent_noise(n, seed))

    def preview_rows(self, seed=0, rows=8, columns=8):
        """Fixed noise for a given seed, as (rows, columns, H, W, C)."""
        images = self.generate(rows * columns, seed=seed)
        return images.reshape((rows, columns) + images.shape[1:])

    @property
    def export_networks(self):
        return [self.sampling_generator]

    def serving_signatures(self):
        """`serving_default`: z (float32 [batch, latent_dim]) -> images (uint8 [batch, H, W, C])."""
        generator = self.sampling_generator

        @tf.function(input_signature=[tf.TensorSpec([None, self.latent_dim], tf.float32, name="z")])
        def generate(z):
            return {"images": images_to_uint8(generator(finite_noise(z), training=False))}

        return {"serving_default": generate}


@keras.saving.register_keras_serializable(package="keras_gans")
class GAN(NoiseToImage, AdversarialModel):
    """A generator of images from noise and a discriminator (or critic) of images, trained by
    the loop in the module docstring; `options` are the training fields of `Options`.

    Sampling and export use an exponential moving average of the generator when `ema_decay` > 0.
    Conditional subclasses hook in through `split_batch`, `generator_inputs`, `discriminate` and
    `class_terms`.
    """

    Options = GANOptions
    network_arguments = {"generator": "generator", "discriminator": "discriminator"}

    def __init__(self, generator, discriminator, seed=None, name=None, **options):
        options = self.resolve_options(options)
        super().__init__(seed=seed, metric_names=self.reported_metrics(options), name=name)
        self.adversarial_loss = options["adversarial_loss"]
        self.d_steps = int(options["d_steps"])
        self.g_steps = int(options["g_steps"])
        self.clip_value = float(options["clip_value"])
        self.gp_weight = float(options["gp_weight"])
        self.ema_decay = float(options["ema_decay"] or 0.0)
        self.spectral_norm = bool(options["spectral_norm"])
        self.r1_gamma = float(options["r1_gamma"])
        self.diff_augment = str(options["diff_augment"] or "")
        self.mode_seeking = float(options["mode_seeking"])
        for key in ("d_steps", "g_steps"):
            if getattr(self, key) < 1:
                raise UsageError(f"{key} must be at least 1, got {getattr(self, key)}; 1 is Goodfellow et al.'s step")
        self.constraints = self.make_constraints(options)
        self.d_loss_fn, self.g_loss_fn = losses.get_adversarial_loss(self.adversarial_loss)
        self.generator = generator
        self.discriminator = discriminator
        # State of the constraints (spectral norm's vectors), tracked so checkpoints hold it.
        self.constraint_variables = [v for c in self.constraints for v in c.bind(discriminator)]
        self.latent_dim = int(generator.inputs[0].shape[-1])
        self.ema_generator = frozen_copy(generator) if self.ema_decay else None

    @staticmethod
    def make_constraints(options):
        """The discriminator constraints the options switch on, in the order they apply:
        augmentation first (the penalties see the images D sees), projections last."""
        constraints = []
        if options["diff_augment"]:
            constraints.append(DifferentiableAugmentation(options["diff_augment"]))
        if options["gp_weight"]:
            constraints.append(GradientPenalty(options["gp_weight"]))
        if options["r1_gamma"]:
            constraints.append(R1Penalty(options["r1_gamma"]))
        if options["clip_value"]:
            constraints.append(WeightClipping(options["clip_value"]))
        if options["spectral_norm"]:
            constraints.append(SpectralNormalization())
        return constraints

    @classmethod
    def reported_metrics(cls, options):
        names = ("d_loss", "g_loss", "d_real", "d_fake")
        if options["adversarial_loss"] == "wasserstein":
            names += ("wasserstein",)
        if options["mode_seeking"]:
            names += ("mode_seeking",)
        return names + tuple(c.name for c in cls.make_constraints(options) if c.name)

    @classmethod
    def batches_per_step(cls, options):
        return options.d_steps

    @property
    def discriminator_output_label(self):
        if self.adversarial_loss in losses.PROBABILISTIC_LOSSES:
            return "D(x) = P(real)"
        return "critic value f(x)" if self.adversarial_loss == "wasserstein" else f"D's score ({self.adversarial_loss})"

    def discriminator_outputs(self, seed=0):
        """D's outputs on the held-out images (with their labels, for a conditional model) and on
        the trained generator's images (the one D plays against, not its moving average) for the
        same labels, from numpy noise of `seed`. Both networks run as in a train step, on batch
        statistics (BatchNorm's moving ones lag far behind early in a run), and their moving
        statistics are then set back (`state_restored`)."""
        if self.held_out is None:
            return None
        real, labels = self.held_out.images[0], self.held_out.labels[0]
        z = ops.convert_to_tensor(self.latent_noise(len(real), seed))
        real = ops.convert_to_tensor(real)  # a network takes no mix of tensors and arrays
        real, labels = self.split_batch(real if labels is None else (real, ops.convert_to_tensor(labels)))
        with state_restored(self.generator, self.discriminator):
            fake = self.generator(self.generator_inputs(z, labels), training=True)
            return {
                "D": tuple(
                    ops.convert_to_numpy(self.output_values(self.discriminate(images, labels)[0])).ravel()
                    for images in (real, fake)
                )
            }

    @property
    def plot_panels(self):
        scores = ("d_real", "d_fake")
        return {
            "losses": ("loss", tuple(n for n in self.metric_names if n not in scores)),
            "scores": ("mean discriminator output", scores),
        }

    # ----------------------------------------------------------------- hooks for conditioning
    def split_batch(self, data):
        """The real images of a dataset element and their labels (None: unconditional)."""
        return self.images_of(data), None

    def generator_inputs(self, z, labels):
        return z

    def discriminate(self, images, labels):
        """(scores, class logits or None) of the discriminator for a batch."""
        return self.discriminator(images, training=True), None

    def class_terms(self, class_logits, labels, side):
        """Extra loss and metrics from class predictions (ACGAN's); none here."""
        return 0.0, {}

    # ----------------------------------------------------------------- the update
    def per_update(self, tensor):
        """The d_steps strided batches of a step's images (or labels); see the module doc."""
        size = tensor.shape[0]
        if size is not None and size % self.d_steps:
            raise UsageError(
                f"{type(self).__name__} takes d_steps={self.d_steps} real batches per step, but "
                f"got a batch of {size}; batch the data by d_steps * batch_size"
            )
        grouped = ops.reshape(tensor, (-1, self.d_steps) + tuple(tensor.shape[1:]))
        return [grouped[:, k] for k in range(self.d_steps)]

    def output_values(self, scores):
        """The discriminator's outputs as it reports them: a probability where the loss defines one."""
        scores = ops.cast(scores, "float32")
        return ops.sigmoid(scores) if self.adversarial_loss in losses.PROBABILISTIC_LOSSES else scores

    def mean_score(self, scores):
        """Mean discriminator output; a probability where the loss defines one."""
        return ops.mean(self.output_values(scores))

    def seen_by_discriminator(self, images):
        """`images` as the discriminator sees them: through each constraint's transform.

        In float32 first: a user's generator may end in bfloat16 under a mixed policy, and the
        transforms and penalties mix its images with float32 draws and data."""
        images = ops.cast(images, "float32")
        for constraint in self.constraints:
            images = constraint.transform(images, lambda n, shape: self.replica_share(keras.random.uniform, n, shape))
        return images

    def discriminator_loss(self, real, fake, labels):
        real, fake = self.seen_by_discriminator(real), self.seen_by_discriminator(fake)
        real_scores, real_classes = self.discriminate(real, labels)
        fake_scores, _ = self.discriminate(fake, labels)
        loss = self.d_loss_fn(real_scores, fake_scores)
        terms = {"d_real": self.mean_score(real_scores), "d_fake": self.mean_score(fake_scores)}
        if self.adversarial_loss == "wasserstein":
            terms["wasserstein"] = -loss
        for constraint in self.constraints:
            penalty = constraint.penalty(
                lambda images: self.discriminate(images, labels)[0], real, fake, self.sample_uniform
            )
            if penalty is not None:
                terms[constraint.name] = penalty
                loss = loss + constraint.weight * penalty
        class_loss, class_terms = self.class_terms(real_classes, labels, DISCRIMINATOR)
        return loss + class_loss if class_terms else loss, {**terms, **class_terms}

    def generator_loss(self, fake, labels):
        scores, classes = self.discriminate(self.seen_by_discriminator(fake), labels)
        class_loss, class_terms = self.class_terms(classes, labels, GENERATOR)
        loss = self.g_loss_fn(scores)
        return loss + class_loss if class_terms else loss, class_terms

    def discriminator_update(self, real, labels):
        z = self.sample_latent(ops.shape(real)[0])
        fake = self.generator(self.generator_inputs(z, labels), training=True)
        with tf.GradientTape() as tape:
            loss, terms = self.discriminator_loss(real, fake, labels)
            scaled = self.scale_loss(loss, self.d_optimizer)
        self.apply_gradients(tape, scaled, self.d_optimizer, self.discriminator)
        for constraint in self.constraints:
            constraint.after_update(self.discriminator)
        return {"d_loss": loss, **terms}

    def generator_update(self, batch_size, labels):
        if self.mode_seeking and labels is not None:  # pairs of rows 2i, 2i + 1 share a label
            labels = ops.repeat(labels[::2], 2, axis=0)[:batch_size]
        with tf.GradientTape() as tape:
            z = self.sample_latent(batch_size)
            fake = self.generator(self.generator_inputs(z, labels), training=True)
            loss, terms = self.generator_loss(fake, labels)
            if self.mode_seeking:
                terms["mode_seeking"] = losses.mode_seeking_loss(fake, z)
                loss = loss + self.mode_seeking * terms["mode_seeking"]
            scaled = self.scale_loss(loss, self.g_optimizer)
        self.apply_gradients(tape, scaled, self.g_optimizer, self.generator)
        self.update_ema()
        return {"g_loss": loss, **terms}

    def update_ema(self):
        """The generator's moving average after a generator update (see update_moving_average)."""
        if self.ema_generator is not None:
            update_moving_average(self.ema_generator, self.generator, self.g_optimizer.iterations, self.ema_decay)

    @staticmethod
    def mean_terms(step_terms):
        """Each reported term averaged over the discriminator's updates of a step."""
        if len(step_terms) == 1:  # as it is: a mean of one value can change its last bits
            return step_terms[0]
        return {name: ops.mean(ops.stack([terms[name] for terms in step_terms])) for name in step_terms[0]}

    def train_step(self, data):
        real, labels = self.split_batch(data)
        reals = self.per_update(real)
        label_batches = self.per_update(labels) if labels is not None else [None] * len(reals)
        d_terms = [self.discriminator_update(*batch) for batch in zip(reals, label_batches)]
        # The generator's fakes take the last real batch's labels: the data's class frequencies.
        for _ in range(self.g_steps):
            g_terms = self.generator_update(ops.shape(reals[-1])[0], label_batches[-1])
        return self.record(**self.mean_terms(d_terms), **g_terms)


# --------------------------------------------------------------------- the registered methods
@dataclasses.dataclass
class MLPGANOptions(GANOptions):
    generator: str = option(
        "mlp",
        "networks: mlp (Goodfellow et al.) or dcgan (convolutional)",
        "Goodfellow et al. 2014",
        choices=("mlp", "dcgan"),
        stage="build",
    )


@dataclasses.dataclass
class LSGANOptions(GANOptions):
    adversarial_loss: str = option(
        "lsgan",
        "bce (non-saturating), lsgan, hinge or wasserstein",
        "Mao et al. 2017",
        choices=tuple(losses.ADVERSARIAL_LOSSES),
    )


def discriminator_normalization(options):
    """BatchNorm (DCGAN's) unless a constraint forbids it: a per-sample penalty (GP, R1) would
    see other samples through the batch statistics, so LayerNorm; spectral normalisation makes
    each layer 1-Lipschitz, which a BatchNorm after it would undo, so none (Miyato et al.)."""
    if options.spectral_norm:
        return None
    return "layer" if options.gp_weight or options.r1_gamma else "batch"


def build_networks(options, image_shape):
    """(generator, discriminator) of `options.generator`'s kind, the discriminator normalised
    as its constraints allow (`discriminator_normalization`)."""
    if options.generator == "mlp":
        if options.draw_size:
            raise UsageError("draw_size is an option of the dcgan networks; set generator: dcgan or draw_size: 0")
        return (
            networks.build_mlp_generator(image_shape, latent_dim=options.latent_dim),
            networks.build_mlp_discriminator(image_shape, minibatch_std_group=options.minibatch_std),
        )
    generator = networks.build_dcgan_generator(
        image_shape, latent_dim=options.latent_dim, filters=options.g_filters, draw_size=options.draw_size
    )
    discriminator = networks.build_dcgan_discriminator(
        image_shape,
        filters=options.d_filters,
        normalization=discriminator_normalization(options),
        minibatch_std_group=options.minibatch_std,
        name=discriminator_name(options),
    )
    return generator, discriminator


def discriminator_name(options):
    """What the loss makes of D: a critic of scores under the Wasserstein loss."""
    return "critic" if options.adversarial_loss == "wasserstein" else "discriminator"


def build(model_class):
    """A builder for `registry.register`: networks from the options, then `model_class`."""

    def build_model(options, image_shape, num_classes=None, seed=None):
        if options.clusters:  # imported here: self-conditioning builds on the conditional GAN, which builds on this
            from keras_gans.methods import self_conditioned

            return self_conditioned.build(options, image_shape, seed=seed)
        return model_class(*build_networks(options, image_shape), seed=seed, **training_options(options))

    return build_model


registry.register("gan", GAN, MLPGANOptions, build(GAN), "the original GAN: MLP networks, non-saturating BCE")
registry.register("dcgan", GAN, GANOptions, build(GAN), "DCGAN: convolutional networks sized to the image, BCE")
registry.register("lsgan", GAN, LSGANOptions, build(GAN), "LSGAN: DCGAN networks, least-squares loss")
