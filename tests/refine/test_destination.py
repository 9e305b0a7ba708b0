"""Two objects: the support a static object gives, and carrying a step to its target."""

from __future__ import annotations

import numpy as np
import pytest

from openhoi.data import HOISequence
from openhoi.errors import InputError
from openhoi.objects import load_object
from openhoi.refine.destination import Destination, carry_to_target, offsets_to_target
from openhoi.refine.phases import HoldPhase
from openhoi.refine.scene import Support, object_track, settle

BOWL_AT = np.array([0.3, 0.1, 0.0])


@pytest.fixture(scope="module")
def bowl():
    return load_object("bowl")


@pytest.fixture(scope="module")
def support(bowl):
    pose = np.eye(4)
    pose[:3, 3] = BOWL_AT
    return Support([(bowl, pose)])


def test_the_support_is_the_table_raised_by_the_bowls_upper_surface(bowl, support):
    top = float(np.asarray(bowl.mesh.vertices)[:, 2].max())
    inside = support.height(BOWL_AT[None, :2])[0]
    radius = float(np.asarray(bowl.mesh.vertices)[:, 0].max())
    rim = support.height(np.array([[BOWL_AT[0] + 0.95 * radius, BOWL_AT[1]]]))[0]
    far = support.height(np.array([[-0.5, -0.5]]))[0]
    assert far == 0.0
    assert 0.0 < inside < rim <= top + 1e-6  # the inner bottom is below the rim


def test_an_object_settled_over_the_bowl_rests_on_it_not_in_it(support):
    phone = load_object("phone")
    at = np.eye(4)
    at[:3, 3] = BOWL_AT + np.array([0.0, 0.0, 0.3])
    rest = settle(phone, at, 0.0, support)
    verts = np.asarray(phone.mesh.vertices) @ rest[:3, :3].T + rest[:3, 3]
    under = support.height(verts[:, :2])
    assert (verts[:, 2] >= under - 1e-3).all()  # nothing below the surface under it
    assert verts[:, 2].min() > 0.01  # lifted off the table onto the bowl
    table = settle(phone, at, 0.0)  # the table alone: the old rule
    assert abs(table[2, 3] - rest[2, 3]) > 0.01


def _carry(num=120):
    """An object lifted 10 cm over frames 20-40, then put back down where it was."""
    z = np.interp(np.arange(num), [0, 20, 40, 80, 110, num - 1], [0, 0, 0.1, 0.1, 0.0, 0.0])
    transl = np.stack([np.zeros(num), np.zeros(num), z], axis=1)
    return HOISequence.from_parameters(object_transl=transl, right_transl=transl + 0.05)


def test_a_place_in_the_bowl_ends_over_its_region_and_lands_on_it(bowl, support):
    phone = load_object("phone")
    sequence = _carry()
    pose = np.eye(4)
    pose[:3, 3] = BOWL_AT
    destination = Destination("in", (80, 120), bowl, pose)
    moved = carry_to_target(sequence, phone, [destination])
    end = moved.object_translation()[-1]
    np.testing.assert_allclose(end[:2], BOWL_AT[:2], atol=0.02)
    # hands move with the object; nothing moves before the place step
    offsets = moved.hand_translation("right") - sequence.hand_translation("right")
    np.testing.assert_allclose(
        offsets, moved.object_translation() - sequence.object_translation(), atol=1e-6
    )
    assert np.abs(offsets[:80]).max() == 0.0
    phases = [HoldPhase(start=20, end=110, sides=("right",), part=None, kind="carry")]
    track, _ = object_track(moved, phone, phases, support=support)
    verts = np.asarray(phone.mesh.vertices) @ track[-1, :3, :3].T + track[-1, :3, 3]
    assert verts[:, 2].min() > 0.01 and (verts[:, 2] >= support.height(verts[:, :2]) - 1e-3).all()


def test_a_pour_goes_over_the_target_and_comes_back(bowl):
    kettle = load_object("kettle")
    pose = np.eye(4)
    pose[:3, 3] = BOWL_AT
    destination = Destination("into", (40, 80), bowl, pose, back=(80, 120))
    offsets = offsets_to_target(_carry(), kettle, destination)
    assert np.abs(offsets[:40]).max() == 0.0 and np.abs(offsets[-1]).max() < 1e-9
    assert np.linalg.norm(offsets[60, :2]) > 0.1 and offsets[:, 2].max() == 0.0


def test_bad_destinations_are_refused(bowl):
    with pytest.raises(InputError, match="relation"):
        Destination("under", (0, 10), bowl, np.eye(4))
    with pytest.raises(InputError, match="start < end"):
        Destination("in", (10, 10), bowl, np.eye(4))
