"""Constraints on a discriminator, pluggable into the GAN loop. Each may change the images the
discriminator sees (`transform`), add a penalty to its loss (`penalty`), or project its weights
after each of its updates (`after_update`); the loop applies whichever a model's options switch on,
in the order of `GAN.make_constraints`.

Two keep the critic of a Wasserstein GAN (roughly) 1-Lipschitz, which its loss needs to mean a
distance (weight clipping, the gradient penalty); the others are the known remedies for a
discriminator that overfits or runs away from its generator, which shows as poor coverage of the
data's modes: spectral normalisation, the R1 penalty and differentiable augmentation.
`docs/coverage.md` measures each.
"""

import keras
import numpy as np
from keras import ops

from keras_gans import losses


class DiscriminatorConstraint:
    """The hooks, each doing nothing until a constraint overrides it."""

    name = None  # the reported loss term of `penalty`, if any
    weight = 0.0

    def bind(self, discriminator):
        """The state the constraint keeps for `discriminator`: variables the model tracks (and
        so checkpoints), created outside the train step."""
        return []

    def transform(self, images, draw):
        """The images the discriminator sees in place of `images`; `draw(n, shape)` gives
        per-sample uniform draws in [0, 1) of shape (n,) + shape."""
        return images

    def penalty(self, critic, real, fake, uniform):
        """The penalty before its weight, or None; `uniform(n)` draws n per-sample weights."""
        return None

    def after_update(self, discriminator):
        pass


class WeightClipping(DiscriminatorConstraint):
    """Arjovsky et al. 2017: every critic weight clipped to [-clip_value, clip_value] after each
    critic update. Crude (it also limits capacity), but the original WGAN."""

    def __init__(self, clip_value):
        self.clip_value = float(clip_value)

    def after_update(self, discriminator):
        for variable in discriminator.trainable_variables:
            variable.assign(ops.clip(variable, -self.clip_value, self.clip_value))


class GradientPenalty(DiscriminatorConstraint):
    """Gulrajani et al. 2017: weight * mean (||grad f(x_hat)|| - 1)^2 at x_hat = eps x +
    (1 - eps) G(z), one uniform eps per sample. Per sample, so the critic must not use
    BatchNorm, whose batch statistics mix samples."""

    name = "gp"

    def __init__(self, weight):
        self.weight = float(weight)

    def penalty(self, critic, real, fake, uniform):
        return losses.gradient_penalty(critic, real, fake, uniform(ops.shape(real)[0]))


class R1Penalty(DiscriminatorConstraint):
    """Mescheder et al. 2018: gamma / 2 * mean ||grad D(x)||^2 on real images only. It pushes
    D's surface flat where the data is, which keeps the game from orbiting the equilibrium."""

    name = "r1"

    def __init__(self, gamma):
        self.weight = float(gamma) / 2.0

    def penalty(self, critic, real, fake, uniform):
        return losses.r1_penalty(critic, real)


class SpectralNormalization(DiscriminatorConstraint):
    """Miyato et al. 2018: every kernel of the discriminator divided by its largest singular
    value (of the kernel reshaped to fan-in x fan-out), so each layer is 1-Lipschitz.

    The paper divides in the forward pass; here the kernel is divided after each update, which
    gives the same network for the next update without a second copy of every kernel. The
    singular value comes from power iterations that start from the last update's vector. The
    paper does one per update; under large steps (Adam at 1e-2 on a small DCGAN critic) one let a
    kernel's norm reach 1.21 before it caught up, three keep it within 3%, at the cost of a few
    matrix-vector products.
    """

    def __init__(self, iterations=3, warmup_iterations=30):
        self.iterations, self.warmup_iterations = int(iterations), int(warmup_iterations)
        self.kernels, self.vectors = [], []

    @staticmethod
    def _matrix(kernel):
        return ops.reshape(kernel, (-1, kernel.shape[-1]))

    @staticmethod
    def _power_iteration(matrix, vector):
        """(sigma, next right singular vector) from one step of the power method."""
        left = ops.matmul(matrix, vector)
        left = left / (ops.norm(left) + 1e-12)
        right = ops.matmul(ops.transpose(matrix), left)
        sigma = ops.norm(right)
        return sigma, right / (sigma + 1e-12)

    def bind(self, discriminator):
        rng = np.random.default_rng(0)
        self.kernels = [v for v in discriminator.trainable_variables if len(v.shape) >= 2]
        self.vectors = []
        for kernel in self.kernels:
            vector = rng.standard_normal((kernel.shape[-1], 1)).astype("float32")
            matrix = self._matrix(ops.cast(kernel, "float32"))
            for _ in range(self.warmup_iterations):  # start from the top singular vector
                _, vector = self._power_iteration(matrix, vector)
            self.vectors.append(keras.Variable(vector, trainable=False, name=f"spectral_vector_{len(self.vectors)}"))
        self.after_update(discriminator)
        return self.vectors

    def after_update(self, discriminator):
        for kernel, vector in zip(self.kernels, self.vectors):
            matrix, right = self._matrix(ops.cast(kernel, "float32")), vector
            for _ in range(self.iterations):
                sigma, right = self._power_iteration(matrix, right)
            vector.assign(right)
            kernel.assign(ops.cast(kernel / sigma, kernel.dtype))


