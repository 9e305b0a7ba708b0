"""Preview videos: a real H.264 mp4 with one frame per sequence frame, captions, a camera that
follows the action, a table with a shadow, a side-view inset and contact colours."""

from __future__ import annotations

import numpy as np
import pytest

from openhoi.errors import DependencyError, InputError
from openhoi.export import export_sequence
from openhoi.render import render_frames, render_preview
from openhoi.render.preview import DEFAULT_SIZE, follow_cameras

SMALL = (320, 240)
# Saturated pixels: skin and the object, not the (grey) sky, table or shadow.
SATURATION = 35


def _meshes_drawn(frames: np.ndarray) -> np.ndarray:
    frames = frames.astype(int)
    return frames.max(-1) - frames.min(-1) > SATURATION


def _read_video(path) -> np.ndarray:
    import imageio.v3 as iio

    return iio.imread(path)


def test_preview_mp4_has_every_frame(tmp_path, laptop_sequence):
    path = render_preview(laptop_sequence, tmp_path / "preview.mp4", size=SMALL, backend="software")
    frames = _read_video(path)
    assert frames.shape == (laptop_sequence.num_frames, 240, 320, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["preview.mp4"]  # no temp files left
    # Hands and object are drawn: many saturated (skin, object) pixels.
    assert _meshes_drawn(frames[0]).mean() > 0.02
    import imageio_ffmpeg

    info = imageio_ffmpeg.read_frames(str(path)).__next__()
    assert info["codec"] == "h264" and info["fps"] == pytest.approx(laptop_sequence.fps)
    assert "yuv420p" in info["pix_fmt"]


def test_default_size_draws_table_inset_and_timeline(laptop_sequence):
    (frame,) = render_frames(laptop_sequence, frames=[5], backend="software")
    assert frame.shape == (DEFAULT_SIZE[1], DEFAULT_SIZE[0], 3) == (720, 1280, 3)
    plain = render_frames(laptop_sequence, frames=[5], backend="software", use_inset=False)[0]
    # The inset is the only difference, in the bottom-right corner, and it draws meshes.
    changed = np.abs(frame.astype(int) - plain.astype(int)).sum(-1) > 30
    rows, columns = np.nonzero(changed)
    assert rows.min() > 720 // 2 and columns.min() > 1280 * 2 // 3
    assert _meshes_drawn(frame[rows.min() :, columns.min() :]).sum() > 200
    # The table: the lower half is mostly warm grey (the table), not the cool sky colour.
    lower = plain[600:650, :800].astype(int).reshape(-1, 3)
    assert ((lower[:, 0] > lower[:, 2] + 8) | _meshes_drawn(lower)).mean() > 0.9


def test_captions_follow_segments(laptop_sequence):
    options = {"size": SMALL, "backend": "software", "use_inset": False, "frames": [0, 9, 10]}
    plain = render_frames(laptop_sequence, use_captions=False, **options)
    captioned = render_frames(laptop_sequence, **options)
    band = slice(0, 12)
    assert not np.array_equal(plain[0, band], captioned[0, band])
    # Frames 0 and 9 share a segment (same caption), frame 10 starts the next one.
    text = captioned[:, band, :200].astype(int).sum(-1) > 500  # white letters on the band
    assert np.array_equal(text[0], text[1]) and not np.array_equal(text[1], text[2])
    # The timeline at the bottom marks the current frame: it moves between frames 0 and 9.
    bottom = slice(SMALL[1] - 12, SMALL[1])
    assert not np.array_equal(captioned[0, bottom], captioned[1, bottom])


def test_camera_follows_hands_and_object(laptop_sequence):
    from openhoi.render._scene import scene_meshes

    scene = scene_meshes(laptop_sequence)
    cameras = follow_cameras(scene, laptop_sequence.active_hands, SMALL, laptop_sequence.fps)
    assert len(cameras) == laptop_sequence.num_frames
    for frame, camera in enumerate(cameras):
        uv, depth = camera.project(scene.vertices[frame])  # both hands and the laptop
        assert (depth > 0).all() and (uv >= 0).all() and (uv <= SMALL).all()
    # It moves with the hands, smoothly: the eye moves a little every frame, never a jump.
    eyes = np.array([-c.world_to_camera[:3, :3].T @ c.world_to_camera[:3, 3] for c in cameras])
    steps = np.linalg.norm(np.diff(eyes, axis=0), axis=1)
    assert steps.max() < 0.02 and np.linalg.norm(eyes[-1] - eyes[0]) > 1e-3


def test_contact_shading_colours_touch_and_penetration():
    from openhoi import HOISequence

    # The right hand pushed into a mug: skin turns green near it and red where inside.
    sequence = HOISequence.from_parameters(
        right_transl=np.tile([0.0, -0.035, 0.06], (2, 1)),
        active_hands=np.tile([False, True], (2, 1)),
        object_name="mug",
    )
    options = {"frames": [0], "backend": "software", "use_inset": False, "use_captions": False}
    counts = []
    for use_contact in (True, False):
        frame = render_frames(sequence, use_contact=use_contact, **options)[0].astype(int)
        r, g, b = frame[..., 0], frame[..., 1], frame[..., 2]
        red = (r > 150) & (g < 110) & (b < 110) & (r > g + 70)
        green = (g > r + 30) & (g > b + 20)
        counts.append((int(red.sum()), int(green.sum())))
    (red, green), (red_off, green_off) = counts
    assert red > 50 and green > 50 and red_off == 0 and green_off == 0, counts


def test_pyrender_backend_matches_framing(laptop_sequence):
    options = {"size": SMALL, "use_captions": False, "use_inset": False, "use_contact": False}
    try:
        frames = render_frames(laptop_sequence[:2], backend="pyrender", **options)
    except DependencyError as exc:
        pytest.skip(str(exc))
    software = render_frames(laptop_sequence[:2], backend="software", **options)
    assert frames.shape == software.shape
    drawn, drawn_software = _meshes_drawn(frames), _meshes_drawn(software)
    overlap = (drawn & drawn_software).sum() / max(drawn_software.sum(), 1)
    assert overlap > 0.8


def test_preview_bad_input(tmp_path, laptop_sequence):
    with pytest.raises(InputError, match=r"\.mp4"):
        render_preview(laptop_sequence, tmp_path / "preview.avi")
    with pytest.raises(InputError, match="even"):
        render_preview(laptop_sequence, tmp_path / "preview.mp4", size=(321, 240))
    with pytest.raises(InputError, match="backend"):
        render_preview(laptop_sequence, tmp_path / "preview.mp4", backend="vulkan")
    with pytest.raises(InputError, match="outside the sequence"):
        render_frames(laptop_sequence, frames=[20], size=SMALL)
    assert not any(tmp_path.iterdir())


def test_mp4_via_registry(tmp_path, laptop_sequence):
    path = export_sequence(laptop_sequence[:3], tmp_path, "mp4")
    assert path.name == "preview.mp4" and _read_video(path).shape[0] == 3


def test_static_objects_are_drawn_and_framed(laptop_sequence, cup_beside):
    from openhoi.render import auto_camera
    from openhoi.render._scene import scene_meshes

    sequence = laptop_sequence[:2]
    ((cup, pose),) = cup_beside
    cup_points = np.asarray(cup.mesh.vertices) @ pose[:3, :3].T + pose[:3, 3]
    # The follow camera keeps the static object in view too.
    scene = scene_meshes(sequence, static_objects=cup_beside)
    for camera in follow_cameras(scene, sequence.active_hands, SMALL, sequence.fps):
        uv, depth = camera.project(cup_points)
        assert (depth > 0).all() and (uv >= 0).all() and (uv <= SMALL).all()
    # Through one fixed camera seeing both, the cup adds object-coloured (bluish) pixels
    # inside its projection (the table shadow around it may change too), and it stays still.
    everything = np.concatenate([sequence.object_vertices().reshape(-1, 3), cup_points])
    camera = auto_camera(everything, SMALL)
    options = {"camera": camera, "size": SMALL, "backend": "software", "use_captions": False,
               "use_inset": False}  # fmt: skip
    without = render_frames(sequence, **options).astype(int)
    with_cup = render_frames(sequence, static_objects=cup_beside, **options).astype(int)
    bluish = (with_cup[..., 2] > with_cup[..., 0] + 15) & (np.abs(with_cup - without).sum(-1) > 30)
    assert bluish[0].sum() > 100
    np.testing.assert_array_equal(bluish[0], bluish[1])  # it stays still
    uv, _ = camera.project(cup_points)
    rows, columns = np.nonzero(bluish[0])
    assert uv[:, 0].min() - 2 <= columns.min() and columns.max() <= uv[:, 0].max() + 2
    assert uv[:, 1].min() - 2 <= rows.min() and rows.max() <= uv[:, 1].max() + 2


def test_mp4_via_registry_draws_static_objects(tmp_path, laptop_sequence, cup_beside):
    sequence = laptop_sequence[:2]
    plain = _read_video(export_sequence(sequence, tmp_path / "plain.mp4", "mp4")).astype(int)
    scene = export_sequence(sequence, tmp_path / "scene.mp4", "mp4", static_objects=cup_beside)
    frames = _read_video(scene).astype(int)
    assert frames.shape == plain.shape
    assert (np.abs(frames - plain).sum(-1) > 30).mean() > 0.005
