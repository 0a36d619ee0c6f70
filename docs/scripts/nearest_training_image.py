"""How near a run's samples lie to its training images, against how near unseen real images do
(docs/coverage.md, self-conditioning):

    TFDS_DATA_DIR=../shared/tensorflow_datasets python docs/scripts/nearest_training_image.py RUN [--data digits]

Draws 2,000 samples through the run's SavedModel (seed 0, as `evaluate`) and takes each one's
Euclidean distance, in pixels scaled to [-1, 1], to its nearest training image; does the same for
up to 2,000 held-out real images. A generator that copies its data puts more than 5% of its
samples below the held-out images' 5th percentile; one that draws unlike the data puts its median
above theirs. The mean distance between two samples, beside that of two held-out images, shows
the samples' spread.
"""

import argparse

import numpy as np

from keras_gans.data import load_dataset
from keras_gans.export import sample_saved_model, uint8_to_images
from keras_gans.metrics import real_images


def squared_distances(a, b):
    return np.maximum((a * a).sum(1)[:, None] - 2 * a @ b.T + (b * b).sum(1)[None], 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a finished run folder (or its export/generator)")
    parser.add_argument("--data", default="digits", help="the data the run trained on (default digits)")
    args = parser.parse_args()

    samples = np.asarray(uint8_to_images(sample_saved_model(args.run, 2000, seed=0)))
    size, channels = samples.shape[1], samples.shape[-1]
    train = load_dataset(args.data, size, batch_size=1000, channels=channels, shuffle=False).dataset
    train = np.concatenate([batch.numpy() for batch in train]).reshape(-1, size * size * channels)
    held_out = real_images(args.data, size, channels, n=2000)[0].reshape(-1, size * size * channels)
    samples = samples.reshape(len(samples), -1)

    nearest = {
        name: np.sqrt(squared_distances(x, train).min(1)) for name, x in (("samples", samples), ("held-out", held_out))
    }
    floor = np.percentile(nearest["held-out"], 5)
    print(
        f"nearest training image: samples median {np.median(nearest['samples']):.2f}, held-out real images median "
        f"{np.median(nearest['held-out']):.2f}; samples nearer than 5% of the held-out images: "
        f"{np.mean(nearest['samples'] < floor):.1%}"
    )
    spread = {
        name: np.sqrt(squared_distances(x[:1000], x[:1000])).mean()
        for name, x in (("samples", samples), ("held-out", held_out))
    }
    print(
        f"mean distance between two images: samples {spread['samples']:.2f}, "
        f"held-out real images {spread['held-out']:.2f}"
    )


if __name__ == "__main__":
    main()
