"""The TensorFlow side of benchmarks/compare.py: the shared networks in Keras, this library's
models on them, a plain keras.io-style train step, and the counters (FLOPs of a traced train
step, the float32 matmul rate).

Imported only inside a worker process, after compare.py has set TF_ENABLE_ONEDNN_OPTS (or left it
unset, for the keras.io peer as written): TensorFlow reads it when it loads. The keras.io peer's
code imports nothing of keras_gans, whose import would switch oneDNN on.
"""

import time

import keras
import numpy as np
import tensorflow as tf
from compare import ladder
from keras import layers, ops

# ----------------------------------------------------------------------------- the shared networks


# Every network's last layer: a no-op in float32; under mixed_bfloat16 the outputs stay float32, as
# Keras' mixed-precision guide has it (the keras.io WGAN-GP step adds a float32 penalty to the critic's
# scores, and fails to trace otherwise).
OUTPUT_DTYPE = "float32"


def _init():
    return keras.initializers.RandomNormal(0.0, 0.02)  # the reference's weights_init


def _batch_norm():
    # PyTorch's BatchNorm2d defaults (momentum 0.1 is Keras' 0.9, eps 1e-5).
    return layers.BatchNormalization(
        momentum=0.9, epsilon=1e-5, gamma_initializer=keras.initializers.RandomNormal(1, 0.02)
    )


def peer_generator(size, channels, nz=100, ngf=64):
    """pytorch/examples' DCGAN generator: a transposed convolution from z (1x1) to base x base
    at ngf * 2**(doublings - 1) channels, stride-2 transposed convolutions halving the width,
    BatchNorm and ReLU after each but the last, tanh; 4x4 kernels, no biases."""
    base, doublings = ladder(size)
    z = keras.Input((nz,), name="z")
    width = ngf * 2 ** (doublings - 1)
    x = layers.Reshape((1, 1, nz))(z)
    x = layers.Conv2DTranspose(width, base, padding="valid", use_bias=False, kernel_initializer=_init())(x)
    x = layers.ReLU()(_batch_norm()(x))
    for _ in range(doublings - 1):
        width //= 2
        x = layers.Conv2DTranspose(width, 4, strides=2, padding="same", use_bias=False, kernel_initializer=_init())(x)
        x = layers.ReLU()(_batch_norm()(x))
    x = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", use_bias=False, kernel_initializer=_init())(x)
    return keras.Model(z, layers.Activation("tanh", dtype=OUTPUT_DTYPE)(x), name="generator")


def peer_discriminator(size, channels, ndf=64, norm="batch", sigmoid=False):
    """pytorch/examples' DCGAN discriminator: stride-2 4x4 convolutions doubling the width from
    ndf, normalisation (from the second on) and LeakyReLU(0.2), then a base x base convolution
    to one output. `norm` "layer" is the WGAN-GP critic's (per sample, over C, H, W)."""
    base, doublings = ladder(size)
    images = keras.Input((size, size, channels), name="images")
    x = images
    for i in range(doublings):
        x = layers.Conv2D(ndf * 2**i, 4, strides=2, padding="same", use_bias=False, kernel_initializer=_init())(x)
        if i and norm == "batch":
            x = _batch_norm()(x)
        elif i and norm == "layer":
            x = layers.LayerNormalization(axis=(1, 2, 3), epsilon=1e-5)(x)
        x = layers.LeakyReLU(0.2)(x)
    x = layers.Conv2D(1, base, padding="valid", use_bias=False, kernel_initializer=_init())(x)
    x = layers.Flatten(dtype=OUTPUT_DTYPE)(x)
    if sigmoid:
        x = layers.Activation("sigmoid", dtype=OUTPUT_DTYPE)(x)
    return keras.Model(images, x, name="discriminator")


