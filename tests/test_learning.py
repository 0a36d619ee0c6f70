"""Small real trainings that must succeed, judged by a classifier trained on the real digits.

The classifier is fixed before any GAN trains (a fixture), so a GAN cannot pass by luck of the
judge: its samples must look like digits of most classes.
"""

import numpy as np
import pytest

import keras
import keras_gans
from keras_gans.metrics import classifier_scores, real_images, reference_classifier


@pytest.fixture(scope="session")
def digits_classifier(tmp_path_factory):
    """A CNN trained on the embedded digits' train split, cached in a temporary folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KERAS_GANS_CACHE", str(tmp_path_factory.mktemp("cache")))
        classifier = reference_classifier("digits", 28, 1)
    images, labels = real_images("digits", 28, 1, n=350)
    accuracy = np.mean(np.argmax(classifier.predict(images, verbose=0), 1) == labels)
    assert accuracy > 0.9, f"the judge itself is weak: {accuracy:.1%} on held-out digits"
    return classifier


@pytest.mark.slow
def test_dcgan_learns_the_digits(digits_classifier):
    keras.utils.set_random_seed(0)
    data = keras_gans.data.load_dataset("digits", 28, batch_size=32, seed=0)
    gan = keras_gans.build("dcgan", data.image_shape, g_filters=32, d_filters=32, seed=0)
    untrained = classifier_scores(digits_classifier, gan.generate(500, seed=1))
    history = gan.fit(data.dataset, epochs=14, verbose=0).history
    scores = classifier_scores(digits_classifier, gan.generate(1000, seed=1),
                               real_images("digits", 28, 1, n=350)[0])
    print("untrained:", untrained, "| trained:", scores)
    assert scores.confident >= 0.5, scores
    assert scores.classes_present >= 8, scores
    assert untrained.confident < 0.2
    # The discriminator still tells real from fake on average: the game did not collapse.
    assert history["d_real"][-1] > history["d_fake"][-1]
