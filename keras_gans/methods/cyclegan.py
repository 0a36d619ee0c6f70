"""CycleGAN (Zhu et al. 2017): unpaired translation between two image domains A and B.

One train step, as the paper's objective and its training details (section 4, appendix 7):

    fake_b = G_ab(a),  fake_a = G_ba(b)
    update G_ab and G_ba together on
        LSGAN(D_b(fake_b), 1) + LSGAN(D_a(fake_a), 1)                      adversarial
        + lambda_cycle * (|G_ba(fake_b) - a| + |G_ab(fake_a) - b|)          cycle consistency
        + lambda_cycle * lambda_identity * (|G_ba(a) - a| + |G_ab(b) - b|)  identity
    update D_a on (a, pool_a(fake_a)) and D_b on (b, pool_b(fake_b)), each loss halved

with a history of 50 generated images per discriminator, Adam(2e-4, 0.5), and the learning rate
constant for the first half of the run, then decaying linearly towards 0.

`extended_cyclegan` adds terms beyond the paper through `generator_terms`.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_gans import losses
from keras_gans.callbacks import LinearDecay
from keras_gans.export import images_to_uint8, uint8_to_images
from keras_gans.methods.base import (
    DISCRIMINATOR,
    GENERATOR,
    AdversarialModel,
    OptimizerOptions,
    Player,
    _replica_context,
)
from keras_gans.options import option

PREVIEW_COLUMNS = 8


def least_squares(logits, target):
    """Mean squared distance of D's outputs (one per patch) from a target label."""
    return ops.mean(ops.square(ops.cast(logits, "float32") - target))


@dataclasses.dataclass
class CycleGANOptions(OptimizerOptions):
    generator: str = option(
        "resnet",
        "generators: resnet (6 blocks up to 128 px, 9 above) or unet",
        "Zhu et al. 2017",
        choices=("resnet", "unet"),
        stage="build",
    )
    g_filters: int = option(64, "width of the generators' first layer", "Zhu et al. 2017", minimum=1, stage="build")
    d_filters: int = option(
        64, "width of the 70x70 PatchGAN's first layer", "Zhu et al. 2017", minimum=1, stage="build"
    )
    lambda_cycle: float = option(10.0, "weight of the L1 cycle loss", "Zhu et al. 2017", minimum=0)
    lambda_identity: float = option(
        0.5, "weight of the L1 identity loss, times lambda_cycle", "Zhu et al. 2017", minimum=0
    )
    pool_size: int = option(
        50, "generated images each discriminator learns from", "Shrivastava et al. 2017; Zhu et al. 2017", minimum=0
    )
    lr_decay_start: float = option(
        0.5, "share of the epochs before the learning rate decays linearly to 0", "Zhu et al. 2017", minimum=0
    )


