"""The PyTorch side of benchmarks/compare.py: the shared networks in PyTorch (NCHW, eager) and
train steps written the way the reference scripts write them (pytorch/examples' DCGAN; the
usual PyTorch WGAN-GP and CycleGAN loops), on synthetic tensors.

Imported only inside a worker process; `import torch` failing there is reported as "not installed".
"""

import os
import random
import time

import torch
from compare import ladder
from torch import nn

# ----------------------------------------------------------------------------- the shared networks


def init_weights(module):
    """The reference's weights_init: N(0, 0.02) convolutions, N(1, 0.02) BatchNorm scales."""
    name = type(module).__name__
    if "Conv" in name:
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif "BatchNorm" in name:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def dcgan_generator(size, channels, nz=100, ngf=64):
    base, doublings = ladder(size)
    width = ngf * 2 ** (doublings - 1)
    stack = [nn.ConvTranspose2d(nz, width, base, 1, 0, bias=False), nn.BatchNorm2d(width), nn.ReLU(True)]
    for _ in range(doublings - 1):
        stack += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2), nn.ReLU(True)]
        width //= 2
    stack += [nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*stack)


def dcgan_discriminator(size, channels, ndf=64, norm="batch", sigmoid=True):
    """`norm` "layer": LayerNorm over (C, H, W), the WGAN-GP critic's."""
    base, doublings = ladder(size)
    stack, width, side = [], channels, size
    for i in range(doublings):
        out, side = ndf * 2**i, side // 2
        stack.append(nn.Conv2d(width, out, 4, 2, 1, bias=False))
        if i and norm == "batch":
            stack.append(nn.BatchNorm2d(out))
        elif i and norm == "layer":
            stack.append(nn.LayerNorm([out, side, side]))
        stack.append(nn.LeakyReLU(0.2, inplace=True))
        width = out
    stack.append(nn.Conv2d(width, 1, base, 1, 0, bias=False))
    if sigmoid:
        stack.append(nn.Sigmoid())
    return nn.Sequential(*stack)


class ResnetBlock(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(width, width, 3, bias=True),
            nn.InstanceNorm2d(width),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(width, width, 3, bias=True),
            nn.InstanceNorm2d(width),
        )

    def forward(self, x):
        return x + self.body(x)


def cycle_generator(channels=3, ngf=64, blocks=6):
    """The CycleGAN ResNet generator as its PyTorch code builds it (instance norm without affine,
    so the convolutions keep their biases)."""
    stack = [nn.ReflectionPad2d(3), nn.Conv2d(channels, ngf, 7), nn.InstanceNorm2d(ngf), nn.ReLU(True)]
    for k in (1, 2):
        stack += [nn.Conv2d(ngf * k, ngf * 2 * k, 3, 2, 1), nn.InstanceNorm2d(ngf * 2 * k), nn.ReLU(True)]
    stack += [ResnetBlock(ngf * 4) for _ in range(blocks)]
    for k in (4, 2):
        stack += [
            nn.ConvTranspose2d(ngf * k, ngf * k // 2, 3, 2, 1, output_padding=1),
            nn.InstanceNorm2d(ngf * k // 2),
            nn.ReLU(True),
        ]
    stack += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, channels, 7), nn.Tanh()]
    return nn.Sequential(*stack)


