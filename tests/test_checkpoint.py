"""Training-state files: complete or absent, restored exactly, refused when they do not fit."""

import numpy as np
import pytest
from helpers import changed, weights

import keras_gans
from keras_gans.checkpoint import CheckpointError, latest_checkpoint, restore_training_state, save_training_state
from keras_gans.networks import build_dcgan_discriminator, build_dcgan_generator


def tiny_gan(filters=8):
    shape = (28, 28, 1)
    gan = keras_gans.GAN(
        build_dcgan_generator(shape, latent_dim=4, filters=filters),
        build_dcgan_discriminator(shape, filters=filters),
        seed=3,
    )
    gan.compile()
    return gan


def trained_gan():
    gan = tiny_gan()
    gan.train_on_batch(np.random.default_rng(0).uniform(-1, 1, (4, 28, 28, 1)).astype("float32"))
    return gan


def test_round_trip_restores_weights_optimizers_seed_and_epoch(tmp_path):
    gan = trained_gan()
    save_training_state(gan, tmp_path, epoch=1)
    fresh = tiny_gan()
    assert restore_training_state(fresh, tmp_path) == 1
    for a, b in zip(gan.variables, fresh.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for name in ("g_optimizer", "d_optimizer"):
        assert int(fresh.optimizers[name].iterations) == 1
        for a, b in zip(gan.optimizers[name].variables, fresh.optimizers[name].variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(gan.seed_generator.state.numpy(), fresh.seed_generator.state.numpy())


def test_previous_checkpoint_is_kept_and_used_when_latest_is_damaged(tmp_path):
    gan = trained_gan()
    save_training_state(gan, tmp_path, epoch=1)
    save_training_state(gan, tmp_path, epoch=2)
    assert (tmp_path / "previous.npz").exists()
    (tmp_path / "latest.npz").write_bytes(b"truncated by a power cut")
    assert restore_training_state(tiny_gan(), tmp_path) == 1
    assert not list(tmp_path.glob(".tmp-*")), "temporary files left behind"


def test_a_checkpoint_of_another_model_is_refused_without_changing_anything(tmp_path):
    save_training_state(trained_gan(), tmp_path, epoch=1)
    other = tiny_gan(filters=16)
    before = weights(other, trainable=False)
    with pytest.raises(CheckpointError, match="same config"):
        restore_training_state(other, tmp_path)
    assert not changed(before, other, trainable=False, exact=True)


def test_missing_checkpoint(tmp_path):
    assert latest_checkpoint(tmp_path) is None
    with pytest.raises(CheckpointError, match="no checkpoint"):
        restore_training_state(tiny_gan(), tmp_path)


# --- damaged files: each falls back to previous.npz and says why -----------------------------------


def two_checkpoints(path):
    """A run folder's checkpoints after epochs 1 and 2 (the second after another step)."""
    gan = trained_gan()
    save_training_state(gan, path, epoch=1)
    gan.train_on_batch(np.random.default_rng(1).uniform(-1, 1, (4, 28, 28, 1)).astype("float32"))
    save_training_state(gan, path, epoch=2)
    return gan


def rewrite(path, change):
    """Rewrites an .npz with `change(arrays)` applied, its checksum made to match: a forgery."""
    from keras_gans.checkpoint import _digest

    with np.load(path) as stored:
        arrays = {key: stored[key] for key in stored.files if key != "checksum"}
    change(arrays)
    np.savez(path, **arrays, checksum=_digest(arrays))


def tamper(path):
    """A weight changed, the checksum left as it was: a file whole in form, wrong in content."""
    with np.load(path) as stored:
        arrays = {key: stored[key] for key in stored.files}
    arrays["model/00000"] = arrays["model/00000"] + 1
    np.savez(path, **arrays)


def flip_a_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def forge_header(path):
    """The first array's header claims a terabyte of float32, its size on disk unchanged."""
    import io
    import zipfile

    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    name = sorted(members)[0]
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (2**38,)})
    members[name] = header.getvalue() + members[name][len(header.getvalue()) :]
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)