@keras.saving.register_keras_serializable(package="keras_gans")
class ImagePool(keras.layers.Layer):
    """A history of `size` images (Shrivastava et al. 2017), so D also sees older fakes and the
    generators cannot win by chasing D's latest weakness.

    For each image, in order: while the pool is filling, it is stored and passed through; once
    full, with probability `swap_probability` a random stored image is returned and the new one
    takes its place, otherwise the new image passes through. With `swap_probability` 0 the pool
    keeps the first `size` images it sees.

    The contents are variables (checkpointed with the model). Under tf.distribute the pool is
    global: each replica gathers the global batch, runs the same update with the same draws
    (the seed generator is mirrored) and returns its own slice, so a 2-replica step is the
    single-device step on the same global batch.
    """

    def __init__(self, size=50, swap_probability=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)
        self.swap_probability = float(swap_probability)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name=f"{self.name}_seed")

    def build(self, input_shape):
        # Every replica writes the same value, so the first replica's write is the one to keep.
        self.images = self.add_weight(
            shape=(self.size, *input_shape[1:]),
            initializer="zeros",
            trainable=False,
            aggregation="only_first_replica",
            name="images",
        )
        self.count = self.add_weight(
            shape=(),
            dtype="int32",
            initializer="zeros",
            trainable=False,
            aggregation="only_first_replica",
            name="count",
        )

    def call(self, images):
        images = ops.cast(images, self.images.dtype)
        if not self.size:
            return images
        replica, replicas = _replica_context()
        if replicas == 1:
            return self.query(images)
        local = ops.shape(images)[0]
        answers = self.query(tf.distribute.get_replica_context().all_gather(images, axis=0))
        return answers[replica * local : (replica + 1) * local]

    def query(self, images):
        """The pool's answer for a whole batch, one image after the other."""
        batch = ops.shape(images)[0]
        swaps = keras.random.uniform((batch,), seed=self.seed_generator) < self.swap_probability
        slots = keras.random.randint((batch,), 0, self.size, seed=self.seed_generator)

        def step(i, state):
            pool, count, answers = state
            filling = count < self.size
            swap = ops.logical_and(ops.logical_not(filling), swaps[i])
            slot = ops.where(filling, count, slots[i])
            stored = pool[slot]
            kept = ops.where(ops.logical_or(filling, swap), images[i], stored)
            pool = ops.slice_update(pool, (slot, 0, 0, 0), kept[None])
            answers = ops.slice_update(answers, (i, 0, 0, 0), ops.where(swap, stored, images[i])[None])
            return pool, ops.minimum(count + 1, self.size), answers

        pool, count, answers = ops.fori_loop(
            0,
            batch,
            step,
            (ops.convert_to_tensor(self.images), ops.convert_to_tensor(self.count), ops.zeros_like(images)),
        )
        self.images.assign(pool)
        self.count.assign(count)
        return answers

    def get_config(self):
        return {**super().get_config(), "size": self.size, "swap_probability": self.swap_probability, "seed": self.seed}


