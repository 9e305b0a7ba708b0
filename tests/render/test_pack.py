"""Condition packs: files as the table says, and exact maps read back from disk."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from openhoi.errors import InputError
from openhoi.render import (
    CameraTrack,
    PackConfig,
    decode_actions,
    pack_file_names,
    parse_size,
    render_pack,
)
from openhoi.render._raster import rasterize
from openhoi.render._scene import scene_meshes

SIZE = (96, 64)
CLIP = 8


@pytest.fixture(scope="module")
def pack(laptop_sequence, tmp_path_factory):
    """The "all" pack of the laptop fixture: clips of 8 frames starting at 0 and 12."""
    out = tmp_path_factory.mktemp("pack") / "all"
    config = PackConfig(pack="all", size=SIZE, clip=CLIP, stride=12, seed=3)
    return render_pack(laptop_sequence, out, config=config)


def _expanded(names, num_frames):
    out = set()
    for name in names:
        if "NNNNNN" in name:
            out |= {name.replace("NNNNNN", f"{i:06d}") for i in range(num_frames)}
        else:
            out.add(name)
    return out


def _written(folder):
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def _projection(camera: dict, points: np.ndarray, frame: int) -> np.ndarray:
    """OpenCV pinhole projection written out: x_c = R X + t, (u, v) = (K x_c)[:2] / z_c."""
    k, r, t = (np.asarray(camera[key], np.float64) for key in ("K", "R", "t"))
    local = points @ r[frame].T + t[frame]
    pixels = local @ k.T
    return pixels[..., :2] / pixels[..., 2:]


def test_pack_writes_exactly_the_listed_files(pack):
    assert [p.name for p in pack.clips] == ["clip_000", "clip_001"]
    assert sorted(p.name for p in pack.out_dir.iterdir()) == ["clip_000", "clip_001"]
    for folder in pack.clips:
        assert _written(folder) == _expanded(pack_file_names("all"), CLIP)
    for name in ("pam", "scar", "handworld", "cointeract"):
        assert set(pack_file_names(name)) < set(pack_file_names("all"))
    assert {"meta.json", "camera.json"} <= set(pack_file_names("handworld"))


def test_depth_png_is_the_npz_depth_in_millimetres(pack):
    folder = pack.clips[1]
    with np.load(folder / "depth.npz") as data:
        depth = data["depth"]
    assert depth.shape == (CLIP, SIZE[1], SIZE[0]) and depth.dtype == np.float32
    for frame in (0, CLIP - 1):
        png = np.asarray(Image.open(folder / "depth" / f"{frame:06d}.png"))
        assert png.dtype == np.uint16
        np.testing.assert_array_equal(png, np.rint(depth[frame] * 1000).astype(np.uint16))


def test_instance_ids_are_the_rasterised_meshes(pack, laptop_sequence):
    folder = pack.clips[0]
    legend = json.loads((folder / "instance.json").read_text())
    assert legend == {
        "0": "background",
        "1": "left_hand",
        "2": "right_hand",
        "3": "object:laptop/base",
        "4": "object:laptop/lid",
    }
    track = CameraTrack.load(folder / "camera.json")
    scene = scene_meshes(laptop_sequence)
    # Expected ids: the triangle seen at each pixel when all meshes are rasterised together.
    label = scene.face_instance.astype(np.int64)
    is_part = scene.face_part >= 0
    label[is_part] = 3 + scene.face_part[is_part]
    for frame in range(0, CLIP, 3):
        uv, depth = track.at(frame).project(scene.vertices[frame][None])
        fragments = rasterize(uv[0], depth[0], scene.faces, *SIZE)
        expected = np.where(fragments.face >= 0, label[fragments.face], 0)
        ids = np.asarray(Image.open(folder / "instance" / f"{frame:06d}.png"))
        np.testing.assert_array_equal(ids, expected)
    assert set(np.unique(ids)) == {0, 1, 2, 3, 4}


def test_keypoints_reproject_with_camera_json(pack, laptop_sequence):
    for folder, start in zip(pack.clips, (0, 12), strict=True):
        camera = json.loads((folder / "camera.json").read_text())
        assert (camera["width"], camera["height"]) == SIZE and camera["near"] < camera["far"]
        with np.load(folder / "keypoints.npz") as data:
            pixels, visible, in_image = data["keypoints"], data["visible"], data["in_image"]
        assert pixels.shape == (CLIP, 2, 21, 2)
        assert in_image.all() and not (visible & ~in_image).any()
        for side_index, side in enumerate(("left", "right")):
            joints = laptop_sequence.hand_joints(side)[start : start + CLIP]
            for frame in range(CLIP):
                expected = _projection(camera, joints[frame], frame)
                np.testing.assert_array_less(np.abs(pixels[frame, side_index] - expected), 0.5)


def test_actions_round_trip_to_the_joints(pack, laptop_sequence):
    folder = pack.clips[1]
    actions = np.load(folder / "actions.npy")
    assert actions.shape == (CLIP, 138) and actions.dtype == np.float32
    decoded = decode_actions(actions)
    camera = json.loads((folder / "camera.json").read_text())
    np.testing.assert_allclose(decoded.rotation, camera["R"], atol=1e-6)
    np.testing.assert_allclose(decoded.translation, camera["t"], atol=1e-6)
    for side_index, side in enumerate(("left", "right")):
        joints = laptop_sequence.hand_joints(side)[12 : 12 + CLIP]
        np.testing.assert_allclose(decoded.joints_world[:, side_index], joints, atol=2e-5)
        local = np.einsum("tij,tkj->tki", decoded.rotation, joints)
        local += decoded.translation[:, None]
        np.testing.assert_allclose(decoded.joints_camera[:, side_index], local, atol=2e-5)


def test_meta_boxes_and_videos(pack):
    import imageio.v3 as iio

    folder = pack.clips[1]
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["source_frames"] == [12, 20] and meta["seed"] == 3 and meta["fps"] == 30.0
    assert meta["segments"] == [
        {"text": "hold the laptop", "sequence_frames": [10, 20], "clip_frames": [0, 8]}
    ]
    boxes = json.loads((folder / "boxes.json").read_text())
    ids = np.asarray(Image.open(folder / "instance" / "000004.png"))
    rows, cols = np.nonzero(ids == 2)
    box = [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]
    assert boxes["visible"][4]["right_hand"] == box
    amodal = boxes["amodal"][4]["right_hand"]
    assert amodal[:2] <= box[:2] and amodal[2:] >= box[2:]
    video = iio.imread(folder / "structure.mp4")
    assert video.shape == (CLIP, SIZE[1], SIZE[0], 3)


def test_a_camera_json_reproduces_the_pack(pack, laptop_sequence, tmp_path):
    original = pack.clips[0]
    config = PackConfig(pack="pam", clip=CLIP, camera=str(original / "camera.json"))
    out = render_pack(laptop_sequence[:CLIP], tmp_path / "again", config=config)
    with np.load(original / "depth.npz") as a, np.load(out.clips[0] / "depth.npz") as b:
        np.testing.assert_array_equal(a["depth"], b["depth"])


def test_bad_inputs_leave_nothing_behind(pack, laptop_sequence, tmp_path):
    camera = json.loads((pack.clips[0] / "camera.json").read_text())
    camera["R"], camera["t"] = camera["R"][:3], camera["t"][:3]  # 3 poses for 8-frame clips
    path = tmp_path / "three.json"
    path.write_text(json.dumps(camera))
    out = tmp_path / "out"
    with pytest.raises(InputError, match="3 camera poses"):
        render_pack(laptop_sequence, out, config=PackConfig(clip=CLIP, camera=str(path)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["three.json"]
    with pytest.raises(InputError, match="fewer than one clip"):
        render_pack(laptop_sequence, out, config=PackConfig(size=SIZE, clip=21))
    with pytest.raises(InputError, match="exists"):
        render_pack(laptop_sequence, pack.out_dir, config=PackConfig(size=SIZE, clip=CLIP))
    with pytest.raises(InputError, match="unknown pack"):
        PackConfig(pack="video")
    with pytest.raises(InputError, match="WIDTHxHEIGHT"):
        parse_size("720 by 480")
    assert parse_size("720x480") == (720, 480)


@pytest.mark.slow
def test_pack_of_a_generated_sequence(tmp_path):
    """A real generated sequence (2 DDIM steps) → a full pack of its first clip, read back."""
    import openhoi

    sequence = openhoi.generate("lift the mug", ["mug"], steps=2, report=False).sequence
    config = PackConfig(pack="all", size=(160, 120), clip=12, stride=sequence.num_frames)
    out = render_pack(sequence, tmp_path / "pack", config=config)
    (folder,) = out.clips
    assert _written(folder) == _expanded(pack_file_names("all"), 12)
    camera = json.loads((folder / "camera.json").read_text())
    with np.load(folder / "keypoints.npz") as data:
        pixels = data["keypoints"]
    joints = sequence.hand_joints("right")[:12]
    for frame in range(12):
        expected = _projection(camera, joints[frame], frame)
        np.testing.assert_array_less(np.abs(pixels[frame, 1] - expected), 0.5)
    decoded = decode_actions(np.load(folder / "actions.npy"))
    np.testing.assert_allclose(decoded.joints_world[:, 1], joints, atol=2e-5)
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["segments"] and meta["segments"][0]["text"] == sequence.texts[0]
    with np.load(folder / "scar.npz") as data:
        assert data["contact"].shape == (12, 120, 160)