DAMAGES = {
    "truncated": lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
    "a flipped byte": flip_a_byte,
    "a forged header": forge_header,
    "an epoch of 10**9": lambda path: rewrite(path, lambda a: a.update(epoch=np.asarray(10**9, "int64"))),
    "an epoch of -5": lambda path: rewrite(path, lambda a: a.update(epoch=np.asarray(-5, "int64"))),
    "content not matching its checksum": lambda path: tamper(path),
}


@pytest.fixture(scope="module")
def saved_pair(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pair")
    two_checkpoints(folder)
    return folder


def copy_pair(saved_pair, path):
    for name in ("latest.npz", "previous.npz"):
        (path / name).write_bytes((saved_pair / name).read_bytes())


@pytest.mark.parametrize("damage", DAMAGES, ids=list(DAMAGES))
def test_a_damaged_latest_falls_back_to_previous_and_says_which(tmp_path, saved_pair, damage):
    copy_pair(saved_pair, tmp_path)
    DAMAGES[damage](tmp_path / "latest.npz")
    said = []
    fresh = tiny_gan()
    assert restore_training_state(fresh, tmp_path, on_fallback=said.append) == 1
    assert len(said) == 1 and said[0].startswith(f"{tmp_path / 'latest.npz'} is damaged (")
    assert said[0].endswith(
        f"resuming from {tmp_path / 'previous.npz'} instead (the damaged file is kept as "
        f"{tmp_path / 'latest.npz'}.damaged)"
    )
    assert int(fresh.optimizers["g_optimizer"].iterations) == 1  # previous's state, not latest's


def test_with_both_damaged_the_error_names_both_and_nothing_is_restored(tmp_path, saved_pair):
    copy_pair(saved_pair, tmp_path)
    DAMAGES["truncated"](tmp_path / "latest.npz")
    DAMAGES["a flipped byte"](tmp_path / "previous.npz")
    fresh = tiny_gan()
    before = weights(fresh, trainable=False)
    with pytest.raises(
        CheckpointError, match=r"^no whole checkpoint: .*latest.npz is damaged .*previous.npz is damaged"
    ):
        restore_training_state(fresh, tmp_path)
    assert not changed(before, fresh, trainable=False, exact=True)


def test_a_checkpoint_without_a_checksum_from_an_earlier_version_still_restores(tmp_path):
    gan = trained_gan()
    save_training_state(gan, tmp_path, epoch=1)
    with np.load(tmp_path / "latest.npz") as stored:
        np.savez(tmp_path / "latest.npz", **{key: stored[key] for key in stored.files if key != "checksum"})
    assert restore_training_state(tiny_gan(), tmp_path) == 1


def test_a_non_finite_state_is_never_saved(tmp_path):
    from keras_gans.checkpoint import NonFiniteState

    gan = two_checkpoints(tmp_path)
    good = (tmp_path / "latest.npz").read_bytes(), (tmp_path / "previous.npz").read_bytes()
    gan.generator.trainable_variables[0].assign(np.full(gan.generator.trainable_variables[0].shape, np.nan))
    with pytest.raises(NonFiniteState):
        save_training_state(gan, tmp_path, epoch=3)
    assert ((tmp_path / "latest.npz").read_bytes(), (tmp_path / "previous.npz").read_bytes()) == good


def test_leftovers_of_a_killed_save_are_removed_and_files_follow_the_umask(tmp_path):
    import os

    from keras_gans.checkpoint import remove_leftovers

    (tmp_path / ".tmp-x1.npz").write_bytes(b"half")
    (tmp_path / ".previous-link.npz").write_bytes(b"link")
    remove_leftovers(str(tmp_path))
    assert not list(tmp_path.iterdir())
    old = os.umask(0o022)
    try:
        save_training_state(trained_gan(), tmp_path, epoch=1)
    finally:
        os.umask(old)
    assert (tmp_path / "latest.npz").stat().st_mode & 0o777 == 0o644
