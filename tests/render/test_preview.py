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
