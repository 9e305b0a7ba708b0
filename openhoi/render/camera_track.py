"""Per-frame cameras for condition packs: third-person, orbit, egocentric, or a user file.

A `CameraTrack` is one intrinsics matrix K and one world → camera transform per frame, in
OpenCV's convention (camera x right, y down, z forward; pixel (0, 0) is the top-left corner
of the top-left pixel, so pixel `(i, j)` has its centre at `(i + 0.5, j + 0.5)`), for a world
in openhoi's frame (metres, z up). A world point X projects as `x = K (R X + t)`,
`(u, v) = (x_0 / x_2, x_1 / x_2)`.

`camera.json` (written by `render_pack`, read by `CameraTrack.load`):

    {"convention": "...", "width": W, "height": H, "near": m, "far": m, "fps": f,
     "K": [[fx, 0, cx], [0, fy, cy], [0, 0, 1]],
     "R": [T × 3 × 3 world → camera rotations], "t": [T × 3 translations, metres]}

A user file may hold one R|t (a fixed camera) or one per frame of the clip.

Makers (all deterministic given `seed`):

- `third_person_track`: a fixed camera in front of and above the scene, azimuth and
  elevation jittered by the seed, distance chosen so the bounding sphere of every hand and
  object point of the clip stays in view.
- `orbit_track`: circles the scene's centre at a fixed elevation (`ORBIT_PERIOD_S` per
  turn, start azimuth from the seed), at the distance that keeps the bounding sphere in view.
- `ego_track`: a head-mounted camera. The head sits `EGO_BACK_M` behind (along the mean
  forearm direction, wrist minus middle-finger base, made horizontal) and `EGO_UP_M` above the
  action's centre and looks at it; small head motion (sums of slow sinusoids, amplitude
  `EGO_SWAY_M` and `EGO_SWAY_DEG`) is drawn from the seed; the focal length is reduced
  when needed so every point of the clip stays in view.

Third person and orbit then fit the focal length so that the clip's points fill the image up
to a border (`BORDER_FRACTION`); every camera keeps every point in view in every frame.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from openhoi.errors import InputError, MissingFileError

__all__ = [
    "CAMERA_MODES",
    "CameraTrack",
    "ego_track",
    "look_at",
    "orbit_track",
    "third_person_track",
]

CAMERA_MODES = ("third", "orbit", "ego")
CONVENTION = (
    "OpenCV: camera x right, y down, z forward; x = K (R X + t); pixel (0, 0) is the top-left "
    "corner of the image; world z up, metres"
)
# Depth range written to camera.json; surfaces outside it are background.
DEFAULT_NEAR_M = 0.01
DEFAULT_FAR_M = 10.0
# Third person: base view direction (scene centre → camera) and the seed's jitter.
THIRD_VIEW_DIRECTION = (0.45, -1.0, 0.65)
THIRD_FOV_Y_DEG = 35.0
THIRD_AZIMUTH_JITTER_DEG = 30.0
THIRD_ELEVATION_JITTER_DEG = 8.0
# Extra room around the bounding sphere of the scene.
FRAMING_MARGIN = 1.08
# Orbit: elevation above the horizontal and the time for one full turn.
ORBIT_ELEVATION_DEG = 30.0
ORBIT_PERIOD_S = 12.0
ORBIT_FOV_Y_DEG = 35.0
# Egocentric: head position relative to the action centre, field of view, head motion.
EGO_BACK_M = 0.35
EGO_UP_M = 0.45
EGO_FOV_Y_DEG = 60.0
EGO_SWAY_M = 0.008
EGO_SWAY_DEG = 1.2
EGO_SWAY_HZ = (0.15, 0.6)
# Free border kept around the scene when the focal length is fitted, as a fraction of the
# image height; third person and orbit zoom in at most MAX_ZOOM times the nominal focal
# length, the egocentric camera only zooms out (its nominal field of view is a headset's).
BORDER_FRACTION = 0.06
MAX_ZOOM = 3.0
# Tolerance for a user rotation matrix to count as a rotation.
ROTATION_TOLERANCE = 1e-4
MIN_SIZE_PX = 16


@dataclass(frozen=True)
class CameraTrack:
    """A pinhole camera per frame (OpenCV convention, see the module docstring).

    Attributes:
        intrinsics: `(3, 3)` float64 K, the same for every frame.
        rotation: `(T, 3, 3)` float64 world → camera rotations R.
        translation: `(T, 3)` float64 world → camera translations t, metres.
        width: image width, pixels.
        height: image height, pixels.
        near_m: nearest depth drawn, metres.
        far_m: farthest depth drawn, metres.
    """

    intrinsics: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray
    width: int
    height: int
    near_m: float = DEFAULT_NEAR_M
    far_m: float = DEFAULT_FAR_M

    @property
    def num_frames(self) -> int:
        """T, the number of frames."""
        return len(self.rotation)

    @property
    def world_to_camera(self) -> np.ndarray:
        """`(T, 4, 4)` homogeneous world → camera transforms."""
        out = np.zeros((self.num_frames, 4, 4))
        out[:, :3, :3] = self.rotation
        out[:, :3, 3] = self.translation
        out[:, 3, 3] = 1.0
        return out

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """`(T, ..., 3)` world points → camera-frame points (metres, z = depth)."""
        points = np.asarray(points, np.float64)
        flat = points.reshape(len(points), -1, 3)
        out = np.einsum("tij,tpj->tpi", self.rotation, flat) + self.translation[:, None]
        return out.reshape(points.shape)

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`(T, ..., 3)` world points → `(T, ..., 2)` pixels (u right, v down), `(T, ...)` depth."""
        camera = self.to_camera(points)
        depth = camera[..., 2]
        safe = np.where(np.abs(depth) < 1e-12, 1e-12, depth)
        k = self.intrinsics
        u = k[0, 0] * camera[..., 0] / safe + k[0, 1] * camera[..., 1] / safe + k[0, 2]
        v = k[1, 1] * camera[..., 1] / safe + k[1, 2]
        return np.stack([u, v], axis=-1), depth

    def at(self, index: int) -> CameraTrack:
        """The one-frame track of frame `index`."""
        return CameraTrack(
            intrinsics=self.intrinsics,
            rotation=self.rotation[index : index + 1],
            translation=self.translation[index : index + 1],
            width=self.width,
            height=self.height,
            near_m=self.near_m,
            far_m=self.far_m,
        )

    def for_frames(self, num_frames: int, where: str = "camera") -> CameraTrack:
        """This track for a clip of `num_frames`: a fixed camera is repeated."""
        if self.num_frames == num_frames:
            return self
        if self.num_frames != 1:
            raise InputError(
                f"{where} holds {self.num_frames} camera poses; a clip of {num_frames} frames "
                "needs one pose (a fixed camera) or exactly one per frame"
            )
        return CameraTrack(
            intrinsics=self.intrinsics,
            rotation=np.repeat(self.rotation, num_frames, axis=0),
            translation=np.repeat(self.translation, num_frames, axis=0),
            width=self.width,
            height=self.height,
            near_m=self.near_m,
            far_m=self.far_m,
        )

    def to_dict(self, fps: float | None = None) -> dict:
        """The camera.json content (see the module docstring)."""
        data = {
            "convention": CONVENTION,
            "width": self.width,
            "height": self.height,
            "near": self.near_m,
            "far": self.far_m,
            "K": self.intrinsics.tolist(),
            "R": self.rotation.tolist(),
            "t": self.translation.tolist(),
        }
        if fps is not None:
            data["fps"] = float(fps)
        return data

    @classmethod
    def from_dict(cls, data: object, where: str = "camera") -> CameraTrack:
        """Read and check a camera.json dict; `where` names it in errors.

        Raises:
            InputError: a missing key, a wrong shape, a non-finite value, a K that is not a
                pinhole matrix, an R that is not a rotation, or a bad size or depth range.
        """
        if not isinstance(data, dict):
            raise InputError(f"{where}: expected a JSON object, got {type(data).__name__}")
        missing = [key for key in ("width", "height", "K", "R", "t") if key not in data]
        if missing:
            raise InputError(
                f"{where}: missing key(s) {', '.join(missing)}; a camera file holds width, "
                "height, K (3x3), R (T x 3 x 3 or 3 x 3), t (T x 3 or 3), optional near/far"
            )
        width, height = _int_field(data, "width", where), _int_field(data, "height", where)
        k = _float_array(data["K"], "K", where)
        if k.shape != (3, 3):
            raise InputError(f"{where}: K must be 3x3, got shape {k.shape}")
        if k[0, 0] <= 0 or k[1, 1] <= 0 or np.any(k[1:, 0] != 0) or np.any(k[2] != (0, 0, 1)):
            raise InputError(
                f"{where}: K must be [[fx, s, cx], [0, fy, cy], [0, 0, 1]] with fx, fy > 0, "
                f"got {k.tolist()}"
            )
        rotation = _float_array(data["R"], "R", where)
        translation = _float_array(data["t"], "t", where)
        if rotation.shape == (3, 3):
            rotation = rotation[None]
        if translation.shape == (3,):
            translation = translation[None]
        if rotation.ndim != 3 or rotation.shape[1:] != (3, 3) or len(rotation) == 0:
            raise InputError(f"{where}: R must be 3x3 or T x 3 x 3, got shape {rotation.shape}")
        if translation.shape != (len(rotation), 3):
            raise InputError(
                f"{where}: t must be {len(rotation)} x 3 to match R, got shape {translation.shape}"
            )
        gram = rotation @ rotation.transpose(0, 2, 1)
        is_rotation = np.abs(gram - np.eye(3)).max(axis=(1, 2)) < ROTATION_TOLERANCE
        is_rotation &= np.linalg.det(rotation) > 0
        if not is_rotation.all():
            frame = int(np.flatnonzero(~is_rotation)[0])
            raise InputError(f"{where}: R[{frame}] is not a rotation matrix (orthonormal, det +1)")
        near = float(data.get("near", DEFAULT_NEAR_M))
        far = float(data.get("far", DEFAULT_FAR_M))
        if not (math.isfinite(near) and math.isfinite(far) and 0 < near < far):
            raise InputError(f"{where}: need 0 < near < far (metres), got near={near}, far={far}")
        return cls(k, rotation, translation, width, height, near, far)

    def save(self, path: str | os.PathLike, fps: float | None = None) -> Path:
        """Write camera.json (plain write; the pack writer renames its whole folder)."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(fps), indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> CameraTrack:
        """Read a camera.json file.

        Raises:
            MissingFileError: no such file.
            InputError: not JSON, or not a valid camera (`from_dict`).
        """
        path = Path(path)
        if not path.is_file():
            raise MissingFileError(f"camera file {str(path)!r} does not exist")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"camera file {str(path)!r} is not valid JSON: {exc}") from exc
        return cls.from_dict(data, where=f"camera file {str(path)!r}")


def _int_field(data: dict, key: str, where: str) -> int:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < MIN_SIZE_PX:
        raise InputError(f"{where}: {key} must be an integer >= {MIN_SIZE_PX}, got {value!r}")
    return value


def _float_array(value: object, key: str, where: str) -> np.ndarray:
    try:
        array = np.asarray(value, np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: {key} must be an array of numbers") from exc
    if not np.isfinite(array).all():
        raise InputError(f"{where}: {key} holds non-finite values")
    return array


def look_at(eye: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World → camera R `(..., 3, 3)`, t `(..., 3)` of cameras at `eye` looking at `target`.

    The camera's x axis stays horizontal (world z up); looking straight down, x is world x.
    """
    eye, target = np.asarray(eye, np.float64), np.asarray(target, np.float64)
    forward = target - eye
    forward /= np.linalg.norm(forward, axis=-1, keepdims=True)
    right = np.cross(forward, (0.0, 0.0, 1.0))
    norm = np.linalg.norm(right, axis=-1, keepdims=True)
    right = np.where(norm < 1e-6, (1.0, 0.0, 0.0), right / np.maximum(norm, 1e-12))
    down = np.cross(forward, right)
    rotation = np.stack([right, down, forward], axis=-2)
    translation = -np.einsum("...ij,...j->...i", rotation, eye)
    return rotation, translation


