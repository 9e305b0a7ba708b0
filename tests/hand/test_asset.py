"""The embedded hand asset: MANO format, closed mesh, proportions, mirror, reproducible."""

from __future__ import annotations

import importlib.util
import json
import sys
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
import trimesh

from openhoi.hand import FINGER_JOINTS, load_mano_file

ASSET = files("openhoi.assets").joinpath("hand")
TOOL = Path(__file__).resolve().parents[2] / "tools" / "build_hand_asset.py"


@pytest.fixture(scope="module")
def right_arrays():
    return load_mano_file(ASSET.joinpath("MANO_RIGHT.pkl"))


def test_mano_shapes_and_small_files(right_arrays):
    assert right_arrays["v_template"].shape == (778, 3)
    assert right_arrays["shapedirs"].shape == (778, 3, 10)
    assert right_arrays["posedirs"].shape == (778, 3, 135)
    assert right_arrays["J_regressor"].shape == (16, 778)
    np.testing.assert_allclose(right_arrays["weights"].sum(1), 1.0, atol=1e-9)
    np.testing.assert_allclose(right_arrays["J_regressor"].sum(1), 1.0, atol=1e-9)
    sizes = [ASSET.joinpath(n).stat().st_size for n in ("MANO_RIGHT.pkl", "MANO_LEFT.pkl",
                                                       "hand_meta.json")]  # fmt: skip
    assert sum(sizes) < 8e6


def test_closed_surface_and_proportions(right_arrays):
    vertices, faces = right_arrays["v_template"], right_arrays["f"]
    mesh = trimesh.Trimesh(vertices, faces, process=False)
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0
    joints = right_arrays["J_regressor"] @ vertices
    meta = json.loads(ASSET.joinpath("hand_meta.json").read_text())
    middle_tip = vertices[meta["right"]["tip_vertex_ids"][1]]
    assert 0.18 <= np.linalg.norm(middle_tip - joints[0]) <= 0.19
    knuckles = joints[[FINGER_JOINTS[f][0] for f in ("index", "middle", "pinky", "ring")]]
    near = np.abs(vertices[:, 0] - knuckles[:, 0].mean()) < 0.01
    palm = vertices[near & (right_arrays["weights"].argmax(1) == 0)]
    assert 0.075 < np.ptp(palm[:, 2]) < 0.095  # palm width across the knuckles
    # smooth skinning: some vertices blend two bones
    assert ((right_arrays["weights"] > 0.2).sum(1) >= 2).sum() > 50


def test_left_is_the_mirror_of_right(right_arrays):
    left = load_mano_file(ASSET.joinpath("MANO_LEFT.pkl"))
    np.testing.assert_array_equal(left["v_template"], right_arrays["v_template"] * [-1, 1, 1])
    np.testing.assert_array_equal(left["f"], right_arrays["f"][:, ::-1])
    mesh = trimesh.Trimesh(left["v_template"], left["f"], process=False)
    assert mesh.volume > 0


@pytest.mark.parametrize(("version", "folder", "atol"), [("v1", "hand", 1e-12),
                                                          ("v2", "hand_v2", 1e-9)])  # fmt: skip
def test_build_reproduces_the_shipped_asset(tmp_path, monkeypatch, version, folder, atol):
    """The recipe rebuilds the shipped files: integer arrays and metadata exactly, float
    arrays to float64 round-off (the last bits move with the NumPy/SciPy build, so the
    pickled bytes are not compared; v2's float32 correctives come from a least-squares fit,
    so one float32 step is allowed there)."""
    shipped_dir = files("openhoi.assets").joinpath(folder)
    monkeypatch.syspath_prepend(str(TOOL.parent))  # v2 imports tools/hand_asset_v2.py
    spec = importlib.util.spec_from_file_location("build_hand_asset", TOOL)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look the module up
    monkeypatch.delitem(sys.modules, "hand_asset_v2", raising=False)
    spec.loader.exec_module(module)
    module.write_assets(tmp_path, version)
    for name in ("MANO_RIGHT.pkl", "MANO_LEFT.pkl"):
        built, shipped = load_mano_file(tmp_path / name), load_mano_file(shipped_dir.joinpath(name))
        assert built.keys() == shipped.keys(), name
        for key, value in built.items():
            got, want = np.asarray(value), np.asarray(shipped[key])
            assert got.dtype == want.dtype and got.shape == want.shape, (name, key)
            if got.dtype.kind == "f":
                np.testing.assert_allclose(got, want, rtol=0, atol=atol, err_msg=f"{name} {key}")
            else:
                np.testing.assert_array_equal(got, want, err_msg=f"{name} {key}")
    meta = shipped_dir.joinpath("hand_meta.json").read_bytes()
    assert (tmp_path / "hand_meta.json").read_bytes() == meta
