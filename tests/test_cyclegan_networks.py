"""CycleGAN's networks: the shapes each image size needs, the paper's layer counts, the 70x70
receptive field, reflection padding, per-image normalisation and serialisation."""

import keras
import numpy as np
import pytest

from keras_gans.errors import UsageError
from keras_gans.networks import (
    build_patchgan_discriminator,
    build_resnet_generator,
    build_style_encoder,
    build_unet_generator,
)
from keras_gans.networks.layers import ReflectionPadding2D, StyleModulation

SIZES = (32, 64, 128, 256)


def count_layers(model, kind):
    return sum(isinstance(layer, kind) for layer in model.layers)


@pytest.mark.parametrize("size", SIZES)
def test_resnet_generator_keeps_the_shape_with_the_papers_block_count(size):
    generator = build_resnet_generator((size, size, 3), filters=4)
    assert generator.output_shape == (None, size, size, 3)
    assert generator(np.zeros((1, size, size, 3), "float32")).shape == (1, size, size, 3)
    assert count_layers(generator, keras.layers.Add) == (9 if size >= 256 else 6)


@pytest.mark.parametrize("size", SIZES)
def test_unet_generator_keeps_the_shape_and_reaches_one_pixel(size):
    generator = build_unet_generator((size, size, 3), filters=4)
    assert generator.output_shape == (None, size, size, 3)
    assert generator(np.zeros((1, size, size, 3), "float32")).shape == (1, size, size, 3)
    innermost = min(layer.output.shape[1] for layer in generator.layers if isinstance(layer, keras.layers.Conv2D))
    assert innermost == 1
    assert count_layers(generator, keras.layers.Concatenate) == int(np.log2(size)) - 1


def test_paper_sized_networks_have_the_reference_parameter_counts():
    """The 256 px networks of the CycleGAN code: 11.378M (ResNet, 9 blocks), 54.41M (U-Net),
    2.765M (PatchGAN); ours differ only by the biases that instance norm cancels."""
    shape = (256, 256, 3)
    assert build_resnet_generator(shape).count_params() == pytest.approx(11.378e6, rel=2e-3)
    assert build_unet_generator(shape).count_params() == pytest.approx(54.41e6, rel=2e-3)
    assert build_patchgan_discriminator(shape).count_params() == pytest.approx(2.765e6, rel=2e-3)


@pytest.mark.parametrize("size, patches", [(32, 2), (64, 6), (128, 14), (256, 30)])
def test_patchgan_outputs_one_logit_per_patch(size, patches):
    discriminator = build_patchgan_discriminator((size, size, 3), filters=4)
    assert discriminator.output_shape == (None, patches, patches, 1)


def test_patchgan_sees_70x70_patches():
    """The convolutions' field (instance norm adds image-wide statistics, not spatial detail)."""
    discriminator = build_patchgan_discriminator((256, 256, 3), filters=4)
    field = 1
    for layer in reversed([conv for conv in discriminator.layers if isinstance(conv, keras.layers.Conv2D)]):
        field = field * layer.strides[0] + layer.kernel_size[0] - layer.strides[0]
    assert field == 70


def test_reflection_padding_mirrors_without_repeating_the_edge():
    images = np.arange(2 * 4 * 5 * 3, dtype="float32").reshape(2, 4, 5, 3)
    padded = ReflectionPadding2D(2)(images)
    np.testing.assert_array_equal(padded, np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect"))
    assert ReflectionPadding2D(3).compute_output_shape((None, 8, None, 3)) == (None, 14, None, 3)


@pytest.mark.parametrize("builder", [build_resnet_generator, build_unet_generator, build_patchgan_discriminator])
def test_each_image_is_processed_independently_of_its_batch_mates(builder):
    """Instance norm, not batch norm: what a replica's share of the batch is cannot matter."""
    network = builder((32, 32, 3), filters=4)
    images = np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
    together = network(images, training=True).numpy()
    alone = np.concatenate([network(images[i : i + 1], training=True).numpy() for i in range(4)])
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("style_dim", [0, 2])
def test_resnet_generator_round_trips_through_a_keras_file(tmp_path, style_dim):
    generator = build_resnet_generator((32, 32, 3), filters=4, blocks=1, style_dim=style_dim)
    path = str(tmp_path / "generator.keras")
    generator.save(path)
    images = np.random.default_rng(1).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    inputs = [images, np.ones((2, style_dim), "float32")] if style_dim else images
    np.testing.assert_allclose(keras.models.load_model(path)(inputs), generator(inputs), atol=1e-6)


def test_a_style_code_changes_the_translation_through_every_instance_norm():
    """Each instance norm of a styled ResNet generator is modulated by the code; the code
    changes the output (a code fed in as constant channels would be normalised away)."""
    generator = build_resnet_generator((32, 32, 3), filters=4, blocks=2, style_dim=3)
    norms = count_layers(generator, keras.layers.GroupNormalization)
    assert count_layers(generator, StyleModulation) == norms == 3 + 2 * 2 + 2
    rng = np.random.default_rng(0)
    for layer in generator.layers:  # trained modulations, instead of the identity they start as
        if isinstance(layer, StyleModulation):
            layer.affine.kernel.assign(rng.normal(0, 0.5, layer.affine.kernel.shape))
    images = np.repeat(rng.uniform(-1, 1, (1, 32, 32, 3)).astype("float32"), 2, axis=0)
    styles = rng.normal(size=(2, 3)).astype("float32")
    first, second = generator([images, styles]).numpy()
    assert np.abs(first - second).mean() > 0.05
    np.testing.assert_allclose(generator([images[:1], styles[:1]])[0], first, atol=1e-5)


def test_the_style_encoder_reads_global_colour_into_a_code():
    encoder = build_style_encoder((32, 32, 3), style_dim=5, filters=4)
    dark, light = np.full((2, 32, 32, 3), -0.8, "float32"), np.full((2, 32, 32, 3), 0.8, "float32")
    assert encoder.output_shape == (None, 5)
    assert np.abs(encoder(dark).numpy() - encoder(light).numpy()).max() > 1e-3


@pytest.mark.parametrize(
    "builder, size", [(build_resnet_generator, 30), (build_unet_generator, 30), (build_patchgan_discriminator, 4)]
)
def test_sizes_a_network_cannot_take_are_a_usage_error(builder, size):
    with pytest.raises(UsageError, match="image size"):
        builder((size, size, 3), filters=4)
