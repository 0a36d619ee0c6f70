"""Training state on disk: every variable a resumed run needs, written so a kill never corrupts it.

The state is the model's variables (both networks, the EMA generator, the noise seed, pools and
anything else a method keeps as a variable) plus every optimizer's slots and iteration count,
and the number of finished epochs. Variables are matched by position, not by name: Keras names
layers by creation order, which a resumed process need not repeat, while the order of a model's
variables is fixed by its construction.
"""

import os
import tempfile

import numpy as np

from keras_gans.errors import UsageError

LATEST = "latest.npz"
PREVIOUS = "previous.npz"


class CheckpointError(UsageError):
    pass


def _state_variables(model):
    """(key, variable) pairs, in a fixed order."""
    pairs = [(f"model/{i:05d}", v) for i, v in enumerate(model.variables)]
    for name, optimizer in model.optimizers.items():
        pairs += [(f"{name}/{i:05d}", v) for i, v in enumerate(optimizer.variables)]
    return pairs


def _write_atomically(path, arrays):
    directory = os.path.dirname(path)
    handle, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(handle, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def save_training_state(model, directory, epoch):
    """Writes `directory/latest.npz`, keeping the one before as `previous.npz`.

    Each file is complete or absent: written under a temporary name, then renamed. The old latest
    is hard-linked to `previous` before the rename, so `latest` never goes missing.
    """
    os.makedirs(directory, exist_ok=True)
    arrays = {key: np.asarray(variable.numpy()) for key, variable in _state_variables(model)}
    arrays["epoch"] = np.asarray(epoch, dtype="int64")
    latest = os.path.join(directory, LATEST)
    if os.path.exists(latest):
        link = os.path.join(directory, ".previous-link.npz")
        if os.path.exists(link):
            os.remove(link)
        os.link(latest, link)
        os.replace(link, os.path.join(directory, PREVIOUS))
    _write_atomically(latest, arrays)


def _restore_from(model, path):
    with np.load(path) as stored:
        pairs = _state_variables(model)
        missing = [key for key, _ in pairs if key not in stored]
        if missing or len(stored.files) != len(pairs) + 1:
            raise CheckpointError(
                f"{path} holds {len(stored.files) - 1} variables but this model has {len(pairs)};"
                " resume with the same method, networks and config that wrote it"
            )
        for key, variable in pairs:
            value = stored[key]
            if tuple(value.shape) != tuple(variable.shape):
                raise CheckpointError(
                    f"{path}: {key} has shape {value.shape}, the model expects {variable.shape};"
                    " resume with the same config that wrote it"
                )
        for key, variable in pairs:
            variable.assign(stored[key])
        return int(stored["epoch"])


def latest_checkpoint(directory):
    """The newest readable checkpoint file in `directory`, or None."""
    for name in (LATEST, PREVIOUS):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return path
    return None


def restore_training_state(model, directory):
    """Restores the newest readable checkpoint; returns the number of finished epochs.

    A latest file that cannot be read (a disk that lost it mid-write, say) falls back to the
    previous one rather than losing the run.
    """
    errors = []
    for name in (LATEST, PREVIOUS):
        path = os.path.join(directory, name)
        if not os.path.exists(path):
            continue
        try:
            return _restore_from(model, path)
        except CheckpointError:
            raise
        except (OSError, ValueError, KeyError) as error:  # truncated or garbled file
            errors.append(f"{path}: {error}")
    if errors:
        raise CheckpointError("no readable checkpoint: " + "; ".join(errors))
    raise CheckpointError(f"no checkpoint in {directory}")
