"""From a config to a compiled model: which networks, loss and optimizers each method uses.

`RECIPES` maps a CLI method name to its builder and its paper defaults. `build` is the Python
entry point: `keras_gans.build("dcgan", image_shape=(28, 28, 1))`.
"""

import dataclasses
from typing import Callable

import keras

from keras_gans import networks
from keras_gans.config import ConfigError, TrainConfig, validate
from keras_gans.methods import ACGAN, GAN, WGAN, WGANGP, ConditionalGAN, CycleGAN


@dataclasses.dataclass(frozen=True)
class Recipe:
    build: Callable               # (config, image_shape, num_classes) -> uncompiled model
    defaults: dict                # config values the method sets when nothing else does
    options: frozenset            # the METHOD_OPTIONS keys this method reads
    needs_labels: bool = False    # trains on (images, labels)
    unpaired: bool = False        # trains on (images_a, images_b)
    critic_batches: bool = False  # a step takes n_critic real batches (the WGAN family)

    def data_batch_size(self, config):
        """Images per dataset element: one real batch per critic update of a step."""
        return config.batch_size * (config.n_critic if self.critic_batches else 1)


# Config keys that belong to some methods only; setting one for another method is an error, not
# a silently ignored value.
GAN_OPTIONS = frozenset({"g_steps"})
CRITIC_OPTIONS = frozenset({"n_critic", "clip_value", "gp_weight"})
CYCLE_OPTIONS = frozenset({"lambda_cycle", "lambda_identity", "pool_size", "lr_decay_start",
                           "style_dim", "lambda_style", "lambda_diversity", "lambda_edges"})
METHOD_OPTIONS = GAN_OPTIONS | CRITIC_OPTIONS | CYCLE_OPTIONS

GENERATORS = {"mlp": networks.build_mlp_generator, "dcgan": networks.build_dcgan_generator}
DISCRIMINATORS = {"mlp": networks.build_mlp_discriminator,
                  "dcgan": networks.build_dcgan_discriminator}
DEFAULT_BATCH_SIZE = 64
ADAM_DCGAN = {"optimizer": "adam", "g_lr": 2e-4, "d_lr": 2e-4, "beta_1": 0.5, "beta_2": 0.999}
ADAM_WGAN_GP = {"optimizer": "adam", "g_lr": 1e-4, "d_lr": 1e-4, "beta_1": 0.0, "beta_2": 0.9}
WGAN_GP = {"loss": "wasserstein", "n_critic": 5, "gp_weight": 10.0, **ADAM_WGAN_GP}


def _network_kwargs(config, builder, kind):
    """Width options only for builders that take them (the MLP has fixed widths)."""
    kwargs = {}
    if builder in (networks.build_dcgan_generator, networks.build_dcgan_discriminator):
        kwargs["filters"] = config.g_filters if kind == "g" else config.d_filters
    return kwargs


def build_gan(config, image_shape, num_classes=None):
    try:
        make_g, make_d = GENERATORS[config.generator], DISCRIMINATORS[config.generator]
    except KeyError:
        raise ConfigError(f"generator {config.generator!r} is not one of "
                          f"{', '.join(GENERATORS)} for method {config.method!r}") from None
    generator = make_g(image_shape, latent_dim=config.latent_dim,
                       **_network_kwargs(config, make_g, "g"))
    discriminator = make_d(image_shape, **_network_kwargs(config, make_d, "d"))
    return GAN(generator, discriminator, latent_dim=config.latent_dim, loss=config.loss,
               generator_steps=config.g_steps, ema_decay=config.ema_decay, seed=config.seed)


def _critic_options(config):
    """What every method of the WGAN family takes from the config."""
    return dict(latent_dim=config.latent_dim, n_critic=config.n_critic,
                clip_value=config.clip_value, gp_weight=config.gp_weight,
                ema_decay=config.ema_decay, seed=config.seed)