@keras.saving.register_keras_serializable(package="keras_gans")
class CycleGAN(AdversarialModel):
    """Two generators and two discriminators, each with its own optimizer, trained by `fit` on
    batches `(images_a, images_b)` of unpaired domains; `options` are the training fields of
    `Options`.

    The model also keeps the first few images of each domain it trains on as variables, so
    sample grids show the same images across a resumed run.
    """

    Options = CycleGANOptions
    unpaired = True
    network_arguments = {name: name for name in ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b")}

    def __init__(self, generator_ab, generator_ba, discriminator_a, discriminator_b, seed=None, name=None, **options):
        options = self.resolve_options(options)
        super().__init__(seed=seed, metric_names=self.reported_metrics(options), name=name)
        self.generator_ab = generator_ab
        self.generator_ba = generator_ba
        self.discriminator_a = discriminator_a
        self.discriminator_b = discriminator_b
        self.lambda_cycle = float(options["lambda_cycle"])
        self.lambda_identity = float(options["lambda_identity"])
        self.pool_size = int(options["pool_size"])
        self.lr_decay_start = float(options["lr_decay_start"])
        self.image_shape = tuple(generator_ab.inputs[0].shape[1:])
        pool_seeds = (None, None) if seed is None else (seed + 1, seed + 2)
        self.pool_a = ImagePool(self.pool_size, seed=pool_seeds[0], name="pool_a")
        self.pool_b = ImagePool(self.pool_size, seed=pool_seeds[1], name="pool_b")
        self.preview_a = ImagePool(PREVIEW_COLUMNS, swap_probability=0.0, name="preview_a")
        self.preview_b = ImagePool(PREVIEW_COLUMNS, swap_probability=0.0, name="preview_b")
        for pool in (self.pool_a, self.pool_b, self.preview_a, self.preview_b):
            pool.build((None, *self.image_shape))
        self.initial_learning_rates = {}

    @classmethod
    def reported_metrics(cls, options):
        return ("d_a", "d_b", "g_ab", "g_ba", "cycle_a", "cycle_b", "identity_a", "identity_b")

    @property
    def players(self):
        return {
            "g_ab_optimizer": Player(self.generator_ab, GENERATOR),
            "g_ba_optimizer": Player(self.generator_ba, GENERATOR),
            "d_a_optimizer": Player(self.discriminator_a, DISCRIMINATOR),
            "d_b_optimizer": Player(self.discriminator_b, DISCRIMINATOR),
        }

    @property
    def generator_optimizers(self):
        """The optimizers of the generators' joint objective, G_ab's first."""
        return tuple(name for name, player in self.players.items() if player.side == GENERATOR)

    adversarial_loss_name = "least-squares loss"

    @property
    def plot_panels(self):
        """`losses`: the generators' and the discriminators' adversarial losses, a panel each;
        `terms`: the cycle and identity terms, and any further term of the objective below them
        (each unweighted; `objective.png` weighs them)."""
        reconstruction = ("cycle_a", "cycle_b", "identity_a", "identity_b")
        weighted = {metric for weights in self.generator_objective.values() for metric in weights}
        extra = tuple(n for n in self.metric_names if n in weighted and n not in ("g_ab", "g_ba") + reconstruction)
        return {
            "losses": [
                (f"generators' {self.adversarial_loss_name}", ("g_ab", "g_ba")),
                (f"discriminators' {self.adversarial_loss_name}", ("d_a", "d_b")),
            ],
            "terms": [("cycle and identity (L1, unweighted)", reconstruction)]
            + ([("further terms (unweighted)", extra)] if extra else []),
        }

    @property
    def generator_objective(self):
        """`generator_loss` as weighted metrics: the adversarial terms, lambda_cycle x the cycle
        terms and lambda_cycle x lambda_identity x the identity terms."""
        identity = self.lambda_cycle * self.lambda_identity
        return {
            "adversarial": {"g_ab": 1.0, "g_ba": 1.0},
            f"{self.lambda_cycle:g} x cycle": {"cycle_a": self.lambda_cycle, "cycle_b": self.lambda_cycle},
            f"{identity:g} x identity": {"identity_a": identity, "identity_b": identity},
        }

    def compile(self, *args, **kwargs):
        """As AdversarialModel.compile; also notes the optimizers' rates before any decay."""
        super().compile(*args, **kwargs)
        self.initial_learning_rates = {
            name: float(ops.convert_to_numpy(optimizer.learning_rate)) for name, optimizer in self.optimizers.items()
        }

    def schedule_callbacks(self, epochs):
        """The paper's schedule: constant for `lr_decay_start` of the run, then linear to 0."""
        return [LinearDecay(self.initial_learning_rates, epochs, round(self.lr_decay_start * epochs))]

    # ----------------------------------------------------------------- training
    def generator_loss(self, terms):
        """The generators' joint objective from its terms, as in the module docstring."""
        return (
            terms["g_ab"]
            + terms["g_ba"]
            + self.lambda_cycle * (terms["cycle_a"] + terms["cycle_b"])
            + self.lambda_cycle * self.lambda_identity * (terms["identity_a"] + terms["identity_b"])
        )

    def adversarial_terms(self, fake_a, fake_b):
        """Each generator's least-squares loss against its judge."""
        return {
            "g_ab": least_squares(self.discriminator_b(fake_b, training=True), 1.0),
            "g_ba": least_squares(self.discriminator_a(fake_a, training=True), 1.0),
        }

    def cycle_terms(self, domain, generator, fake, real, style=None):
        """`cycle_<domain>` |generator(fake) - real| and `identity_<domain>` |generator(real) -
        real| (0 when the identity loss is off); `style` is real's code, for a styled G_ab."""
        if self.lambda_identity:
            cycled, same = self.run_on_halves(generator, fake, real, (style, style))
            identity = losses.mean_absolute_error(same, real)
        else:
            cycled, identity = generator(generator_inputs(fake, style), training=True), ops.zeros(())
        return {f"cycle_{domain}": losses.mean_absolute_error(cycled, real), f"identity_{domain}": identity}

    @staticmethod
    def run_on_halves(generator, first, second, styles=(None, None)):
        """`generator` on two batches (each with its style code, for a styled G_ab) in one
        call: a bigger batch runs faster, and instance norm keeps the two halves independent."""
        style = None if styles[0] is None else ops.concatenate(styles, axis=0)
        images = ops.concatenate([first, second], axis=0)
        return ops.split(generator(generator_inputs(images, style), training=True), 2)

    def generator_terms(self, real_a, real_b, adversarial_terms=None):
        """The fakes (fake_a, fake_b) and the terms of the generators' objective; the
        adversarial ones from `adversarial_terms(fake_a, fake_b)`, by default the model's own."""
        fake_b = self.generator_ab(real_a, training=True)
        fake_a = self.generator_ba(real_b, training=True)
        terms = (adversarial_terms or self.adversarial_terms)(fake_a, fake_b)
        terms.update(self.cycle_terms("a", self.generator_ba, fake_b, real_a))
        terms.update(self.cycle_terms("b", self.generator_ab, fake_a, real_b))
        return fake_a, fake_b, terms

    def apply_joint_gradients(self, tape, scaled_loss, names):
        """Updates several networks from one objective in one backward pass, each by its own
        optimizer. `scaled_loss` is scaled for the first optimizer; the others' gradients are
        rescaled to their own loss scale (a no-op without mixed precision)."""
        reference = self.optimizers[names[0]]
        variables = [self.players[name].network.trainable_variables for name in names]
        for name, grads, own in zip(names, tape.gradient(scaled_loss, variables), variables):
            optimizer = self.optimizers[name]
            ratio = optimizer.scale_loss(1.0) / reference.scale_loss(1.0)
            optimizer.apply([grad * ratio for grad in grads], own)

    def domains_of(self, data):
        """(images_a, images_b) of a dataset element `(a, b)` (either may carry labels), or of
        train_on_batch's packing of `x=(a, b)` or `x=a, y=b`."""
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        return tuple(self.images_of(domain) for domain in (x if y is None else (x, y)))

    def train_step(self, data):
        real_a, real_b = self.domains_of(data)

        # One objective for both generators: the cycle terms depend on both.
        with tf.GradientTape() as tape:
            fake_a, fake_b, terms = self.generator_terms(real_a, real_b)
            first = self.optimizers[self.generator_optimizers[0]]
            scaled = self.scale_loss(self.generator_loss(terms), first)
        self.apply_joint_gradients(tape, scaled, self.generator_optimizers)

        # Each discriminator on real images and on the (pre-update) fakes through its pool, in
        # one call (instance norm keeps images apart). The D objective is halved, as in the
        # paper, to slow D down relative to G.
        for name, real, fake, pool in (("d_a", real_a, fake_a, self.pool_a), ("d_b", real_b, fake_b, self.pool_b)):
            terms[name] = self.least_squares_update(real, pool(ops.stop_gradient(fake)), f"{name}_optimizer")

        self.preview_a(real_a)
        self.preview_b(real_b)
        return self.record(**terms)

    def least_squares_update(self, real, fake, player):
        """One discriminator's update on real and generated images in one call, by the
        optimizer named `player`; returns its least-squares loss."""
        optimizer, discriminator = self.optimizers[player], self.players[player].network
        with tf.GradientTape() as tape:
            logits = discriminator(ops.concatenate([real, fake], axis=0), training=True)
            loss = losses.lsgan_discriminator_loss(*ops.split(logits, 2))
            scaled_loss = self.scale_loss(loss, optimizer)
        self.apply_gradients(tape, scaled_loss, optimizer, discriminator)
        return loss

    # ----------------------------------------------------------------- sampling
    def translate(self, images, direction="a2b", batch_size=64):
        """Images in [-1, 1] (numpy or tensor, NHWC) translated `a2b` or `b2a`, as numpy."""
        generator = {"a2b": self.generator_ab, "b2a": self.generator_ba}[direction]
        return np.concatenate(
            [
                ops.convert_to_numpy(generator(images[i : i + batch_size], training=False))
                for i in range(0, len(images), batch_size)
            ]
        )

    def preview_images(self):
        """The first images of A and of B that the model trained on (grey until it has)."""
        return tuple(ops.convert_to_numpy(pool.images) for pool in (self.preview_a, self.preview_b))

    # Twice the preview's columns: D's outputs are judged on more images than the grid shows.
    held_out_count = 2 * PREVIEW_COLUMNS

    def real_images(self):
        """(images of A, images of B), as many of each, that the pictures show: the held-out
        ones the run read (the data's test split); where the data holds none out, the first
        images the model trained on (`preview_images`), which also survive a resume."""
        images = self.preview_images() if self.held_out is None else self.held_out.images
        count = min(len(domain) for domain in images)
        return tuple(np.asarray(domain[:count], dtype="float32") for domain in images)

    @property
    def preview_row_names(self):
        split = "train" if self.held_out is None else self.held_out.split
        names = []
        for source, g, f in (("A", "G_ab", "G_ba"), ("B", "G_ba", "G_ab")):
            names += [f"real {source}\n({split})", f"translated\n{g}({source})", f"reconstructed\n{f}({g}({source}))"]
            if self.lambda_identity:
                names.append(f"identity\n{f}({source})")
        return names

    discriminator_output_label = "D's least-squares score per patch (real 1, generated 0)"

    def judge(self, discriminator, images):
        """A discriminator's outputs for `images` in inference mode, flat, as numpy."""
        return ops.convert_to_numpy(ops.cast(discriminator(images, training=False), "float32")).ravel()

    def discriminator_outputs(self, seed=0):
        """D_a on real images of A and on G_ba's translations of B; D_b likewise (a styled G_ab
        draws its codes with numpy from `seed`)."""
        real_a, real_b = self.real_images()
        fake_a, fake_b = self.translate(real_b, "b2a"), self.to_b(real_a, seed=seed)
        return {
            "D_a": (self.judge(self.discriminator_a, real_a), self.judge(self.discriminator_a, fake_a)),
            "D_b": (self.judge(self.discriminator_b, real_b), self.judge(self.discriminator_b, fake_b)),
        }

    def to_b(self, images, like=None, seed=None):
        """G_ab(images) as numpy. `like` (images of B whose style to take) and `seed` (to draw
        styles with) matter only to a styled G_ab (extended_cyclegan)."""
        return self.translate(images, "a2b")

    def preview_rows(self, seed=0):
        """Rows real / translated / reconstructed / identity (`preview_row_names`), for the
        first PREVIEW_COLUMNS of `real_images` of A, then of B. Without the identity loss there
        is no identity row: nothing asks G_ba(a) to look like a."""
        real_a, real_b = (images[:PREVIEW_COLUMNS] for images in self.real_images())
        a2b, b2a = self.to_b(real_a, seed=seed), self.translate(real_b, "b2a")
        rows_a = [real_a, a2b, self.translate(a2b, "b2a")]
        rows_b = [real_b, b2a, self.to_b(b2a, like=real_b)]
        if self.lambda_identity:
            rows_a.append(self.translate(real_a, "b2a"))
            rows_b.append(self.to_b(real_b, like=real_b))
        return np.stack(rows_a + rows_b)

    # ----------------------------------------------------------------- export
    @property
    def export_networks(self):
        return [self.generator_ab, self.generator_ba]

    def serving_a2b(self, images):
        """G_ab on a batch of [-1, 1] images inside the serving function."""
        return self.generator_ab(images, training=False)

    def serving_signatures(self):
        """`a2b` (also `serving_default`) and `b2a`: images (uint8 [batch, H, W, C]) -> images."""
        spec = tf.TensorSpec([None, *self.image_shape], tf.uint8, name="images")

        def serve(translate):
            @tf.function(input_signature=[spec])
            def translate_uint8(images):
                return {"images": images_to_uint8(translate(uint8_to_images(images)))}

            return translate_uint8

        a2b = serve(self.serving_a2b)
        return {
            "serving_default": a2b,
            "a2b": a2b,
            "b2a": serve(lambda images: self.generator_ba(images, training=False)),
        }


def generator_inputs(images, style):
    """What a generator takes: the images, with the style code for a styled G_ab."""
    return images if style is None else [images, style]