def cycle_discriminator(channels=3, ndf=64):
    """The 70x70 PatchGAN (three stride-2 layers, one stride-1, one logit per patch)."""
    stack = [nn.Conv2d(channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
    width = ndf
    for out, stride in ((ndf * 2, 2), (ndf * 4, 2), (ndf * 8, 1)):
        stack += [nn.Conv2d(width, out, 4, stride, 1), nn.InstanceNorm2d(out), nn.LeakyReLU(0.2, True)]
        width = out
    stack.append(nn.Conv2d(width, 1, 4, 1, 1))
    return nn.Sequential(*stack)


def adam(module, rate, beta_1, beta_2=0.999):
    return torch.optim.Adam(module.parameters(), lr=rate, betas=(beta_1, beta_2))


def requires_grad(networks, flag):
    for network in networks:
        for parameter in network.parameters():
            parameter.requires_grad = flag


# ----------------------------------------------------------------------------- the train steps


class DCGAN:
    """pytorch/examples' DCGAN iteration: D on the real batch (target 1) and on G(z) detached
    (target 0), one D step; then G through D on the same fakes (target 1), one G step;
    BCELoss on sigmoid outputs and the `.item()` reads of D(x), D(G(z)) every iteration."""

    def __init__(self, workload, nz=100):
        size, channels, self.batch = workload["size"], workload["channels"], workload["batch"]
        self.nz = nz
        self.netG = dcgan_generator(size, channels, nz)
        self.netD = dcgan_discriminator(size, channels)
        self.netG.apply(init_weights)
        self.netD.apply(init_weights)
        self.criterion = nn.BCELoss()
        self.optimizerD = adam(self.netD, 2e-4, 0.5)
        self.optimizerG = adam(self.netG, 2e-4, 0.5)
        self.real = torch.rand(self.batch, channels, size, size) * 2 - 1
        self.images_per_step = self.batch
        self.networks = (self.netG, self.netD)
        self.inputs = ((1, nz, 1, 1), (1, channels, size, size))

    def step(self):
        real = self.real
        label = torch.full((real.size(0),), 1.0)
        self.netD.zero_grad()
        output = self.netD(real).view(-1)
        error_real = self.criterion(output, label)
        error_real.backward()
        d_x = output.mean().item()
        fake = self.netG(torch.randn(real.size(0), self.nz, 1, 1))
        label.fill_(0.0)
        output = self.netD(fake.detach()).view(-1)
        error_fake = self.criterion(output, label)
        error_fake.backward()
        d_g_z1 = output.mean().item()
        self.optimizerD.step()

        self.netG.zero_grad()
        label.fill_(1.0)
        output = self.netD(fake).view(-1)
        error_g = self.criterion(output, label)
        error_g.backward()
        d_g_z2 = output.mean().item()
        self.optimizerG.step()
        return d_x, d_g_z1, d_g_z2


class WGANGP:
    """The WGAN-GP loop in PyTorch (Gulrajani et al.'s Algorithm 1): n_critic critic updates,
    each on its own real batch, with the penalty from autograd.grad(create_graph=True); the
    critic's parameters frozen for the generator's update."""

    def __init__(self, workload, nz=100, gp_weight=10.0):
        size, channels, self.batch = workload["size"], workload["channels"], workload["batch"]
        self.nz, self.gp_weight, self.d_steps = nz, gp_weight, workload["d_steps"]
        self.netG = dcgan_generator(size, channels, nz)
        self.netD = dcgan_discriminator(size, channels, norm="layer", sigmoid=False)
        self.netG.apply(init_weights)
        self.netD.apply(init_weights)
        self.optimizerD = adam(self.netD, 1e-4, 0.0, 0.9)
        self.optimizerG = adam(self.netG, 1e-4, 0.0, 0.9)
        self.reals = [torch.rand(self.batch, channels, size, size) * 2 - 1 for _ in range(self.d_steps)]
        self.images_per_step = self.batch * self.d_steps
        self.networks = (self.netG, self.netD)
        self.inputs = ((1, nz, 1, 1), (1, channels, size, size))

    def penalty(self, real, fake):
        alpha = torch.rand(real.size(0), 1, 1, 1)
        points = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        interpolates = points.view_as(points)  # not a leaf: FlopCounterMode's hooks refuse grad() of a leaf
        scores = self.netD(interpolates)
        (grads,) = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)
        return ((grads.flatten(1).norm(2, dim=1) - 1) ** 2).mean()

    def step(self):
        requires_grad([self.netD], True)
        for real in self.reals:
            self.netD.zero_grad()
            with torch.no_grad():
                fake = self.netG(torch.randn(real.size(0), self.nz, 1, 1))
            d_loss = self.netD(fake).mean() - self.netD(real).mean() + self.gp_weight * self.penalty(real, fake)
            d_loss.backward()
            self.optimizerD.step()
        requires_grad([self.netD], False)
        self.netG.zero_grad()
        g_loss = -self.netD(self.netG(torch.randn(self.batch, self.nz, 1, 1))).mean()
        g_loss.backward()
        self.optimizerG.step()
        return d_loss.item(), g_loss.item()


class ImagePool:
    """A history of `size` generated images; once full, each new image is swapped for a stored
    one with probability 1/2 (Shrivastava et al.; as the CycleGAN code does it)."""

    def __init__(self, size=50):
        self.size, self.images = size, []

    def query(self, images):
        answers = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image)
                answers.append(image)
            elif random.random() > 0.5:
                slot = random.randrange(self.size)
                answers.append(self.images[slot].clone())
                self.images[slot] = image
            else:
                answers.append(image)
        return torch.cat(answers, 0)