class ReflectionPad(layers.Layer):
    """Mirror padding of height and width, as the keras.io CycleGAN writes its own."""

    def __init__(self, padding, **kwargs):
        super().__init__(**kwargs)
        self.padding = padding

    def call(self, x):
        p = self.padding
        return ops.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), mode="reflect")

    def compute_output_shape(self, shape):
        p = self.padding
        return (shape[0], shape[1] + 2 * p, shape[2] + 2 * p, shape[3])


def _instance_norm():
    return layers.GroupNormalization(groups=-1, epsilon=1e-5, center=False, scale=False)


def cycle_generator(size, channels=3, filters=64, blocks=6):
    """The CycleGAN ResNet generator (c7s1-64, d128, d256, R256 x blocks, u128, u64, c7s1-3),
    instance norm, reflection padding; the same network as keras_gans.networks' and PyTorch's."""
    images = keras.Input((size, size, channels))

    def conv(x, width, kernel, strides=1, reflect=0, transpose=False, relu=True):
        if reflect:
            x = ReflectionPad(reflect)(x)
        layer = layers.Conv2DTranspose if transpose else layers.Conv2D
        padding = "valid" if reflect else "same"
        x = layer(width, kernel, strides=strides, padding=padding, use_bias=False, kernel_initializer=_init())(x)
        x = _instance_norm()(x)
        return layers.ReLU()(x) if relu else x

    x = conv(images, filters, 7, reflect=3)
    x = conv(x, filters * 2, 3, strides=2)
    x = conv(x, filters * 4, 3, strides=2)
    for _ in range(blocks):
        y = conv(x, filters * 4, 3, reflect=1)
        x = layers.Add()([x, conv(y, filters * 4, 3, reflect=1, relu=False)])
    x = conv(x, filters * 2, 3, strides=2, transpose=True)
    x = conv(x, filters, 3, strides=2, transpose=True)
    x = layers.Conv2D(channels, 7, kernel_initializer=_init())(ReflectionPad(3)(x))
    return keras.Model(images, layers.Activation("tanh", dtype=OUTPUT_DTYPE)(x))


def cycle_discriminator(size, channels=3, filters=64):
    """The 70x70 PatchGAN: C64 (no norm), C128, C256 (stride 2), C512 (stride 1), 1 logit per patch."""
    images = keras.Input((size, size, channels))
    x = images
    for i, (width, strides) in enumerate(((filters, 2), (filters * 2, 2), (filters * 4, 2), (filters * 8, 1))):
        x = layers.Conv2D(width, 4, strides=strides, use_bias=i == 0, kernel_initializer=_init())(
            layers.ZeroPadding2D(1)(x)
        )
        if i:
            x = _instance_norm()(x)
        x = layers.LeakyReLU(0.2)(x)
    x = layers.Conv2D(1, 4, kernel_initializer=_init())(layers.ZeroPadding2D(1)(x))
    return keras.Model(images, layers.Activation("linear", dtype=OUTPUT_DTYPE)(x))


