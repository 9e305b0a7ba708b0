"""Condition renders for video models: per-frame depth, instance masks and 2D hand keypoints.

All three come from one fixed camera (`auto_camera`'s framing unless one is given)
and the numpy rasteriser, so they are exact, deterministic and need no OpenGL.
`render_conditions(sequence, out_dir)` writes, atomically:

- `depth.npz`: `depth` `(T, H, W)` float32, camera-frame z in metres, 0 where no surface;
- `masks.npz`: `masks` `(T, H, W)` uint8 instance ids (0 background, 1 left hand,
  2 right hand, 3 object) and `names` (the id → name table);
- `keypoints.npz`: `keypoints` `(T, 2, 21, 2)` float32 pixel coordinates (u right, v down,
  origin at the image's top-left corner) of the left (index 0) and right (1) hand's 21
  keypoints (16 MANO joints then 5 fingertips), `depth` `(T, 2, 21)` float32 metres and
  `in_image` `(T, 2, 21)` bool;
- `camera.json`: intrinsics K, world_to_camera (OpenCV axes, world z up) and image size.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from openhoi._io import save_json_atomic, save_npz_atomic
from openhoi.render._raster import rasterize
from openhoi.render._scene import INSTANCE_IDS, scene_meshes
from openhoi.render.camera import Camera, auto_camera

__all__ = ["CONDITION_FILES", "ConditionRenders", "compute_conditions", "render_conditions"]

CONDITION_FILES = ("depth.npz", "masks.npz", "keypoints.npz", "camera.json")
# Image size when none is given (the condition maps' own default, independent of the
# preview's; condition packs default to 720×480).
DEFAULT_SIZE = (320, 240)


@dataclass(frozen=True)
class ConditionRenders:
    """Per-frame condition maps of a sequence seen by `camera`.

    Attributes:
        depth: `(T, H, W)` float32 metres, 0 = background.
        masks: `(T, H, W)` uint8 instance ids (`INSTANCE_IDS`: 0 background, 1 left hand,
            2 right hand, 3 object).
        keypoints: `(T, 2, 21, 2)` float32 pixel (u, v) of left/right hand keypoints.
        keypoint_depth: `(T, 2, 21)` float32 camera-frame z, metres.
        camera: the camera used.
    """

    depth: np.ndarray
    masks: np.ndarray
    keypoints: np.ndarray
    keypoint_depth: np.ndarray
    camera: Camera

    @property
    def in_image(self) -> np.ndarray:
        """`(T, 2, 21)` bool: keypoint in front of the camera and inside the image."""
        u, v = self.keypoints[..., 0], self.keypoints[..., 1]
        return (
            (self.keypoint_depth > 0)
            & (u >= 0)
            & (u < self.camera.width)
            & (v >= 0)
            & (v < self.camera.height)
        )


def compute_conditions(
    sequence,
    *,
    obj=None,
    hands: Mapping[str, object] | None = None,
    size: tuple[int, int] = DEFAULT_SIZE,
    camera: Camera | None = None,
) -> ConditionRenders:
    """Depth, instance masks and 2D keypoints of every frame (no files written).

    Args:
        sequence: the `HOISequence`.
        obj: its `HOIObject` (default `sequence.load_object()`; none if it names no object).
        hands: `{"left": HandModel, "right": HandModel}` (default: the embedded hand).
        size: `(width, height)` pixels (ignored when `camera` is given).
        camera: a fixed camera; default the preview's automatic framing.
    """
    scene = scene_meshes(sequence, obj, hands)
    if camera is None:
        camera = auto_camera(scene.framing_points(sequence.active_hands), size)
    shape = (sequence.num_frames, camera.height, camera.width)
    depth = np.zeros(shape, np.float32)
    masks = np.zeros(shape, np.uint8)
    for frame in range(sequence.num_frames):
        uv, z = camera.project(scene.vertices[frame])
        fragments = rasterize(uv, z, scene.faces, camera.width, camera.height)
        covered = fragments.face >= 0
        depth[frame][covered] = fragments.depth[covered]
        masks[frame][covered] = scene.face_instance[fragments.face[covered]]
    keypoints, keypoint_depth = camera.project(scene.keypoints)
    return ConditionRenders(
        depth=depth,
        masks=masks,
        keypoints=keypoints.astype(np.float32),
        keypoint_depth=keypoint_depth.astype(np.float32),
        camera=camera,
    )


def render_conditions(
    sequence,
    out_dir: str | os.PathLike,
    *,
    obj=None,
    hands: Mapping[str, object] | None = None,
    size: tuple[int, int] = DEFAULT_SIZE,
    camera: Camera | None = None,
) -> ConditionRenders:
    """Compute the condition maps and write `CONDITION_FILES` into `out_dir` atomically."""
    renders = compute_conditions(sequence, obj=obj, hands=hands, size=size, camera=camera)
    out_dir = Path(out_dir)
    names = sorted(INSTANCE_IDS, key=INSTANCE_IDS.get)
    save_npz_atomic(out_dir / "depth.npz", {"depth": renders.depth})
    save_npz_atomic(
        out_dir / "masks.npz", {"masks": renders.masks, "names": np.array(names, dtype=np.str_)}
    )
    save_npz_atomic(
        out_dir / "keypoints.npz",
        {
            "keypoints": renders.keypoints,
            "depth": renders.keypoint_depth,
            "in_image": renders.in_image,
        },
    )
    save_json_atomic(
        out_dir / "camera.json", {**renders.camera.to_dict(), "fps": float(sequence.fps)}
    )
    return renders
