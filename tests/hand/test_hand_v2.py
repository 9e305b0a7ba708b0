"""Hand asset v2 ("embedded:v2"): format, mirror, closed surface, rounded tips, pose
correctives, thumb opposition, palmar contact zones, selection by name. (Its reproducible
build is tested with v1's in test_asset.py.)"""

from __future__ import annotations

import json
from importlib.resources import files

import numpy as np
import pytest
import torch
import trimesh

from openhoi.errors import InputError
from openhoi.hand import FINGER_JOINTS, FINGER_NAMES, HandModel, load_mano_file, mirror_pose
from openhoi.hand.limits import bend_directions
from openhoi.hand.regions import vertex_normals

V1 = files("openhoi.assets").joinpath("hand")
V2 = files("openhoi.assets").joinpath("hand_v2")


@pytest.fixture(scope="module")
def right():
    return load_mano_file(V2.joinpath("MANO_RIGHT.pkl"))


@pytest.fixture(scope="module")
def meta():
    return json.loads(V2.joinpath("hand_meta.json").read_text())


def _hand(spec: str, side: str = "right") -> HandModel:
    return HandModel(side, mano_dir=spec, dtype=torch.float64)


def _pose(hand: HandModel, degrees: dict[int, tuple[float, float, float]]) -> torch.Tensor:
    """(1, 16, 3) axis-angle from anatomical angles (degrees) of some finger joints."""
    angles = torch.zeros(1, 15, 3, dtype=torch.float64)
    for joint, values in degrees.items():
        angles[0, joint - 1] = torch.tensor(values, dtype=torch.float64).deg2rad()
    return hand.pose_from_anatomical_angles(angles)


def _posed(hand: HandModel, pose: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return hand(pose, torch.zeros(1, 3, dtype=torch.float64)).vertices[0].numpy()


def test_mano_format_like_v1(right, meta):
    v1 = load_mano_file(V1.joinpath("MANO_RIGHT.pkl"))
    assert right.keys() == v1.keys()
    for key, value in right.items():
        assert value.shape == v1[key].shape and value.dtype == v1[key].dtype, key
    assert right["v_template"].shape == (778, 3) and right["posedirs"].shape == (778, 3, 135)
    np.testing.assert_array_equal(right["kintree_table"], v1["kintree_table"])
    np.testing.assert_allclose(right["weights"].sum(1), 1.0, atol=1e-9)
    np.testing.assert_allclose(right["J_regressor"].sum(1), 1.0, atol=1e-9)
    assert meta["asset_id"] == "openhoi-hand-v2"
    assert set(meta["right"]) == {"tip_vertex_ids", "contact_zones"}
    assert meta["right"] == meta["left"]
    hand = _hand("embedded:v2")
    out = hand(torch.zeros(2, 16, 3, dtype=torch.float64), torch.zeros(2, 3, dtype=torch.float64))
    assert out.vertices.shape == (2, 778, 3) and out.joints.shape == (2, 21, 3)
    pose = _pose(hand, {2: (60, 0, 0), 14: (30, 5, 0)})
    torch.testing.assert_close(
        hand.keypoints(pose, torch.zeros(1, 3, dtype=torch.float64)),
        hand(pose, torch.zeros(1, 3, dtype=torch.float64)).joints,
    )


def test_closed_surface_and_adult_proportions(right, meta):
    mesh = trimesh.Trimesh(right["v_template"], right["f"], process=False)
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.euler_number == 2
    assert mesh.volume > 0
    joints = right["J_regressor"] @ right["v_template"]
    middle_tip = right["v_template"][meta["right"]["tip_vertex_ids"][1]]
    assert 0.18 <= np.linalg.norm(middle_tip - joints[0]) <= 0.195
    # Relaxed rest pose: every finger's DIP sits palmar (-y) of its MCP.
    for finger in ("index", "middle", "ring", "pinky"):
        mcp, _, dip = FINGER_JOINTS[finger]
        assert joints[dip, 1] < joints[mcp, 1] - 0.003, finger


def test_left_hand_is_the_mirror_of_the_right_also_when_posed(right):
    left = load_mano_file(V2.joinpath("MANO_LEFT.pkl"))
    np.testing.assert_array_equal(left["v_template"], right["v_template"] * [-1, 1, 1])
    np.testing.assert_array_equal(left["f"], right["f"][:, ::-1])
    right_hand, left_hand = _hand("embedded:v2", "right"), _hand("embedded:v2", "left")
    pose = _pose(right_hand, {1: (70, 10, 0), 2: (90, 0, 0), 13: (40, 20, 15), 15: (60, 0, 0)})
    right_vertices = _posed(right_hand, pose)
    left_vertices = _posed(left_hand, mirror_pose(pose))
    np.testing.assert_allclose(left_vertices, right_vertices * [-1, 1, 1], atol=1e-9)


def _angle_deficit(vertices: np.ndarray, faces: np.ndarray, vertex: int) -> float:
    """2π minus the corner angles at `vertex`: ~0 on a smooth cap, large at a cone tip."""
    total = 0.0
    for face in faces[(faces == vertex).any(axis=1)]:
        k = list(face).index(vertex)
        a = vertices[face[(k + 1) % 3]] - vertices[vertex]
        b = vertices[face[(k + 2) % 3]] - vertices[vertex]
        total += np.arccos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1))
    return 2 * np.pi - total


