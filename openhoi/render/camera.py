"""A pinhole camera and automatic framing of a sequence.

Convention (OpenCV): camera x right, y down, z forward (the viewing direction); pixel
(0, 0) is the top-left corner of the top-left pixel, so pixel `(i, j)` has its centre at
`(i + 0.5, j + 0.5)`. World points are openhoi's frame (metres, z up).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from openhoi.errors import InputError

__all__ = ["Camera", "auto_camera"]

# Default view: from the front-right and above the scene (world z up), 35° vertical field of view.
DEFAULT_VIEW_DIRECTION = (0.45, -1.0, 0.65)
DEFAULT_FOV_Y_DEG = 35.0
# Extra room around the bounding sphere of the scene.
FRAMING_MARGIN = 1.08


@dataclass(frozen=True)
class Camera:
    """A pinhole camera with square pixels and the principal point at the image centre.

    Attributes:
        world_to_camera: `(4, 4)` rigid transform, world (z up) → camera (OpenCV axes).
        focal_px: focal length in pixels.
        width: image width in pixels.
        height: image height in pixels.
    """

    world_to_camera: np.ndarray
    focal_px: float
    width: int
    height: int

    @property
    def intrinsics(self) -> np.ndarray:
        """`(3, 3)` matrix K: `[[f, 0, W/2], [0, f, H/2], [0, 0, 1]]`."""
        return np.array(
            [
                [self.focal_px, 0.0, self.width / 2.0],
                [0.0, self.focal_px, self.height / 2.0],
                [0.0, 0.0, 1.0],
            ]
        )

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """`(..., 3)` world points → camera-frame points (metres, z = depth)."""
        rotation = self.world_to_camera[:3, :3]
        return np.asarray(points, np.float64) @ rotation.T + self.world_to_camera[:3, 3]

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`(..., 3)` world points → `(..., 2)` pixels (u right, v down), `(...)` depth (m)."""
        camera = self.to_camera(points)
        depth = camera[..., 2]
        safe = np.where(np.abs(depth) < 1e-9, 1e-9, depth)
        uv = self.focal_px * camera[..., :2] / safe[..., None]
        uv += (self.width / 2.0, self.height / 2.0)
        return uv, depth

    def to_dict(self) -> dict:
        """JSON-ready description (intrinsics, world_to_camera, size, convention)."""
        return {
            "convention": "OpenCV: x right, y down, z forward; world z up, metres",
            "width": self.width,
            "height": self.height,
            "intrinsics": self.intrinsics.tolist(),
            "world_to_camera": np.asarray(self.world_to_camera).tolist(),
        }


def auto_camera(
    points: np.ndarray,
    size: tuple[int, int] = (320, 240),
    *,
    view_direction: tuple[float, float, float] = DEFAULT_VIEW_DIRECTION,
    fov_y_deg: float = DEFAULT_FOV_Y_DEG,
) -> Camera:
    """A camera that sees every point of `points`, looking at their bounding-box centre.

    Args:
        points: `(N, 3)` world points (metres, z up) to keep in view.
        size: `(width, height)` pixels.
        view_direction: direction from the scene centre towards the camera (world frame).
        fov_y_deg: vertical field of view, degrees.

    Returns:
        The camera, fixed for the whole sequence.

    Raises:
        InputError: bad size or no finite points.
    """
    width, height = (int(v) for v in size)
    if width < 16 or height < 16:
        raise InputError(f"image size must be at least 16×16 pixels, got {size}")
    points = np.asarray(points, np.float64).reshape(-1, 3)
    points = points[np.isfinite(points).all(axis=1)]
    if points.size == 0:
        raise InputError("cannot frame a camera on an empty scene (no finite points)")
    low, high = points.min(axis=0), points.max(axis=0)
    center = (low + high) / 2.0
    radius = max(float(np.linalg.norm(points - center, axis=1).max()), 0.05)
    focal = height / 2.0 / np.tan(np.radians(fov_y_deg) / 2.0)
    half_fov = np.arctan(min(width, height) / 2.0 / focal)
    distance = FRAMING_MARGIN * radius / np.sin(half_fov)
    back = np.asarray(view_direction, np.float64)
    back /= np.linalg.norm(back)
    eye = center + distance * back
    forward = -back
    right = np.cross(forward, (0.0, 0.0, 1.0))
    if np.linalg.norm(right) < 1e-6:  # looking straight down or up
        right = np.array([1.0, 0.0, 0.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rotation = np.stack([right, down, forward])
    world_to_camera = np.eye(4)
    world_to_camera[:3, :3] = rotation
    world_to_camera[:3, 3] = -rotation @ eye
    return Camera(
        world_to_camera=world_to_camera, focal_px=float(focal), width=width, height=height
    )
