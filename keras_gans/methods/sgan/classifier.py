"""The (N+1)-class discriminator both sgan models share: its losses, its network, and the
choice of the labelled images.

The discriminator outputs N class logits l; "fake" is an (N+1)-th class whose logit is fixed at
0, so with Z = sum(exp(l)), D(x) = P(real) = Z / (Z + 1) and the class probabilities given real
are softmax(l): no softmax is taken twice. The (N+1)-class cross-entropy of a real image of
class y splits into the class term and the real term: -log p(y) = CE(softmax(l), y) - log D(x).
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_gans import networks
from keras_gans.data import DataError
from keras_gans.export import uint8_to_images
from keras_gans.methods.base import OptimizerOptions, _replica_context
from keras_gans.options import ConfigError, option

UNLABELLED = -1  # the label of a real image whose class the run does not use


# --------------------------------------------------------------------- losses
def class_cross_entropies(logits, labels):
    """Per image, the cross-entropy of the N real classes: logsumexp(l) - l[y]. Unlabelled
    images (label -1) get 0."""
    logits = ops.cast(logits, "float32")
    labels = ops.cast(labels, "int32")
    chosen = ops.take_along_axis(logits, ops.maximum(labels, 0)[:, None], axis=1)[:, 0]
    return ops.where(labels >= 0, ops.logsumexp(logits, axis=1) - chosen, 0.0)


def class_cross_entropy(logits, labels):
    """Mean class cross-entropy of a batch whose images all have labels."""
    return ops.mean(class_cross_entropies(logits, labels))


def labelled_cross_entropy(logits, labels):
    """Mean class cross-entropy over the labelled images of a batch (0 when it has none)."""
    return labelled_mean(class_cross_entropies(logits, labels), ops.cast(labels, "int32") >= 0)


def real_loss(logits):
    """Mean -log D(x) for real images, D(x) = Z / (Z + 1): softplus(lse) - lse."""
    lse = ops.logsumexp(ops.cast(logits, "float32"), axis=1)
    return ops.mean(ops.softplus(lse) - lse)


def fake_loss(logits):
    """Mean -log(1 - D(x)) for generated images, 1 - D(x) = 1 / (Z + 1): softplus(lse)."""
    return ops.mean(ops.softplus(ops.logsumexp(ops.cast(logits, "float32"), axis=1)))


def real_probability(logits):
    """Mean D(x) = Z / (Z + 1), the sigmoid of logsumexp(l)."""
    return ops.mean(ops.sigmoid(ops.logsumexp(ops.cast(logits, "float32"), axis=1)))


def label_keeping_loss(logits, labels):
    """The (N+1)-class cross-entropy of images that should be read as real images of `labels`:
    -log D(x) for each, plus the class term for those with a label (-1: none)."""
    return real_loss(logits) + labelled_cross_entropy(logits, labels)


def feature_matching(real_features, fake_features):
    """Mean squared distance between the batch means of two feature sets. Under tf.distribute
    the means are the global batch's (see `global_mean`)."""
    real_mean, fake_mean = (global_mean(ops.cast(f, "float32")) for f in (real_features, fake_features))
    return ops.mean(ops.square(real_mean - fake_mean))


def global_mean(values):
    """The mean over the global batch of this replica's rows: the replicas' sums, all-reduced.

    A per-replica mean would make a 2-replica step differ from one device's. The all-reduce
    carries gradients: each replica's sum gets d(loss)/d(mean) / global batch, as on one device.
    """
    _, replicas = _replica_context()
    if replicas == 1:
        return ops.mean(values, axis=0)
    total = tf.distribute.get_replica_context().all_reduce("sum", ops.sum(values, axis=0))
    return total / ops.cast(ops.shape(values)[0] * replicas, values.dtype)


def labelled_mean(values, mask):
    """Mean of `values` where `mask`, over the global batch: the replicas hold different numbers
    of labelled images, so each divides its sum by the global count over the replicas, and the
    mean of the replicas' losses (what gradients and metrics take) is the global batch's."""
    mask = ops.cast(mask, "float32")
    count = ops.sum(mask)
    _, replicas = _replica_context()
    if replicas > 1:
        count = tf.distribute.get_replica_context().all_reduce("sum", count) / replicas
    return ops.sum(values * mask) / ops.maximum(count, 1.0)


