"""Training state on disk: every variable a resumed run needs, written so a kill never corrupts it.

The state is the model's variables (both networks, the EMA generator, the noise seed, pools and
anything else a method keeps as a variable) plus every optimizer's slots and iteration count,
and the number of finished epochs. Variables are matched by position, not by name: Keras names
layers by creation order, which a resumed process need not repeat, while the order of a model's
variables is fixed by its construction.

A file is trusted only once it proves whole: every array's bytes must match its header's shape
and the archive's CRC-32, and the content the SHA-256 stored beside it. A damaged latest file falls back to the
previous one; a whole file of another model is refused, since the previous one would be too.
"""

import glob
import hashlib
import os
import tempfile
import zipfile

import numpy as np

from keras_gans.errors import UsageError

LATEST = "latest.npz"
PREVIOUS = "previous.npz"
_LINK = ".previous-link.npz"
_TMP_PREFIX = ".tmp-"
_CHECKSUM = "checksum"


class CheckpointError(UsageError):
    pass


class CheckpointMismatch(CheckpointError):
    """A whole checkpoint written by another model: other networks, shapes or optimizers."""


class NonFiniteState(ValueError):
    """A state holding NaN or inf: a diverged run, never to replace a good checkpoint."""


class DamagedCheckpoint(Exception):
    """A file that is not a whole checkpoint: truncated, garbled or forged."""


def _state_variables(model):
    """(key, variable) pairs, in a fixed order."""
    pairs = [(f"model/{i:05d}", v) for i, v in enumerate(model.variables)]
    for name, optimizer in model.optimizers.items():
        pairs += [(f"{name}/{i:05d}", v) for i, v in enumerate(optimizer.variables)]
    return pairs


def non_finite_state(model):
    """The keys of the state variables holding a NaN or inf."""
    return [
        key
        for key, variable in _state_variables(model)
        if variable.dtype.startswith("float") and not np.all(np.isfinite(variable.numpy()))
    ]


def _iteration_keys(model):
    """The keys of the optimizers' step counters: an epoch steps at least one of them."""
    return [
        f"{name}/{i:05d}"
        for name, optimizer in model.optimizers.items()
        for i, v in enumerate(optimizer.variables)
        if v is optimizer.iterations
    ]


def _digest(arrays):
    """SHA-256 of the arrays' names, dtypes, shapes and bytes, in name order."""
    digest = hashlib.sha256()
    for key in sorted(arrays):
        value = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}:{value.dtype.str}:{value.shape};".encode())
        digest.update(value.tobytes())
    return np.frombuffer(digest.digest(), dtype=np.uint8)


def file_mode(base=0o666):
    """`base` as the user's umask would leave it: what a plain `open` would create."""
    umask = os.umask(0)
    os.umask(umask)
    return base & ~umask


def _write_atomically(path, arrays):
    directory = os.path.dirname(path)
    handle, tmp = tempfile.mkstemp(dir=directory, prefix=_TMP_PREFIX, suffix=".npz")
    try:
        os.fchmod(handle, file_mode())  # mkstemp's 0600 would hide the run from a serving account
        with os.fdopen(handle, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def remove_leftovers(directory):
    """Deletes the partial files a killed save leaves (never a checkpoint itself)."""
    for path in glob.glob(os.path.join(glob.escape(directory), f"{_TMP_PREFIX}*.npz")) + [
        os.path.join(directory, _LINK)
    ]:
        if os.path.exists(path):
            os.remove(path)


def save_training_state(model, directory, epoch):
    """Writes `directory/latest.npz`, keeping the one before as `previous.npz`.

    Each file is complete or absent: written under a temporary name, then renamed. The old latest
    is hard-linked to `previous` before the rename, so `latest` never goes missing. A state with
    a non-finite value raises NonFiniteState and writes nothing.
    """
    arrays = {key: np.asarray(variable.numpy()) for key, variable in _state_variables(model)}
    for key, value in arrays.items():
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            raise NonFiniteState(f"variable {key}")
    os.makedirs(directory, exist_ok=True)
    arrays["epoch"] = np.asarray(epoch, dtype="int64")
    arrays[_CHECKSUM] = _digest(arrays)
    latest = os.path.join(directory, LATEST)
    if os.path.exists(latest):
        link = os.path.join(directory, _LINK)
        if os.path.exists(link):
            os.remove(link)
        os.link(latest, link)
        os.replace(link, os.path.join(directory, PREVIOUS))
    _write_atomically(latest, arrays)


def _read_member(archive, info):
    """One .npy member as an array. Its bytes are read as they are, never allocated from its
    header's shape, so a forged header cannot make us allocate terabytes."""
    with archive.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version not in ((1, 0), (2, 0)):
            raise DamagedCheckpoint(f"{info.filename} has an unknown format {version}")
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read_header(f)
        if dtype.hasobject:
            raise DamagedCheckpoint(f"{info.filename} holds Python objects")
        data = f.read()  # to the end, so zipfile checks the member's CRC-32
    if len(data) != int(np.prod(shape, dtype=np.uint64)) * dtype.itemsize:
        raise DamagedCheckpoint(f"{info.filename}'s header does not match its size")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran_order else "C")


