"""SCAR contours and contact on synthetic masks; the 138-D action layout."""

from __future__ import annotations

import numpy as np
import pytest

from openhoi.errors import InputError
from openhoi.render import ACTION_DIM, ScarConfig, decode_actions, encode_actions
from openhoi.render.scar import contact_region, dilate, mask_contour, object_radius_px


def _pair(gap: int) -> tuple[np.ndarray, np.ndarray]:
    """A hand rectangle (columns 10-29) and an object rectangle `gap` columns to its right."""
    hand = np.zeros((60, 90), bool)
    hand[20:40, 10:30] = True
    thing = np.zeros_like(hand)
    thing[15:45, 30 + gap : 70 + gap] = True
    return hand, thing


def test_contact_lies_where_the_contours_meet_and_nowhere_else():
    config = ScarConfig(hand_radius_px=2.0, object_radius_ratio=0.05, object_radius_max_px=3.0)
    hand, thing = _pair(gap=0)
    radius = object_radius_px(thing, config)
    assert radius == pytest.approx(min(max(0.05 * np.hypot(30, 40), 2.0), 3.0))
    hand_contour, object_contour = mask_contour(hand), mask_contour(thing)
    assert hand_contour.sum() == 2 * 20 + 2 * 18 and not (hand_contour & ~hand).any()
    contact = contact_region(hand_contour, object_contour, thing, config)
    rows, cols = np.nonzero(contact)
    # Every contact pixel is within the two radii of the shared edge (between columns 29
    # and 30) and of the rows where the rectangles meet; the whole shared edge is covered.
    reach = config.hand_radius_px + radius
    assert np.abs(cols + 0.5 - 30).max() <= reach
    assert rows.min() >= 20 - config.hand_radius_px and rows.max() <= 39 + config.hand_radius_px
    assert contact[20:40, 29].all() and contact[20:40, 30].all()
    # Apart by more than the two radii: no contact at all.
    hand, thing = _pair(gap=6)
    far = contact_region(mask_contour(hand), mask_contour(thing), thing, config)
    assert not far.any()


def test_dilate_is_a_euclidean_disc():
    point = np.zeros((21, 21), bool)
    point[10, 10] = True
    grown = dilate(point, 3.0)
    rows, cols = np.nonzero(grown)
    assert np.all((rows - 10) ** 2 + (cols - 10) ** 2 <= 9)
    assert grown.sum() == sum(1 for r in range(-3, 4) for c in range(-3, 4) if r * r + c * c <= 9)
    with pytest.raises(InputError, match="object_radius_min_px"):
        ScarConfig(object_radius_min_px=5.0, object_radius_max_px=2.0)


def test_actions_round_trip():
    rng = np.random.default_rng(0)
    num_frames = 5
    q, _ = np.linalg.qr(rng.normal(size=(num_frames, 3, 3)))
    rotation = q * np.sign(np.linalg.det(q))[:, None, None]
    translation = rng.normal(size=(num_frames, 3))
    joints = rng.normal(size=(num_frames, 2, 21, 3)) * 0.1
    actions = encode_actions(rotation, translation, joints)
    assert actions.shape == (num_frames, ACTION_DIM) == (num_frames, 138)
    np.testing.assert_allclose(actions[:, :9].reshape(-1, 3, 3), rotation, atol=1e-6)
    np.testing.assert_allclose(actions[:, 9:12], translation, atol=1e-6)
    decoded = decode_actions(actions)
    np.testing.assert_allclose(decoded.joints_world, joints, atol=1e-5)
    left = actions[:, 12:75].reshape(num_frames, 21, 3)
    np.testing.assert_allclose(
        left, np.einsum("tij,tkj->tki", rotation, joints[:, 0]) + translation[:, None], atol=1e-5
    )
    with pytest.raises(InputError, match="138"):
        decode_actions(actions[:, :100])
