"""glTF export: GLB structure, skins, animation timing, and skinning that reproduces MANO."""

from __future__ import annotations

import json
import shutil
import struct

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from openhoi.errors import InputError
from openhoi.export import export_sequence
from openhoi.export.gltf import read_glb, write_glb
from openhoi.hand import JOINT_NAMES, PARENTS

from .conftest import random_sequence

Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def _node_parents(gltf: dict) -> dict[int, int]:
    return {child: index for index, node in enumerate(gltf["nodes"])
            for child in node.get("children", [])}  # fmt: skip


def _global_transforms(glb, frame: int) -> np.ndarray:
    """`(N, 4, 4)` world matrices of every node at `frame`, from the file's own data."""
    gltf = glb.gltf
    nodes = gltf["nodes"]
    translation = [np.array(n.get("translation", [0.0, 0.0, 0.0]), np.float64) for n in nodes]
    rotation = [np.array(n.get("rotation", [0.0, 0.0, 0.0, 1.0]), np.float64) for n in nodes]
    for channel in gltf["animations"][0]["channels"]:
        sampler = gltf["animations"][0]["samplers"][channel["sampler"]]
        value = glb.accessor(sampler["output"])[frame].astype(np.float64)
        target = channel["target"]
        (translation if target["path"] == "translation" else rotation)[target["node"]] = value
    parents = _node_parents(gltf)
    world: dict[int, np.ndarray] = {}

    def resolve(index: int) -> np.ndarray:
        if index not in world:
            local = np.eye(4)
            local[:3, :3] = Rotation.from_quat(rotation[index]).as_matrix()
            local[:3, 3] = translation[index]
            parent = parents.get(index)
            world[index] = local if parent is None else resolve(parent) @ local
        return world[index]

    return np.stack([resolve(i) for i in range(len(nodes))])


def _skinned_vertices(glb, side: str, frame: int) -> np.ndarray:
    """Linear blend skinning evaluated from the glb (JOINTS_0, WEIGHTS_0, IBMs), z-up."""
    gltf = glb.gltf
    node = gltf["nodes"][glb.node_index(f"{side}_hand_mesh")]
    skin = gltf["skins"][node["skin"]]
    attributes = gltf["meshes"][node["mesh"]]["primitives"][0]["attributes"]
    positions = glb.accessor(attributes["POSITION"]).astype(np.float64)
    joints = glb.accessor(attributes["JOINTS_0"]).astype(np.int64)
    weights = glb.accessor(attributes["WEIGHTS_0"]).astype(np.float64)
    inverse_bind = glb.accessor(skin["inverseBindMatrices"]).astype(np.float64)
    world = _global_transforms(glb, frame)
    joint_matrices = world[skin["joints"]] @ inverse_bind  # (16, 4, 4)
    skin_matrices = np.einsum("vk,vkab->vab", weights, joint_matrices[joints])
    posed = np.einsum("vab,vb->va", skin_matrices[:, :3, :3], positions) + skin_matrices[:, :3, 3]
    return posed @ Y_UP_TO_Z_UP.T


def test_glb_chunks_and_buffer_layout(tmp_path, sequence):
    path = write_glb(tmp_path / "sequence.glb", sequence)
    data = path.read_bytes()
    magic, version, length = struct.unpack_from("<III", data)
    assert (magic, version, length) == (0x46546C67, 2, len(data))
    json_length, json_type = struct.unpack_from("<II", data, 12)
    assert json_type == 0x4E4F534A and json_length % 4 == 0
    bin_length, bin_type = struct.unpack_from("<II", data, 20 + json_length)
    assert bin_type == 0x004E4942 and bin_length % 4 == 0
    assert 20 + json_length + 8 + bin_length == len(data)
    gltf = json.loads(data[20 : 20 + json_length])
    assert gltf["asset"]["version"] == "2.0"
    assert gltf["buffers"] == [{"byteLength": bin_length}]
    for view in gltf["bufferViews"]:
        assert view["byteOffset"] % 4 == 0
        assert view["byteOffset"] + view["byteLength"] <= bin_length
    glb = read_glb(path)
    for index, accessor in enumerate(gltf["accessors"]):
        values = glb.accessor(index)
        assert values.shape[0] == accessor["count"]
        if "min" in accessor:
            np.testing.assert_array_equal(values.min(axis=0), accessor["min"])
            np.testing.assert_array_equal(values.max(axis=0), accessor["max"])
    for mesh in gltf["meshes"]:
        attributes = mesh["primitives"][0]["attributes"]
        assert "min" in gltf["accessors"][attributes["POSITION"]]
        counts = {gltf["accessors"][a]["count"] for a in attributes.values()}
        assert len(counts) == 1


