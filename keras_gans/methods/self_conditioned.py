"""Self-conditioning (after Liu et al. 2020): an unconditional GAN trained as a conditional one,
its labels the k-means clusters of the real images.

1. Before training, k-means splits the real images' pixels into `clusters` groups and keeps
   their centres and their shares of the data.
2. Each real batch is labelled with its images' nearest centres; fakes are drawn for those
   labels (cGAN's loop), so G(z, c) is asked for every cluster as often as the data holds it,
   and D(x, c) judges image and cluster together.
3. Sampling needs no label: the first coordinate of z picks the cluster, by the quantiles of
   the standard normal cut in the clusters' shares, so G(z) draws each cluster in its share.

A generator that favours some modes can no longer do so across clusters: on the embedded digits
every class's share came within chance of the real one (docs/coverage.md). Liu et al. cluster
D's features and re-cluster as training goes; pixel clusters fixed before training are the
simpler form, enough for digits, and keep a resumed run's labels those of the uninterrupted one.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_gans import networks
from keras_gans.data.core import DataError
from keras_gans.errors import UsageError
from keras_gans.export import finite_noise, images_to_uint8
from keras_gans.methods.base import training_options
from keras_gans.methods.conditional import ConditionalGAN, conditional_networks
from keras_gans.methods.gan import GANOptions, discriminator_name


def kmeans(points, k, seed=0, iterations=100):
    """(centres [k, D], sizes [k]) of k-means on `points` [N, D]: k-means++ seeding (Arthur and
    Vassilvitskii 2007), then Lloyd's iterations until the assignment stops changing."""
    points = np.asarray(points, dtype="float64").reshape(len(points), -1)
    if len(points) < k:
        raise DataError(f"{k} clusters need at least {k} images, got {len(points)}; lower clusters")
    rng = np.random.default_rng(seed)
    norms = np.einsum("nd,nd->n", points, points)

    def squared_distances(centres):
        return np.maximum(norms[:, None] - 2 * points @ centres.T + np.einsum("kd,kd->k", centres, centres), 0)

    centres = points[rng.integers(len(points))][None]
    nearest = squared_distances(centres)[:, 0]
    for _ in range(1, k):  # each next centre drawn in proportion to its squared distance
        weights = nearest / nearest.sum() if nearest.sum() > 0 else None
        centres = np.concatenate([centres, points[rng.choice(len(points), p=weights)][None]])
        nearest = np.minimum(nearest, squared_distances(centres[-1:])[:, 0])
    assignment = None
    for _ in range(iterations):
        new = squared_distances(centres).argmin(1)
        if assignment is not None and np.array_equal(new, assignment):
            break
        assignment = new
        for j in range(k):  # an emptied cluster keeps its centre
            members = points[assignment == j]
            if len(members):
                centres[j] = members.mean(0)
    return centres.astype("float32"), np.bincount(assignment, minlength=k)


def clusters_of_noise(z, shares):
    """The cluster each latent vector draws: where its first coordinate's normal quantile falls
    among the clusters' cumulative `shares`. z is N(0, 1), so cluster k comes with its share."""
    quantile = 0.5 * (1.0 + tf.math.erf(tf.cast(z[:, 0], tf.float32) / np.sqrt(2.0)))
    edges = tf.cumsum(tf.cast(shares, tf.float32))[:-1]
    return tf.searchsorted(edges, quantile, side="right", out_type=tf.int32)


@keras.saving.register_keras_serializable(package="keras_gans")
class SelfConditionedGAN(ConditionalGAN):
    """G(z, c) and D(x, c) for c the k-means cluster of the real images (`cluster` them first;
    `fit` does it from its data if not yet done). Trains with any GAN loop's options."""

    Options = GANOptions
    takes_labels = False

    def __init__(self, generator, discriminator, num_classes, seed=None, name=None, **options):
        super().__init__(generator, discriminator, num_classes, seed=seed, name=name, **options)
        pixels = int(np.prod(discriminator.inputs[0].shape[1:]))
        # Variables, so checkpoints and .keras files keep them; all zero until `cluster` runs.
        self.centres = self.add_weight(
            shape=(self.num_classes, pixels), initializer="zeros", trainable=False, name="cluster_centres"
        )
        self.shares = self.add_weight(
            shape=(self.num_classes,), initializer="zeros", trainable=False, name="cluster_shares"
        )

    @property
    def clustered(self):
        return bool(ops.convert_to_numpy(ops.sum(self.shares)) > 0)

    def cluster(self, images):
        """k-means on `images` (an array, or a dataset of batches read once) sets the clusters;
        returns how many images each holds."""
        if isinstance(images, tf.data.Dataset):
            images = np.concatenate([np.asarray(self.images_of(batch)) for batch in images])
        images = np.asarray(images, dtype="float32")
        centres, sizes = kmeans(images, self.num_classes, seed=self.seed or 0)
        self.centres.assign(centres)
        self.shares.assign((sizes / sizes.sum()).astype("float32"))
        return sizes

    def before_training(self, data):
        """A model not yet clustered clusters the images `fit` was given, read once."""
        if self.clustered:
            return
        if isinstance(data, tf.data.Dataset) and data.cardinality() == tf.data.INFINITE_CARDINALITY:
            raise UsageError(
                f"{type(self).__name__} reads its data once to cluster it, and this dataset never ends; "
                "call model.cluster(images) first"
            )
        self.cluster(data if isinstance(data, tf.data.Dataset) else self.images_of(data))

    def split_batch(self, data):
        """The real images and their nearest cluster centres."""
        images = self.images_of(data)
        pixels = ops.reshape(ops.cast(images, "float32"), (ops.shape(images)[0], -1))
        centres = ops.cast(self.centres, "float32")
        distances = ops.sum(centres * centres, axis=1)[None] - 2 * ops.matmul(pixels, ops.transpose(centres))
        return images, ops.cast(ops.argmin(distances, axis=1), "int32")

    # ----------------------------------------------------------------- sampling
    def generate_from_latent(self, z, labels=None, batch_size=256):
        """Images for `z`, each of the cluster its noise picks (or of the given `labels`)."""
        if labels is None:
            labels = clusters_of_noise(tf.constant(z), self.shares).numpy()
        return super().generate_from_latent(z, labels, batch_size)

    @property
    def preview_row_names(self):
        shares = ops.convert_to_numpy(self.shares)
        return [f"cluster {k} ({share:.0%})" for k, share in enumerate(shares)]

    def serving_signatures(self):
        """`serving_default`: z (float32 [batch, latent_dim]) -> images (uint8 [batch, H, W, C]),
        as an unconditional generator's: z picks the cluster."""
        generator, shares = self.sampling_generator, tf.constant(ops.convert_to_numpy(self.shares))

        @tf.function(input_signature=[tf.TensorSpec([None, self.latent_dim], tf.float32, name="z")])
        def generate(z):
            z = finite_noise(z)
            return {"images": images_to_uint8(generator([z, clusters_of_noise(z, shares)], training=False))}

        return {"serving_default": generate}

    def export_constants(self):
        return {"clusters": self.num_classes}


def build(options, image_shape, seed=None):
    """The conditional DCGAN networks for `options.clusters` labels, as `SelfConditionedGAN`."""
    if options.generator != "dcgan":
        raise UsageError("clusters needs the dcgan networks (a conditional G); set generator: dcgan or clusters: 0")
    pair = conditional_networks(
        options, image_shape, options.clusters, networks.build_conditional_critic, name=discriminator_name(options)
    )
    return SelfConditionedGAN(*pair, options.clusters, seed=seed, **training_options(options))