def forward_flops_by_layer(model):
    """2 x multiply-adds of the model's convolutions and dense layers for one image, from each
    layer's input and output shapes (the analytic count that checks the traced one)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):  # a conditional generator's body
            total += forward_flops_by_layer(layer)
            continue
        if not isinstance(layer, (layers.Conv2D, layers.Conv2DTranspose, layers.Dense)):
            continue
        kernel = int(np.prod(layer.kernel.shape))  # k x k x in x out, or in x out
        if isinstance(layer, layers.Dense):
            total += 2 * kernel
        elif isinstance(layer, layers.Conv2DTranspose):  # every input pixel scatters a k x k x out patch
            _, h, w, _ = layer.input.shape
            total += 2 * h * w * kernel
        else:  # every output pixel gathers a k x k x in patch
            _, h, w, _ = layer.output.shape
            total += 2 * h * w * kernel
    return total


# ----------------------------------------------------------------------------- the keras.io peer
# The train steps as the keras.io GAN examples write them: a keras.Model subclass holding the two
# networks, `compile(d_optimizer, g_optimizer, loss_fn)` calling the default `super().compile()`
# (so jit_compile="auto"), Mean trackers, and a `train_step` with one GradientTape per update.
# training=True is passed where the examples' networks (without BatchNorm) could leave it out.


class KerasIOGAN(keras.Model):
    """keras.io's DCGAN ("GAN overriding Model.train_step"): generated and real images through
    the discriminator in one concatenated call, labels with a little noise, then the generator
    on fresh noise against "all real" labels."""

    def __init__(self, discriminator, generator, latent_dim, jit_compile=None):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.requested_jit = jit_compile
        self.seed_generator = keras.random.SeedGenerator(1337)

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        if self.requested_jit is None:
            super().compile()  # as written
        else:
            super().compile(jit_compile=self.requested_jit)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn
        self.d_loss_metric = keras.metrics.Mean(name="d_loss")
        self.g_loss_metric = keras.metrics.Mean(name="g_loss")

    @property
    def metrics(self):
        return [self.d_loss_metric, self.g_loss_metric]

    def train_step(self, real_images):
        batch_size = ops.shape(real_images)[0]
        noise = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        generated = self.generator(noise, training=True)
        combined = ops.concatenate([generated, real_images], axis=0)
        labels = ops.concatenate([ops.ones((batch_size, 1)), ops.zeros((batch_size, 1))], axis=0)
        labels += 0.05 * keras.random.uniform(ops.shape(labels), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            d_loss = self.loss_fn(labels, self.discriminator(combined, training=True))
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))

        noise = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        misleading = ops.zeros((batch_size, 1))
        with tf.GradientTape() as tape:
            predictions = self.discriminator(self.generator(noise, training=True), training=True)
            g_loss = self.loss_fn(misleading, predictions)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        self.d_loss_metric.update_state(d_loss)
        self.g_loss_metric.update_state(g_loss)
        return {"d_loss": self.d_loss_metric.result(), "g_loss": self.g_loss_metric.result()}


class KerasIOWGANGP(keras.Model):
    """keras.io's WGAN-GP: d_steps critic updates on the step's one real batch, each with the
    gradient penalty at random interpolates (a nested tape), then one generator update."""

    def __init__(
        self, discriminator, generator, latent_dim, discriminator_extra_steps=5, gp_weight=10.0, jit_compile=None
    ):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.d_steps = discriminator_extra_steps
        self.gp_weight = gp_weight
        self.requested_jit = jit_compile

    def compile(self, d_optimizer, g_optimizer):
        if self.requested_jit is None:
            super().compile()
        else:
            super().compile(jit_compile=self.requested_jit)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    def gradient_penalty(self, batch_size, real_images, fake_images):
        alpha = tf.random.uniform([batch_size, 1, 1, 1], 0.0, 1.0)
        interpolated = real_images + alpha * (fake_images - real_images)
        with tf.GradientTape() as gp_tape:
            gp_tape.watch(interpolated)
            pred = self.discriminator(interpolated, training=True)
        grads = gp_tape.gradient(pred, [interpolated])[0]
        norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))
        return tf.reduce_mean((norm - 1.0) ** 2)

    def train_step(self, real_images):
        batch_size = tf.shape(real_images)[0]
        for _ in range(self.d_steps):
            noise = tf.random.normal((batch_size, self.latent_dim))
            with tf.GradientTape() as tape:
                fake_images = self.generator(noise, training=True)
                fake_logits = self.discriminator(fake_images, training=True)
                real_logits = self.discriminator(real_images, training=True)
                d_cost = tf.reduce_mean(fake_logits) - tf.reduce_mean(real_logits)
                d_loss = d_cost + self.gp_weight * self.gradient_penalty(batch_size, real_images, fake_images)
            grads = tape.gradient(d_loss, self.discriminator.trainable_variables)
            self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables))
        noise = tf.random.normal((batch_size, self.latent_dim))
        with tf.GradientTape() as tape:
            g_loss = -tf.reduce_mean(self.discriminator(self.generator(noise, training=True), training=True))
        grads = tape.gradient(g_loss, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables))
        return {"d_loss": d_loss, "g_loss": g_loss}


class KerasIOCycleGAN(keras.Model):
    """keras.io's CycleGAN: one persistent tape over both generators' six calls and the four
    discriminator calls, then four gradients and four optimizers (no image pool)."""

    def __init__(self, gen_g, gen_f, disc_x, disc_y, lambda_cycle=10.0, lambda_identity=0.5, jit_compile=None):
        super().__init__()
        self.gen_G, self.gen_F, self.disc_X, self.disc_Y = gen_g, gen_f, disc_x, disc_y
        self.lambda_cycle = lambda_cycle
        self.lambda_identity = lambda_identity
        self.requested_jit = jit_compile

    def compile(self, gen_G_optimizer, gen_F_optimizer, disc_X_optimizer, disc_Y_optimizer):
        if self.requested_jit is None:
            super().compile()
        else:
            super().compile(jit_compile=self.requested_jit)
        self.gen_G_optimizer, self.gen_F_optimizer = gen_G_optimizer, gen_F_optimizer
        self.disc_X_optimizer, self.disc_Y_optimizer = disc_X_optimizer, disc_Y_optimizer
        self.adversarial = keras.losses.MeanSquaredError()
        self.l1 = keras.losses.MeanAbsoluteError()

    def train_step(self, batch_data):
        real_x, real_y = batch_data
        with tf.GradientTape(persistent=True) as tape:
            fake_y = self.gen_G(real_x, training=True)
            fake_x = self.gen_F(real_y, training=True)
            cycled_x = self.gen_F(fake_y, training=True)
            cycled_y = self.gen_G(fake_x, training=True)
            same_x = self.gen_F(real_x, training=True)
            same_y = self.gen_G(real_y, training=True)
            disc_real_x = self.disc_X(real_x, training=True)
            disc_fake_x = self.disc_X(fake_x, training=True)
            disc_real_y = self.disc_Y(real_y, training=True)
            disc_fake_y = self.disc_Y(fake_y, training=True)
            gen_g_loss = self.adversarial(ops.ones_like(disc_fake_y), disc_fake_y)
            gen_f_loss = self.adversarial(ops.ones_like(disc_fake_x), disc_fake_x)
            cycle_loss = self.lambda_cycle * (self.l1(real_y, cycled_y) + self.l1(real_x, cycled_x))
            identity_g = self.lambda_cycle * self.lambda_identity * self.l1(real_y, same_y)
            identity_f = self.lambda_cycle * self.lambda_identity * self.l1(real_x, same_x)
            total_g = gen_g_loss + cycle_loss + identity_g
            total_f = gen_f_loss + cycle_loss + identity_f
            disc_x_loss = 0.5 * (
                self.adversarial(ops.ones_like(disc_real_x), disc_real_x)
                + self.adversarial(ops.zeros_like(disc_fake_x), disc_fake_x)
            )
            disc_y_loss = 0.5 * (
                self.adversarial(ops.ones_like(disc_real_y), disc_real_y)
                + self.adversarial(ops.zeros_like(disc_fake_y), disc_fake_y)
            )
        for loss, network, optimizer in (
            (total_g, self.gen_G, self.gen_G_optimizer),
            (total_f, self.gen_F, self.gen_F_optimizer),
            (disc_x_loss, self.disc_X, self.disc_X_optimizer),
            (disc_y_loss, self.disc_Y, self.disc_Y_optimizer),
        ):
            grads = tape.gradient(loss, network.trainable_variables)
            optimizer.apply_gradients(zip(grads, network.trainable_variables))
        return {"G_loss": total_g, "F_loss": total_f, "D_X_loss": disc_x_loss, "D_Y_loss": disc_y_loss}


# ----------------------------------------------------------------------------- building the cases


def synthetic(shape, structure=1):
    """One fixed batch in [-1, 1] repeated forever (a pair of them for `structure` 2)."""
    rng = np.random.default_rng(0)
    batches = tuple(tf.constant(rng.uniform(-1, 1, shape).astype("float32")) for _ in range(structure))
    return tf.data.Dataset.from_tensors(batches[0] if structure == 1 else batches).repeat()


def adam(rate, beta_1, beta_2=0.999):
    return keras.optimizers.Adam(rate, beta_1=beta_1, beta_2=beta_2)


def keras_io_model(workload, jit_compile):
    """(model, dataset, images per step) of the keras.io-style peer on synthetic data."""
    size, channels, batch, kind = workload["size"], workload["channels"], workload["batch"], workload["kind"]
    if kind == "cyclegan":
        model = KerasIOCycleGAN(
            cycle_generator(size),
            cycle_generator(size),
            cycle_discriminator(size),
            cycle_discriminator(size),
            jit_compile=jit_compile,
        )
        model.compile(*(adam(2e-4, 0.5) for _ in range(4)))
        return model, synthetic((batch, size, size, channels), 2), batch
    generator = peer_generator(size, channels)
    if kind == "wgan-gp":
        critic = peer_discriminator(size, channels, norm="layer")
        model = KerasIOWGANGP(
            critic, generator, 100, discriminator_extra_steps=workload["d_steps"], jit_compile=jit_compile
        )
        model.compile(d_optimizer=adam(1e-4, 0.0, 0.9), g_optimizer=adam(1e-4, 0.0, 0.9))
        # As written, the d_steps critic updates reuse the step's one batch; the same work as d_steps batches.
        return model, synthetic((batch, size, size, channels)), batch * workload["d_steps"]
    discriminator = peer_discriminator(size, channels, sigmoid=True)
    model = KerasIOGAN(discriminator, generator, 100, jit_compile=jit_compile)
    model.compile(d_optimizer=adam(2e-4, 0.5), g_optimizer=adam(2e-4, 0.5), loss_fn=keras.losses.BinaryCrossentropy())
    return model, synthetic((batch, size, size, channels)), batch


def ours_model(workload, settings, data):
    """(model, dataset, images per step) of this library: `settings` "peers" (the peers' networks
    and hyperparameters through keras_gans' classes, no generator average) or "recipe" (the
    shipped recipe's networks and options); `data` "synthetic" or "real" (the library's loader)."""
    import dataclasses

    import keras_gans
    from keras_gans import config as config_lib

    size, channels, batch, kind = workload["size"], workload["channels"], workload["batch"], workload["kind"]
    image_shape = (size, size, channels)
    d_steps = workload.get("d_steps", 1)
    if settings == "recipe":
        recipe = workload["recipe"]
        config = config_lib.resolve(
            dict(method=recipe["method"], data=recipe["data"], image_size=size, channels=channels, batch_size=batch)
        )
        options = dataclasses.asdict(config.options)
        model = keras_gans.build(config.method, image_shape, seed=0, **options)
        d_steps = options.get("d_steps", 1)
    elif kind == "cyclegan":  # not reached: the CycleGAN recipe is the peers' settings
        raise ValueError("cyclegan has only the recipe settings")
    elif kind == "wgan-gp":
        model = keras_gans.WGANGP(
            peer_generator(size, channels), peer_discriminator(size, channels, norm="layer"), seed=0, ema_decay=0.0
        )
        model.compile(g_optimizer=adam(1e-4, 0.0, 0.9), d_optimizer=adam(1e-4, 0.0, 0.9))
    else:
        model = keras_gans.GAN(
            peer_generator(size, channels), peer_discriminator(size, channels), seed=0, ema_decay=0.0
        )
        model.compile(g_optimizer=adam(2e-4, 0.5), d_optimizer=adam(2e-4, 0.5))
    if data == "real":
        dataset = real_data(workload, d_steps)
    else:
        dataset = synthetic((batch * d_steps, size, size, channels), 2 if kind == "cyclegan" else 1)
    model.before_training(dataset.take(-(-64 // (batch * d_steps))))  # a self-conditioned recipe clusters 64 images
    return model, dataset, batch * d_steps


def real_data(workload, d_steps=1):
    """The library's tf.data pipeline for the workload's real data, repeated."""
    from keras_gans import data as data_lib

    source, size, batch = workload["real"], workload["size"], workload["batch"]
    if workload["kind"] == "cyclegan":
        return data_lib.load_unpaired(
            source["name"], size, batch, seed=0, augment=source.get("augment")
        ).dataset.repeat()
    loaded = data_lib.load_dataset(
        source["name"],
        size,
        batch,
        channels=workload["channels"],
        split=source.get("split", "train"),
        seed=0,
        batches_per_step=d_steps,
    )
    return loaded.dataset.repeat()


# ----------------------------------------------------------------------------- measuring


def op_flops(op):
    """2 x multiply-adds of a convolution or matrix product in a traced graph, from its tensors'
    static shapes; 0 for any other op.

    Every convolution op is counted as its forward convolution: (forward output elements) x
    kh x kw x (input channels), whether it computes that convolution (Conv2D), its gradient
    with respect to its input (Conv2DBackpropInput, also a transposed convolution's forward
    pass) or to its filter (Conv2DBackpropFilter); the forward output is the op's output or
    its out_backprop input. TensorFlow's own registered counts (its profiler's) derive the
    backprop ops' work from the other side's size, which overcounts a 'valid' transposed
    convolution from 1x1 (the DCGAN generator's first layer) by kh x kw.
    """
    if op.type == "Conv2D":
        output, kernel = op.outputs[0].shape, op.inputs[1].shape
    elif op.type == "Conv2DBackpropInput":
        output, kernel = op.inputs[2].shape, op.inputs[1].shape
    elif op.type == "Conv2DBackpropFilter":
        output, kernel = op.inputs[2].shape, op.outputs[0].shape
    elif op.type in ("MatMul", "BatchMatMulV2", "BatchMatMulV3"):
        a = op.inputs[0].shape
        adjoint = op.get_attr("transpose_a" if op.type == "MatMul" else "adj_x")
        return 2 * int(np.prod(op.outputs[0].shape)) * int(a[-2] if adjoint else a[-1])
    else:
        return 0
    return 2 * int(np.prod(output)) * int(kernel[0]) * int(kernel[1]) * int(kernel[2])


def graph_flops(graph, library=None):
    """FLOPs (op_flops) of what a call of a traced graph runs, with the function graphs its ops
    call (a while loop's body, say) counted once per call site.

    Only the ops the graph's outputs and side effects depend on count: TensorFlow prunes the
    rest before running it. A traced train step holds such dead ops, and counting them misled:
    the keras.io WGAN-GP step calls its generator under the critic's tape, which traces the
    generator's gradients nobody reads (0.607 GFLOP per image traced, 0.488 run, as ours).
    """
    if library is None:  # the traced graph's: a nested body's graph has no library of its own
        library = graph.as_graph_def().library
    total = 0
    for op in live_ops(graph):
        total += op_flops(op)
        for value in op.node_def.attr.values():
            if value.HasField("func"):
                total += graph_flops(_function_graph(library, value.func.name), library)
    return total


def live_ops(graph):
    """The ops of `graph` that its outputs or control outputs (variable updates, prints) need."""
    needed, stack = set(), [tensor.op for tensor in graph.outputs] + list(graph.control_outputs)
    while stack:
        op = stack.pop()
        if op.name not in needed:
            needed.add(op.name)
            stack += [tensor.op for tensor in op.inputs] + list(op.control_inputs)
    return [op for op in graph.get_operations() if op.name in needed]


def _function_graph(library, name):
    from tensorflow.python.framework import function_def_to_graph

    for function in library.function:
        if function.signature.name == name:
            return function_def_to_graph.function_def_to_graph(function)
    raise KeyError(name)


def counted_flops(function, *specs):
    """FLOPs of one call of `function` on tensors of `specs`, from its traced graph."""
    return graph_flops(tf.function(function).get_concrete_function(*specs).graph)


def generator_and_discriminator(model):
    """The first generator and discriminator of a model of either kind, for the forward check."""
    for g, d in (("generator", "discriminator"), ("generator_ab", "discriminator_a"), ("gen_G", "disc_X")):
        if hasattr(model, g):
            return getattr(model, g), getattr(model, d)
    raise AttributeError("no generator")


class FitRunner:
    """Times `fit` on the model's dataset: each run is one call of fit, its first step (where the
    iterator starts and the pipeline fills) left out of the time."""

    def __init__(self, model, dataset, images_per_step):
        self.model, self.dataset, self.images_per_step = model, dataset, images_per_step

    def warm_up(self, steps):
        self.model.fit(self.dataset, epochs=1, steps_per_epoch=steps, verbose=0)

    def run(self, steps, max_seconds):
        """(steps timed, seconds): up to `steps` after the first, fewer once `max_seconds` have passed."""
        marks = {}
        model = self.model

        class Clock(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                now = time.perf_counter()
                if batch == 0:
                    marks["start"] = now
                    return
                marks["steps"], marks["end"] = batch, now
                if now - marks["start"] > max_seconds:
                    model.stop_training = True

        model.fit(self.dataset, epochs=1, steps_per_epoch=steps + 1, verbose=0, callbacks=[Clock()])
        return marks["steps"], marks["end"] - marks["start"]

    def step_flops(self):
        spec = self.dataset.element_spec
        return counted_flops(self.model.train_step, spec)

    def forward_flops(self):
        """{network: (traced forward FLOPs per image, per-layer analytic count per image)}."""
        counts = {}
        for network in generator_and_discriminator(self.model):
            specs = [tf.TensorSpec((1, *x.shape[1:]), x.dtype) for x in network.inputs]  # (z, label) when conditional
            counts[network.name] = (
                counted_flops(lambda *x: network(list(x) if len(x) > 1 else x[0], training=False), *specs),
                forward_flops_by_layer(network),
            )
        return counts

    def pipeline_rate(self, batches):
        """Images per second of the dataset alone, through a fresh iterator (its first batch left out)."""
        iterator = iter(self.dataset)
        next(iterator)
        start = time.perf_counter()
        for _ in range(batches):
            next(iterator)
        return batches * self.images_per_step / (time.perf_counter() - start)


def build_runner(spec, workload):
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if spec["precision"] == "bfloat16" else "float32")
    if spec["impl"] == "ours":
        model, dataset, images = ours_model(workload, spec["settings"], spec["data"])
    else:
        model, dataset, images = keras_io_model(workload, spec.get("jit_compile"))
    return FitRunner(model, dataset, images)


def describe(runner):
    """Facts of the run worth printing: the resolved jit_compile, oneDNN and versions."""
    from tensorflow.python.util import _pywrap_util_port

    return {
        "jit_compile": bool(runner.model.jit_compile),
        "onednn": bool(_pywrap_util_port.IsMklEnabled()),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


def matmul_rate(n=2048, seconds=1.5, precision="float32"):
    """GFLOP/s of a large tf.matmul in `precision` (2 n^3 FLOPs a product), timed for about `seconds`."""
    a = tf.cast(tf.random.normal((n, n)), precision)
    b = tf.cast(tf.random.normal((n, n)), precision)
    product = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    product().numpy()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        product().numpy()
        count += 1
    return 2 * n**3 * count / (time.perf_counter() - start) / 1e9