def test_glb_skins_armatures_and_fps(tmp_path, sequence):
    glb = read_glb(write_glb(tmp_path / "sequence.glb", sequence))
    gltf = glb.gltf
    assert len(gltf["skins"]) == 2
    parents = _node_parents(gltf)
    scene_roots = set(gltf["scenes"][0]["nodes"])
    for side in ("left", "right"):
        skin = next(s for s in gltf["skins"] if s["name"] == f"{side}_skin")
        assert len(skin["joints"]) == 16
        names = [gltf["nodes"][j]["name"] for j in skin["joints"]]
        assert names == [f"{side}_{name}" for name in JOINT_NAMES]
        for joint, parent in enumerate(PARENTS):
            expected = skin["joints"][parent] if parent >= 0 else glb.node_index(f"{side}_hand")
            assert parents[skin["joints"][joint]] == expected
        # Each armature has its own non-joint parent, at the scene root.
        armature = glb.node_index(f"{side}_hand")
        assert armature not in skin["joints"] and armature in scene_roots
        assert glb.node_index(f"{side}_hand_mesh") in scene_roots
        attributes = gltf["meshes"][gltf["nodes"][glb.node_index(f"{side}_hand_mesh")]["mesh"]]
        attributes = attributes["primitives"][0]["attributes"]
        weights = glb.accessor(attributes["WEIGHTS_0"])
        joints = glb.accessor(attributes["JOINTS_0"])
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)
        assert np.all(joints[weights == 0] == 0)
    assert gltf["asset"]["extras"]["fps"] == sequence.fps
    assert gltf["scenes"][0]["extras"]["fps"] == sequence.fps
    assert gltf["scenes"][0]["extras"]["texts"] == list(sequence.texts)
    animation = gltf["animations"][0]
    for sampler in animation["samplers"]:
        times = glb.accessor(sampler["input"])[:, 0]
        np.testing.assert_allclose(times, np.arange(sequence.num_frames) / sequence.fps, rtol=1e-6)
        assert glb.accessor(sampler["output"]).shape[0] == sequence.num_frames


def test_glb_skinning_matches_hand_vertices(tmp_path, sequence):
    glb = read_glb(write_glb(tmp_path / "sequence.glb", sequence))
    for side in ("left", "right"):
        expected = sequence.hand_vertices(side)
        for frame in range(sequence.num_frames):
            error = np.abs(_skinned_vertices(glb, side, frame) - expected[frame]).max()
            assert error < 1e-3, f"{side} frame {frame}: {error * 1000:.3f} mm"


def test_glb_object_parts_match_object_vertices(tmp_path, sequence):
    obj = sequence.load_object()
    glb = read_glb(write_glb(tmp_path / "sequence.glb", sequence, obj=obj))
    expected = sequence.object_vertices(obj)
    faces = np.asarray(obj.mesh.faces)
    for part in obj.parts:
        node_index = glb.node_index(f"object_{part.name}")
        mesh = glb.gltf["meshes"][glb.gltf["nodes"][node_index]["mesh"]]
        positions = glb.accessor(mesh["primitives"][0]["attributes"]["POSITION"])
        used = np.unique(faces[part.face_ids].reshape(-1))
        for frame in (0, sequence.num_frames - 1):
            world = _global_transforms(glb, frame)[node_index]
            posed = (positions @ world[:3, :3].T + world[:3, 3]) @ Y_UP_TO_Z_UP.T
            np.testing.assert_allclose(posed, expected[frame, used], atol=1e-4)


