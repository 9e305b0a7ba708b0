"""The object-centric representation: exact round trip, held hands constant, training on it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from openhoi.data import layout
from openhoi.data.transforms import transform_mano_rigidly
from openhoi.errors import InputError
from openhoi.geometry import matrix_to_rotation_6d, rotation_6d_to_matrix
from openhoi.motion.config import RepresentationConfig
from openhoi.motion.representation import FrameCodec, affordance_anchor, default_wrist_pivot

sys.path.insert(0, str(Path(__file__).resolve().parent))
from motion_fakes import NUM_POINTS, HashTextEncoder, collate, make_items, tiny_train_config


def _random_rotations(generator: torch.Generator, *shape: int) -> torch.Tensor:
    q, r = torch.linalg.qr(torch.randn(*shape, 3, 3, generator=generator, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))[..., None, :]
    return q * torch.det(q)[..., None, None]  # det +1


def _valid_frames(batch: int, num_frames: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    frames = torch.randn(batch, num_frames, layout.FRAME_DIM, generator=g, dtype=torch.float64)
    for block in (layout.LEFT_HAND, layout.RIGHT_HAND):
        start = block.start + layout.HAND_GLOBAL_ORIENT.start
        rotations = _random_rotations(g, batch, num_frames, 16)
        frames[..., start : start + 96] = matrix_to_rotation_6d(rotations).reshape(
            batch, num_frames, 96
        )
    start = layout.OBJECT.start + layout.OBJECT_ROTATION.start
    frames[..., start : start + 6] = matrix_to_rotation_6d(_random_rotations(g, batch, num_frames))
    return frames


def _codec() -> FrameCodec:
    return FrameCodec("object_centric", default_wrist_pivot())


def test_decode_inverts_encode_and_world_is_the_identity():
    frames = _valid_frames(3, 7)
    anchor = torch.randn(3, 3, dtype=torch.float64)
    active = torch.tensor([[True, False], [False, True], [True, True]])
    codec = _codec()
    encoded = codec.encode(frames, anchor, active)
    torch.testing.assert_close(codec.decode(encoded, anchor, active), frames, atol=1e-9, rtol=0)
    # Idle hands, fingers and the object block are left as they are.
    assert torch.equal(encoded[0, :, layout.RIGHT_HAND], frames[0, :, layout.RIGHT_HAND])
    assert torch.equal(encoded[1, :, layout.LEFT_HAND], frames[1, :, layout.LEFT_HAND])
    assert torch.equal(encoded[..., layout.OBJECT], frames[..., layout.OBJECT])
    fingers = slice(layout.HAND_FINGERS.start, layout.HAND_DIM)
    assert torch.equal(encoded[2, :, fingers], frames[2, :, fingers])
    assert not torch.allclose(encoded[2, :, :9], frames[2, :, :9])
    world = FrameCodec()
    assert world.is_identity and world.encode(frames, anchor, active) is frames


def test_a_hand_carried_by_the_object_is_constant_in_model_frames():
    """A grasp moved rigidly with a rotating, rising object encodes to one constant block."""
    from openhoi.hand import HandModel

    g = torch.Generator().manual_seed(1)
    num_frames = 20
    object_rotation = _random_rotations(g, num_frames).numpy()
    object_translation = np.linspace([0.0, 0.0, 0.0], [0.1, -0.2, 0.3], num_frames)
    grasp_orient = _random_rotations(g, 1).numpy()[0]
    grasp_transl = np.array([0.05, -0.08, 0.04])
    wrist = HandModel("right").rest_joints()[0, 0].double().numpy()
    orient, transl = transform_mano_rigidly(
        object_rotation, object_translation, np.repeat(grasp_orient[None], num_frames, 0),
        np.repeat(grasp_transl[None], num_frames, 0), wrist,
    )  # fmt: skip
    frames = _valid_frames(1, num_frames, seed=2)[0]
    right = layout.RIGHT_HAND.start
    frames[:, right : right + 3] = torch.from_numpy(transl)
    frames[:, right + 3 : right + 9] = matrix_to_rotation_6d(torch.from_numpy(orient))
    obj = layout.OBJECT.start
    frames[:, obj : obj + 3] = torch.from_numpy(object_translation)
    frames[:, obj + 3 : obj + 9] = matrix_to_rotation_6d(torch.from_numpy(object_rotation))
    anchor = torch.tensor([[0.01, 0.02, 0.03]], dtype=torch.float64)
    encoded = _codec().encode(frames[None], anchor, torch.tensor([[False, True]]))[0]
    hand = encoded[:, right : right + 9]
    torch.testing.assert_close(hand, hand[:1].expand_as(hand), atol=1e-6, rtol=0)
    # ... and equals the grasp written in the object's frame, relative to the anchor.
    expected = torch.from_numpy(grasp_transl + wrist) - anchor[0]
    torch.testing.assert_close(hand[0, :3], expected, atol=1e-6, rtol=0)
    # In world frames the same hand travels with the object.
    assert float((frames[:, right : right + 3].std(dim=0)).max()) > 0.05


def test_anchor_is_the_mask_weighted_centroid_or_the_centroid_when_empty():
    points = torch.tensor([[[0.0, 0, 0, 0, 0, 1], [1, 0, 0, 0, 0, 1], [0, 2, 0, 0, 0, 1]]])
    points = points.repeat(2, 1, 1)
    mask = torch.tensor([[0.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    anchor = affordance_anchor(points, mask)
    torch.testing.assert_close(anchor[0], torch.tensor([0.5, 1.0, 0.0]))
    torch.testing.assert_close(anchor[1], torch.tensor([1 / 3, 2 / 3, 0.0]))


def test_bad_representations_are_refused_by_name():
    with pytest.raises(InputError, match="representation.kind"):
        RepresentationConfig(kind="polar")
    with pytest.raises(InputError, match="wrist_pivot"):
        FrameCodec("object_centric", None)
    with pytest.raises(InputError, match="anchor must have shape"):
        _codec().encode(_valid_frames(2, 3), torch.zeros(1, 3), torch.ones(2, 2, dtype=bool))


class _Items(list):
    @property
    def lengths(self):
        return [item.frames.shape[0] for item in self]


def _train_object_centric(out: Path, **changes):
    from openhoi.motion.training import train_on_datasets

    config = tiny_train_config(
        representation=RepresentationConfig(kind="object_centric"), **changes
    )
    items = _Items(make_items(8, num_frames=8))
    world_mean, world_std = torch.zeros(208), torch.full((208,), 0.5)
    report = train_on_datasets(
        config, items, items[:4], collate, world_mean, world_std, out,
        text_encoder=HashTextEncoder(),
    )  # fmt: skip
    return report, items, world_mean, world_std


def test_an_object_centric_model_trains_stores_its_codec_and_samples_world_frames(tmp_path):
    from safetensors.torch import load_file

    from openhoi.motion.generator import MotionCondition, load_generator

    report, items, world_mean, world_std = _train_object_centric(tmp_path / "run")
    assert np.isfinite([loss for _, loss in report.losses]).all()
    folder = tmp_path / "run/checkpoint"
    saved = json.loads((folder / "config.json").read_text())["train"]["representation"]
    assert saved["kind"] == "object_centric"
    np.testing.assert_allclose(saved["wrist_pivot"], default_wrist_pivot())
    # The stored normalisation is that of the encoded training frames.
    batch = collate(list(items))
    anchor = affordance_anchor(batch.object_points, batch.affordance)
    encoded = _codec().encode(batch.frames * world_std + world_mean, anchor, batch.active_hands)
    real = encoded[batch.frame_mask]
    stats = load_file(str(folder / "normalisation.safetensors"))
    torch.testing.assert_close(stats["mean"], real.mean(dim=0), atol=1e-4, rtol=1e-4)

    generator = load_generator(folder, device="cpu", text_encoder=HashTextEncoder())
    assert generator.codec == _codec()
    generator.num_points = NUM_POINTS
    generator._object_points = lambda obj: items[0].object_points
    conditions = [MotionCondition("box", np.full(NUM_POINTS, 0.5, np.float32), "task 1", "right")]
    (sequence,) = generator.sample(conditions, num_frames=8, steps=4, seed=3)
    # The acting hand is decoded into the world: its global orientation is a rotation.
    orient = torch.from_numpy(np.array(sequence.frames[:, layout.RIGHT_HAND][:, 3:9]))
    rotation = rotation_6d_to_matrix(orient)
    torch.testing.assert_close(matrix_to_rotation_6d(rotation), orient, atol=1e-5, rtol=0)
    context = generator.guidance_context(generator.condition(conditions, 8))
    world = torch.from_numpy(np.array(sequence.frames))[None]
    torch.testing.assert_close(context.to_physical(context.to_normalised(world)), world,
                               atol=1e-5, rtol=1e-5)  # fmt: skip


def test_fine_tuning_keeps_the_initial_representation(tmp_path):
    _train_object_centric(tmp_path / "base")
    init = str(tmp_path / "base/checkpoint")
    _train_object_centric(tmp_path / "tuned", init_from=init, learning_rate=1e-9)
    with pytest.raises(InputError, match="init_from.*object_centric"):
        from openhoi.motion.training import train_on_datasets

        items = _Items(make_items(4, num_frames=8))
        train_on_datasets(
            tiny_train_config(init_from=init), items, None, collate, torch.zeros(208),
            torch.ones(208), tmp_path / "bad", text_encoder=HashTextEncoder(),
        )  # fmt: skip


@pytest.mark.parametrize("sampler", ["ddim", "ddpm"])
def test_sampling_continues_from_given_start_frames(tmp_path, sampler):
    from openhoi.motion.generator import MotionCondition, load_generator

    _train_object_centric(tmp_path / "run", steps=2)
    generator = load_generator(tmp_path / "run/checkpoint", device="cpu",
                               text_encoder=HashTextEncoder())  # fmt: skip
    generator.num_points = NUM_POINTS
    generator._object_points = lambda obj: make_items(1)[0].object_points
    conditions = [
        MotionCondition("box", np.full(NUM_POINTS, 0.5, np.float32), "task 1", "right"),
        MotionCondition("box", np.full(NUM_POINTS, 0.5, np.float32), "task 2", "both"),
    ]
    start = _valid_frames(1, 2, seed=5)[0].float().numpy()
    free, continued = generator.sample(
        conditions, num_frames=8, steps=5, sampler=sampler, seed=[1, 2],
        start_frames=[None, start],
    )  # fmt: skip
    np.testing.assert_allclose(continued.frames[:2], start, atol=1e-4)
    # A sample without start frames is the one a call without any gives; with them, the
    # rest of the segment changes too (it is denoised in agreement with its start).
    alone = generator.sample(conditions, num_frames=8, steps=5, sampler=sampler, seed=[1, 2])
    np.testing.assert_allclose(free.frames, alone[0].frames, atol=1e-5)
    assert not np.allclose(continued.frames[2:], alone[1].frames[2:], atol=1e-3)
    # Fading the jump after the start out of every clean estimate leaves a smaller one.
    (blended,) = generator.sample(
        conditions[1:], num_frames=8, steps=5, sampler=sampler, seed=[2],
        start_frames=[start], start_blend_frames=4,
    )  # fmt: skip
    np.testing.assert_allclose(blended.frames[:2], start, atol=1e-4)
    jump = {name: float(np.abs(seq.frames[2] - seq.frames[1]).mean())
            for name, seq in (("replaced", continued), ("blended", blended))}  # fmt: skip
    assert jump["blended"] < 0.5 * jump["replaced"]
    with pytest.raises(InputError, match="start_frames\\[0\\] must hold"):
        generator.sample(conditions[:1], num_frames=8, steps=2, start_frames=[np.zeros((8, 208))])
