"""Sample-quality measures."""

from keras_gans.metrics.classifier import ClassifierScores, classifier_scores, feature_model, frechet_distance
from keras_gans.metrics.reference import build_classifier, real_images, reference_classifier

__all__ = [
    "ClassifierScores",
    "build_classifier",
    "classifier_scores",
    "feature_model",
    "frechet_distance",
    "real_images",
    "reference_classifier",
]