def read_checkpoint(path):
    """{key: array} of a whole checkpoint file; DamagedCheckpoint if it is not one."""
    try:
        with zipfile.ZipFile(path) as archive:
            arrays = {}
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    raise DamagedCheckpoint(f"unexpected member {info.filename}")
                arrays[info.filename.removesuffix(".npy")] = _read_member(archive, info)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile) as error:
        raise DamagedCheckpoint(str(error) or type(error).__name__) from None
    if "epoch" not in arrays or arrays["epoch"].shape != ():
        raise DamagedCheckpoint("no epoch count")
    stored = arrays.pop(_CHECKSUM, None)
    if stored is not None and not np.array_equal(stored, _digest(arrays)):  # older files carry none
        raise DamagedCheckpoint("its content does not match its checksum")
    return arrays


def _check_fits(model, arrays, path):
    """Refuses a whole checkpoint of another model; returns its epoch count."""
    pairs = _state_variables(model)
    if set(arrays) != {key for key, _ in pairs} | {"epoch"}:
        raise CheckpointMismatch(
            f"{path} holds {len(arrays) - 1} variables but this model has {len(pairs)};"
            " resume with the same method, networks and config that wrote it"
        )
    for key, variable in pairs:
        if tuple(arrays[key].shape) != tuple(variable.shape):
            raise CheckpointMismatch(
                f"{path}: {key} has shape {arrays[key].shape}, the model expects {tuple(variable.shape)};"
                " resume with the same config that wrote it"
            )
    epoch = int(arrays["epoch"])
    steps = max((int(arrays[key]) for key in _iteration_keys(model)), default=epoch)
    if not 1 <= epoch <= steps:
        raise DamagedCheckpoint(f"its epoch count {epoch} is impossible after {steps} steps")
    return epoch


def latest_checkpoint(directory):
    """The newest checkpoint file in `directory` (not yet checked), or None."""
    for name in (LATEST, PREVIOUS):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return path
    return None


DAMAGED_SUFFIX = ".damaged"


def restore_training_state(model, directory, on_fallback=None):
    """Restores the newest whole checkpoint; returns the number of finished epochs.

    A latest file that is damaged (a disk that lost it mid-write, say) falls back to the previous
    one rather than losing the run; `on_fallback(message)` is told which file was skipped and why.
    """
    damaged = []
    for name in (LATEST, PREVIOUS):
        path = os.path.join(directory, name)
        if not os.path.exists(path):
            continue
        try:
            arrays = read_checkpoint(path)
            epoch = _check_fits(model, arrays, path)
        except DamagedCheckpoint as error:
            damaged.append(f"{path} is damaged ({error})")
            continue
        for key, variable in _state_variables(model):
            variable.assign(arrays[key])
        if damaged:
            # Set aside, or the next save would rotate the damaged file into previous.npz and
            # leave the run one whole checkpoint; kept, not deleted, for whoever looks into it.
            latest = os.path.join(directory, LATEST)
            os.replace(latest, latest + DAMAGED_SUFFIX)
            if on_fallback:
                on_fallback(
                    f"{'; '.join(damaged)}; resuming from {path} instead (the damaged file is kept as "
                    f"{latest}{DAMAGED_SUFFIX})"
                )
        return epoch
    if damaged:
        raise CheckpointError(f"no whole checkpoint: {'; '.join(damaged)}; start the run again in a new folder")
    raise CheckpointError(f"no checkpoint in {directory}")
