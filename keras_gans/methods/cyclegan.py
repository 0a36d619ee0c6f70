"""CycleGAN (Zhu et al. 2017): unpaired translation between two image domains A and B.

G_ab maps A to B and is judged by D_b; G_ba maps B to A and is judged by D_a. Least-squares
adversarial losses, an L1 cycle loss (a -> G_ab -> G_ba -> a, and b likewise) weighted by
lambda_cycle, an L1 identity loss (G_ba leaves an image of A unchanged, G_ab one of B) weighted
by lambda_identity * lambda_cycle, discriminators trained on a history of generated images, and
the learning rate constant for the first half of the run, then decaying linearly towards 0.

Optionally, an edge term keeps each translation's edges where its source's are (see
losses.edge_correlation_loss), for domains that differ in polarity, where the cycle loss alone
lets a generator draw the ground as the shape.

With a style encoder, A -> B is one-to-many (after Augmented CycleGAN, Almahairi et al. 2018):
G_ab also takes a style code, random on the way out and read from b by the encoder on the way
back, so an image of B in any style can close its cycle without G_ba hiding that style in its
output. An L1 loss makes the encoder read back the random code of G_ab's output, and a diversity
term (after Yang et al. 2019) makes two codes give two translations, so G_ab cannot ignore the
code.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_gans import losses
from keras_gans.callbacks import LinearDecay
from keras_gans.export import images_to_uint8, uint8_to_images
from keras_gans.methods.base import AdversarialModel, _replica_context

PREVIEW_COLUMNS = 8
# Mean |z1 - z2| of two N(0, 1) draws. Dividing by it, not by the batch's own code distance,
# keeps the diversity a mean over images: a ratio of batch means would differ between one
# device and the replicas' shares of the same batch.
EXPECTED_CODE_DISTANCE = 2.0 / np.sqrt(np.pi)


def least_squares(logits, target):
    """Mean squared distance of D's outputs (one per patch) from a target label."""
    return ops.mean(ops.square(ops.cast(logits, "float32") - target))


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
        self.images = self.add_weight(shape=(self.size, *input_shape[1:]), initializer="zeros",
                                      trainable=False, aggregation="only_first_replica",
                                      name="images")
        self.count = self.add_weight(shape=(), dtype="int32", initializer="zeros", trainable=False,
                                     aggregation="only_first_replica", name="count")

    def call(self, images):
        images = ops.cast(images, self.images.dtype)
        if not self.size:
            return images
        replica, replicas = _replica_context()
        if replicas == 1:
            return self.query(images)
        local = ops.shape(images)[0]
        answers = self.query(tf.distribute.get_replica_context().all_gather(images, axis=0))
        return answers[replica * local:(replica + 1) * local]

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
            0, batch, step, (ops.convert_to_tensor(self.images), ops.convert_to_tensor(self.count),
                             ops.zeros_like(images)))
        self.images.assign(pool)
        self.count.assign(count)
        return answers

    def get_config(self):
        return {**super().get_config(), "size": self.size,
                "swap_probability": self.swap_probability, "seed": self.seed}


