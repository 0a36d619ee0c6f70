"""Wasserstein GANs: WGAN (Arjovsky et al. 2017) and WGAN-GP (Gulrajani et al. 2017).

One train step is `n_critic` critic updates, each on its own real batch, then one generator update.
A dataset element holds all of a step's real images: n_critic x batch_size of them (the recipes
batch the data that way). Critic update k takes every n_critic-th image starting at k, a strided
rather than a blocked split, because it commutes with MirroredStrategy's split of the global batch
into contiguous per-replica blocks: replica r's k-th critic batch is then exactly its share of the
single-device k-th batch.
"""

import keras
import tensorflow as tf
from keras import ops

from keras_gans import losses
from keras_gans.errors import UsageError
from keras_gans.methods.base import NoiseToImageModel


@keras.saving.register_keras_serializable(package="keras_gans")
class WGAN(NoiseToImageModel):
    """The critic minimises E[f(fake)] - E[f(real)] under a Lipschitz constraint.

    The constraint is weight clipping to [-clip_value, clip_value] after every critic update, or,
    with `gp_weight` > 0, the gradient penalty (see WGANGP). Metrics: `wasserstein` is the
    critic's estimate E[f(real)] - E[f(fake)], `gp` the penalty before its weight.
    """

    loss_name = "wasserstein"

    def __init__(self, generator, discriminator, latent_dim=None, n_critic=5, clip_value=0.01,
                 gp_weight=0.0, **kwargs):
        if int(n_critic) < 1:
            raise UsageError(f"n_critic must be at least 1, got {n_critic}; the papers use 5")
        self.n_critic = int(n_critic)
        self.clip_value = float(clip_value) if clip_value else None
        self.gp_weight = float(gp_weight or 0.0)
        self.d_loss_fn, self.g_loss_fn = losses.get_adversarial_loss(self.loss_name)
        self.metric_names = self.reported_metrics()
        super().__init__(generator, discriminator, latent_dim=latent_dim, **kwargs)

    def default_optimizer(self, name):
        return keras.optimizers.RMSprop(5e-5)

    def reported_metrics(self):
        names = ("d_loss", "g_loss", "d_real", "d_fake")
        if self.loss_name == "wasserstein":
            names += ("wasserstein",)
        return names + (("gp",) if self.gp_weight else ())

    def get_config(self):
        return {**super().get_config(), "n_critic": self.n_critic, "clip_value": self.clip_value,
                "gp_weight": self.gp_weight}

    # ----------------------------------------------------------------- hooks for conditioning
    def real_and_labels(self, data):
        """The real images of a dataset element and their labels (None: unconditional)."""
        return self.images_of(data), None

    def generator_inputs(self, z, labels):
        return z

    def critic_scores(self, images, labels):
        return self.discriminator(images, training=True)

    # ----------------------------------------------------------------- the update
    def critic_batches(self, tensor):
        """The n_critic strided batches of a step's images (or labels); see the module doc."""
        size = tensor.shape[0]
        if size is not None and size % self.n_critic:
            raise UsageError(
                f"{type(self).__name__} takes n_critic={self.n_critic} real batches per step, but "
                f"got a batch of {size}; batch the data by n_critic * batch_size")
        grouped = ops.reshape(tensor, (-1, self.n_critic) + tuple(tensor.shape[1:]))
        return [grouped[:, k] for k in range(self.n_critic)]

    def mean_score(self, scores):
        """Mean critic output; a probability where the loss defines one."""
        scores = ops.cast(scores, "float32")
        if self.loss_name in losses.PROBABILISTIC_LOSSES:
            scores = ops.sigmoid(scores)
        return ops.mean(scores)

    def adversarial_critic_loss(self, real_scores, fake_scores, real, fake, labels):
        """The critic's loss from its scores, plus the gradient penalty when it has one."""
        loss = self.d_loss_fn(real_scores, fake_scores)
        terms = {"d_real": self.mean_score(real_scores), "d_fake": self.mean_score(fake_scores)}
        if self.loss_name == "wasserstein":
            terms["wasserstein"] = -loss
        if self.gp_weight:
            epsilon = self.sample_uniform(ops.shape(real)[0])
            terms["gp"] = losses.gradient_penalty(
                lambda images, training: self.critic_scores(images, labels), real, fake, epsilon)
            loss = loss + self.gp_weight * terms["gp"]
        return loss, terms

    def critic_loss(self, real, fake, labels):
        return self.adversarial_critic_loss(self.critic_scores(real, labels),
                                            self.critic_scores(fake, labels), real, fake, labels)

    def generator_loss(self, fake, labels):
        return self.g_loss_fn(self.critic_scores(fake, labels)), {}

    def clip_critic(self):
        if self.clip_value is None:
            return
        for variable in self.discriminator.trainable_variables:
            variable.assign(ops.clip(variable, -self.clip_value, self.clip_value))

    def critic_update(self, real, labels):
        z = self.sample_latent(ops.shape(real)[0])
        fake = self.generator(self.generator_inputs(z, labels), training=True)
        with tf.GradientTape() as tape:
            loss, terms = self.critic_loss(real, fake, labels)
            scaled = self.scale_loss(loss, self.d_optimizer)
        self.apply_gradients(tape, scaled, self.d_optimizer, self.discriminator)
        self.clip_critic()
        return {"d_loss": loss, **terms}

    def generator_update(self, batch_size, labels):
        with tf.GradientTape() as tape:
            z = self.sample_latent(batch_size)
            fake = self.generator(self.generator_inputs(z, labels), training=True)
            loss, terms = self.generator_loss(fake, labels)
            scaled = self.scale_loss(loss, self.g_optimizer)
        self.apply_gradients(tape, scaled, self.g_optimizer, self.generator)
        return {"g_loss": loss, **terms}

    def train_step(self, data):
        real, labels = self.real_and_labels(data)
        reals = self.critic_batches(real)
        label_batches = self.critic_batches(labels) if labels is not None else [None] * len(reals)
        critic_terms = [self.critic_update(*batch) for batch in zip(reals, label_batches)]
        # The generator's fakes take the last real batch's labels: the data's class frequencies.
        generator_terms = self.generator_update(ops.shape(reals[-1])[0], label_batches[-1])
        self.update_ema()
        averaged = {name: ops.mean(ops.stack([terms[name] for terms in critic_terms]))
                    for name in critic_terms[0]}
        return self.record(**averaged, **generator_terms)


@keras.saving.register_keras_serializable(package="keras_gans")
class WGANGP(WGAN):
    """WGAN with Gulrajani et al.'s penalty, gp_weight * (||grad f(x_hat)|| - 1)^2, in place of
    clipping; x_hat = eps x + (1 - eps) G(z) with one uniform eps per sample.

    The critic must not use BatchNorm: the penalty is per sample, batch statistics mix samples.
    """

    def __init__(self, generator, discriminator, latent_dim=None, n_critic=5, clip_value=None,
                 gp_weight=10.0, **kwargs):
        super().__init__(generator, discriminator, latent_dim=latent_dim, n_critic=n_critic,
                         clip_value=clip_value, gp_weight=gp_weight, **kwargs)

    def default_optimizer(self, name):
        return keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9)
