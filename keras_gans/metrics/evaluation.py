"""Scores of an exported model (a SavedModel or a run folder), whatever it serves:

- a noise-to-image generator: each reference classifier's confident share, class coverage, class
  mix against the real images' and feature-space Frechet distance (`score_samples_by_judge`);
- a conditional generator: how often samples drawn for class k are classified as k (`score_labels`);
- a translation model: how often translated test images keep their label in the other domain
  (`score_translation`), which needs two labelled domains with the same classes.

Each of these takes the judge to read with (a key of JUDGES: "small", the default, or "deep").
Only TensorFlow and the reference classifiers are used, never the training code, so a run is
judged the way a user would serve it.
"""

import dataclasses

import numpy as np

from keras_gans.data import DataError
from keras_gans.data.core import UnlabelledError
from keras_gans.data.sources import PAIRS, domain_names
from keras_gans.errors import UsageError
from keras_gans.export import (
    images_to_uint8,
    load_saved_model,
    load_translation,
    sample_saved_model,
    saved_model_info,
    uint8_to_images,
)
from keras_gans.metrics.classifier import classifier_scores
from keras_gans.metrics.reference import JUDGES, label_mix, real_images, reference_classifier


@dataclasses.dataclass
class LabelAccuracy:
    """How often images meant to show class k are classified as k."""

    per_class: np.ndarray

    @property
    def overall(self):
        return float(self.per_class.mean())

    @property
    def worst(self):
        return float(self.per_class.min())

    def __str__(self):
        return f"label kept {self.overall:.1%} overall, worst class {int(self.per_class.argmin())} at {self.worst:.1%}"


@dataclasses.dataclass
class ClassifierAccuracy:
    """An exported classifier's share of right answers on test images, and per class."""

    accuracy: float
    images: int
    per_class: LabelAccuracy

    def __str__(self):
        worst = self.per_class.per_class
        return (
            f"accuracy {self.accuracy:.2%} on {self.images} images, worst class "
            f"{int(worst.argmin())} at {worst.min():.1%}"
        )


def score_classifier(path, data, n=100_000, signature="serving_default"):
    """ClassifierAccuracy of an exported classifier (its `signature`: `images` uint8 -> `labels`)
    on up to `n` of `data`'s test images (its whole test split by default)."""
    serve = load_saved_model(path).signatures[signature]
    size, _, channels = serve.structured_input_signature[1]["images"].shape[1:]
    images, labels = real_images(data, size, channels, n=n)
    predicted = np.concatenate(
        [
            serve(images=images_to_uint8(images[start : start + 500]))["labels"].numpy()
            for start in range(0, len(images), 500)
        ]
    )
    num_classes = int(load_saved_model(path).num_classes.numpy())
    per_class = np.array(
        [np.mean(predicted[labels == k] == k) if np.any(labels == k) else np.nan for k in range(num_classes)]
    )
    return ClassifierAccuracy(float(np.mean(predicted == labels)), len(labels), LabelAccuracy(per_class))


def score_samples(path, data, n=2000, seed=0, judge="small"):
    """ClassifierScores of `n` samples against `data`'s reference classifier `judge` and real test images."""
    return score_samples_by_judge(path, data, n, seed, judges=(judge,))[judge]


def score_samples_by_judge(path, data, n=2000, seed=0, judges=tuple(JUDGES)):
    """ClassifierScores of the same `n` samples and real test images by each judge, by its name.
    Data without a test split lends train images, which the judges have seen: their slips on
    them, and so the expected reading's, are fewer than on unseen images."""
    samples = uint8_to_images(sample_saved_model(path, n, seed=seed))
    size, channels = samples.shape[1], samples.shape[-1]
    real, labels = real_images(data, size, channels, n=n)
    mix = label_mix(data)
    return {
        judge: classifier_scores(
            reference_classifier(data, size, channels, judge=judge), samples, real, real_labels=labels, label_mix=mix
        )
        for judge in judges
    }


def score_labels(path, data, n=2000, seed=0, judge="small"):
    """LabelAccuracy of a conditional generator: `n` samples, classes in turn."""
    num_classes = saved_model_info(path).num_classes
    labels = np.arange(n) % num_classes
    samples = uint8_to_images(sample_saved_model(path, n, seed=seed, labels=labels))
    classifier = reference_classifier(data, samples.shape[1], samples.shape[-1], judge=judge)
    return _label_accuracy(classifier, samples, labels, num_classes)


def score_translation(path, spec, direction, n=2000, judge="small"):
    """LabelAccuracy of translated test images of the source domain, judged by the target
    domain's reference classifier `judge` (trained on the target's train split only)."""
    names = _domain_names(spec)
    source, target = names if direction == "a2b" else names[::-1]
    serve, (size, _, channels) = load_translation(path, direction)
    try:
        images, labels = real_images(source, size, channels, n=n)
    except UnlabelledError:
        raise UsageError(
            f"{spec} holds no classes, so there is no label to keep and nothing for evaluate to score; "
            "judge its translations in the run's samples/ folder"
        ) from None
    translated = np.concatenate(
        [
            serve(images=images_to_uint8(images[start : start + 500]))["images"].numpy()
            for start in range(0, len(images), 500)
        ]
    )
    classifier = reference_classifier(target, size, channels, judge=judge)
    return _label_accuracy(classifier, uint8_to_images(translated), labels, classifier.outputs[0].shape[-1])


def score_domain_classifiers(path, spec):
    """{signature: (domain, ClassifierAccuracy)} of a label-keeping translation's discriminators
    (`classify_a`, `classify_b`), each on its domain's whole test split: how well each learnt its
    domain's classes, which bounds how well it can reward keeping them."""
    return {
        signature: (name, score_classifier(path, name, signature=signature))
        for signature, name in zip(("classify_a", "classify_b"), _domain_names(spec))
    }


def _domain_names(spec):
    names = domain_names(spec)
    if names is None:
        raise UsageError(
            f"translation is scored on two labelled domains, and {spec!r} is not a "
            f"pair of them; pass --data {' or '.join(PAIRS)} or LABELLED_A,LABELLED_B"
        )
    return names


def _label_accuracy(classifier, images, labels, num_classes):
    predicted = classifier.predict(images, batch_size=500, verbose=0).argmax(1)
    per_class = np.array(
        [np.mean(predicted[labels == k] == k) if np.any(labels == k) else np.nan for k in range(num_classes)]
    )
    if np.isnan(per_class).any():
        raise DataError(f"some classes have no image among {len(labels)}; score more images with -n")
    return LabelAccuracy(per_class)
