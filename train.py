"""Train a GAN: `python train.py --method cyclegan --data horse2zebra` (see --help)."""

import sys

from keras_gans.cli import train_main

if __name__ == "__main__":
    sys.exit(train_main())
