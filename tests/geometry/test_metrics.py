"""Physics metrics on a box object and a closed box standing in for the hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import trimesh

from openhoi.errors import InputError
from openhoi.geometry.constants import CONTACT_THRESHOLD_M
from openhoi.geometry.metrics import PhysicsReport, physics_report

OBJECT_HALF = 0.05  # the object is a 10 cm cube centred at the origin
HAND_HALF = 0.02  # the hand stand-in is a 4 cm cube
NUM_FRAMES = 3


@pytest.fixture(scope="module")
def cube() -> trimesh.Trimesh:
    return trimesh.creation.box(extents=(2 * OBJECT_HALF,) * 3)


@pytest.fixture(scope="module")
def hand() -> trimesh.Trimesh:
    return trimesh.creation.box(extents=(2 * HAND_HALF,) * 3)


def _hand_at(hand: trimesh.Trimesh, gap_m: float) -> torch.Tensor:
    """`(T, V, 3)` hand cube beside the +x face of the object; gap < 0 penetrates."""
    offset = torch.tensor([OBJECT_HALF + HAND_HALF + gap_m, 0.0, 0.0])
    vertices = torch.tensor(hand.vertices, dtype=torch.float32) + offset
    return vertices[None].repeat(NUM_FRAMES, 1, 1)


def _identity() -> list[torch.Tensor]:
    return [torch.eye(4)[None].repeat(NUM_FRAMES, 1, 1)]


def _report(hand, cube, gap_m, **kwargs) -> PhysicsReport:
    return physics_report(
        {"right": _hand_at(hand, gap_m)}, torch.tensor(hand.faces), [cube], _identity(), **kwargs
    )


def test_penetration_depth_and_volume(hand, cube):
    # 3 mm overlap at 1 mm pitch: the overlap box 0.3 × 4 × 4 cm = 4.8 cm³ exactly (3·40·40 voxels).
    report = _report(hand, cube, -0.003, voxel_pitch_m=0.001)
    np.testing.assert_allclose(report.penetration_depth_m, 0.003, atol=1e-6)
    np.testing.assert_allclose(report.intersection_volume_cm3, 4.8, rtol=0.05)
    assert report.in_contact.all()
    summary = report.summary()
    assert summary["penetration_depth_max_mm"] == pytest.approx(3.0, abs=1e-3)
    assert summary["penetration_depth_mean_mm"] == pytest.approx(3.0, abs=1e-3)
    assert summary["contact_ratio"] == 1.0
    assert summary["affordance_contact_ratio"] is None


def test_volume_at_default_pitch(hand, cube):
    # 4 mm overlap: two 2 mm voxel layers, 0.4 × 4 × 4 = 6.4 cm³.
    report = _report(hand, cube, -0.004)
    np.testing.assert_allclose(report.intersection_volume_cm3, 6.4, rtol=0.1)


def test_near_hand_is_contact_without_penetration(hand, cube):
    report = _report(hand, cube, 0.002)
    assert report.in_contact.all()
    np.testing.assert_array_equal(report.penetration_depth_m, 0.0)
    np.testing.assert_array_equal(report.intersection_volume_cm3, 0.0)


def test_far_hand_is_not_in_contact(hand, cube):
    assert CONTACT_THRESHOLD_M < 0.02
    report = _report(hand, cube, 0.02)
    assert not report.in_contact.any()
    assert report.summary()["contact_ratio"] == 0.0


def test_affordance_contact_depends_on_where_the_hand_touches(hand, cube):
    surface = torch.tensor(cube.sample(2048, seed=0), dtype=torch.float32)
    on_plus_x = surface[:, 0] > OBJECT_HALF - 1e-6
    # Region on the +x face (where the hand touches) → affordance contact.
    mask = on_plus_x.float()
    report = _report(hand, cube, 0.001, affordance_points=surface, affordance_mask=mask)
    assert report.affordance_contact.all()
    assert report.summary()["affordance_contact_ratio"] == 1.0
    # Region on the −x face (far side) → no affordance contact.
    mask = (surface[:, 0] < -OBJECT_HALF + 1e-6).float()
    report = _report(hand, cube, 0.001, affordance_points=surface, affordance_mask=mask)
    assert not report.affordance_contact.any()
    assert report.summary()["affordance_contact_ratio"] == 0.0
    # No contact frame → ratio None rather than NaN.
    far = _report(hand, cube, 0.05, affordance_points=surface, affordance_mask=mask)
    assert far.summary()["affordance_contact_ratio"] is None


def test_moving_object_and_two_hands(hand, cube):
    # The object moves by +1 m in y over the frames; both hands follow it, the left one 3 mm in.
    shift = torch.zeros(NUM_FRAMES, 4, 4)
    shift[:] = torch.eye(4)
    shift[:, 1, 3] = torch.arange(NUM_FRAMES, dtype=torch.float32)
    # Left hand: the same cube beside the −x face (translated, not mirrored, to keep its winding).
    left = _hand_at(hand, -0.003) - torch.tensor([2 * (OBJECT_HALF + HAND_HALF - 0.003), 0, 0])
    left = left + shift[:, None, :3, 3]
    right = _hand_at(hand, 0.03) + shift[:, None, :3, 3]
    report = physics_report(
        {"left": left, "right": right}, torch.tensor(hand.faces), [cube], [shift]
    )
    np.testing.assert_allclose(report.penetration_depth_m, 0.003, atol=1e-6)
    assert report.in_contact.all()
    assert all(math.isfinite(v) for v in report.intersection_volume_cm3)
    assert (report.intersection_volume_cm3 > 0).all()


def test_bad_inputs_are_named(hand, cube):
    faces = torch.tensor(hand.faces)
    with pytest.raises(InputError, match="hand_vertices"):
        physics_report({}, faces, [cube], _identity())
    with pytest.raises(InputError, match="left"):
        physics_report({"middle": _hand_at(hand, 0.0)}, faces, [cube], _identity())
    with pytest.raises(InputError, match="transforms"):
        physics_report({"right": _hand_at(hand, 0.0)}, faces, [cube], [torch.eye(4)])
    with pytest.raises(InputError, match="affordance_mask"):
        _report(hand, cube, 0.0, affordance_points=torch.zeros(5, 3))


def test_holding_needs_two_touching_zones(hand, cube):
    # The hand stand-in's 8 corners as "zones": frame 0 touches with two of them on the +x
    # face (a grip), frame 1 with one (a brush: contact, not holding), frame 2 not at all.
    vertices = _hand_at(hand, 0.001).clone()
    corners = vertices[0, :, 0] < vertices[0, :, 0].mean()  # the 4 corners facing the object
    near = np.flatnonzero(corners.numpy())
    zones = {"right": {"thumb": near[:1], "index": near[1:2], "palm": np.flatnonzero(~corners)}}
    vertices[1, near[1], 0] += 0.02  # frame 1: the "index" corner lifts off
    vertices[1, near[2:], 0] += 0.02
    vertices[2] += torch.tensor([0.05, 0.0, 0.0])  # frame 2: far away
    surface = torch.tensor(cube.sample(2048, seed=0), dtype=torch.float32)
    report = physics_report(
        {"right": vertices},
        torch.tensor(hand.faces),
        [cube],
        _identity(),
        affordance_points=surface,
        affordance_mask=(surface[:, 0] > OBJECT_HALF - 1e-6).float(),
        contact_zones=zones,
    )
    np.testing.assert_array_equal(report.in_contact, [True, True, False])
    np.testing.assert_array_equal(report.holding, [True, False, False])
    summary = report.summary()
    assert summary["holding_ratio"] == pytest.approx(1 / 3)
    assert summary["affordance_holding_ratio"] == 1.0
    # Without zones the report says nothing about holding.
    plain = physics_report({"right": vertices}, torch.tensor(hand.faces), [cube], _identity())
    assert plain.holding is None and "holding_ratio" not in plain.summary()


def test_affordance_region_moves_with_its_part(hand, cube):
    # Two parts: part 0 stays at the origin, part 1 (a lid, say) is swung 0.3 m along +x.
    # The region is on part 1 and the hand touches part 1 where it now is.
    moved = torch.eye(4)[None].repeat(NUM_FRAMES, 1, 1)
    moved[:, 0, 3] = 0.3
    surface = torch.tensor(cube.sample(1024, seed=1), dtype=torch.float32)
    points = torch.cat([surface, surface])  # canonical points of both parts
    part_ids = torch.cat([torch.zeros(1024), torch.ones(1024)]).long()
    mask = part_ids.float()
    vertices = _hand_at(hand, 0.001) + torch.tensor([0.3, 0.0, 0.0])
    args = ({"right": vertices}, torch.tensor(hand.faces), [cube, cube], [_identity()[0], moved])
    per_part = physics_report(
        *args, affordance_points=points, affordance_mask=mask, affordance_part_ids=part_ids
    )
    assert per_part.affordance_contact.all()
    # Posed with the body alone, the region would stay at the origin and be missed.
    body_only = physics_report(
        *args, affordance_points=points, affordance_mask=mask, body_transform=_identity()[0]
    )
    assert not body_only.affordance_contact.any()
