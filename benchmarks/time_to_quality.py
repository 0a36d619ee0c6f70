"""What a user feels: wall time from the start of a training to samples a judge recognises.

    python benchmarks/time_to_quality.py --impl ours --epochs 2     # python train.py --method dcgan --data mnist
    python benchmarks/time_to_quality.py --impl torch --epochs 5    # the PyTorch DCGAN reference, textbook way

`ours` runs the command line's dcgan_mnist recipe one epoch per process (`--epochs 1`, then
`--resume --epochs 2`, ...; a resumed run trains the very batches of an uninterrupted one) and
scores each epoch's export with `evaluate`'s scorer. `torch` trains pytorch/examples' DCGAN
(benchmarks/compare_torch.py's networks at 28 px: batch 128, Adam 2e-4 with beta_1 0.5, BCE,
a reshuffled epoch of MNIST's 60,000 training images) and scores 2,000 samples after each epoch,
with the clock stopped, twice: BatchNorm on its running statistics (as a served model runs) and
on the batch's (as the reference script draws its samples; in a copy, so training is untouched).
Both are read by the same cached judges (`evaluate`'s), samples rounded to uint8 as an export
serves them. Prints a line per epoch: wall seconds so far and each judge's
scores. Needs TFDS_DATA_DIR with MNIST; `torch` needs the bench extra.
"""

import argparse
import copy
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = 2000


def report(epoch, seconds, judged):
    print(f"epoch {epoch}: {seconds:.0f} s of training wall time", flush=True)
    for number, scores in enumerate(judged, 1):
        print(f"  judge {number}: {scores}", flush=True)


def run_ours(epochs, output):
    from keras_gans.metrics import evaluation

    wall = 0.0
    for epoch in range(1, epochs + 1):
        command = [sys.executable, os.path.join(ROOT, "train.py"), "--method", "dcgan", "--data", "mnist"]
        command += ["--epochs", str(epoch), "--output", output] + (["--resume"] if epoch > 1 else [])
        started = time.monotonic()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        wall += time.monotonic() - started
        judged = evaluation.score_samples_by_judge(output, "mnist", SAMPLES, seed=0)
        report(epoch, wall, judged.values())


def run_torch(epochs, seed):
    started = time.monotonic()  # from the process's start, as a user launching the script feels it
    import numpy as np
    import torch
    from compare_torch import dcgan_discriminator, dcgan_generator, init_weights

    torch.manual_seed(seed)
    generator, discriminator = dcgan_generator(28, 1), dcgan_discriminator(28, 1)
    generator.apply(init_weights)
    discriminator.apply(init_weights)
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = torch.nn.BCELoss()
    # TensorFlow only now: torch's optimizers load triton's native library on first use, which
    # crashes the process (SIGSEGV, torch 2.14) once TensorFlow's is loaded.
    from keras_gans.data import load_dataset
    from keras_gans.metrics import JUDGES, classifier_scores, label_mix, real_images, reference_classifier

    train = load_dataset("mnist", 28, batch_size=60_000, channels=1, shuffle=False)
    images = torch.from_numpy(next(iter(train.dataset)).numpy()).permute(0, 3, 1, 2).contiguous()
    batch = 128
    wall = time.monotonic() - started
    real_test, test_labels = real_images("mnist", 28, 1, n=SAMPLES)
    mix = label_mix("mnist")  # read as evaluate reads ours
    for epoch in range(1, epochs + 1):
        started = time.monotonic()
        for indices in torch.randperm(len(images)).split(batch):
            real = images[indices]
            noise = torch.randn(len(real), 100, 1, 1)
            discriminator.zero_grad()
            d_real = bce(discriminator(real).view(-1), torch.ones(len(real)))
            fake = generator(noise)
            d_fake = bce(discriminator(fake.detach()).view(-1), torch.zeros(len(real)))
            (d_real + d_fake).backward()
            d_optimizer.step()
            generator.zero_grad()
            g_loss = bce(discriminator(fake).view(-1), torch.ones(len(real)))
            g_loss.backward()
            g_optimizer.step()
            d_real.item(), d_fake.item(), g_loss.item()  # the reference prints them every iteration
        wall += time.monotonic() - started
        noise = torch.randn(SAMPLES, 100, 1, 1, generator=torch.Generator().manual_seed(0))
        for mode, sampler in (("running", generator.eval()), ("batch", copy.deepcopy(generator).train())):
            with torch.no_grad():
                samples = sampler(noise).permute(0, 2, 3, 1).numpy()
            samples = (np.round((samples + 1) * 127.5).clip(0, 255) / 127.5 - 1).astype("float32")
            judges = [reference_classifier("mnist", 28, 1, judge=judge) for judge in JUDGES]
            judged = [
                classifier_scores(judge, samples, real_test, real_labels=test_labels, label_mix=mix) for judge in judges
            ]
            report(f"{epoch}, BatchNorm on {mode} statistics", wall, judged)
        generator.train()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--impl", choices=("ours", "torch"), required=True)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0, help="PyTorch's seed (ours: the recipe's)")
    args = parser.parse_args()
    if args.impl == "ours":
        with tempfile.TemporaryDirectory() as scratch:
            run_ours(args.epochs, os.path.join(scratch, "run"))
    else:
        run_torch(args.epochs, args.seed)


if __name__ == "__main__":
    main()
