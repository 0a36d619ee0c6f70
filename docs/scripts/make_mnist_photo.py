"""Writes MNIST's test digits over photo patches as two folders of class sub-folders, the second
labelled pair of docs/sgan.md (`--data mnist,folder:OUT/train`, scored on `OUT/test`):

    TFDS_DATA_DIR=../shared/tensorflow_datasets python docs/scripts/make_mnist_photo.py OUT

The digits are MNIST's test split (never seen by a model trained on MNIST's train split), drawn
over crops of scikit-learn's sample photos as digits-m is (`keras_gans.data.embedded`): the first
8,000 go to OUT/train, the last 2,000 to OUT/test.
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from keras_gans.data import load_dataset
from keras_gans.data.embedded import make_digits_m

TRAIN = 8000
SEED = 1  # not digits-m's: other patches


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="folder to create (must not exist)")
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True)  # refuses an existing folder: nothing on disk is overwritten
    source = load_dataset("mnist", 28, batch_size=10_000, channels=1, with_labels=True, split="test", shuffle=False)
    images, labels = (tensor.numpy() for tensor in next(iter(source.dataset)))
    coloured = make_digits_m((images + 1.0) / 2.0, seed=SEED)
    for i, (image, label) in enumerate(zip(coloured, labels)):
        folder = out / ("train" if i < TRAIN else "test") / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.round(image * 255).astype(np.uint8)).save(folder / f"{i:05d}.png")
    print(f"wrote {TRAIN} images to {out / 'train'} and {len(labels) - TRAIN} to {out / 'test'}")


if __name__ == "__main__":
    main()
