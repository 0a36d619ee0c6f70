"""Sample-quality measures."""

from keras_gans.metrics.classifier import (
    ClassifierScores, classifier_scores, feature_model, frechet_distance)

__all__ = ["ClassifierScores", "classifier_scores", "feature_model", "frechet_distance"]