def _intrinsics(size: tuple[int, int], fov_y_deg: float) -> np.ndarray:
    width, height = size
    focal = height / 2.0 / math.tan(math.radians(fov_y_deg) / 2.0)
    return np.array([[focal, 0.0, width / 2.0], [0.0, focal, height / 2.0], [0.0, 0.0, 1.0]])


def _check_inputs(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    width, height = size
    if width < MIN_SIZE_PX or height < MIN_SIZE_PX:
        raise InputError(f"image size must be at least {MIN_SIZE_PX}x{MIN_SIZE_PX}, got {size}")
    points = np.asarray(points, np.float64)
    if points.ndim != 3 or points.shape[-1] != 3 or points.shape[1] == 0:
        raise InputError(f"points must be (T, P, 3) with P > 0, got shape {points.shape}")
    if not np.isfinite(points).all():
        raise InputError("cannot frame a camera on non-finite points")
    return points


def _bounding_sphere(points: np.ndarray) -> tuple[np.ndarray, float]:
    flat = points.reshape(-1, 3)
    center = (flat.min(axis=0) + flat.max(axis=0)) / 2.0
    return center, max(float(np.linalg.norm(flat - center, axis=1).max()), 0.05)


def _fit_distance(radius: float, intrinsics: np.ndarray, size: tuple[int, int]) -> float:
    """Distance at which a sphere of `radius` fits the narrower image side (with margin)."""
    half_fov = math.atan(min(size) / 2.0 / intrinsics[1, 1])
    return FRAMING_MARGIN * radius / math.sin(half_fov)


def _track(intrinsics, rotation, translation, size, radius, distance) -> CameraTrack:
    far = max(DEFAULT_FAR_M, 2.0 * (distance + radius))
    return CameraTrack(
        intrinsics=intrinsics,
        rotation=np.asarray(rotation, np.float64),
        translation=np.asarray(translation, np.float64),
        width=int(size[0]),
        height=int(size[1]),
        near_m=DEFAULT_NEAR_M,
        far_m=far,
    )


def _fit_focal(
    intrinsics: np.ndarray, rotation, translation, points: np.ndarray, size, border_px: float
) -> np.ndarray:
    """K with the focal length that puts every point inside the image, `border_px` from the
    edges, in every frame (never longer than `intrinsics`' own focal length times
    `MAX_ZOOM`).

    Raises:
        InputError: a point at or behind the near plane of some frame.
    """
    local = np.einsum("tij,tpj->tpi", rotation, points) + translation[:, None]
    if (local[..., 2] <= DEFAULT_NEAR_M).any():
        raise InputError(
            f"the camera ends up inside the scene (a point closer than {DEFAULT_NEAR_M} m); "
            "use another --camera"
        )
    tan_x = np.abs(local[..., 0] / local[..., 2]).max()
    tan_y = np.abs(local[..., 1] / local[..., 2]).max()
    focal = min(
        MAX_ZOOM * intrinsics[0, 0],
        (size[0] / 2.0 - border_px) / max(tan_x, 1e-9),
        (size[1] / 2.0 - border_px) / max(tan_y, 1e-9),
    )
    out = intrinsics.copy()
    out[0, 0] = out[1, 1] = focal
    return out


def _rotate_z(vector: np.ndarray, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([c * vector[0] - s * vector[1], s * vector[0] + c * vector[1], vector[2]])


def third_person_track(points: np.ndarray, size: tuple[int, int], *, seed: int = 0) -> CameraTrack:
    """A fixed camera that keeps every point of the clip in view.

    Args:
        points: `(T, P, 3)` world points to keep in view in every frame (hands, object).
        size: `(width, height)` pixels.
        seed: picks the azimuth and elevation jitter around `THIRD_VIEW_DIRECTION`.
    """
    points = _check_inputs(points, size)
    rng = np.random.default_rng(seed)
    azimuth = math.radians(rng.uniform(-1.0, 1.0) * THIRD_AZIMUTH_JITTER_DEG)
    elevation = math.radians(rng.uniform(-1.0, 1.0) * THIRD_ELEVATION_JITTER_DEG)
    direction = np.asarray(THIRD_VIEW_DIRECTION, np.float64)
    horizontal = math.hypot(direction[0], direction[1])
    pitch = math.atan2(direction[2], horizontal) + elevation
    heading = math.atan2(direction[1], direction[0]) + azimuth
    back = np.array(
        [math.cos(pitch) * math.cos(heading), math.cos(pitch) * math.sin(heading), math.sin(pitch)]
    )
    center, radius = _bounding_sphere(points)
    intrinsics = _intrinsics(size, THIRD_FOV_Y_DEG)
    distance = _fit_distance(radius, intrinsics, size)
    rotation, translation = look_at(center + distance * back, center)
    num_frames = len(points)
    rotation = np.repeat(rotation[None], num_frames, 0)
    translation = np.repeat(translation[None], num_frames, 0)
    border = BORDER_FRACTION * size[1]
    intrinsics = _fit_focal(intrinsics, rotation, translation, points, size, border)
    return _track(intrinsics, rotation, translation, size, radius, distance)


def orbit_track(
    points: np.ndarray, size: tuple[int, int], *, fps: float, seed: int = 0
) -> CameraTrack:
    """A camera circling the scene's centre, one turn per `ORBIT_PERIOD_S`.

    Args:
        points: `(T, P, 3)` world points to keep in view.
        size: `(width, height)` pixels.
        fps: frames per second of the clip (sets the angular step).
        seed: picks the start azimuth.
    """
    points = _check_inputs(points, size)
    rng = np.random.default_rng(seed)
    start = rng.uniform(0.0, 2.0 * math.pi)
    center, radius = _bounding_sphere(points)
    intrinsics = _intrinsics(size, ORBIT_FOV_Y_DEG)
    distance = _fit_distance(radius, intrinsics, size)
    azimuth = start + 2.0 * math.pi * np.arange(len(points)) / (fps * ORBIT_PERIOD_S)
    elevation = math.radians(ORBIT_ELEVATION_DEG)
    eye = center + distance * np.stack(
        [
            math.cos(elevation) * np.cos(azimuth),
            math.cos(elevation) * np.sin(azimuth),
            np.full(len(azimuth), math.sin(elevation)),
        ],
        axis=1,
    )
    rotation, translation = look_at(eye, np.broadcast_to(center, eye.shape))
    border = BORDER_FRACTION * size[1]
    intrinsics = _fit_focal(intrinsics, rotation, translation, points, size, border)
    return _track(intrinsics, rotation, translation, size, radius, distance)


def _smooth_noise(rng: np.random.Generator, times: np.ndarray, amplitude: float) -> np.ndarray:
    """`(T, 3)` smooth zero-mean wobble: per axis, a sum of three slow sinusoids."""
    out = np.zeros((len(times), 3))
    for axis in range(3):
        frequency = rng.uniform(*EGO_SWAY_HZ, size=3)
        phase = rng.uniform(0.0, 2.0 * math.pi, size=3)
        weight = rng.uniform(0.5, 1.0, size=3)
        wave = (weight * np.sin(2.0 * math.pi * frequency * times[:, None] + phase)).sum(1)
        out[:, axis] = amplitude * wave / weight.sum()
    return out


def _small_rotations(angles: np.ndarray) -> np.ndarray:
    """`(T, 3)` small angles (radians, about camera x, y, z) → `(T, 3, 3)` rotations."""
    out = np.zeros((len(angles), 3, 3))
    for index, (ax, ay, az) in enumerate(angles):
        cx, sx, cy, sy, cz, sz = (
            math.cos(ax),
            math.sin(ax),
            math.cos(ay),
            math.sin(ay),
            math.cos(az),
            math.sin(az),
        )
        rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
        ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
        rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
        out[index] = rz @ ry @ rx
    return out


def ego_track(
    points: np.ndarray,
    hand_joints: np.ndarray,
    size: tuple[int, int],
    *,
    fps: float,
    seed: int = 0,
) -> CameraTrack:
    """A head-mounted camera behind and above the hands, looking at the action.

    Args:
        points: `(T, P, 3)` world points to keep in view (hands, object).
        hand_joints: `(T, H, 21, 3)` keypoints of the hands that act (H ≥ 1; MANO order:
            joint 0 the wrist, joint 4 the middle finger's base).
        size: `(width, height)` pixels.
        fps: frames per second of the clip (sets the head motion's speed).
        seed: draws the head motion.
    """
    points = _check_inputs(points, size)
    hand_joints = np.asarray(hand_joints, np.float64)
    rng = np.random.default_rng(seed)
    center, radius = _bounding_sphere(points)
    # 1. The body is where the forearms point: from the middle finger's base to the wrist.
    forearm = (hand_joints[..., 0, :] - hand_joints[..., 4, :]).reshape(-1, 3).mean(axis=0)
    forearm[2] = 0.0
    if np.linalg.norm(forearm) < 1e-6:
        forearm = -np.asarray(THIRD_VIEW_DIRECTION, np.float64)
        forearm[2] = 0.0
    back = forearm / np.linalg.norm(forearm)
    head = center + EGO_BACK_M * back + np.array([0.0, 0.0, EGO_UP_M])
    # 2. Small natural head motion: translation sway and a wobble of the gaze.
    times = np.arange(len(points)) / fps
    eye = head + _smooth_noise(rng, times, EGO_SWAY_M)
    rotation, translation = look_at(eye, np.broadcast_to(center, eye.shape))
    wobble = _small_rotations(_smooth_noise(rng, times, math.radians(EGO_SWAY_DEG)))
    rotation = wobble @ rotation
    translation = -np.einsum("tij,tj->ti", rotation, eye)
    # 3. Widen the view if the clip's points leave the headset's field of view.
    nominal = _intrinsics(size, EGO_FOV_Y_DEG)
    fitted = _fit_focal(nominal, rotation, translation, points, size, BORDER_FRACTION * size[1])
    intrinsics = nominal if fitted[0, 0] >= nominal[0, 0] else fitted
    distance = float(np.linalg.norm(eye - center, axis=1).max())
    return _track(intrinsics, rotation, translation, size, radius, distance)
