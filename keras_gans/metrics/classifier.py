"""Scores from a fixed classifier: how recognisable samples are, how many classes they cover, how
far their class mix is from the real images' (total variation), and the Frechet distance between
real and generated images in the classifier's feature space.

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


# Where two judges reading the same samples are said to disagree. Reading real train images against
# real test images (digits at 28 px, MNIST) their confident shares were within 1.3 points and their
# class-mix TVs within 0.01: these margins are several times that, and well under the 18.5 points
# between them on the quick start's samples (71.5% and 53.0%).
CONFIDENT_MARGIN = 0.05
TV_MARGIN = 0.05


def total_variation(histogram_a, histogram_b):
    """Total variation distance between two class histograms (counts or shares): the share of
    samples that would have to change class for the mixes to match; 0 when equal, 1 when disjoint.
    Unlike a count of classes above 5%, it sees a class at 2% where the real data has 10%."""
    a, b = np.asarray(histogram_a, "float64"), np.asarray(histogram_b, "float64")
    return float(0.5 * np.abs(a / a.sum() - b / b.sum()).sum())


def chance_total_variation(shares, count_a, count_b, draws=1000):
    """The total variation expected between `count_a` and `count_b` images drawn from one class mix
    `shares`: what a generator with the real class mix would score by chance against a judge's
    reading of `count_b` real images (0.07 for 2,000 samples against the 359 held-out digits)."""
    rng = np.random.default_rng(0)
    a = rng.multinomial(count_a, shares, size=draws) / count_a
    b = rng.multinomial(count_b, shares, size=draws) / count_b
    return float(np.mean(0.5 * np.abs(a - b).sum(1)))


def expected_reading(label_mix, labels, predictions):
    """The class mix a judge reads in real data whose classes come in `label_mix`: the label mix
    through the judge's confusion on held-out images (their `labels`, its `predictions`). It
    estimates what reading real images would, without the noise of those few hundred images'
    class counts: only the judge's slips are estimated from them (chance_reading_total_variation
    counts that noise), the mix comes from every training label."""
    num_classes = len(label_mix)
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    for name, classes in (("labels", labels), ("predictions", predictions)):
        if classes.size and (classes.min() < 0 or classes.max() >= num_classes):
            found = f"{classes.min()} to {classes.max()}"
            raise ValueError(f"{name} must be classes 0 to {num_classes - 1}, as label_mix has; got {found}")
    return _reading(np.asarray(label_mix, "float64"), labels, predictions)


def _reading(label_mix, labels, predictions):
    """expected_reading for classes already checked: chance_reading_total_variation calls it a
    thousand times on resamples of checked classes."""
    num_classes = len(label_mix)
    confusion = np.zeros((num_classes, num_classes))
    np.add.at(confusion, (labels, predictions), 1)
    seen = confusion.sum(1, keepdims=True)
    confusion = np.where(seen > 0, confusion / np.maximum(seen, 1), np.eye(num_classes))  # unseen: read right
    return label_mix @ confusion


def chance_reading_total_variation(label_mix, labels, predictions, count, draws=1000):
    """The total variation expected by chance between `count` samples with the real class mix and
    expected_reading: the samples' multinomial noise, and the confusion's, from resampling the
    held-out images (0.03 for 2,000 samples on the digits and on MNIST)."""
    rng = np.random.default_rng(0)
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    reading = expected_reading(label_mix, labels, predictions)
    label_mix = np.asarray(label_mix, "float64")
    total = 0.0
    for _ in range(draws):
        resampled = rng.integers(0, len(labels), len(labels))
        samples = rng.multinomial(count, reading) / count
        total += total_variation(samples, _reading(label_mix, labels[resampled], predictions[resampled]))
    return total / draws


@dataclasses.dataclass
class ClassifierScores:
    confident: float  # share of samples whose top softmax is >= the threshold
    class_shares: np.ndarray  # share of samples predicted as each class
    frechet: float | None  # feature-space Frechet distance to the real images, if given
    real_shares: np.ndarray | None = None  # the class mix the classifier reads in real data, if given
    chance_tv: float | None = None  # class_mix_tv expected by chance alone for a perfect class mix
    real_confident: float | None = None  # the same share of the real images: what a perfect generator scores
    real_accuracy: float | None = None  # the share of the real images read as their label, if labels are given

    @property
    def classes_present(self):
        """Classes that hold at least 5% of the samples: a mode-collapse count."""
        return int(np.sum(self.class_shares >= 0.05))

    @property
    def class_mix_tv(self):
        """Total variation between the class mix the classifier reads in the samples and in real
        data (None without real images)."""
        return None if self.real_shares is None else total_variation(self.class_shares, self.real_shares)

    def class_mix(self):
        """Each class's share of the samples in one line, with the real images' range."""
        text = "per class: " + ", ".join(f"{k} {share:.1%}" for k, share in enumerate(self.class_shares))
        if self.real_shares is None:
            return text
        text += f" (real data: {self.real_shares.min():.1%} to {self.real_shares.max():.1%}"
        if self.real_accuracy is None:
            return text + ")"
        return text + f"; {self.real_accuracy:.1%} of real test images read right)"

    def __str__(self):
        text = f"confident {self.confident:.1%}"
        text += f" (real images: {self.real_confident:.1%})" if self.real_confident is not None else ""
        text += f", classes with >=5%: {self.classes_present}/{len(self.class_shares)}"
        if self.real_shares is not None:
            text += f", class-mix TV {self.class_mix_tv:.2f}"
            text += f" ({self.chance_tv:.2f} by chance)" if self.chance_tv is not None else ""
        return text + (f", Frechet distance {self.frechet:.2f}" if self.frechet is not None else "")


def disagreement(scores):
    """A line saying where judges (name -> ClassifierScores of the same samples) disagree: on the
    count of classes with >= 5%, on confident shares more than CONFIDENT_MARGIN apart, or on
    class-mix TVs more than TV_MARGIN apart; None when they agree."""

    def each(value):
        return ", ".join(f"{name} {value(score)}" for name, score in scores.items())

    found = []
    if len({score.classes_present for score in scores.values()}) > 1:
        found.append("classes with >=5%: " + each(lambda score: f"{score.classes_present}/{len(score.class_shares)}"))
    confident = [score.confident for score in scores.values()]
    if max(confident) - min(confident) > CONFIDENT_MARGIN:
        found.append(
            f"confident: {each(lambda score: f'{score.confident:.1%}')} "
            f"(more than {CONFIDENT_MARGIN * 100:.0f} points apart)"
        )
    tvs = [score.class_mix_tv for score in scores.values()]
    if None not in tvs and max(tvs) - min(tvs) > TV_MARGIN:
        found.append(f"class-mix TV: {each(lambda score: f'{score.class_mix_tv:.2f}')} (more than {TV_MARGIN} apart)")
    return f"the judges disagree ({'; '.join(found)}): look at the samples" if found else None


def feature_model(classifier, layer=-2):
    """A model returning (logits, features of `layer`), by name or index."""
    features = (classifier.get_layer(layer) if isinstance(layer, str) else classifier.layers[layer]).output
    return keras.Model(classifier.inputs, [classifier.outputs[0], features])


def classifier_scores(
    classifier, images, real_images=None, threshold=0.9, layer=-2, batch_size=500, real_labels=None, label_mix=None
):
    """Scores `images` (in the classifier's input range) with a classifier that outputs logits;
    beside real images (and their labels), also what the classifier makes of those. Given the
    labels and the class mix of the data the generator learned (`label_mix`), the samples' class
    mix is compared with expected_reading, else with the classifier's reading of the real images."""

    def confident(logits):
        return float(np.mean(keras.ops.convert_to_numpy(keras.ops.softmax(logits)).max(1) >= threshold))

    if label_mix is not None and (real_images is None or real_labels is None):
        raise ValueError("label_mix needs real images and their real_labels: the judge's slips are read from them")
    model = feature_model(classifier, layer)
    logits, features = model.predict(images, batch_size=batch_size, verbose=0)
    scores = ClassifierScores(confident(logits), _shares(logits), None)
    if real_images is not None:
        real_logits, real_features = model.predict(real_images, batch_size=batch_size, verbose=0)
        scores.frechet = frechet_distance(real_features.astype("float64"), features.astype("float64"))
        scores.real_confident = confident(real_logits)
        predictions = real_logits.argmax(1)
        if real_labels is not None:
            scores.real_accuracy = float(np.mean(predictions == np.asarray(real_labels)))
        if label_mix is not None:
            scores.real_shares = expected_reading(label_mix, real_labels, predictions)
            scores.chance_tv = chance_reading_total_variation(label_mix, real_labels, predictions, len(images))
        else:
            scores.real_shares = _shares(real_logits)
            scores.chance_tv = chance_total_variation(scores.real_shares, len(images), len(real_images))
    return scores


def _shares(logits):
    """The share of images predicted as each class."""
    return np.bincount(logits.argmax(1), minlength=logits.shape[1]) / len(logits)
