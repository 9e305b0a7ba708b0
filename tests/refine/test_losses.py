"""Refinement losses: known answers on a box, gradients pointing the right way."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from openhoi import HOISequence
from openhoi.hand import HandModel
from openhoi.objects import load_mesh_file
from openhoi.refine.losses import AffordanceLoss, ContactLoss, PenetrationLoss, TransitionLoss

TOP_Z = 0.10


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    path = tmp_path_factory.mktemp("box") / "box.ply"
    trimesh.creation.box(extents=(0.4, 0.4, TOP_Z)).export(path)
    return load_mesh_file(path)


@pytest.fixture(scope="module")
def right_hand():
    return HandModel("right")


def _frames_with_right_hand_lowest_at(hand: HandModel, lowest_z: float) -> torch.Tensor:
    """A flat right hand, palm down (rest palm normal −y turned to −z), lowest vertex at z."""
    pose = torch.zeros(1, 16, 3)
    pose[0, 0, 0] = np.pi / 2
    verts = hand(pose, torch.zeros(1, 3)).vertices[0]
    transl = np.array([0.0, 0.0, lowest_z - float(verts[:, 2].min())])
    seq = HOISequence.from_parameters(
        right_pose=pose.numpy(), right_transl=transl[None], num_frames=1
    )
    return torch.from_numpy(np.array(seq.frames))[None].requires_grad_(True)


def test_penetration_of_a_hand_sunk_into_a_box(box, right_hand):
    frames = _frames_with_right_hand_lowest_at(right_hand, TOP_Z - 0.004)
    loss = PenetrationLoss(box, {"right": right_hand})
    depth = loss.per_frame_depth(frames)
    assert depth.item() == pytest.approx(0.004, abs=2e-4)
    value = loss(frames)
    assert value.shape == (1,) and value.item() > 0
    value.sum().backward()
    # Descending the loss lifts the hand out of the box: d loss / d transl_z < 0.
    right_transl_z = 99 + 2
    assert frames.grad[0, 0, right_transl_z] < 0
    assert abs(frames.grad[0, 0, 99]) < abs(frames.grad[0, 0, right_transl_z])


def test_no_penetration_above_the_box(box, right_hand):
    frames = _frames_with_right_hand_lowest_at(right_hand, TOP_Z + 0.01)
    loss = PenetrationLoss(box, {"right": right_hand})
    assert loss(frames).item() == 0.0


def test_contact_loss_pulls_a_hovering_hand_down_and_ignores_far_or_sunk_hands(box, right_hand):
    loss = ContactLoss(box, {"right": right_hand})
    hovering = _frames_with_right_hand_lowest_at(right_hand, TOP_Z + 0.006)
    distances = loss.per_zone_distance(hovering)["right"][0, 0].detach()
    # The lowest zone (the thumb's pad) hovers 6 mm above the top face: within the 1.5 cm
    # pull radius it costs its height; zones beyond the radius cost nothing.
    assert float(distances.min()) == pytest.approx(0.006, abs=5e-4)
    near = distances[(distances > 0) & (distances < 0.015)]
    assert 1 <= len(near) < len(distances)
    value = loss(hovering)
    assert value.item() == pytest.approx(float(near.sum()) * 1000.0, rel=1e-4)
    value.sum().backward()
    right_transl_z = 99 + 2
    assert hovering.grad[0, 0, right_transl_z] > 0  # descending lowers the hand
    far = _frames_with_right_hand_lowest_at(right_hand, TOP_Z + 0.05)
    assert loss(far).item() == 0.0
    sunk = _frames_with_right_hand_lowest_at(right_hand, TOP_Z - 0.03)
    assert loss(sunk).item() < value.item()  # zones inside cost nothing here


def test_affordance_loss_is_the_tip_distance_to_the_region(box, right_hand):
    points = np.asarray(box.points.points)
    region = (points[:, 2] > TOP_Z - 1e-4).astype(np.float32)  # the top face
    loss = AffordanceLoss(box, {"right": right_hand}, region)
    near = _frames_with_right_hand_lowest_at(right_hand, TOP_Z + 0.02)
    far = _frames_with_right_hand_lowest_at(right_hand, TOP_Z + 0.10)
    value = loss(near)
    # The loss is the mean height (mm) of the three lowest fingertips above the top face,
    # up to the spacing of the region's sample points (they need not lie right below a tip).
    tips_z = right_hand(
        torch.from_numpy(
            np.array(HOISequence(frames=near.detach()[0].numpy()).hand_pose_6d("right"))
        ),
        near.detach()[0, :, 99:102],
    ).joints[0, 16:, 2]
    heights_mm = np.sort((tips_z.numpy() - TOP_Z) * 1000.0)[:3]
    expected = heights_mm.mean()
    assert expected <= value.item() + 1e-3
    assert value.item() < np.sqrt(heights_mm**2 + 15.0**2).mean()
    assert loss(far).item() == 0.0  # out of the contact phase: nothing to pull
    value.sum().backward()
    assert near.grad[0, 0, 99 + 2] > 0  # descending lowers the hand onto the region


def test_transition_loss_known_values():
    start = torch.zeros(208)
    end = torch.zeros(208)
    frames = torch.zeros(2, 5, 208)
    loss = TransitionLoss(start, end)
    torch.testing.assert_close(loss(frames), torch.zeros(2))
    frames[1, 0, 3] = 0.5  # a 6D entry off by 0.5 at the first frame
    frames[1, -1, 0] = 0.01  # 1 cm of left-hand translation at the last frame (×10 scale)
    torch.testing.assert_close(loss(frames), torch.tensor([0.0, 0.25 + 0.01]))
    velocity = TransitionLoss(start, start_velocity=torch.zeros(208))
    moving = torch.zeros(1, 3, 208)
    moving[0, 1, 5] = 0.2
    assert velocity(moving).item() == pytest.approx(0.04)


def test_affordance_region_on_an_opened_lid_moves_with_the_lid(right_hand):
    from openhoi.objects import load_object
    from openhoi.synth.grasp import posed_points

    laptop = load_object("laptop")
    part_ids = np.asarray(laptop.points.part_ids)
    region = (part_ids == laptop.part_index("lid")).astype(np.float32)
    angle = 1.6  # lid opened ~90°
    world, _ = posed_points(laptop, angle)  # object at the origin: canonical = world
    lid_top = world[part_ids == laptop.part_index("lid")]
    target = lid_top[lid_top[:, 2].argmax()]
    # A flat hand whose lowest fingertip hovers 1 cm above the opened lid's top edge.
    pose = torch.zeros(1, 16, 3)
    pose[0, 0, 0] = np.pi / 2
    rest = right_hand(pose, torch.zeros(1, 3))
    tip = rest.joints[0, 16:][rest.joints[0, 16:, 2].argmin()].numpy()
    transl = target + np.array([0.0, 0.0, 0.01]) - tip
    seq = HOISequence.from_parameters(
        right_pose=pose.numpy(), right_transl=transl[None], object_angle=np.array([angle])
    )
    frames = torch.from_numpy(np.array(seq.frames))[None]
    value = AffordanceLoss(laptop, {"right": right_hand}, region)(frames).item()
    # Expected: mean distance (mm) of the three tips nearest the lid region as posed.
    tips = right_hand(pose, torch.from_numpy(transl[None]).float()).joints[0, 16:].numpy()
    gaps = np.linalg.norm(tips[:, None] - lid_top[None], axis=-1).min(axis=1)
    assert value == pytest.approx(np.sort(gaps)[:3].mean() * 1000.0, rel=1e-3)
    assert np.sort(gaps)[0] < 0.012  # the nearest tip really is at the opened lid
