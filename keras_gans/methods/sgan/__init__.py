"""The semi-supervised GAN (`--method sgan`): a discriminator that tells the N classes of the data
and "fake" apart (`classifier`), trained

- on one labelled dataset, with a generator of noise, as a classifier from few labels
  (`classification`: Odena 2016; Salimans et al. 2016);
- between two labelled domains, with CycleGAN's generators, as a translation that keeps each
  image's class (`translation`), chosen when `--data` names two domains (`A,B`, digits2digits-m).
"""

import dataclasses

from keras_gans.methods import registry
from keras_gans.methods.sgan.classification import (
    ClassificationOptions,
    SemiSupervisedGAN,
    WeightNormDense,
    build_classification,
    build_mlp_classifier,
    build_mlp_generator,
    semi_supervised_batches,
)
from keras_gans.methods.sgan.classifier import (
    build_classifier,
    choose_labelled,
    class_cross_entropy,
    fake_loss,
    feature_matching,
    label_keeping_loss,
    labelled_cross_entropy,
    real_loss,
    real_probability,
)
from keras_gans.methods.sgan.translation import LabelKeepingCycleGAN, TranslationOptions, build_translation


@dataclasses.dataclass
class SGANOptions(ClassificationOptions, TranslationOptions):
    """Every option of both models: the command line and recipes take any of them; each model
    uses its own."""


def own_options(options, options_class):
    """`options` (SGANOptions) cut down to the fields of one model's `options_class`."""
    return options_class(**{field.name: getattr(options, field.name) for field in dataclasses.fields(options_class)})


def build(options, image_shape, num_classes=None, seed=None):
    return build_classification(own_options(options, ClassificationOptions), image_shape, num_classes, seed)


def build_translating(options, image_shape, num_classes=None, seed=None):
    return build_translation(own_options(options, TranslationOptions), image_shape, num_classes, seed)


registry.register(
    "sgan",
    SemiSupervisedGAN,
    SGANOptions,
    build,
    "semi-supervised GAN: a classifier of N classes + fake from few labels; between two labelled "
    "domains, label-keeping translation (CycleGAN's options apply)",
    translation=(LabelKeepingCycleGAN, build_translating),
)

__all__ = [
    "LabelKeepingCycleGAN",
    "SGANOptions",
    "SemiSupervisedGAN",
    "WeightNormDense",
    "build_classifier",
    "build_mlp_classifier",
    "build_mlp_generator",
    "choose_labelled",
    "class_cross_entropy",
    "fake_loss",
    "feature_matching",
    "label_keeping_loss",
    "labelled_cross_entropy",
    "real_loss",
    "real_probability",
    "semi_supervised_batches",
]
