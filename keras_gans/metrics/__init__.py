"""Sample-quality measures."""

from keras_gans.metrics.classifier import (
    ClassifierScores,
    classifier_scores,
    disagreement,
    expected_reading,
    feature_model,
    frechet_distance,
    total_variation,
)
from keras_gans.metrics.reference import (
    JUDGES,
    build_classifier,
    build_deep_classifier,
    label_mix,
    real_images,
    reference_classifier,
)

__all__ = [
    "JUDGES",
    "ClassifierScores",
    "build_classifier",
    "build_deep_classifier",
    "classifier_scores",
    "disagreement",
    "expected_reading",
    "feature_model",
    "frechet_distance",
    "label_mix",
    "real_images",
    "reference_classifier",
    "total_variation",
]