class CycleGAN:
    """The CycleGAN iteration as its PyTorch code runs it: the four translations, the two
    identity mappings, one joint generator step with the discriminators frozen, then each
    discriminator on a real batch and a pooled fake (loss halved), one step for both."""

    def __init__(self, workload, lambda_cycle=10.0, lambda_identity=0.5):
        size, channels, self.batch = workload["size"], workload["channels"], workload["batch"]
        self.lambda_cycle, self.lambda_identity = lambda_cycle, lambda_identity
        self.netG_A, self.netG_B = cycle_generator(channels), cycle_generator(channels)
        self.netD_A, self.netD_B = cycle_discriminator(channels), cycle_discriminator(channels)
        for network in (self.netG_A, self.netG_B, self.netD_A, self.netD_B):
            network.apply(init_weights)
        generators = list(self.netG_A.parameters()) + list(self.netG_B.parameters())
        discriminators = list(self.netD_A.parameters()) + list(self.netD_B.parameters())
        self.optimizer_G = torch.optim.Adam(generators, lr=2e-4, betas=(0.5, 0.999))
        self.optimizer_D = torch.optim.Adam(discriminators, lr=2e-4, betas=(0.5, 0.999))
        self.pool_A, self.pool_B = ImagePool(), ImagePool()
        self.gan_loss, self.l1 = nn.MSELoss(), nn.L1Loss()
        self.real_A = torch.rand(self.batch, channels, size, size) * 2 - 1
        self.real_B = torch.rand(self.batch, channels, size, size) * 2 - 1
        self.images_per_step = self.batch
        self.networks = (self.netG_A, self.netD_A)
        self.inputs = ((1, channels, size, size), (1, channels, size, size))

    def adversarial(self, prediction, target):
        return self.gan_loss(prediction, torch.full_like(prediction, target))

    def discriminator_loss(self, netD, real, fake):
        loss = 0.5 * (self.adversarial(netD(real), 1.0) + self.adversarial(netD(fake.detach()), 0.0))
        loss.backward()
        return loss

    def step(self):
        real_A, real_B = self.real_A, self.real_B
        fake_B = self.netG_A(real_A)
        rec_A = self.netG_B(fake_B)
        fake_A = self.netG_B(real_B)
        rec_B = self.netG_A(fake_A)

        requires_grad([self.netD_A, self.netD_B], False)
        self.optimizer_G.zero_grad()
        identity = self.lambda_cycle * self.lambda_identity
        loss_idt_A = self.l1(self.netG_A(real_B), real_B) * identity
        loss_idt_B = self.l1(self.netG_B(real_A), real_A) * identity
        loss_G = (
            self.adversarial(self.netD_A(fake_B), 1.0)
            + self.adversarial(self.netD_B(fake_A), 1.0)
            + self.l1(rec_A, real_A) * self.lambda_cycle
            + self.l1(rec_B, real_B) * self.lambda_cycle
            + loss_idt_A
            + loss_idt_B
        )
        loss_G.backward()
        self.optimizer_G.step()

        requires_grad([self.netD_A, self.netD_B], True)
        self.optimizer_D.zero_grad()
        loss_D_A = self.discriminator_loss(self.netD_A, real_B, self.pool_B.query(fake_B))
        loss_D_B = self.discriminator_loss(self.netD_B, real_A, self.pool_A.query(fake_A))
        self.optimizer_D.step()
        return loss_G.item(), loss_D_A.item(), loss_D_B.item()


class Runner:
    """The worker's interface over a PyTorch train step."""

    def __init__(self, workload, precision="float32"):
        kind = workload["kind"]
        self.model = {"dcgan": DCGAN, "wgan-gp": WGANGP, "cyclegan": CycleGAN}[kind](workload)
        self.images_per_step = self.model.images_per_step
        self.autocast = precision == "bfloat16"

    def step(self):
        """One iteration; in bfloat16, under autocast as PyTorch's mixed-precision recipe has it
        (float32 weights, bfloat16 convolutions and matrix products)."""
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.autocast):
            return self.model.step()

    def warm_up(self, steps):
        for _ in range(steps):
            self.step()

    def run(self, steps, max_seconds):
        """(steps timed, seconds): up to `steps` after an untimed one, fewer once `max_seconds` have passed."""
        self.step()
        start = time.perf_counter()
        for done in range(1, steps + 1):
            self.step()
            if time.perf_counter() - start > max_seconds:
                break
        return done, time.perf_counter() - start

    def step_flops(self):
        from torch.utils.flop_counter import FlopCounterMode

        with FlopCounterMode(display=False) as counter:
            self.step()
        return counter.get_total_flops()

    def forward_flops(self):
        from torch.utils.flop_counter import FlopCounterMode

        counts = {}
        for name, network, shape in zip(("generator", "discriminator"), self.model.networks, self.model.inputs):
            network.eval()
            with torch.no_grad(), FlopCounterMode(display=False) as counter:
                network(torch.randn(shape))
            network.train()
            counts[name] = (counter.get_total_flops(), None)
        return counts


def describe(runner):
    return {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
    }