class DifferentiableAugmentation(DiscriminatorConstraint):
    """Zhao et al. 2020: real and generated images alike are augmented before the
    discriminator sees them, by operations the generator's gradient passes through, so a small
    data set cannot be memorised and the generator does not learn the augmentations.

    `policy` is a comma-separated list of: `translation` (shift by up to 1/8 of the size, zero
    fill), `cutout` (a zeroed square of half the size), `color` (brightness, saturation and
    contrast, as in the paper).
    """

    POLICIES = ("color", "translation", "cutout")

    def __init__(self, policy):
        problem = self.policy_problem(policy)
        if problem:
            raise ValueError(problem)
        self.policy = self.parts(policy)

    @staticmethod
    def parts(policy):
        return tuple(part.strip() for part in policy.split(",") if part.strip())

    @classmethod
    def policy_problem(cls, policy):
        """What is wrong with a policy string, or None."""
        unknown = [part for part in cls.parts(policy) if part not in cls.POLICIES]
        if unknown:
            return f"names no augmentation {', '.join(map(repr, unknown))}; choose from {', '.join(cls.POLICIES)}"
        return None

    def transform(self, images, draw):
        for part in self.policy:
            images = getattr(self, part)(images, draw)
        return images

    @staticmethod
    def color(images, draw):
        n = ops.shape(images)[0]
        brightness, saturation, contrast = ops.unstack(draw(n, (3,)), axis=1)
        images = images + (brightness - 0.5)[:, None, None, None]
        if images.shape[-1] > 1:
            grey = ops.mean(images, axis=-1, keepdims=True)
            images = grey + (images - grey) * (2.0 * saturation)[:, None, None, None]
        mean = ops.mean(images, axis=(1, 2, 3), keepdims=True)
        return mean + (images - mean) * (contrast + 0.5)[:, None, None, None]

    @staticmethod
    def _shift_matrices(offsets, size):
        """One (size x size) matrix per sample that moves rows by its offset: out = M @ in,
        with zeros where nothing moves in. A product, so gradients reach every input pixel."""
        rows = ops.arange(size, dtype="float32")
        source = rows[None, :, None] - offsets[:, None, None]  # output row i reads input row i - offset
        return ops.cast(ops.equal(source, rows[None, None, :]), "float32")

    @classmethod
    def translation(cls, images, draw, ratio=0.125):
        n, height, width = ops.shape(images)[0], images.shape[1], images.shape[2]
        shifts = ops.unstack(draw(n, (2,)), axis=1)
        offsets = [
            ops.floor(shift * (2 * int(size * ratio + 0.5) + 1)) - int(size * ratio + 0.5)
            for shift, size in zip(shifts, (height, width))
        ]
        down, across = cls._shift_matrices(offsets[0], height), cls._shift_matrices(offsets[1], width)
        images = ops.einsum("nij,njwc->niwc", down, images)
        return ops.einsum("nij,nhjc->nhic", across, images)

    @staticmethod
    def cutout(images, draw, ratio=0.5):
        n, height, width = ops.shape(images)[0], images.shape[1], images.shape[2]
        centres = ops.unstack(draw(n, (2,)), axis=1)
        inside = []
        for centre, size in zip(centres, (height, width)):
            half = int(size * ratio + 0.5) // 2
            low = ops.floor(centre * (size + 1 - 2 * half))  # the square lies within the image
            positions = ops.arange(size, dtype="float32")[None, :]
            inside.append(ops.logical_and(positions >= low[:, None], positions < low[:, None] + 2 * half))
        hole = ops.logical_and(inside[0][:, :, None], inside[1][:, None, :])
        return images * ops.cast(ops.logical_not(hole), images.dtype)[..., None]