# --------------------------------------------------------------------- options
@dataclasses.dataclass
class ClassifierOptions(OptimizerOptions):
    labelled: int | str = option(
        "all",
        "training images whose label is used: a number, balanced over the classes and fixed by the seed "
        "(per domain when translating), or all",
        "Salimans et al. 2016 (100 on MNIST)",
        stage="data",
    )
    d_filters: int = option(
        64, "width of the classifier's first layer", "Radford et al. 2015", minimum=1, stage="build"
    )
    input_noise: float = option(
        0.3,
        "std of the Gaussian noise added to the classifier's input while it trains",
        "Salimans et al. 2016",
        minimum=0,
        stage="build",
    )
    dropout: float = option(
        0.5, "dropout after each of the conv classifier's layers", "Springenberg 2016", minimum=0, stage="build"
    )


# --------------------------------------------------------------------- network
def build_classifier(image_shape, num_classes, filters=64, input_noise=0.3, dropout=0.5, name="classifier"):
    """images -> (N class logits, features): the DCGAN discriminator's ladder without
    normalisation (feature matching compares batch means, which BatchNorm would fix), Gaussian
    noise on the input and dropout after each layer while training (the few labels are easy to
    memorise otherwise)."""
    images = keras.Input(image_shape, name="images")
    x = keras.layers.GaussianNoise(input_noise)(images) if input_noise else images
    features = networks.dcgan.discriminator_features(x, filters, normalization=None, dropout=dropout)
    logits = keras.layers.Dense(num_classes, kernel_initializer=networks.layers.conv_init())(features)
    return keras.Model(
        images,
        [networks.layers.output_logits(logits), networks.layers.output_logits(features, name="features")],
        name=name,
    )


def classifier_signature(classifier):
    """A serving function of a classifier: images (uint8 [batch, H, W, C]) -> probabilities
    (float32 [batch, N]) and labels (int32 [batch])."""
    image_shape = tuple(classifier.inputs[0].shape[1:])

    @tf.function(input_signature=[tf.TensorSpec([None, *image_shape], tf.uint8, name="images")])
    def classify(images):
        logits = classifier(uint8_to_images(images), training=False)[0]
        return {
            "probabilities": tf.nn.softmax(tf.cast(logits, tf.float32)),
            "labels": tf.argmax(logits, axis=-1, output_type=tf.int32),
        }

    return classify


# --------------------------------------------------------------------- labels
def choose_labelled(labels, labelled, num_classes, seed):
    """Indices of the training images whose label is kept: `labelled` of them, balanced over the
    classes (the first classes take one more when it does not divide), drawn with `seed`; every
    index for "all"."""
    if labelled == "all":
        return np.arange(len(labels))
    if isinstance(labelled, str):
        if not labelled.isdigit():
            raise ConfigError(f"labelled must be a number of images or all, got {labelled!r}")
        labelled = int(labelled)
    if labelled < num_classes:
        raise ConfigError(
            f"labelled {labelled} is fewer than the {num_classes} classes; keep at least one label per class"
        )
    rng = np.random.default_rng(seed)
    chosen = []
    for k in range(num_classes):
        of_class = np.flatnonzero(labels == k)
        wanted = labelled // num_classes + (k < labelled % num_classes)
        if len(of_class) < wanted:
            raise DataError(
                f"class {k} has {len(of_class)} training images, fewer than the "
                f"{wanted} labels asked of it; lower labelled"
            )
        chosen.append(rng.permutation(of_class)[:wanted])
    return np.sort(np.concatenate(chosen))


def refuse_augmentation(augment):
    """Both sgan models train on the images as they are: augmentation is refused, not ignored."""
    if augment:
        raise ConfigError("sgan trains without augmentation; drop augment")


def labels_of(source):
    """The labels of an unbatched-order labelled source (numpy int32)."""
    return np.concatenate(list(source.dataset.map(lambda image, label: label).as_numpy_iterator()))


def labelled_record(chosen, total):
    """What a run records of its labelled subset: the indices, or "all"."""
    return "all" if len(chosen) == total else chosen.tolist()