def test_fingertips_are_rounded_pads_not_cones(right, meta):
    tips = meta["right"]["tip_vertex_ids"]
    deficits = [_angle_deficit(right["v_template"], right["f"], tip) for tip in tips]
    assert max(deficits) < 0.1, deficits  # v1's single-vertex cones: 0.88 to 1.28 rad
    v1 = load_mano_file(V1.joinpath("MANO_RIGHT.pkl"))
    v1_tips = json.loads(V1.joinpath("hand_meta.json").read_text())["right"]["tip_vertex_ids"]
    assert min(_angle_deficit(v1["v_template"], v1["f"], tip) for tip in v1_tips) > 0.5
    # The pad bulges: the distal pad is fuller palmar than dorsal of the finger axis.
    normals = vertex_normals(right["v_template"], right["f"])
    joints = right["J_regressor"] @ right["v_template"]
    for finger in FINGER_NAMES[:4]:
        distal = FINGER_JOINTS[finger][2]
        on_distal = np.flatnonzero(right["weights"].argmax(1) == distal)
        offsets = right["v_template"][on_distal] - joints[distal]
        palmar = normals[on_distal, 1] < -0.5
        dorsal = normals[on_distal, 1] > 0.5
        assert -offsets[palmar, 1].min() > offsets[dorsal, 1].max(), finger


def _finger_volume_ratio(hand: HandModel) -> float:
    """Mesh volume with every finger joint flexed 90° (thumb 50°) over the rest volume."""
    degrees = {j: (90.0, 0.0, 0.0) for f in ("index", "middle", "ring", "pinky")
               for j in FINGER_JOINTS[f]}  # fmt: skip
    degrees.update({j: (50.0, 0.0, 0.0) for j in FINGER_JOINTS["thumb"]})
    rest = trimesh.Trimesh(_posed(hand, torch.zeros(1, 16, 3, dtype=torch.float64)),
                           hand.faces, process=False)  # fmt: skip
    bent = trimesh.Trimesh(_posed(hand, _pose(hand, degrees)), hand.faces, process=False)
    return bent.volume / rest.volume


def test_pose_correctives_keep_volume_at_large_flexion(right):
    assert np.abs(right["posedirs"]).max() > 1e-3  # metres per unit of the pose feature
    v2 = _hand("embedded:v2")
    ratio_v2 = _finger_volume_ratio(v2)
    ratio_v1 = _finger_volume_ratio(_hand("embedded:v1"))
    with torch.no_grad():
        v2.mano.posedirs.zero_()
    ratio_v2_plain_lbs = _finger_volume_ratio(v2)
    assert abs(1 - ratio_v2) < 0.035, ratio_v2
    assert abs(1 - ratio_v2) < 0.5 * abs(1 - ratio_v1), (ratio_v2, ratio_v1)
    assert abs(1 - ratio_v2) < 0.7 * abs(1 - ratio_v2_plain_lbs), (ratio_v2, ratio_v2_plain_lbs)


def _pad(hand: HandModel, out, finger: str):
    """Centroid (3,), outward direction (3,) from the bone axis and vertex ids of the distal
    part of a finger's contact zone, in a posed hand `out` (batch 1)."""
    zone = torch.as_tensor(hand.contact_zones[finger])
    finger_index = FINGER_NAMES.index(finger)
    distal = FINGER_JOINTS[finger][2]
    ids = zone[hand.mano.lbs_weights[zone].argmax(dim=1) == distal]
    centroid = out.vertices[0, ids].mean(dim=0)
    joint, tip = out.joints[0, distal], out.joints[0, 16 + finger_index]
    axis = (tip - joint) / (tip - joint).norm()
    offset = centroid - joint
    outward = offset - (offset @ axis) * axis
    return centroid, outward / outward.norm(), ids