def test_glb_static_objects_are_placed_nodes(tmp_path, static_objects):
    sequence = random_sequence("laptop", num_frames=4)
    plain = read_glb(write_glb(tmp_path / "plain.glb", sequence)).gltf
    path = export_sequence(sequence, tmp_path / "scene.glb", "glb", static_objects=static_objects)
    glb = read_glb(path)
    gltf = glb.gltf
    # The existing layout is kept: static objects only append nodes, meshes and accessors.
    for key in ("nodes", "meshes", "skins", "animations", "accessors"):
        assert gltf[key][: len(plain[key])] == plain[key], key
    names = [f"static_0_{static_objects[0][0].name}", f"static_1_{static_objects[1][0].name}"]
    assert [n["name"] for n in gltf["nodes"][len(plain["nodes"]) :]] == names
    assert gltf["scenes"][0]["nodes"] == plain["scenes"][0]["nodes"] + [
        glb.node_index(name) for name in names
    ]
    assert gltf["scenes"][0]["extras"]["static_objects"] == names
    animated = {c["target"]["node"] for c in gltf["animations"][0]["channels"]}
    for name, (obj, pose) in zip(names, static_objects, strict=True):
        index = glb.node_index(name)
        assert index not in animated and "children" not in gltf["nodes"][index]
        mesh = gltf["meshes"][gltf["nodes"][index]["mesh"]]
        assert mesh["name"] == name
        positions = glb.accessor(mesh["primitives"][0]["attributes"]["POSITION"])
        faces = glb.accessor(mesh["primitives"][0]["indices"]).reshape(-1, 3)
        np.testing.assert_array_equal(faces, obj.mesh.faces)
        world = _global_transforms(glb, frame=0)[index]
        posed = (positions @ world[:3, :3].T + world[:3, 3]) @ Y_UP_TO_Z_UP.T
        expected = np.asarray(obj.mesh.vertices) @ pose[:3, :3].T + pose[:3, 3]
        np.testing.assert_allclose(posed, expected, atol=1e-5)


def test_glb_without_object(tmp_path, sequence):
    glb = read_glb(write_glb(tmp_path / "hands.glb", sequence.replace(object_name="")))
    assert {n["name"] for n in glb.gltf["nodes"]}.isdisjoint({"object"})
    assert len(glb.gltf["skins"]) == 2


def test_glb_rejects_wrong_suffix(tmp_path, sequence):
    with pytest.raises(InputError, match=r"\.glb"):
        write_glb(tmp_path / "sequence.gltf", sequence)
    with pytest.raises(InputError, match="unknown export format"):
        export_sequence(sequence, tmp_path / "x.fbx", "fbx")


def _khronos_validator():
    """tools/validate_gltf.py as a module; skips when Node.js or the validator is missing."""
    import importlib.util
    from pathlib import Path

    tool = Path(__file__).resolve().parents[2] / "tools" / "validate_gltf.py"
    spec = importlib.util.spec_from_file_location("validate_gltf", tool)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed")
    try:
        module.find_validator()
    except module.ValidatorUnavailable as exc:
        pytest.skip(str(exc))
    return module


@pytest.mark.slow
def test_glb_passes_khronos_validator(tmp_path, sequence):
    module = _khronos_validator()
    report = module.validate(write_glb(tmp_path / "sequence.glb", sequence))
    issues = report["issues"]
    assert issues["numErrors"] == 0 and issues["numWarnings"] == 0, issues["messages"]
    assert report["info"]["hasSkins"] and report["info"]["animationCount"] == 1


