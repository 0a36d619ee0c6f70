"""Small real trainings that must succeed, judged by a classifier trained on the real digits.

The classifier (conftest's `digits_judge`, checked > 90% right on held-out digits) is fixed
before any GAN trains, so a GAN cannot pass by luck of the judge: its samples must look like
digits of most classes.
"""

import keras
import pytest

import keras_gans
from keras_gans.metrics import classifier_scores, real_images


@pytest.mark.slow
def test_dcgan_learns_the_digits(digits_judge):
    digits_classifier = digits_judge(28, 1)
    keras.utils.set_random_seed(0)
    data = keras_gans.data.load_dataset("digits", 28, batch_size=32, seed=0)
    gan = keras_gans.build("dcgan", data.image_shape, g_filters=32, d_filters=32, seed=0)
    untrained = classifier_scores(digits_classifier, gan.generate(500, seed=1))
    history = gan.fit(data.dataset, epochs=14, verbose=0).history
    scores = classifier_scores(digits_classifier, gan.generate(1000, seed=1), real_images("digits", 28, 1, n=350)[0])
    print("untrained:", untrained, "| trained:", scores)
    assert scores.confident >= 0.5, scores
    assert scores.classes_present >= 8, scores
    assert untrained.confident < 0.2
    # The discriminator still tells real from fake on average: the game did not collapse.
    assert history["d_real"][-1] > history["d_fake"][-1]
