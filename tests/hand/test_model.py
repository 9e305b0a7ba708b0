"""HandModel: joint order, fingertips, mirroring, the MANO code path, fists, gradients."""

from __future__ import annotations

import math
import pickle
import shutil
from importlib.resources import files

import numpy as np
import pytest
import torch

from openhoi.errors import InputError, MissingFileError
from openhoi.geometry.rotations import axis_angle_to_matrix, matrix_to_rotation_6d
from openhoi.hand import (
    FINGER_JOINTS,
    FINGER_NAMES,
    JOINT_NAMES,
    MANO_DIR_ENV_VAR,
    NUM_KEYPOINTS,
    PARENTS,
    HandModel,
    mirror_pose,
)

MIRROR = torch.tensor([-1.0, 1.0, 1.0])


@pytest.fixture(scope="module")
def right():
    return HandModel("right")


@pytest.fixture(scope="module")
def left():
    return HandModel("left")


def _random_pose(batch=3, seed=0, scale=0.3):
    generator = torch.Generator().manual_seed(seed)
    pose = scale * torch.randn(batch, 16, 3, generator=generator)
    pose[:, 0] = torch.randn(batch, 3, generator=generator)
    transl = 0.1 * torch.randn(batch, 3, generator=generator)
    return pose, transl


def _fist(model, degrees=75.0, thumb_degrees=75.0):
    angles = torch.zeros(1, 15, 3)
    angles[..., 0] = math.radians(degrees)
    for joint in FINGER_JOINTS["thumb"]:
        angles[0, joint - 1, 0] = math.radians(thumb_degrees)
    return model.pose_from_anatomical_angles(angles)


def test_joint_order_and_parents(right):
    assert JOINT_NAMES[0] == "wrist"
    assert PARENTS == (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14)
    assert right.parents == PARENTS
    assert right.mano.parents.tolist() == list(PARENTS)
    assert [JOINT_NAMES[j][:-1] for f in FINGER_NAMES for j in FINGER_JOINTS[f]] == [
        f for f in FINGER_NAMES for _ in range(3)
    ]


def test_rest_pose_layout_like_mano(right):
    joints = right.rest_joints()[0].numpy()
    np.testing.assert_allclose(joints[0], [0.095, 0.006, 0.006], atol=1e-5)
    tips = right.mano.v_template[right.tip_ids].numpy()
    # fingers along -x from the wrist, thumb toward +z
    assert (tips[:4, 0] < joints[0, 0] - 0.13).all()
    assert tips[4, 2] > tips[0, 2] > tips[1, 2] > tips[3, 2] > tips[2, 2]


def test_output_shapes_and_translation(right):
    pose, transl = _random_pose()
    out = right(pose, transl)
    assert out.vertices.shape == (3, right.num_vertices, 3)
    assert out.joints.shape == (3, NUM_KEYPOINTS, 3)
    moved = right(pose, transl + 1.0)
    torch.testing.assert_close(moved.vertices, out.vertices + 1.0)
    torch.testing.assert_close(out.joints[:, 16:], out.vertices[:, right.tip_ids])
    # the global rotation turns about the wrist joint, which stays put
    rest = right(torch.zeros(1, 16, 3), torch.zeros(1, 3))
    turned = right(torch.cat([torch.tensor([[[0.0, 1.0, 0.0]]]), torch.zeros(1, 15, 3)], 1),
                   torch.zeros(1, 3))  # fmt: skip
    torch.testing.assert_close(turned.joints[:, 0], rest.joints[:, 0])


def test_tips_are_the_distal_ends(right):
    vertices = right.mano.v_template.numpy()
    weights = right.mano.lbs_weights.numpy().argmax(1)
    wrist = right.rest_joints()[0, 0].numpy()
    distance = np.linalg.norm(vertices - wrist, axis=1)
    for finger, tip in zip(FINGER_NAMES, right.tip_vertex_ids, strict=True):
        finger_vertices = np.flatnonzero(np.isin(weights, FINGER_JOINTS[finger]))
        assert tip in finger_vertices
        assert distance[tip] == distance[finger_vertices].max()


