"""HOISequence: validation, immutability, npz round trip, slicing, joining, resampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from openhoi import HOISequence
from openhoi.data import layout
from openhoi.errors import InputError, MissingFileError
from openhoi.geometry import axis_angle_to_matrix


def _random_sequence(num_frames: int = 12, seed: int = 0, **fields) -> HOISequence:
    rng = np.random.default_rng(seed)
    return HOISequence.from_parameters(
        left_pose=rng.normal(scale=0.3, size=(num_frames, 16, 3)),
        left_transl=rng.normal(scale=0.1, size=(num_frames, 3)),
        right_pose=rng.normal(scale=0.3, size=(num_frames, 16, 3)),
        right_transl=rng.normal(scale=0.1, size=(num_frames, 3)),
        object_rotation=rng.normal(scale=0.5, size=(num_frames, 3)),
        object_transl=rng.normal(scale=0.1, size=(num_frames, 3)),
        object_angle=np.linspace(0.0, 1.0, num_frames),
        object_name="mug",
        **fields,
    )


def test_layout_adds_up_to_208():
    assert layout.FRAME_DIM == 208
    assert layout.HAND_DIM == 99 and layout.OBJECT_DIM == 10
    assert layout.OBJECT.stop == 208 and layout.RIGHT_HAND.start == layout.LEFT_HAND.stop


def test_construction_defaults_and_readonly():
    seq = HOISequence(frames=np.zeros((5, 208)))
    assert seq.frames.dtype == np.float32
    assert seq.betas.shape == (2, 10) and seq.active_hands.shape == (5, 2)
    assert seq.fps == 30.0 and seq.num_segments == 1 and seq.duration == pytest.approx(5 / 30)
    with pytest.raises(ValueError):
        seq.frames[0, 0] = 1.0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"frames": np.zeros((5, 207))}, "shape"),
        ({"frames": np.zeros((0, 208))}, "at least one frame"),
        ({"frames": np.full((3, 208), np.nan)}, "non-finite"),
        ({"frames": np.zeros((3, 208)), "fps": 0}, "fps"),
        ({"frames": np.zeros((3, 208)), "betas": np.zeros((2, 9))}, "betas"),
        ({"frames": np.zeros((3, 208)), "active_hands": np.ones((2, 2), bool)}, "active_hands"),
        ({"frames": np.zeros((3, 208)), "segment_starts": np.array([1])}, "segment_starts"),
        ({"frames": np.zeros((3, 208)), "segment_starts": [0, 2], "texts": ("a",)}, "texts"),
        ({"frames": np.zeros((3, 208)), "affordance": np.full((1, 4), 2.0)}, "[0, 1]"),
        ({"frames": np.array([["a"] * 208])}, "numbers"),
    ],
)
def test_bad_fields_are_rejected_by_name(fields, message):
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        HOISequence(**fields)


def test_from_parameters_encodes_rotations_as_6d():
    aa = np.array([[0.3, -0.2, 0.9]], np.float32)
    seq = HOISequence.from_parameters(object_rotation=aa, num_frames=1)
    expected = axis_angle_to_matrix(torch.from_numpy(aa)).numpy()
    np.testing.assert_allclose(seq.object_rotation(), expected, atol=1e-6)
    transforms = seq.object_transforms()
    assert transforms.shape == (1, 4, 4)
    np.testing.assert_allclose(transforms[0, :3, :3], expected[0], atol=1e-6)


def test_save_load_round_trip_without_pickle(tmp_path):
    seq = _random_sequence(
        segment_starts=np.array([0, 5]),
        texts=("grasp the mug by its handle", "lift the mug"),
        affordance=np.random.default_rng(1).uniform(size=(2, 1024)),
        betas=np.random.default_rng(2).normal(size=(2, 10)),
        fps=30,
    )
    path = seq.save(tmp_path / "seq.npz")
    with np.load(path, allow_pickle=False) as data:  # must not need pickle
        assert set(data.files) >= {"frames", "betas", "texts", "segment_starts", "affordance"}
    back = HOISequence.load(path)
    np.testing.assert_array_equal(back.frames, seq.frames)
    np.testing.assert_array_equal(back.betas, seq.betas)
    np.testing.assert_array_equal(back.affordance, seq.affordance)
    assert back.texts == seq.texts and back.object_name == "mug" and back.fps == 30.0


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(MissingFileError, match="nope.npz"):
        HOISequence.load(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="bad.npz"):
        HOISequence.load(bad)
    other = tmp_path / "other.npz"
    np.savez(other, something=np.zeros(3))
    with pytest.raises(InputError, match="missing"):
        HOISequence.load(other)


def test_slicing_clips_segments():
    seq = _random_sequence(12, segment_starts=np.array([0, 4, 8]), texts=("a", "b", "c"))
    part = seq[5:10]
    assert part.num_frames == 5
    assert part.texts == ("b", "c")
    np.testing.assert_array_equal(part.segment_starts, [0, 3])
    np.testing.assert_array_equal(part.frames, seq.frames[5:10])
    with pytest.raises(InputError):
        seq[::2]


def test_concatenate_offsets_segments_and_checks_compatibility():
    a = _random_sequence(6, seed=0, texts=("grasp",))
    b = _random_sequence(4, seed=1, texts=("lift",))
    joined = HOISequence.concatenate([a, b])
    assert joined.num_frames == 10 and joined.texts == ("grasp", "lift")
    np.testing.assert_array_equal(joined.segment_starts, [0, 6])
    with pytest.raises(InputError, match="fps"):
        HOISequence.concatenate([a, b.replace(fps=60)])
    with pytest.raises(InputError, match="object"):
        HOISequence.concatenate([a, b.replace(object_name="bottle")])


def test_resample_keeps_keyframes_and_slerps_rotations():
    seq = _random_sequence(9)
    up = seq.resample(60)
    assert up.num_frames == 17 and up.fps == 60
    # Every second frame at 60 fps is an original frame.
    np.testing.assert_allclose(up.frames[::2], seq.frames, atol=1e-5)
    # Midpoint rotations are proper rotations halfway (in angle) between their neighbours.
    rot = up.object_rotation()
    rel_a = rot[0].T @ rot[1]
    rel_b = rot[1].T @ rot[2]
    angle = lambda m: np.arccos(np.clip((np.trace(m) - 1) / 2, -1, 1))  # noqa: E731
    assert angle(rel_a) == pytest.approx(angle(rel_b), abs=1e-4)
    down = up.resample(30)
    np.testing.assert_allclose(down.frames, seq.frames, atol=1e-5)
