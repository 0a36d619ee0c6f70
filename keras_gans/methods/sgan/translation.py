"""Label-keeping translation between two labelled domains: CycleGAN's generators and cycle loss,
with discriminators that tell the N classes of their domain and "fake" apart (the (N+1)-class
discriminator of `classifier`). A translation is rewarded for being read as a real image of its
source's class, so a 3 must come out a 3. One train step:

    fake_b = G_ab(a),  fake_a = G_ba(b)
    update G_ab and G_ba together on
        -log p_b(y_a | fake_b) - log p_a(y_b | fake_a)      (N+1)-class cross-entropy, where
                                                             -log p(y|x) = CE_N(l(x), y) - log D(x);
                                                             an unlabelled source gives -log D only
                                                             (but see pseudo_labels below)
        + CycleGAN's cycle and identity terms (+ its edge and style-code terms, when on)
        + lambda_patch * (LSGAN(P_b(fake_b), 1) + LSGAN(P_a(fake_a), 1))  with PatchGANs P_a, P_b
    update D_a on CE_N(l(a), y_a) over labelled a + 1/2 (-log D_a(a) - log(1 - D_a(pool_a(fake_a))))
    and D_b likewise; with lambda_patch, P_a and P_b as CycleGAN's discriminators on the same images

With `--labelled N`, N images per domain keep their label (balanced over the classes); the others
count as real, class unknown. With `pseudo_labels` p, an unlabelled a takes the class that a
discriminator reads with probability at least p (b likewise):
- for D_a's class term, an unlabelled a takes D_b's reading of fake_b = G_ab(a): each
  discriminator learns its classes from the other through the translations;
- for G_ab's label-keeping term, D_a's reading of a itself (before the step): the generators get
  a class to keep for most images, not only the labelled ones.

With `lambda_patch`, CycleGAN's PatchGANs judge real against fake beside the classifiers, whose
realness is their class evidence (logsumexp of the class logits): without them G_ba left a faint
haze of the photo around a plain digit's stroke, which the classifiers let pass (docs/sgan.md).
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_gans import networks
from keras_gans.data import DataError, checks, load_dataset
from keras_gans.data.sources import UNPAIRED_IMAGE_SIZE, check_same_classes, domain_names
from keras_gans.methods.base import DISCRIMINATOR, Player, training_options
from keras_gans.methods.cyclegan import least_squares
from keras_gans.methods.extended_cyclegan import (
    ExtendedCycleGAN,
    ExtendedCycleGANOptions,
    build_translators,
    style_encoder_for,
)
from keras_gans.methods.sgan.classifier import (
    UNLABELLED,
    ClassifierOptions,
    build_classifier,
    choose_labelled,
    classifier_signature,
    fake_loss,
    label_keeping_loss,
    labelled_cross_entropy,
    labelled_mean,
    labelled_record,
    labels_of,
    real_loss,
    refuse_augmentation,
)
from keras_gans.options import ConfigError, option


@dataclasses.dataclass
class TranslationOptions(ClassifierOptions, ExtendedCycleGANOptions):
    pseudo_labels: float = option(
        0.0,
        "with few labels, an unlabelled image's class where a discriminator reads it so with at least this "
        "probability: the other domain's, reading its translation, for its discriminator; its own domain's, "
        "reading it, for its translation's label-keeping term (0: off)",
        "this project (docs/sgan.md)",
        minimum=0,
        maximum=1,
    )
    lambda_patch: float = option(
        0.0,
        "weight of CycleGAN's PatchGAN discriminators, trained beside the classifiers (width d_filters; "
        "0: none, the report's model)",
        "this project (docs/sgan.md)",
        minimum=0,
    )


def labelled_domain(name, labelled, image_size, channels, seed):
    """One domain's source; its examples (image, label) for an epoch, reshuffled each epoch; how
    many that is; and the record of which images keep their label.

    With every label kept, an epoch is one pass over the images. With a labelled subset, the
    examples alternate between the labelled images (repeated) and the others (label -1), and an
    epoch is one pass over the others: half of each batch carries a label. Drawn from all images
    alike, a batch at 10% of the labels held 1 labelled image in 10, and D_b still read only 46%
    of G_ab's translations as their source's digit after 8 epochs of digits2digits-m.
    """
    source = load_dataset(name, image_size, batch_size=1, channels=channels, with_labels=True, shuffle=False)
    labels = labels_of(source)
    chosen = choose_labelled(labels, labelled, source.num_classes, seed)
    record = labelled_record(chosen, len(labels))
    images = source.dataset.unbatch().map(lambda image, label: image)
    if len(chosen) == len(labels):
        examples = tf.data.Dataset.zip((images, tf.data.Dataset.from_tensor_slices(labels))).cache()
        return source, examples.shuffle(len(labels), seed=seed), len(labels), record
    keep = np.zeros(len(labels), bool)
    keep[chosen] = True
    kept_labels = np.where(keep, labels, UNLABELLED).astype("int32")
    tagged = tf.data.Dataset.zip(
        (images, tf.data.Dataset.from_tensor_slices(kept_labels), tf.data.Dataset.from_tensor_slices(keep))
    ).cache()

    def is_labelled(image, label, kept):
        return kept

    def is_unlabelled(image, label, kept):
        return tf.logical_not(kept)

    def example(image, label, kept):
        return image, label

    others = len(labels) - len(chosen)
    with_labels = tagged.filter(is_labelled).map(example).shuffle(len(chosen), seed=seed).repeat()
    without = tagged.filter(is_unlabelled).map(example).shuffle(others, seed=seed + 1)
    alternate = tf.data.Dataset.range(2).repeat()
    # Alternating stops when it picks the emptied unlabelled side, one labelled example after its last.
    stream = tf.data.Dataset.choose_from_datasets([with_labels, without], alternate).take(2 * others)
    return source, stream, 2 * others, record


@keras.saving.register_keras_serializable(package="keras_gans")
class LabelKeepingCycleGAN(ExtendedCycleGAN):
    """CycleGAN (with its edge term and style code) whose discriminators are (N+1)-class
    classifiers (images -> [logits, features]), trained by `fit` on batches `((images_a,
    labels_a), (images_b, labels_b))`, label -1 for an image whose class is not used. With
    `lambda_patch` > 0 it also takes CycleGAN's PatchGANs, `patch_discriminator_a` and `_b`."""

    Options = TranslationOptions
    takes_labels = True
    batch_layout = ((checks.IMAGES, checks.LABELS_OR_UNKNOWN),) * 2
    network_arguments = {
        **ExtendedCycleGAN.network_arguments,
        "patch_discriminator_a": "patch_discriminator_a",
        "patch_discriminator_b": "patch_discriminator_b",
    }

    def __init__(
        self,
        generator_ab,
        generator_ba,
        discriminator_a,
        discriminator_b,
        num_classes,
        style_encoder=None,
        seed=None,
        name=None,
        patch_discriminator_a=None,
        patch_discriminator_b=None,
        **options,
    ):
        super().__init__(
            generator_ab, generator_ba, discriminator_a, discriminator_b, style_encoder, seed=seed, name=name, **options
        )
        options = self.resolve_options(options)
        self.num_classes = int(num_classes)
        self.pseudo_labels = float(options["pseudo_labels"])
        self.lambda_patch = float(options["lambda_patch"])
        patches = (patch_discriminator_a, patch_discriminator_b)
        given = [patch is not None for patch in patches]
        if given != [self.lambda_patch > 0] * 2:
            raise ConfigError(
                f"lambda_patch {self.lambda_patch:g} with {sum(given)} of the 2 PatchGANs; pass patch_discriminator_a "
                "and patch_discriminator_b with a lambda_patch above 0, or neither with lambda_patch 0"
            )
        self.patch_discriminator_a, self.patch_discriminator_b = patches

    @classmethod
    def reported_metrics(cls, options):
        patch = ("patch_ab", "patch_ba", "d_patch_a", "d_patch_b") if options["lambda_patch"] else ()
        return (*super().reported_metrics(options), *patch, "kept_ab", "kept_ba")

    @property
    def players(self):
        players = super().players
        if self.lambda_patch:  # each PatchGAN trained by an optimizer of its own, as the classifiers
            players["d_patch_a_optimizer"] = Player(self.patch_discriminator_a, DISCRIMINATOR)
            players["d_patch_b_optimizer"] = Player(self.patch_discriminator_b, DISCRIMINATOR)
        return players

    adversarial_loss_name = "(N+1)-class cross-entropy"
    discriminator_output_label = "D(x) = P(real)"

    @property
    def plot_panels(self):
        kept = ("kept_ab", "kept_ba")
        panels = {
            **super().plot_panels,
            "kept": ("share of labelled translations D reads as their source's class", kept),
        }
        if self.lambda_patch:
            panels["patch"] = ("PatchGANs' least-squares loss", ("d_patch_a", "d_patch_b"))
        return panels

    def generator_loss(self, terms):
        """ExtendedCycleGAN's objective, plus lambda_patch x the PatchGANs' terms when on."""
        loss = super().generator_loss(terms)
        if self.lambda_patch:
            loss = loss + self.lambda_patch * (terms["patch_ab"] + terms["patch_ba"])
        return loss

    @property
    def generator_objective(self):
        objective = dict(super().generator_objective)
        if self.lambda_patch:
            objective[f"{self.lambda_patch:g} x patch"] = {"patch_ab": self.lambda_patch, "patch_ba": self.lambda_patch}
        return objective

    def judge(self, discriminator, images):
        """D(x) = P(real) of each image, from its class logits, in inference mode."""
        logits = ops.cast(discriminator(images, training=False)[0], "float32")
        return ops.convert_to_numpy(ops.sigmoid(ops.logsumexp(logits, axis=1)))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}

    @classmethod
    def training_data(cls, data, *, options, batch_size, image_size=None, channels=None, seed=None, augment=None):
        refuse_augmentation(augment)
        names = domain_names(data)
        if names is None:
            raise DataError(
                f"sgan translates between two labelled domains, and {data!r} names none; "
                "pass A,B (each a labelled source) or digits2digits-m"
            )
        seed = seed or 0
        size = image_size or UNPAIRED_IMAGE_SIZE
        domains = [
            labelled_domain(name, options.labelled, size, channels or 3, seed + i) for i, name in enumerate(names)
        ]
        (source_a, _, _, record_a), (source_b, _, _, record_b) = domains
        check_same_classes(names, source_a.class_names, source_b.class_names)
        # An epoch covers the larger domain once; the smaller one repeats to keep pace.
        larger = max(count for _, _, count, _ in domains)
        batches = [
            (examples.repeat() if count < larger else examples).batch(batch_size, drop_remainder=True)
            for _, examples, count, _ in domains
        ]
        return dataclasses.replace(
            source_a,
            dataset=tf.data.Dataset.zip(tuple(batches))
            .apply(tf.data.experimental.assert_cardinality(larger // batch_size))
            .prefetch(tf.data.AUTOTUNE),
            num_examples=larger,
            manifest={"labelled_a": record_a, "labelled_b": record_b},
            domain_sizes=(source_a.num_examples, source_b.num_examples),
        )

    # ----------------------------------------------------------------- the update
    @staticmethod
    def logits(discriminator, images):
        return discriminator(images, training=True)[0]

    def train_step(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        (real_a, labels_a), (real_b, labels_b) = x if y is None else (x, y)

        judged = {}  # each translation's logits, as the other domain's D reads them
        kept_a, kept_b = labels_a, labels_b  # the classes the translations must keep
        if self.pseudo_labels:
            kept_a = pseudo_labelled(self.discriminator_a(real_a, training=False)[0], labels_a, self.pseudo_labels)
            kept_b = pseudo_labelled(self.discriminator_b(real_b, training=False)[0], labels_b, self.pseudo_labels)

        def keeping_labels(fake_a, fake_b):
            judged["b"] = self.logits(self.discriminator_b, fake_b)
            judged["a"] = self.logits(self.discriminator_a, fake_a)
            terms = {
                "g_ab": label_keeping_loss(judged["b"], kept_a),
                "g_ba": label_keeping_loss(judged["a"], kept_b),
            }
            if self.lambda_patch:
                terms["patch_ab"] = least_squares(self.patch_discriminator_b(fake_b, training=True), 1.0)
                terms["patch_ba"] = least_squares(self.patch_discriminator_a(fake_a, training=True), 1.0)
            return terms

        # CycleGAN's objective (edge and style terms too), the adversarial terms label-keeping.
        with tf.GradientTape() as tape:
            fake_a, fake_b, terms = self.generator_terms(real_a, real_b, keeping_labels)
            first = self.optimizers[self.generator_optimizers[0]]
            scaled = self.scale_loss(self.generator_loss(terms), first)
        self.apply_joint_gradients(tape, scaled, self.generator_optimizers)

        known_a, known_b = labels_a, labels_b
        if self.pseudo_labels:
            known_a = pseudo_labelled(judged["b"], labels_a, self.pseudo_labels)
            known_b = pseudo_labelled(judged["a"], labels_b, self.pseudo_labels)
        for name, patch, real, labels, fake, pool in (
            ("d_a", "d_patch_a", real_a, known_a, fake_a, self.pool_a),
            ("d_b", "d_patch_b", real_b, known_b, fake_b, self.pool_b),
        ):
            optimizer = self.optimizers[f"{name}_optimizer"]
            discriminator = self.players[f"{name}_optimizer"].network
            fake = pool(ops.stop_gradient(fake))
            if self.lambda_patch:  # CycleGAN's update, on the same images
                terms[patch] = self.least_squares_update(real, fake, f"{patch}_optimizer")
            with tf.GradientTape() as tape:
                real_logits, fake_logits = ops.split(self.logits(discriminator, ops.concatenate([real, fake], 0)), 2)
                terms[name] = labelled_cross_entropy(real_logits, labels) + 0.5 * (
                    real_loss(real_logits) + fake_loss(fake_logits)
                )
                scaled_loss = self.scale_loss(terms[name], optimizer)
            self.apply_gradients(tape, scaled_loss, optimizer, discriminator)

        self.preview_a(real_a)
        self.preview_b(real_b)
        return self.record(
            **terms, kept_ab=kept_share(judged["b"], labels_a), kept_ba=kept_share(judged["a"], labels_b)
        )

    # ----------------------------------------------------------------- export
    @property
    def export_networks(self):
        return [*super().export_networks, self.discriminator_a, self.discriminator_b]

    def serving_signatures(self):
        """CycleGAN's, plus `classify_a` and `classify_b` (`classifier_signature`)."""
        return {
            **super().serving_signatures(),
            "classify_a": classifier_signature(self.discriminator_a),
            "classify_b": classifier_signature(self.discriminator_b),
        }

    def export_constants(self):
        return {"num_classes": self.num_classes}


def pseudo_labelled(logits, labels, confidence):
    """`labels`, with each unlabelled image's class taken from a discriminator's logits for it (or
    for its translation) where their largest class probability reaches `confidence`."""
    probabilities = ops.softmax(ops.cast(ops.stop_gradient(logits), "float32"), axis=1)
    guess = ops.cast(ops.argmax(probabilities, axis=1), "int32")
    labels = ops.cast(labels, "int32")
    return ops.where((labels < 0) & (ops.max(probabilities, axis=1) >= confidence), guess, labels)


def kept_share(logits, labels):
    """Share of the labelled images whose logits pick their label."""
    predicted = ops.cast(ops.argmax(logits, axis=1), "int32")
    labels = ops.cast(labels, "int32")
    return labelled_mean(ops.cast(predicted == labels, "float32"), labels >= 0)


def build_translation(options, image_shape, num_classes=None, seed=None):
    """CycleGAN's generators (and style encoder), two (N+1)-class conv classifiers as discriminators,
    and with `lambda_patch` CycleGAN's two PatchGANs (built last: without them, the other
    networks start from the weights they always did)."""
    if not num_classes:
        raise ConfigError(
            "sgan translates between labelled domains; use a pair such as digits2digits-m or mnist,folder:PATH"
        )
    generators = build_translators(options, image_shape)
    discriminators = [
        build_classifier(
            image_shape,
            num_classes,
            filters=options.d_filters,
            input_noise=options.input_noise,
            dropout=options.dropout,
            name=f"discriminator_{domain}",
        )
        for domain in "ab"
    ]
    encoder = style_encoder_for(options, image_shape)
    patches = {
        name: networks.build_patchgan_discriminator(image_shape, filters=options.d_filters, name=name)
        for name in (("patch_discriminator_a", "patch_discriminator_b") if options.lambda_patch else ())
    }
    return LabelKeepingCycleGAN(
        *generators, *discriminators, num_classes, encoder, seed=seed, **patches, **training_options(options)
    )