def test_mirror_symmetry(right, left):
    pose, transl = _random_pose()
    out_r = right(pose, transl)
    out_l = left(mirror_pose(pose), transl * MIRROR)
    torch.testing.assert_close(out_l.vertices, out_r.vertices * MIRROR, atol=1e-6, rtol=0)
    torch.testing.assert_close(out_l.joints, out_r.joints * MIRROR, atol=1e-6, rtol=0)
    np.testing.assert_array_equal(left.tip_vertex_ids, right.tip_vertex_ids)
    torch.testing.assert_close(mirror_pose(mirror_pose(pose)), pose)


def test_pose_representations_agree(right):
    pose, transl = _random_pose()
    matrices = axis_angle_to_matrix(pose)
    reference = right(pose, transl).vertices
    torch.testing.assert_close(right(matrices, transl).vertices, reference)
    torch.testing.assert_close(
        right(matrix_to_rotation_6d(matrices), transl).vertices, reference, atol=1e-6, rtol=0
    )


def test_bad_shapes_name_the_argument(right):
    with pytest.raises(InputError, match=r"pose.*\(2, 15, 3\)"):
        right(torch.zeros(2, 15, 3), torch.zeros(2, 3))
    with pytest.raises(InputError, match=r"transl.*\(2, 3\).*\(2, 4\)"):
        right(torch.zeros(2, 16, 3), torch.zeros(2, 4))
    with pytest.raises(InputError, match=r"betas.*\(2, 10\).*\(2, 9\)"):
        right(torch.zeros(2, 16, 3), torch.zeros(2, 3), torch.zeros(2, 9))
    with pytest.raises(InputError, match="side"):
        HandModel("middle")


def test_gradients_flow_to_6d_pose(right):
    pose, transl = _random_pose(batch=2)
    rot_6d = matrix_to_rotation_6d(axis_angle_to_matrix(pose)).requires_grad_(True)
    betas = torch.zeros(2, 10, requires_grad=True)
    out = right(rot_6d, transl, betas)
    out.vertices.square().sum().backward()
    assert rot_6d.grad is not None and torch.isfinite(rot_6d.grad).all()
    assert rot_6d.grad[:, 1:].abs().sum() > 0
    assert betas.grad.abs().sum() > 0


@pytest.mark.parametrize("side", ["left", "right"])
def test_keypoints_equal_the_full_forward_and_carry_gradients(side, left, right):
    model = {"left": left, "right": right}[side]
    pose, transl = _random_pose(batch=4, seed=3, scale=0.6)
    betas = 2.0 * torch.randn(4, 10, generator=torch.Generator().manual_seed(1))
    rot_6d = matrix_to_rotation_6d(axis_angle_to_matrix(pose)).requires_grad_(True)
    fast = model.keypoints(rot_6d, transl, betas)
    torch.testing.assert_close(fast, model(rot_6d, transl, betas).joints, atol=1e-6, rtol=0)
    fast[:, 16:].sum().backward()  # fingertips depend on the finger joints
    assert rot_6d.grad[:, 1:].abs().sum() > 0
    with pytest.raises(InputError, match="transl"):
        model.keypoints(rot_6d, transl[:2], betas)


def test_betas_change_the_shape(right):
    pose = torch.zeros(1, 16, 3)
    base = right(pose, torch.zeros(1, 3)).vertices
    for k in range(10):
        betas = torch.zeros(1, 10)
        betas[0, k] = 2.0
        moved = right(pose, torch.zeros(1, 3), betas).vertices
        change = (moved - base).norm(dim=-1).max().item()
        assert 0.0005 < change < 0.03, (k, change)
    # beta 0 is overall size: +2 makes the hand longer
    betas = torch.zeros(1, 10)
    betas[0, 0] = 2.0
    length = lambda v: (v[0, right.tip_ids[1]] - right.rest_joints()[0, 0]).norm()  # noqa: E731
    assert length(right(pose, torch.zeros(1, 3), betas).vertices) > length(base) + 0.005
    assert right.rest_joints(torch.zeros(4, 10)).shape == (4, 16, 3)


