"""Joint limits in anatomical frames: zero inside, positive outside, clamping, mirroring."""

from __future__ import annotations

import math

import pytest
import torch

from openhoi.hand import HandModel, mirror_pose


@pytest.fixture(scope="module")
def right():
    return HandModel("right")


def _angles(flexion_deg, abduction_deg=0.0, twist_deg=0.0, batch=1):
    angles = torch.zeros(batch, 15, 3)
    angles[..., 0] = math.radians(flexion_deg)
    angles[..., 1] = math.radians(abduction_deg)
    angles[..., 2] = math.radians(twist_deg)
    return angles


def test_penalty_zero_inside_positive_outside(right):
    assert right.joint_limit_violation(torch.zeros(2, 16, 3)).abs().max() == 0
    inside = right.pose_from_anatomical_angles(_angles(40.0, 3.0, 2.0))
    assert right.joint_limit_violation(inside).item() == pytest.approx(0.0, abs=1e-10)
    for outside in (_angles(-40.0), _angles(40.0, 35.0), _angles(40.0, 0.0, 40.0), _angles(150.0)):
        assert right.joint_limit_violation(right.pose_from_anatomical_angles(outside)).item() > 0.01


def test_anatomical_angles_round_trip_and_flexion_curls_to_palm(right):
    angles = _angles(30.0, 5.0, -4.0, batch=2)
    pose = right.pose_from_anatomical_angles(angles)
    torch.testing.assert_close(right.anatomical_angles(pose), angles, atol=1e-5, rtol=0)
    rest = right(torch.zeros(1, 16, 3), torch.zeros(1, 3)).joints
    curled = right(right.pose_from_anatomical_angles(_angles(30.0)), torch.zeros(1, 3)).joints
    # palm faces -y: flexing moves the four fingertips down
    assert (curled[0, 16:20, 1] < rest[0, 16:20, 1] - 0.01).all()


def test_penalty_is_differentiable_and_clamp_lands_inside(right):
    pose = right.pose_from_anatomical_angles(_angles(130.0, 30.0)).requires_grad_(True)
    penalty = right.joint_limit_violation(pose)
    penalty.sum().backward()
    assert pose.grad.abs().sum() > 0
    clamped = right.clamp_to_limits(pose.detach())
    assert clamped.shape == pose.shape
    assert right.joint_limit_violation(clamped).item() < 1e-8
    six_d = right.clamp_to_limits(torch.randn(2, 16, 6))
    assert six_d.shape == (2, 16, 6)
    assert right.joint_limit_violation(six_d).max().item() < 1e-6


def test_limits_are_mirror_symmetric(right):
    left = HandModel("left")
    generator = torch.Generator().manual_seed(1)
    pose = 0.6 * torch.randn(4, 16, 3, generator=generator)
    torch.testing.assert_close(
        left.joint_limit_violation(mirror_pose(pose)), right.joint_limit_violation(pose)
    )