@keras.saving.register_keras_serializable(package="keras_gans")
class CycleGAN(AdversarialModel):
    """Two generators and two discriminators, each with its own optimizer, trained by `fit` on
    batches `(images_a, images_b)` of unpaired domains.

    One `train_step`: a joint update of both generators (the paper's objective, in which the
    cycle terms tie them together), then one update of each discriminator on real images and
    on fakes drawn through its image pool. The model also keeps the first few images of each
    domain it trains on as variables, so sample grids show the same images across a resumed run.
    """

    metric_names = ("d_a", "d_b", "g_ab", "g_ba", "cycle_a", "cycle_b", "identity_a",
                    "identity_b")
    NETWORKS = ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b",
                "style_encoder")

    def __init__(self, generator_ab, generator_ba, discriminator_a, discriminator_b,
                 style_encoder=None, lambda_cycle=10.0, lambda_identity=0.5, lambda_style=1.0,
                 lambda_diversity=1.0, lambda_edges=0.0, pool_size=50, lr_decay_start=0.5,
                 seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.generator_ab = generator_ab
        self.generator_ba = generator_ba
        self.discriminator_a = discriminator_a
        self.discriminator_b = discriminator_b
        self.style_encoder = style_encoder
        self.style_dim = int(style_encoder.outputs[0].shape[-1]) if style_encoder else 0
        self.lambda_cycle = float(lambda_cycle)
        self.lambda_identity = float(lambda_identity)
        self.lambda_style = float(lambda_style)
        self.lambda_diversity = float(lambda_diversity)
        self.lambda_edges = float(lambda_edges)
        # The optional terms' metrics, reported only when the term is on.
        optional = (("style", "diversity") if self.style_dim else ()) + (
            ("edges_a", "edges_b") if self.lambda_edges else ())
        for name in optional:
            self.trackers[name] = keras.metrics.Mean(name=name)
        self.pool_size = int(pool_size)
        self.lr_decay_start = float(lr_decay_start)
        self.image_shape = tuple(generator_ab.inputs[0].shape[1:])
        pool_seeds = (None, None) if seed is None else (seed + 1, seed + 2)
        self.pool_a = ImagePool(pool_size, seed=pool_seeds[0], name="pool_a")
        self.pool_b = ImagePool(pool_size, seed=pool_seeds[1], name="pool_b")
        self.preview_a = ImagePool(PREVIEW_COLUMNS, swap_probability=0.0, name="preview_a")
        self.preview_b = ImagePool(PREVIEW_COLUMNS, swap_probability=0.0, name="preview_b")
        for pool in (self.pool_a, self.pool_b, self.preview_a, self.preview_b):
            pool.build((None, *self.image_shape))
        self.initial_learning_rates = {}

    @property
    def networks(self):
        networks = {"g_ab_optimizer": self.generator_ab, "g_ba_optimizer": self.generator_ba,
                    "d_a_optimizer": self.discriminator_a, "d_b_optimizer": self.discriminator_b}
        if self.style_encoder is not None:
            networks["g_style_optimizer"] = self.style_encoder
        return networks

    @property
    def generator_optimizers(self):
        """The optimizers of the generators' joint objective, G_ab's first."""
        return tuple(name for name in self.networks if name.startswith("g_"))

    def get_config(self):
        config = {**super().get_config(), "lambda_cycle": self.lambda_cycle,
                  "lambda_identity": self.lambda_identity, "lambda_style": self.lambda_style,
                  "lambda_diversity": self.lambda_diversity, "lambda_edges": self.lambda_edges,
                  "pool_size": self.pool_size, "lr_decay_start": self.lr_decay_start}
        for attribute in self.NETWORKS:
            config[attribute] = keras.saving.serialize_keras_object(getattr(self, attribute))
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for attribute in cls.NETWORKS:
            config[attribute] = keras.saving.deserialize_keras_object(config[attribute])
        return cls(**config)

    def compile(self, *args, **kwargs):
        """As AdversarialModel.compile; also notes the optimizers' rates before any decay."""
        super().compile(*args, **kwargs)
        self.initial_learning_rates = {
            name: float(ops.convert_to_numpy(optimizer.learning_rate))
            for name, optimizer in self.optimizers.items()}

    def schedule_callbacks(self, epochs):
        """The paper's schedule: constant for `lr_decay_start` of the run, then linear to 0."""
        return [LinearDecay(self.initial_learning_rates, epochs,
                            round(self.lr_decay_start * epochs))]

    # ----------------------------------------------------------------- training
    def generator_loss(self, g_ab, g_ba, cycle_a, cycle_b, identity_a, identity_b, style=0.0,
                       diversity=0.0, edges_a=0.0, edges_b=0.0):
        """The generators' joint objective: both adversarial terms, lambda_cycle x the cycle
        terms, lambda_cycle x lambda_identity x the identity terms, lambda_edges x the edge
        terms, and for a styled G_ab lambda_style x the style reconstruction minus
        lambda_diversity x the diversity (to grow; it is bounded, as tanh bounds the images)."""
        return (g_ab + g_ba + self.lambda_cycle * (cycle_a + cycle_b)
                + self.lambda_cycle * self.lambda_identity * (identity_a + identity_b)
                + self.lambda_edges * (edges_a + edges_b)
                + self.lambda_style * style - self.lambda_diversity * diversity)

    def apply_joint_gradients(self, tape, scaled_loss, names):
        """Updates several networks from one objective in one backward pass, each by its own
        optimizer. `scaled_loss` is scaled for the first optimizer; the others' gradients are
        rescaled to their own loss scale (a no-op without mixed precision)."""
        reference = self.optimizers[names[0]]
        variables = [self.networks[name].trainable_variables for name in names]
        for name, grads, own in zip(names, tape.gradient(scaled_loss, variables), variables):
            optimizer = self.optimizers[name]
            ratio = optimizer.scale_loss(1.0) / reference.scale_loss(1.0)
            optimizer.apply([grad * ratio for grad in grads], own)

    @staticmethod
    def generator_inputs(images, style):
        """What a generator takes: the images, with the style code for a styled G_ab."""
        return images if style is None else [images, style]

    def run_on_halves(self, generator, first, second, styles=(None, None)):
        """`generator` on two batches (each with its style code, for a styled G_ab) in one
        call: a bigger batch runs faster, and instance norm keeps the two halves independent."""
        style = None if styles[0] is None else ops.concatenate(styles, axis=0)
        images = ops.concatenate([first, second], axis=0)
        return ops.split(generator(self.generator_inputs(images, style), training=True), 2)

    def cycle_and_identity(self, generator, fake, real, style=None):
        """`generator(fake)`, the way back of a cycle, and `generator(real)` for the identity
        loss (None when it is off). `style` is real's, for a styled G_ab."""
        if not self.lambda_identity:
            return generator(self.generator_inputs(fake, style), training=True), None
        return self.run_on_halves(generator, fake, real, (style, style))

    def domains_of(self, data):
        """(images_a, images_b) of a dataset element `(a, b)` (either may carry labels), or of
        train_on_batch's packing of `x=(a, b)` or `x=a, y=b`."""
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        return tuple(self.images_of(domain) for domain in (x if y is None else (x, y)))

    def sample_styles(self, batch_size):
        """Two random style codes per image of this replica's share of the global batch."""
        return tuple(self.replica_share(keras.random.normal, batch_size, (self.style_dim,))
                     for _ in range(2))

    def translate_to_b(self, real_a, styles):
        """G_ab(a), or for a styled G_ab the translations of a under both codes of `styles`."""
        if not self.style_dim:
            return self.generator_ab(real_a, training=True), None
        return self.run_on_halves(self.generator_ab, real_a, real_a, styles)

    def train_step(self, data):
        real_a, real_b = self.domains_of(data)
        styles = self.sample_styles(ops.shape(real_a)[0]) if self.style_dim else (None, None)

        # One objective for both generators (and the style encoder): the cycle terms depend
        # on both.
        with tf.GradientTape() as tape:
            style_b = self.style_encoder(real_b, training=True) if self.style_dim else None
            fake_b, other_b = self.translate_to_b(real_a, styles)
            fake_a = self.generator_ba(real_b, training=True)
            terms = {
                "g_ab": least_squares(self.discriminator_b(fake_b, training=True), 1.0),
                "g_ba": least_squares(self.discriminator_a(fake_a, training=True), 1.0),
            }
            for domain, generator, fake, real, style in (
                    ("a", self.generator_ba, fake_b, real_a, None),
                    ("b", self.generator_ab, fake_a, real_b, style_b)):
                cycled, same = self.cycle_and_identity(generator, fake, real, style)
                terms[f"cycle_{domain}"] = losses.mean_absolute_error(cycled, real)
                terms[f"identity_{domain}"] = (ops.zeros(()) if same is None
                                               else losses.mean_absolute_error(same, real))
            if self.lambda_edges:
                terms["edges_a"] = losses.edge_correlation_loss(real_a, fake_b)
                terms["edges_b"] = losses.edge_correlation_loss(real_b, fake_a)
            if self.style_dim:  # the code must be readable back, and must make a difference
                terms["style"] = losses.mean_absolute_error(
                    self.style_encoder(fake_b, training=True), styles[0])
                terms["diversity"] = (losses.mean_absolute_error(fake_b, other_b)
                                      / EXPECTED_CODE_DISTANCE)
            first = self.optimizers[self.generator_optimizers[0]]
            scaled = self.scale_loss(self.generator_loss(**terms), first)
        self.apply_joint_gradients(tape, scaled, self.generator_optimizers)

        # Each discriminator on real images and on the (pre-update) fakes through its pool, in
        # one call (instance norm keeps images apart). The D objective is halved, as in the
        # paper, to slow D down relative to G.
        for name, real, fake, pool in (("d_a", real_a, fake_a, self.pool_a),
                                       ("d_b", real_b, fake_b, self.pool_b)):
            optimizer = self.optimizers[f"{name}_optimizer"]
            discriminator = self.networks[f"{name}_optimizer"]
            fake = pool(ops.stop_gradient(fake))
            with tf.GradientTape() as tape:
                logits = discriminator(ops.concatenate([real, fake], axis=0), training=True)
                terms[name] = losses.lsgan_discriminator_loss(*ops.split(logits, 2))
                scaled_loss = self.scale_loss(terms[name], optimizer)
            self.apply_gradients(tape, scaled_loss, optimizer, discriminator)

        self.preview_a(real_a)
        self.preview_b(real_b)
        return self.record(**terms)

    # ----------------------------------------------------------------- sampling
    def translate(self, images, direction="a2b", batch_size=64, style=None, seed=None):
        """Images in [-1, 1] (numpy or tensor, NHWC) translated `a2b` or `b2a`, as numpy.

        A styled G_ab takes `style` ([N, style_dim]), or draws it from N(0, 1) with `seed`.
        """
        generator = {"a2b": self.generator_ab, "b2a": self.generator_ba}[direction]
        if self.style_dim and direction == "a2b" and style is None:
            style = np.random.default_rng(seed).standard_normal(
                (len(images), self.style_dim)).astype("float32")
        return np.concatenate([
            ops.convert_to_numpy(generator(self.generator_inputs(
                images[i:i + batch_size], None if style is None else style[i:i + batch_size]),
                training=False))
            for i in range(0, len(images), batch_size)])

    def encode_style(self, images):
        """The style codes the encoder reads from images of B (None without an encoder)."""
        if not self.style_dim:
            return None
        return ops.convert_to_numpy(self.style_encoder(images, training=False))

    def preview_rows(self, seed=0):
        """Rows real / translated / reconstructed / identity, for the first images of A, then
        of B that the model trained on (grey until it has trained). A styled G_ab draws A's
        styles with `seed`, and takes B's from the encoder."""
        real_a, real_b = (ops.convert_to_numpy(pool.images)
                          for pool in (self.preview_a, self.preview_b))
        a2b = self.translate(real_a, "a2b", seed=seed)
        b2a = self.translate(real_b, "b2a")
        style_b = self.encode_style(real_b)
        return np.stack([real_a, a2b, self.translate(a2b, "b2a"), self.translate(real_a, "b2a"),
                         real_b, b2a, self.translate(b2a, "a2b", style=style_b),
                         self.translate(real_b, "a2b", style=style_b)])

    # ----------------------------------------------------------------- export
    @property
    def export_networks(self):
        return [self.generator_ab, self.generator_ba]

    def serving_signatures(self):
        """`a2b` (also `serving_default`) and `b2a`: images (uint8 [batch, H, W, C]) -> images.
        A styled `a2b` draws each image's style from N(0, 1) at every call."""
        spec = tf.TensorSpec([None, *self.image_shape], tf.uint8, name="images")

        def serve(generator):
            @tf.function(input_signature=[spec])
            def translate(images):
                images = uint8_to_images(images)
                style = (tf.random.normal([tf.shape(images)[0], self.style_dim])
                         if self.style_dim and generator is self.generator_ab else None)
                return {"images": images_to_uint8(generator(
                    self.generator_inputs(images, style), training=False))}
            return translate

        a2b = serve(self.generator_ab)
        return {"serving_default": a2b, "a2b": a2b, "b2a": serve(self.generator_ba)}
