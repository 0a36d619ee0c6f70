"""Scores from a fixed classifier: how recognisable samples are, how many classes they cover,
and the Frechet distance between real and generated images in the classifier's feature space.

The same measure as FID, with a small domain classifier in place of Inception, which is both
faster and more telling for digits.
"""

import dataclasses
import warnings

import keras
import numpy as np
from scipy import linalg


def frechet_distance(features_a, features_b):
    """Frechet distance between Gaussians fitted to two feature sets (rows are samples)."""
    mu_a, mu_b = features_a.mean(0), features_b.mean(0)
    cov_a = np.cov(features_a, rowvar=False)
    cov_b = np.cov(features_b, rowvar=False)
    with warnings.catch_warnings():  # ReLU features can be constant: a singular product is normal
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(cov_a @ cov_b)
        if not np.isfinite(covmean).all():  # regularise, as FID implementations do
            eps = 1e-6 * np.eye(len(cov_a))
            covmean = linalg.sqrtm((cov_a + eps) @ (cov_b + eps))
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2.0 * covmean.real))


@dataclasses.dataclass
class ClassifierScores:
    confident: float  # share of samples whose top softmax is >= the threshold
    class_shares: np.ndarray  # share of samples predicted as each class
    frechet: float | None  # feature-space Frechet distance to the real images, if given

    @property
    def classes_present(self):
        """Classes that hold at least 5% of the samples: a mode-collapse count."""
        return int(np.sum(self.class_shares >= 0.05))

    def __str__(self):
        text = f"confident {self.confident:.1%}, classes with >=5%: {self.classes_present}/{len(self.class_shares)}"
        return text + (f", Frechet distance {self.frechet:.2f}" if self.frechet is not None else "")


def feature_model(classifier, layer=-2):
    """A model returning (logits, features of `layer`), by name or index."""
    features = (classifier.get_layer(layer) if isinstance(layer, str) else classifier.layers[layer]).output
    return keras.Model(classifier.inputs, [classifier.outputs[0], features])


def classifier_scores(classifier, images, real_images=None, threshold=0.9, layer=-2, batch_size=500):
    """Scores `images` (in the classifier's input range) with a classifier that outputs logits."""
    model = feature_model(classifier, layer)
    logits, features = model.predict(images, batch_size=batch_size, verbose=0)
    probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(logits))
    predicted = probabilities.argmax(1)
    shares = np.bincount(predicted, minlength=probabilities.shape[1]) / len(predicted)
    frechet = None
    if real_images is not None:
        _, real_features = model.predict(real_images, batch_size=batch_size, verbose=0)
        frechet = frechet_distance(real_features.astype("float64"), features.astype("float64"))
    return ClassifierScores(float(np.mean(probabilities.max(1) >= threshold)), shares, frechet)