@pytest.mark.parametrize("target", ["index", "middle"])
def test_thumb_opposes_the_finger_pads_within_the_joint_limits(target):
    hand = _hand("embedded:v2")
    joints = [j - 1 for j in (*FINGER_JOINTS["thumb"], *FINGER_JOINTS[target])]
    lower, upper = hand.limit_lower[joints], hand.limit_upper[joints]
    raw = torch.zeros(len(joints), 3, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([raw], lr=0.15)
    for _ in range(80):
        angles = torch.zeros(1, 15, 3, dtype=torch.float64)
        angles[0, joints] = lower + (upper - lower) * torch.sigmoid(raw)  # inside the limits
        out = hand(hand.pose_from_anatomical_angles(angles), torch.zeros(1, 3, dtype=torch.float64))
        thumb_pad, thumb_out, thumb_ids = _pad(hand, out, "thumb")
        finger_pad, finger_out, finger_ids = _pad(hand, out, target)
        gap = (thumb_pad - finger_pad).norm()
        loss = gap + 0.01 * (1 + thumb_out @ finger_out)  # pads touch, facing each other
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert gap.item() < 0.006, gap.item()
    assert hand.joint_limit_violation(hand.pose_from_anatomical_angles(angles)).item() < 1e-12
    # Pad to pad: the surface normals of the two pads face each other.
    normals = vertex_normals(out.vertices[0].detach().numpy(), hand.faces)
    thumb_normal = normals[thumb_ids].mean(axis=0)
    finger_normal = normals[finger_ids].mean(axis=0)
    cosine = thumb_normal @ finger_normal
    assert cosine / np.linalg.norm(thumb_normal) / np.linalg.norm(finger_normal) < -0.5


def test_contact_zones_lie_on_the_palmar_side_of_the_pads(right, meta):
    vertices = right["v_template"]
    normals = vertex_normals(vertices, right["f"])
    joints = right["J_regressor"] @ vertices
    bends = bend_directions(joints, "right")
    dominant = right["weights"].argmax(1)
    tips = meta["right"]["tip_vertex_ids"]
    for finger, tip in zip(FINGER_NAMES, tips, strict=True):
        zone = np.asarray(meta["right"]["contact_zones"][finger])
        _, middle, distal = FINGER_JOINTS[finger]
        assert len(zone) >= 15, finger
        assert np.isin(dominant[zone], (middle, distal)).all(), finger
        assert (normals[zone] @ bends[distal - 1] > 0.3).all(), finger
        # The zone reaches the fingertip pad: some of it lies within 12 mm of the tip.
        assert (np.linalg.norm(vertices[zone] - vertices[tip], axis=1) < 0.012).sum() >= 3
    palm = np.asarray(meta["right"]["contact_zones"]["palm"])
    assert len(palm) > 30 and (normals[palm, 1] < 0).all()  # the palm faces -y


def test_embedded_selection_by_name(monkeypatch):
    v2 = HandModel("right", mano_dir="embedded:v2")
    assert v2.asset_id == "openhoi-hand-v2" and v2.is_default_asset
    assert v2.source.parent.name == "hand_v2"
    v1 = HandModel("right", mano_dir="embedded:v1")
    assert v1.asset_id == "openhoi-hand-v1" and v1.source.parent.name == "hand"
    np.testing.assert_array_equal(v1.tip_vertex_ids, HandModel("right").tip_vertex_ids)
    assert not torch.equal(v1.mano.v_template, v2.mano.v_template)
    monkeypatch.setenv("OPENHOI_MANO_DIR", "embedded:v2")
    assert HandModel("left").asset_id == "openhoi-hand-v2"
    with pytest.raises(InputError, match="'embedded:nonsense'.*embedded:v1, embedded:v2"):
        HandModel("right", mano_dir="embedded:nonsense")
    monkeypatch.setenv("OPENHOI_MANO_DIR", "embedded:v3")
    with pytest.raises(InputError, match="'embedded:v3'.*OPENHOI_MANO_DIR"):
        HandModel("right")


def test_dataset_readers_accept_an_embedded_asset_name(tmp_path):
    from openhoi.data.readers import get_reader

    reader = get_reader("grab")(tmp_path, mano_dir="embedded:v2")
    assert reader.hands.model("right").asset_id == "openhoi-hand-v2"
    assert not reader.hands.is_real
    with pytest.raises(InputError, match="embedded:nonsense"):
        get_reader("grab")(tmp_path, mano_dir="embedded:nonsense")