def _critic_normalization(config):
    """LayerNorm under a gradient penalty, which is per sample (BatchNorm mixes samples)."""
    return "layer" if config.gp_weight else "batch"


def build_wgan(config, image_shape, num_classes=None):
    """WGAN (clipping) or WGAN-GP (penalty): DCGAN generator and critic."""
    if config.generator != "dcgan" or config.loss != "wasserstein":
        raise ConfigError(f"method {config.method!r} trains DCGAN networks with the wasserstein "
                          "loss; drop the generator and loss keys from the config")
    generator = networks.build_dcgan_generator(image_shape, latent_dim=config.latent_dim,
                                               filters=config.g_filters)
    critic = networks.build_dcgan_discriminator(image_shape, filters=config.d_filters,
                                                normalization=_critic_normalization(config),
                                                name="critic")
    method = WGANGP if config.method == "wgan-gp" else WGAN
    return method(generator, critic, **_critic_options(config))


def build_conditional(config, image_shape, num_classes=None):
    """cGAN (the critic sees the label as an image channel) or ACGAN (it predicts the label)."""
    if not num_classes:
        raise ConfigError(f"method {config.method!r} needs labelled data; use a labelled dataset "
                          "such as mnist or a folder with one sub-folder per class")
    generator = networks.build_conditional_generator(image_shape, num_classes,
                                                     latent_dim=config.latent_dim,
                                                     filters=config.g_filters)
    build_critic, method = ((networks.build_acgan_discriminator, ACGAN)
                            if config.method == "acgan"
                            else (networks.build_conditional_critic, ConditionalGAN))
    critic = build_critic(image_shape, num_classes, filters=config.d_filters,
                          normalization=_critic_normalization(config))
    return method(generator, critic, num_classes, loss=config.loss, **_critic_options(config))


TRANSLATORS = {"resnet": networks.build_resnet_generator, "unet": networks.build_unet_generator}


def build_cyclegan(config, image_shape, num_classes=None):
    """Two generators (ResNet or U-Net), two 70x70 PatchGAN discriminators, and with
    `style_dim` a style encoder of B whose code the ResNet G_ab takes."""
    if config.generator not in TRANSLATORS or config.loss != "lsgan":
        raise ConfigError(f"method {config.method!r} takes generator {' or '.join(TRANSLATORS)} "
                          "and the lsgan loss; fix the generator and loss keys of the config")
    if config.style_dim < 0:
        raise ConfigError(f"style_dim must be 0 (one translation per image) or positive, got "
                          f"{config.style_dim}")
    if config.style_dim and config.generator != "resnet":
        raise ConfigError(f"style_dim needs the resnet generator, not {config.generator!r}; "
                          "set style_dim to 0 or generator to resnet")
    make_generator = TRANSLATORS[config.generator]
    generators = [make_generator(image_shape, filters=config.g_filters, name="generator_ab",
                                 **({"style_dim": config.style_dim} if config.style_dim else {})),
                  make_generator(image_shape, filters=config.g_filters, name="generator_ba")]
    discriminators = [networks.build_patchgan_discriminator(image_shape, filters=config.d_filters,
                                                            name=f"discriminator_{domain}")
                      for domain in "ab"]
    style_encoder = (networks.build_style_encoder(image_shape, config.style_dim,
                                                  filters=config.g_filters)
                     if config.style_dim else None)
    return CycleGAN(*generators, *discriminators, style_encoder=style_encoder,
                    lambda_cycle=config.lambda_cycle, lambda_identity=config.lambda_identity,
                    lambda_style=config.lambda_style, lambda_diversity=config.lambda_diversity,
                    lambda_edges=config.lambda_edges,
                    pool_size=config.pool_size, lr_decay_start=config.lr_decay_start,
                    seed=config.seed)