@pytest.mark.slow
def test_glb_with_static_objects_passes_khronos_validator(tmp_path, static_objects):
    module = _khronos_validator()
    sequence = random_sequence("mug", num_frames=4)
    path = write_glb(tmp_path / "scene.glb", sequence, static_objects=static_objects)
    issues = module.validate(path)["issues"]
    assert issues["numErrors"] == 0 and issues["numWarnings"] == 0, issues["messages"]


_BLENDER_SCRIPT = """
import json, os, sys
import bpy
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_scene.gltf(filepath=sys.argv[-2])
scene = bpy.context.scene
armatures = {o.name: len(o.data.bones) for o in bpy.data.objects if o.type == "ARMATURE"}
scene.frame_set(int(sys.argv[-1]))
graph = bpy.context.evaluated_depsgraph_get()
hand = bpy.data.objects["left_hand_mesh"].evaluated_get(graph)
mesh = hand.to_mesh()
vertices = [list(hand.matrix_world @ v.co) for v in mesh.vertices]
print("RESULT" + json.dumps({"armatures": armatures, "vertices": vertices,
                             "fps": scene.get("fps")}))
# bpy as a module (4.2) can crash while the interpreter shuts down; the result is out.
sys.stdout.flush()
os._exit(0)
"""


@pytest.mark.slow
def test_glb_imports_into_blender(tmp_path, sequence):
    """Blender (bpy in its own venv: OPENHOI_BPY_PYTHON=/path/to/python) sees two armatures."""
    import os
    import subprocess

    python = os.environ.get("OPENHOI_BPY_PYTHON")
    if not python:
        pytest.skip("set OPENHOI_BPY_PYTHON to a Python that can import bpy")
    path = write_glb(tmp_path / "sequence.glb", sequence)
    script = tmp_path / "check.py"
    script.write_text(_BLENDER_SCRIPT)
    # Blender keeps 24 fps after import: its frame 4 is t = 1/6 s, sequence frame fps/6.
    result = subprocess.run(
        [python, str(script), str(path), "4"], capture_output=True, text=True, check=True
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT"))
    report = json.loads(line[len("RESULT") :])
    assert report["armatures"] == {"left_hand": 16, "right_hand": 16}
    assert report["fps"] == sequence.fps
    expected = sequence.hand_vertices("left")[round(sequence.fps / 6)]
    # Blender converts y up back to z up, so its vertices are in openhoi's world frame.
    np.testing.assert_allclose(np.array(report["vertices"]), expected, atol=1e-3)


_BLENDER_STATIC_SCRIPT = """
import json, os, sys
import bpy
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_scene.gltf(filepath=sys.argv[-2])
obj = bpy.data.objects[sys.argv[-1]]
vertices = [list(obj.matrix_world @ v.co) for v in obj.data.vertices]
armatures = sorted(o.name for o in bpy.data.objects if o.type == "ARMATURE")
print("RESULT" + json.dumps({"armatures": armatures, "vertices": vertices}))
sys.stdout.flush()
os._exit(0)  # as in _BLENDER_SCRIPT
"""


@pytest.mark.slow
def test_glb_static_objects_import_into_blender(tmp_path, static_objects):
    """Blender (OPENHOI_BPY_PYTHON, as above) places the static object where openhoi does."""
    import os
    import subprocess

    python = os.environ.get("OPENHOI_BPY_PYTHON")
    if not python:
        pytest.skip("set OPENHOI_BPY_PYTHON to a Python that can import bpy")
    sequence = random_sequence("mug", num_frames=4)
    path = write_glb(tmp_path / "scene.glb", sequence, static_objects=static_objects)
    script = tmp_path / "check.py"
    script.write_text(_BLENDER_STATIC_SCRIPT)
    obj, pose = static_objects[0]
    result = subprocess.run(
        [python, str(script), str(path), f"static_0_{obj.name}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT"))
    report = json.loads(line[len("RESULT") :])
    assert report["armatures"] == ["left_hand", "right_hand"]
    expected = np.asarray(obj.mesh.vertices) @ pose[:3, :3].T + pose[:3, 3]
    np.testing.assert_allclose(np.array(report["vertices"]), expected, atol=1e-5)
