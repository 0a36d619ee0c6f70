"""`python fault_driver.py WHERE COUNT -- TRAIN ARGS`: a training that kills itself with SIGKILL at
the COUNT-th time it reaches the point WHERE, as a power cut or the OOM killer would.

Points are places where a file is half-written or being swapped, found by wrapping the calls
that write them (the library carries no test hooks):
- `batch`: after a train step (mid-epoch);
- `replace:NAME` / `replaced:NAME`: before / after os.replace moves a file onto one named NAME;
- `link`: after the old checkpoint is hard-linked aside, before it becomes previous.npz;
- `saved_model`: after a SavedModel is written to its staging folder, before the swap.
"""

import os
import signal
import sys

import keras
import tensorflow as tf

where, count = sys.argv[1], int(sys.argv[2])
reached = 0


def reach(point):
    global reached
    if point == where:
        reached += 1
        if reached == count:
            os.kill(os.getpid(), signal.SIGKILL)


real_replace, real_link, real_save = os.replace, os.link, tf.saved_model.save


def replace(src, dst, *args, **kwargs):
    name = os.path.basename(os.path.normpath(dst))
    reach(f"replace:{name}")
    real_replace(src, dst, *args, **kwargs)
    reach(f"replaced:{name}")


def link(src, dst, *args, **kwargs):
    real_link(src, dst, *args, **kwargs)
    reach("link")


def save(*args, **kwargs):
    real_save(*args, **kwargs)
    reach("saved_model")


class KillMidEpoch(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        reach("batch")


os.replace, os.link, tf.saved_model.save = replace, link, save

from keras_gans import callbacks, cli  # noqa: E402  (after the wrapping, which they must see)

# Rides along with every run: the run's own callbacks list includes a CollapseWatch.
real_collapse_watch = callbacks.CollapseWatch


class CollapseWatchAndKill(real_collapse_watch, KillMidEpoch):
    pass


callbacks.CollapseWatch = CollapseWatchAndKill
sys.exit(cli.main(["train", *sys.argv[sys.argv.index("--") + 1 :]]))
