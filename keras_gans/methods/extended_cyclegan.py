"""CycleGAN with terms beyond the paper, for domains the paper's losses translate wrongly, and
the `cyclegan` method that picks the plain or the extended model from its options.

- An edge term (`lambda_edges`) keeps each translation's edges where its source's are
  (losses.edge_correlation_loss): between domains of opposite polarity the cycle loss alone lets
  a generator draw the ground as the shape.
- A style code (`style_dim`, after Augmented CycleGAN, Almahairi et al. 2018) makes A -> B
  one-to-many: G_ab also takes a code, random on the way out and read from b by a style encoder
  on the way back, so an image of B in any style can close its cycle without G_ba hiding that
  style in its output. An L1 loss makes the encoder read back the random code of G_ab's output
  (`lambda_style`), and a diversity term (after Yang et al. 2019) makes two codes give two
  translations (`lambda_diversity`), so G_ab cannot ignore the code.

The digits2digits-m recipe needs both; docs/digits-translation.md has the measurements.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_gans import losses, networks
from keras_gans.methods import registry
from keras_gans.methods.base import GENERATOR, Player, training_options
from keras_gans.methods.cyclegan import CycleGAN, CycleGANOptions, generator_inputs
from keras_gans.options import ConfigError, option

# Mean |z1 - z2| of two N(0, 1) draws. Dividing by it, not by the batch's own code distance,
# keeps the diversity a mean over images: a ratio of batch means would differ between one
# device and the replicas' shares of the same batch.
EXPECTED_CODE_DISTANCE = 2.0 / np.sqrt(np.pi)


@dataclasses.dataclass
class ExtendedCycleGANOptions(CycleGANOptions):
    lambda_edges: float = option(
        0.0,
        "weight of keeping each image's edges in its translation",
        "this project (docs/digits-translation.md)",
        minimum=0,
    )
    style_dim: int = option(
        0,
        "size of G_ab's style code (0: one translation per image; needs the resnet generator)",
        "Almahairi et al. 2018",
        minimum=0,
        stage="build",
    )
    lambda_style: float = option(
        1.0, "weight of reading G_ab's style code back (style_dim > 0)", "Almahairi et al. 2018", minimum=0
    )
    lambda_diversity: float = option(
        1.0, "weight of two codes giving two translations (style_dim > 0)", "Yang et al. 2019", minimum=0
    )


@keras.saving.register_keras_serializable(package="keras_gans")
class ExtendedCycleGAN(CycleGAN):
    """CycleGAN plus an edge term and, with a `style_encoder`, a style code for G_ab (which then
    takes [images, code]); see the module docstring."""

    Options = ExtendedCycleGANOptions
    network_arguments = {**CycleGAN.network_arguments, "style_encoder": "style_encoder"}

    def __init__(
        self,
        generator_ab,
        generator_ba,
        discriminator_a,
        discriminator_b,
        style_encoder=None,
        seed=None,
        name=None,
        **options,
    ):
        super().__init__(generator_ab, generator_ba, discriminator_a, discriminator_b, seed=seed, name=name, **options)
        options = self.resolve_options(options)
        self.style_encoder = style_encoder
        self.style_dim = int(style_encoder.outputs[0].shape[-1]) if style_encoder else 0
        self.lambda_style = float(options["lambda_style"])
        self.lambda_diversity = float(options["lambda_diversity"])
        self.lambda_edges = float(options["lambda_edges"])
        # The extra terms' metrics, reported only when the term is on.
        extra = (("style", "diversity") if self.style_dim else ()) + (
            ("edges_a", "edges_b") if self.lambda_edges else ()
        )
        for metric in extra:
            self.trackers[metric] = keras.metrics.Mean(name=metric)
        self.metric_names += extra

    @property
    def players(self):
        players = super().players
        if self.style_encoder is not None:  # trained with the generators' joint objective
            players["g_style_optimizer"] = Player(self.style_encoder, GENERATOR)
        return players

    # ----------------------------------------------------------------- training
    def generator_loss(self, terms):
        """The paper's objective, plus lambda_edges x the edge terms, and for a styled G_ab
        lambda_style x the style reconstruction minus lambda_diversity x the diversity (to grow;
        it is bounded, as tanh bounds the images)."""
        loss = super().generator_loss(terms)
        if "edges_a" in terms:
            loss = loss + self.lambda_edges * (terms["edges_a"] + terms["edges_b"])
        if "style" in terms:
            loss = loss + self.lambda_style * terms["style"]
            loss = loss - self.lambda_diversity * terms["diversity"]
        return loss

    @property
    def generator_objective(self):
        """CycleGAN's terms, plus lambda_edges x the edge terms, and for a styled G_ab
        lambda_style x the style term and -lambda_diversity x the diversity, as reported."""
        objective = dict(super().generator_objective)
        if self.lambda_edges:
            objective[f"{self.lambda_edges:g} x edges"] = {"edges_a": self.lambda_edges, "edges_b": self.lambda_edges}
        if self.style_dim:
            objective[f"{self.lambda_style:g} x style"] = {"style": self.lambda_style}
            objective[f"-{self.lambda_diversity:g} x diversity"] = {"diversity": -self.lambda_diversity}
        return objective

    def sample_styles(self, batch_size):
        """Two random style codes per image of this replica's share of the global batch."""
        return tuple(self.replica_share(keras.random.normal, batch_size, (self.style_dim,)) for _ in range(2))

    def generator_terms(self, real_a, real_b, adversarial_terms=None):
        if not self.style_dim:
            fake_a, fake_b, terms = super().generator_terms(real_a, real_b, adversarial_terms)
            return fake_a, fake_b, {**terms, **self.edge_terms(real_a, real_b, fake_a, fake_b)}
        styles = self.sample_styles(ops.shape(real_a)[0])
        style_b = self.style_encoder(real_b, training=True)
        # G_ab(a) under both codes in one call; the first is the translation the rest judges.
        fake_b, other_b = self.run_on_halves(self.generator_ab, real_a, real_a, styles)
        fake_a = self.generator_ba(real_b, training=True)
        terms = (adversarial_terms or self.adversarial_terms)(fake_a, fake_b)
        terms.update(self.cycle_terms("a", self.generator_ba, fake_b, real_a))
        terms.update(self.cycle_terms("b", self.generator_ab, fake_a, real_b, style_b))
        terms.update(self.edge_terms(real_a, real_b, fake_a, fake_b))
        # The code must be readable back, and must make a difference.
        terms["style"] = losses.mean_absolute_error(self.style_encoder(fake_b, training=True), styles[0])
        terms["diversity"] = losses.mean_absolute_error(fake_b, other_b) / EXPECTED_CODE_DISTANCE
        return fake_a, fake_b, terms

    def edge_terms(self, real_a, real_b, fake_a, fake_b):
        """`edges_a`: how far G_ab(a) moved a's edges (losses.edge_correlation_loss); `edges_b`
        likewise for G_ba(b); none when the edge term is off."""
        if not self.lambda_edges:
            return {}
        return {
            "edges_a": losses.edge_correlation_loss(real_a, fake_b),
            "edges_b": losses.edge_correlation_loss(real_b, fake_a),
        }

    # ----------------------------------------------------------------- sampling
    def translate(self, images, direction="a2b", batch_size=64, style=None, seed=None):
        """As CycleGAN.translate; a styled G_ab takes `style` ([N, style_dim]), or draws it from
        N(0, 1) with `seed`."""
        if not self.style_dim or direction == "b2a":
            return super().translate(images, direction, batch_size)
        if style is None:
            style = np.random.default_rng(seed).standard_normal((len(images), self.style_dim)).astype("float32")
        return np.concatenate(
            [
                ops.convert_to_numpy(
                    self.generator_ab([images[i : i + batch_size], style[i : i + batch_size]], training=False)
                )
                for i in range(0, len(images), batch_size)
            ]
        )

    def encode_style(self, images):
        """The style codes the encoder reads from images of B (None without an encoder)."""
        if not self.style_dim:
            return None
        return ops.convert_to_numpy(self.style_encoder(images, training=False))

    def to_b(self, images, like=None, seed=None):
        """G_ab(images), in the styles of the images `like`, else in styles drawn with `seed`."""
        style = None if like is None else self.encode_style(like)
        return self.translate(images, "a2b", style=style, seed=seed)

    def serving_a2b(self, images):
        """A styled G_ab draws each image's style from N(0, 1) at every call."""
        style = tf.random.normal([tf.shape(images)[0], self.style_dim]) if self.style_dim else None
        return self.generator_ab(generator_inputs(images, style), training=False)


