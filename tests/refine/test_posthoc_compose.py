"""Post-hoc refinement lowers penetration; composition yields one continuous sequence."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from openhoi import HOISequence
from openhoi.data import layout
from openhoi.data.transforms import chain_segments
from openhoi.hand import HandModel
from openhoi.objects import load_mesh_file
from openhoi.refine.compose import TRANSITION_TEXT, compose
from openhoi.refine.losses import PenetrationLoss
from openhoi.refine.posthoc import PostHocConfig, refine_sequence

TOP_Z = 0.10


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    path = tmp_path_factory.mktemp("box") / "box.ply"
    trimesh.creation.box(extents=(0.4, 0.4, TOP_Z)).export(path)
    return load_mesh_file(path)


def test_refine_sequence_removes_penetration(box):
    hand = HandModel("right")
    pose = np.zeros((5, 16, 3))
    pose[:, 0, 0] = np.pi / 2  # palm down
    verts = hand(torch.from_numpy(pose[:1]).float(), torch.zeros(1, 3)).vertices[0]
    lowest = float(verts[:, 2].min())
    transl = np.zeros((5, 3))
    transl[:, 2] = TOP_Z - 0.004 - lowest  # 4 mm into the box
    seq = HOISequence.from_parameters(
        right_pose=pose, right_transl=transl, active_hands=np.array([[False, True]] * 5)
    )
    result = refine_sequence(seq, box, hands={"right": hand}, config=PostHocConfig(num_steps=40))
    assert result.loss_after < 0.2 * result.loss_before
    depth = PenetrationLoss(box, {"right": hand}).per_frame_depth(
        torch.from_numpy(np.array(result.sequence.frames))[None]
    )
    assert depth.max().item() < 0.002
    # The input is untouched.
    assert seq.frames[0, 99 + 2] == pytest.approx(transl[0, 2], abs=1e-6)


def _segment(num_frames: int, shift: float, text: str) -> HOISequence:
    rng = np.random.default_rng(num_frames)
    object_transl = np.zeros((num_frames, 3))
    object_transl[:, 0] = np.linspace(0.0, shift, num_frames)  # carried along x
    return HOISequence.from_parameters(
        right_pose=rng.normal(scale=0.2, size=(num_frames, 16, 3)),
        right_transl=np.linspace([0.0, -0.1, 0.1], [shift, -0.1, 0.1], num_frames),
        object_transl=object_transl,
        object_name="mug",
        texts=(text,),
    )


def test_chain_and_compose_make_one_continuous_sequence():
    first, second = _segment(20, 0.2, "lift"), _segment(10, 0.1, "move")
    chained = chain_segments([first, second])
    # The second segment starts where the first left the object.
    np.testing.assert_allclose(
        chained[1].object_translation()[0], first.object_translation()[-1], atol=1e-6
    )
    joined = compose([first, second], bridge_frames=6)
    assert joined.num_frames == 20 + 6 + 10
    assert joined.texts == ("lift", TRANSITION_TEXT, "move")
    steps = np.abs(np.diff(joined.object_translation(), axis=0)).max(axis=1)
    inside = max(
        np.abs(np.diff(part.object_translation(), axis=0)).max() for part in (first, second)
    )
    assert steps.max() <= inside + 1e-4  # no jump at the boundaries


def test_an_idle_hand_stays_where_the_previous_segment_left_it():
    # Right hand acts in both segments; the idle left hand was sampled at a different
    # place in each. Composed, it must not travel between them.
    def with_idle_left(num_frames, shift, text, left_at):
        segment = _segment(num_frames, shift, text)
        frames = np.array(segment.frames)
        left = HOISequence.from_parameters(
            left_transl=np.tile(left_at, (num_frames, 1)), object_name="mug"
        )
        frames[:, layout.LEFT_HAND] = np.asarray(left.frames)[:, layout.LEFT_HAND]
        active = np.tile([False, True], (num_frames, 1))
        return segment.replace(frames=frames, active_hands=active)

    first = with_idle_left(20, 0.2, "lift", [0.4, -0.3, 0.1])
    second = with_idle_left(10, 0.1, "move", [-0.1, 0.4, 0.0])
    joined = compose([first, second], bridge_frames=6)
    left = np.asarray(joined.frames)[:, layout.LEFT_HAND][:, layout.HAND_TRANSL]
    np.testing.assert_allclose(left, np.tile(left[0], (len(left), 1)), atol=1e-6)
    np.testing.assert_allclose(left[0], [0.4, -0.3, 0.1], atol=1e-6)


def test_interpolation_bridge_carries_the_end_velocities():
    from openhoi.refine.compose import interpolation_bridge

    # Two pieces of one constant-velocity carry along x with a 9-frame gap: the bridge
    # must fill the gap on the same straight line at the same speed (no stop, no kink).
    speed = 0.004  # metres per frame
    before = _segment(12, 11 * speed, "lift")
    offset = np.array([(11 + 10) * speed, 0.0, 0.0])
    after = HOISequence.from_parameters(
        right_pose=np.zeros((8, 16, 3)),
        right_transl=np.linspace([0.0, -0.1, 0.1], [7 * speed, -0.1, 0.1], 8) + offset,
        object_transl=np.linspace([0.0, 0, 0], [7 * speed, 0, 0], 8) + offset,
        object_name="mug",
        texts=("move",),
    )
    bridge = interpolation_bridge(before, after, 9)
    expected = (12 + np.arange(9)) * speed
    np.testing.assert_allclose(bridge.object_translation()[:, 0], expected, atol=1e-6)
    np.testing.assert_allclose(bridge.hand_translation("right")[:, 0], expected, atol=1e-6)
    # Rotations stay valid rotations after the velocity terms.
    rotations = bridge.object_rotation()
    np.testing.assert_allclose(
        rotations @ np.swapaxes(rotations, -1, -2),
        np.broadcast_to(np.eye(3), rotations.shape),
        atol=1e-5,
    )
