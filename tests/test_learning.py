"""Small real trainings that must succeed, judged by a classifier trained on the real digits.

The classifier (conftest's `digits_judge`, checked > 90% right on held-out digits) is fixed
before any GAN trains, so a GAN cannot pass by luck of the judge: its samples must look like
digits of most classes.
"""

import subprocess
import sys

import keras
import pytest
from helpers import ROOT

import keras_gans
from keras_gans.metrics import classifier_scores, evaluation, real_images


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


@pytest.mark.slow
def test_the_quick_start_draws_every_digit_for_both_judges(tmp_path):
    """`python train.py` whole, in its own process (the README's run: this process's two logical
    CPUs would change its float sums), read as `evaluate` reads it: 2,000 samples through the
    SavedModel, both judges. Each reads 85% or more of the samples with confidence, every digit
    in at least 5% of them and a class mix within 0.05 of the real data's (total variation, issue
    16's goal; chance alone gives 0.03). The README's run reads 94.2% / 91.8% and 0.03 / 0.04 by
    the command line's judges; without mode seeking, seed 1 fails this (TV 0.06 / 0.07; the test
    trains seed 0), as did the recipe before it took clusters (78.5% / 63.7% confident, TV 0.11 /
    0.10 against the held-out digits' own reading, 0.07 by chance) and stopping it after 5 epochs
    (judge 1: twos 1.9%, TV 0.26)."""
    run = tmp_path / "quick-start"
    subprocess.run([sys.executable, str(ROOT / "train.py"), "--output", str(run)], check=True)
    for judge, scores in evaluation.score_samples_by_judge(run, "digits", 2000, seed=0).items():
        assert scores.confident >= 0.85, (judge, scores)
        assert scores.class_shares.min() >= 0.05, (judge, scores.class_mix())
        assert scores.class_mix_tv <= 0.05, (judge, scores)