TRANSLATORS = {"resnet": networks.build_resnet_generator, "unet": networks.build_unet_generator}


def build_translators(options, image_shape):
    """[G_ab, G_ba] as `options.generator` builds them, G_ab taking a style code of
    `options.style_dim`."""
    if options.style_dim and options.generator != "resnet":
        raise ConfigError(
            f"style_dim needs the resnet generator, not {options.generator!r}; "
            "set style_dim to 0 or generator to resnet"
        )
    make_generator = TRANSLATORS[options.generator]
    style = {"style_dim": options.style_dim} if options.style_dim else {}
    return [
        make_generator(image_shape, filters=options.g_filters, name="generator_ab", **style),
        make_generator(image_shape, filters=options.g_filters, name="generator_ba"),
    ]


def style_encoder_for(options, image_shape):
    """The encoder of B's style code (None without `options.style_dim`). Call it after building
    the discriminators: the networks' initial weights are then drawn in the order they were
    before sgan shared it."""
    if not options.style_dim:
        return None
    return networks.build_style_encoder(image_shape, options.style_dim, filters=options.g_filters)


def build_cyclegan(options, image_shape, num_classes=None, seed=None):
    """Two generators (ResNet or U-Net), two 70x70 PatchGANs, and with `style_dim` a style
    encoder of B whose code the ResNet G_ab takes. The paper's model when no extra term is on."""
    generators = build_translators(options, image_shape)
    discriminators = [
        networks.build_patchgan_discriminator(image_shape, filters=options.d_filters, name=f"discriminator_{domain}")
        for domain in "ab"
    ]
    trained = training_options(options)
    if not (options.style_dim or options.lambda_edges):
        paper = set(training_options(CycleGANOptions()))
        return CycleGAN(
            *generators, *discriminators, seed=seed, **{key: value for key, value in trained.items() if key in paper}
        )
    encoder = style_encoder_for(options, image_shape)
    return ExtendedCycleGAN(*generators, *discriminators, style_encoder=encoder, seed=seed, **trained)


registry.register(
    "cyclegan",
    CycleGAN,
    ExtendedCycleGANOptions,
    build_cyclegan,
    "CycleGAN: unpaired translation, ResNet or U-Net generators, PatchGANs",
    batch_size=1,
)
