"""Every built-in object: canonical frame, parts, affordances, sizes, watertightness."""

from __future__ import annotations

import json

import numpy as np
import pytest

from openhoi.errors import InputError
from openhoi.objects import HOIObject, list_objects, load_object

BUILTINS = list_objects()


def test_library_has_at_least_16_objects():
    assert len(BUILTINS) >= 16
    assert sorted(BUILTINS) == BUILTINS


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_is_canonical_partitioned_labelled_and_plausible(name):
    obj = load_object(name)
    assert isinstance(obj, HOIObject) and obj.name == name and obj.source == "builtin"
    vertices = np.asarray(obj.mesh.vertices)
    # Resting on z = 0, centred in x,y.
    assert abs(vertices[:, 2].min()) < 1e-9
    np.testing.assert_allclose((vertices.min(0) + vertices.max(0))[:2] / 2, 0.0, atol=1e-9)
    # Parts partition the faces.
    ids = np.concatenate([part.face_ids for part in obj.parts])
    np.testing.assert_array_equal(np.sort(ids), np.arange(len(obj.mesh.faces)))
    # Affordances: (F, 18) in [0, 1], at least one type present.
    assert obj.face_affordance.shape == (len(obj.mesh.faces), 18)
    assert obj.face_affordance.min() >= 0 and obj.face_affordance.max() <= 1
    assert obj.affordance_names
    # Realistic size and a modest face count.
    assert 0.03 <= obj.size.max() <= 0.6
    assert len(obj.mesh.faces) < 10_000
    # Each part is a closed volume with outward normals.
    assert obj.is_watertight
    for part_mesh in obj.part_meshes():
        assert part_mesh.is_watertight and part_mesh.volume > 0
    assert obj.description
    json.dumps(obj.summary())


@pytest.mark.parametrize(
    ("name", "part", "affordances"),
    [
        ("bottle", "cap", {"open"}),
        ("bottle", "body", {"grasp", "wrap-grasp", "contain", "pour"}),
        ("mug", "handle", {"grasp"}),
        ("mug", "body", {"contain", "wrap-grasp"}),
        ("pitcher", "handle", {"grasp", "lift"}),
        ("pitcher", "spout", {"pour"}),
        ("pitcher", "body", {"contain", "wrap-grasp", "pour"}),
        ("jar", "lid", {"open"}),
        ("knife", "handle", {"grasp"}),
        ("knife", "blade", {"cut", "stab"}),
        ("hammer", "handle", {"grasp"}),
        ("pan", "handle", {"grasp"}),
        ("pan", "pan_body", {"contain"}),
        ("phone", "screen", {"press", "display"}),
        ("laptop", "base", {"press"}),
        ("laptop", "lid", {"open"}),
        ("scissors", "lower", {"grasp", "cut"}),
        ("spray_bottle", "trigger", {"press"}),
        ("kettle", "spout", {"pour"}),
        ("kettle", "handle", {"grasp"}),
        ("headphones", "ear_cups", {"listen", "wear"}),
        ("can", "tab", {"open"}),
        ("box", "lid", {"open"}),
        ("book", "cover", {"open"}),
        ("cup", "body", {"contain"}),
        ("bowl", "body", {"contain"}),
        ("spatula", "handle", {"grasp"}),
        ("toothbrush", "handle", {"grasp"}),
    ],
)
def test_named_parts_carry_expected_affordances(name, part, affordances):
    obj = load_object(name)
    assert affordances <= set(obj.part_affordances(part))


def test_articulated_builtins():
    articulated = {n: load_object(n).articulation for n in BUILTINS if load_object(n).articulation}
    assert {"laptop", "scissors", "box", "book", "jar", "spray_bottle"} <= set(articulated)
    assert articulated["laptop"].part == "lid"


def test_builtins_are_cached_and_deterministic():
    from openhoi.objects.builtin import BUILTIN_BUILDERS

    assert load_object("mug") is load_object("mug")
    fresh = BUILTIN_BUILDERS["mug"]()
    np.testing.assert_array_equal(fresh.mesh.vertices, load_object("mug").mesh.vertices)
    np.testing.assert_array_equal(fresh.points.points, load_object("mug").points.points)


def test_unknown_name_lists_builtins_and_suffixes():
    with pytest.raises(InputError, match=r"unknown object 'teacup'.*bottle.*\.obj"):
        load_object("teacup")


def test_mesh_options_are_refused_for_builtins():
    with pytest.raises(InputError, match=r"apply to mesh files"):
        load_object("mug", scale=0.001)