def test_closed_fist_keeps_fingers_apart_and_near_the_palm(right):
    out = right(_fist(right, 75.0, 40.0), torch.zeros(1, 3))
    tips = out.joints[0, 16:]
    gaps = torch.cdist(tips, tips) + torch.eye(5)
    assert gaps.min() > 0.005
    palm = out.vertices[0, right.contact_zones["palm"]]
    to_palm = torch.cdist(tips[:4], palm).min(dim=1).values
    assert (to_palm < 0.035).all(), to_palm
    rest_tips = right(torch.zeros(1, 16, 3), torch.zeros(1, 3)).joints[0, 16:20]
    assert (torch.cdist(rest_tips, palm).min(dim=1).values > 0.07).all()


def test_contact_zones_are_palmar(right):
    zones = right.contact_zones
    assert set(zones) == {*FINGER_NAMES, "palm"}
    vertices = right.mano.v_template.numpy()
    wrist_y = right.rest_joints()[0, 0, 1].item()
    for name in ("index", "middle", "pinky", "ring", "palm"):
        assert len(zones[name]) >= 5
        assert (vertices[zones[name], 1] < wrist_y).all()  # palm faces -y


def _write_pickle(path, arrays):
    with open(path, "wb") as handle:
        pickle.dump(arrays, handle, protocol=2)


def test_real_mano_code_path_with_synthetic_files(tmp_path, tiny_arrays):
    _write_pickle(tmp_path / "MANO_RIGHT.pkl", tiny_arrays)
    left = dict(tiny_arrays)
    left["v_template"] = tiny_arrays["v_template"] * [-1.0, 1.0, 1.0]
    # the official left file's bug: x shape directions equal to the right hand's
    _write_pickle(tmp_path / "MANO_LEFT.pkl", left)
    model = HandModel("right", mano_dir=tmp_path)
    assert not model.is_default_asset
    assert model.num_vertices == 48
    out = model(torch.zeros(2, 16, 3), torch.zeros(2, 3))
    assert out.joints.shape == (2, 21, 3)
    pose = 0.4 * torch.randn(2, 16, 3, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(
        model.keypoints(pose, torch.ones(2, 3)), model(pose, torch.ones(2, 3)).joints,
        atol=1e-6, rtol=0,
    )  # fmt: skip
    tips = model.tip_vertex_ids
    assert [int(t) // 3 for t in tips] == [FINGER_JOINTS[f][2] for f in FINGER_NAMES]
    left_model = HandModel("left", mano_dir=tmp_path)
    np.testing.assert_allclose(
        left_model.mano.shapedirs[:, 0].numpy(), -tiny_arrays["shapedirs"][:, 0], rtol=1e-6
    )


def test_mano_dir_from_environment_and_copied_asset(tmp_path, monkeypatch, right):
    asset = files("openhoi.assets").joinpath("hand")
    for name in ("MANO_RIGHT.pkl", "MANO_LEFT.pkl", "hand_meta.json"):
        shutil.copyfile(asset.joinpath(name), tmp_path / name)
    monkeypatch.setenv(MANO_DIR_ENV_VAR, str(tmp_path))
    model = HandModel("right")
    assert not model.is_default_asset
    pose, transl = _random_pose()
    torch.testing.assert_close(model(pose, transl).vertices, right(pose, transl).vertices)
    np.testing.assert_array_equal(model.tip_vertex_ids, right.tip_vertex_ids)


def test_missing_mano_dir_errors(tmp_path):
    with pytest.raises(MissingFileError, match="does not exist"):
        HandModel("right", mano_dir=tmp_path / "nowhere")
    with pytest.raises(MissingFileError, match=r"MANO_LEFT\.pkl"):
        HandModel("left", mano_dir=tmp_path)
