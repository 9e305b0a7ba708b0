"""Drawing helpers for condition packs: colour maps, OpenPose hand skeletons, video writers."""

from __future__ import annotations

import colorsys
import contextlib
import os
from pathlib import Path

import numpy as np

from openhoi.errors import DependencyError

# OpenPose hand keypoint order: wrist, then thumb, index, middle, ring, pinky (base to tip).
# Entry i is the openhoi keypoint index (16 MANO joints, then index/middle/pinky/ring/thumb
# tips) of OpenPose keypoint i.
OPENPOSE_FROM_OPENHOI = (0, 13, 14, 15, 20, 1, 2, 3, 16, 4, 5, 6, 17, 10, 11, 12, 19, 7, 8, 9, 18)
# The 20 OpenPose hand bones, as (OpenPose keypoint, OpenPose keypoint).
OPENPOSE_EDGES = tuple(
    (0 if joint % 4 == 0 else finger * 4 + joint % 4, finger * 4 + joint % 4 + 1)
    for finger in range(5)
    for joint in range(4)
)
# Bone i is drawn in hue i / 20 (full saturation and value), keypoints in blue: the colours of
# the OpenPose hand renders that pose-conditioned image and video models are trained on.
OPENPOSE_EDGE_COLORS = tuple(
    tuple(round(255 * c) for c in colorsys.hsv_to_rgb(i / len(OPENPOSE_EDGES), 1.0, 1.0))
    for i in range(len(OPENPOSE_EDGES))
)
OPENPOSE_POINT_COLOR = (0, 0, 255)


def draw_openpose_hands(
    keypoints: np.ndarray, drawable: np.ndarray, size: tuple[int, int]
) -> np.ndarray:
    """`(H, W, 3)` uint8 black image with the OpenPose skeleton of each hand.

    Args:
        keypoints: `(N, 21, 2)` pixel coordinates in openhoi keypoint order.
        drawable: `(N, 21)` bool, keypoints to draw (a bone needs both ends).
        size: `(width, height)` pixels.
    """
    from PIL import Image, ImageDraw

    width, height = size
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    line_width = max(2, round(height / 240))
    radius = max(2, round(height / 160))
    for hand, ok in zip(keypoints, drawable, strict=True):
        points = hand[list(OPENPOSE_FROM_OPENHOI)]
        ok = ok[list(OPENPOSE_FROM_OPENHOI)]
        for (a, b), color in zip(OPENPOSE_EDGES, OPENPOSE_EDGE_COLORS, strict=True):
            if ok[a] and ok[b]:
                draw.line([tuple(points[a]), tuple(points[b])], fill=color, width=line_width)
        for point, is_drawn in zip(points, ok, strict=True):
            if is_drawn:
                u, v = point
                draw.ellipse(
                    [u - radius, v - radius, u + radius, v + radius], fill=OPENPOSE_POINT_COLOR
                )
    return np.asarray(image)


def depth_to_gray(depth: np.ndarray, low: float, high: float) -> np.ndarray:
    """`(H, W)` uint8: nearest surface 255, farthest 48, background 0 (depth 0)."""
    scale = 1.0 / max(high - low, 1e-6)
    gray = 255.0 - 207.0 * np.clip((depth - low) * scale, 0.0, 1.0)
    return np.where(depth > 0, gray, 0.0).astype(np.uint8)


def instance_palette(count: int) -> np.ndarray:
    """`(count, 3)` uint8 distinct colours; id 0 (background) black."""
    palette = np.zeros((max(count, 1), 3), np.uint8)
    fixed = (
        (0, 0, 0),
        (230, 120, 80),
        (80, 160, 230),
        (120, 200, 90),
        (220, 90, 200),
        (240, 220, 70),
        (70, 215, 215),
        (150, 100, 230),
    )
    for index in range(count):
        if index < len(fixed):
            palette[index] = fixed[index]
        else:
            hue = (0.13 + 0.61803 * index) % 1.0
            palette[index] = [int(255 * c) for c in colorsys.hsv_to_rgb(hue, 0.7, 0.95)]
    return palette


class VideoWriter:
    """H.264 (yuv420p) MP4 fed frame by frame; ffmpeg encodes in its own process."""

    def __init__(self, path: Path, size: tuple[int, int], fps: float) -> None:
        try:
            import imageio_ffmpeg
        except ImportError as exc:
            raise DependencyError(
                "writing condition videos needs the package 'imageio-ffmpeg'; install it with: "
                "pip install imageio-ffmpeg"
            ) from exc
        self.path = path
        self._writer = imageio_ffmpeg.write_frames(
            os.fspath(path),
            size,
            fps=float(fps),
            codec="libx264",
            pix_fmt_in="rgb24",
            pix_fmt_out="yuv420p",
            macro_block_size=2,
            ffmpeg_log_level="error",
            output_params=["-preset", "ultrafast", "-crf", "18", "-movflags", "+faststart"],
        )
        self._writer.send(None)

    def write(self, image: np.ndarray) -> None:
        """Append one `(H, W, 3)` uint8 frame (a `(H, W)` gray frame is repeated to RGB)."""
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=2)
        self._writer.send(np.ascontiguousarray(image))

    def close(self) -> None:
        """Finish the file (raises if ffmpeg failed)."""
        self._writer.close()

    def abort(self) -> None:
        """Stop ffmpeg after an error elsewhere; the caller discards the file."""
        with contextlib.suppress(Exception):
            self._writer.close()
