import sys

from keras_gans.cli import main

sys.exit(main(prog="python -m keras_gans"))
