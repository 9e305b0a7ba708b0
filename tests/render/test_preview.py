"""Preview videos: a real H.264 mp4 with one frame per sequence frame and captions."""

from __future__ import annotations

import numpy as np
import pytest

from openhoi.errors import DependencyError, InputError
from openhoi.export import export_sequence
from openhoi.render import render_frames, render_preview


def _read_video(path) -> np.ndarray:
    import imageio.v3 as iio

    return iio.imread(path)


def test_preview_mp4_has_every_frame(tmp_path, laptop_sequence):
    path = render_preview(laptop_sequence, tmp_path / "preview.mp4", backend="software")
    frames = _read_video(path)
    assert frames.shape == (laptop_sequence.num_frames, 240, 320, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["preview.mp4"]  # no temp files left
    # Hands and object are drawn: many pixels differ from the flat background.
    background = frames[0, 120, 2].astype(int)
    assert (np.abs(frames[0].astype(int) - background).sum(-1) > 30).mean() > 0.02
    import imageio_ffmpeg

    info = imageio_ffmpeg.read_frames(str(path)).__next__()
    assert info["codec"] == "h264" and info["fps"] == pytest.approx(laptop_sequence.fps)
    assert "yuv420p" in info["pix_fmt"]


def test_captions_follow_segments(laptop_sequence):
    plain = render_frames(laptop_sequence, backend="software", use_captions=False)
    captioned = render_frames(laptop_sequence, backend="software")
    band = slice(0, 12)
    assert not np.array_equal(plain[0, band], captioned[0, band])
    # Frames 0 and 9 share a segment (same caption), frame 10 starts the next one.
    assert np.array_equal(captioned[0, band, :200] != plain[0, band, :200],
                          captioned[9, band, :200] != plain[9, band, :200])  # fmt: skip
    assert not np.array_equal(captioned[9, band], captioned[10, band])


def test_pyrender_backend_matches_framing(laptop_sequence):
    try:
        frames = render_frames(laptop_sequence[:2], backend="pyrender", use_captions=False)
    except DependencyError as exc:
        pytest.skip(str(exc))
    software = render_frames(laptop_sequence[:2], backend="software", use_captions=False)
    assert frames.shape == software.shape
    drawn = np.abs(frames.astype(int) - frames[0, 0, 0]).sum(-1) > 30
    drawn_software = np.abs(software.astype(int) - software[0, 0, 0]).sum(-1) > 30
    overlap = (drawn & drawn_software).sum() / max(drawn_software.sum(), 1)
    assert overlap > 0.8


def test_preview_bad_input(tmp_path, laptop_sequence):
    with pytest.raises(InputError, match=r"\.mp4"):
        render_preview(laptop_sequence, tmp_path / "preview.avi")
    with pytest.raises(InputError, match="even"):
        render_preview(laptop_sequence, tmp_path / "preview.mp4", size=(321, 240))
    with pytest.raises(InputError, match="backend"):
        render_preview(laptop_sequence, tmp_path / "preview.mp4", backend="vulkan")
    assert not any(tmp_path.iterdir())


def test_mp4_via_registry(tmp_path, laptop_sequence):
    path = export_sequence(laptop_sequence[:3], tmp_path, "mp4")
    assert path.name == "preview.mp4" and _read_video(path).shape[0] == 3


def test_static_objects_are_drawn_and_framed(laptop_sequence, cup_beside):
    from openhoi.render import auto_camera

    sequence = laptop_sequence[:2]
    ((cup, pose),) = cup_beside
    cup_points = np.asarray(cup.mesh.vertices) @ pose[:3, :3].T + pose[:3, 3]
    # The automatic framing keeps the static object in view: it frames hands, object and cup.
    assert sequence.active_hands.all()
    scene_points = np.concatenate(
        [sequence.hand_vertices("left").reshape(-1, 3),
         sequence.hand_vertices("right").reshape(-1, 3),
         sequence.object_vertices().reshape(-1, 3), cup_points]
    )  # fmt: skip
    framing = auto_camera(scene_points, (320, 240))
    uv, depth = framing.project(cup_points)
    assert (depth > 0).all() and (uv >= 0).all() and (uv < (320, 240)).all()
    framed = render_frames(sequence, static_objects=cup_beside, backend="software",
                           use_captions=False)  # fmt: skip
    np.testing.assert_array_equal(
        framed,
        render_frames(sequence, static_objects=cup_beside, camera=framing, backend="software",
                      use_captions=False),
    )  # fmt: skip
    # Through one fixed camera seeing both, the cup adds object-coloured (bluish) pixels
    # inside its projection, and nothing else changes.
    everything = np.concatenate([sequence.object_vertices().reshape(-1, 3), cup_points])
    camera = auto_camera(everything, (320, 240))
    options = {"camera": camera, "backend": "software", "use_captions": False}
    without = render_frames(sequence, **options).astype(int)
    with_cup = render_frames(sequence, static_objects=cup_beside, **options).astype(int)
    changed = np.abs(with_cup - without).sum(-1) > 30  # (T, H, W)
    assert changed[0].sum() > 100
    np.testing.assert_array_equal(changed[0], changed[1])  # it stays still
    uv, _ = camera.project(cup_points)
    u, v = uv[:, 0], uv[:, 1]
    rows, columns = np.nonzero(changed[0])
    assert u.min() - 1 <= columns.min() and columns.max() <= u.max() + 1
    assert v.min() - 1 <= rows.min() and rows.max() <= v.max() + 1
    red, blue = with_cup[0][changed[0]][:, 0], with_cup[0][changed[0]][:, 2]
    assert (blue > red).mean() > 0.95


def test_mp4_via_registry_draws_static_objects(tmp_path, laptop_sequence, cup_beside):
    sequence = laptop_sequence[:2]
    plain = _read_video(export_sequence(sequence, tmp_path / "plain.mp4", "mp4")).astype(int)
    scene = export_sequence(sequence, tmp_path / "scene.mp4", "mp4", static_objects=cup_beside)
    frames = _read_video(scene).astype(int)
    assert frames.shape == plain.shape
    assert (np.abs(frames - plain).sum(-1) > 30).mean() > 0.01