RECIPES = {
    "gan": Recipe(build_gan, {"generator": "mlp", "loss": "bce", "g_steps": 1, **ADAM_DCGAN},
                  GAN_OPTIONS),
    "dcgan": Recipe(build_gan, {"generator": "dcgan", "loss": "bce", "g_steps": 1, **ADAM_DCGAN},
                    GAN_OPTIONS),
    "lsgan": Recipe(build_gan, {"generator": "dcgan", "loss": "lsgan", "g_steps": 1,
                                **ADAM_DCGAN}, GAN_OPTIONS),
    "wgan": Recipe(build_wgan, {"generator": "dcgan", "loss": "wasserstein", "n_critic": 5,
                                "clip_value": 0.01, "optimizer": "rmsprop", "g_lr": 5e-5,
                                "d_lr": 5e-5}, CRITIC_OPTIONS, critic_batches=True),
    "wgan-gp": Recipe(build_wgan, {"generator": "dcgan", **WGAN_GP}, CRITIC_OPTIONS,
                      critic_batches=True),
    "cgan": Recipe(build_conditional, WGAN_GP, CRITIC_OPTIONS, needs_labels=True,
                   critic_batches=True),
    "acgan": Recipe(build_conditional, {"loss": "bce", "n_critic": 1, "gp_weight": 0.0,
                                        **ADAM_DCGAN}, CRITIC_OPTIONS, needs_labels=True,
                   critic_batches=True),
    "cyclegan": Recipe(build_cyclegan, {"generator": "resnet", "loss": "lsgan", "lambda_cycle": 10.0,
                                        "lambda_identity": 0.5, "pool_size": 50,
                                        "lr_decay_start": 0.5, "style_dim": 0, "lambda_style": 1.0,
                                        "lambda_diversity": 1.0, "lambda_edges": 0.0,
                                        "batch_size": 1,
                                        **ADAM_DCGAN},
                       CYCLE_OPTIONS, unpaired=True),
}


def get_recipe(method):
    try:
        return RECIPES[method]
    except KeyError:
        raise ConfigError(
            f"unknown method {method!r}; choose one of {', '.join(RECIPES)}") from None


def with_method_defaults(config):
    """The config with every unset (None) key the method has a default for filled in.

    A key that only other methods read is refused rather than silently ignored.
    """
    recipe = get_recipe(config.method)
    foreign = sorted(key for key in METHOD_OPTIONS - recipe.options
                     if getattr(config, key) is not None)
    if foreign:
        raise ConfigError(f"config key {foreign[0]!r} does not apply to method {config.method!r}; "
                          f"remove it (this method takes {', '.join(sorted(recipe.options))})")
    defaults = {"batch_size": DEFAULT_BATCH_SIZE, **recipe.defaults}
    filled = {key: value for key, value in defaults.items() if getattr(config, key) is None}
    return dataclasses.replace(config, **filled)


def make_optimizer(config, learning_rate):
    if config.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate, beta_1=config.beta_1, beta_2=config.beta_2)
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    raise ConfigError(f"optimizer {config.optimizer!r} is not one of adam, rmsprop")


def optimizers_for(model, config):
    """One optimizer per network: `g_*` settings for generators, `d_*` for discriminators."""
    return {name: make_optimizer(config, config.g_lr if name.startswith("g") else config.d_lr)
            for name in model.networks}


def build_from_config(config, image_shape, num_classes=None):
    """The compiled model a config describes. Call inside the strategy's scope."""
    config = with_method_defaults(config)
    model = get_recipe(config.method).build(config, tuple(image_shape), num_classes)
    model.compile(jit_compile=config.xla, **optimizers_for(model, config))
    return model


def build(method, image_shape, num_classes=None, compile=True, **options):
    """A model for `method` with the paper's settings; `options` are any TrainConfig keys.

    >>> gan = keras_gans.build("dcgan", image_shape=(28, 28, 1))
    """
    config = TrainConfig(method=method, **validate(options, "build options"))
    if compile:
        return build_from_config(config, image_shape, num_classes)
    config = with_method_defaults(config)
    return get_recipe(method).build(config, tuple(image_shape), num_classes)
