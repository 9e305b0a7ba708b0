"""Condition packs for HOI video generators (PAM, SCAR, HandWorld, CoInteract).

`render_pack(sequence, out_dir, config=PackConfig(pack="all"))` cuts the sequence (resampled
to `fps`) into clips of `clip` frames every `stride` frames and writes one folder per clip,
`clip_000/`, `clip_001/`, ..., with the files `PACK_FILES` lists for the pack (the same table
`openhoi render --list-packs` prints). Everything is drawn by the numpy rasteriser from one
camera track per clip (`camera_track`), so every map is exact and deterministic given the
seed. The whole output folder is written under a temporary name and renamed at the end: an
error leaves nothing behind.

Rendering is layered: the left hand, the right hand and the objects are rasterised
separately and composited by depth, which costs the same as one pass and also gives the
hands-only render, amodal boxes and per-keypoint occlusion. A keypoint is `visible` when it
is inside the image and no other layer (the other hand, the objects) is nearer than it at
its pixel; its own hand's skin never hides it (joints lie inside the hand). Maps are exact
per pixel: the depth PNG is `round(depth_m * 1000)`, the instance ids are those of the
triangle seen at each pixel centre, keypoints are the 3D keypoints projected through
camera.json (OpenCV pinhole). Flat (per-triangle) normals and shading.

Speed: the pack of a 49-frame 720×480 clip takes about 4-7 s on 2 CPU cores
(`tools/bench_render.py`); frame files are encoded by a background thread and ffmpeg
processes while the next frame renders, and every map is computed only inside the box of
the frame's covered pixels.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import math
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from openhoi.errors import InputError
from openhoi.render._draw import (
    OPENPOSE_FROM_OPENHOI,
    VideoWriter,
    depth_to_gray,
    draw_openpose_hands,
    instance_palette,
)
from openhoi.render._raster import EMPTY_KEY, rasterize_keys, unpack_keys
from openhoi.render._scene import INSTANCE_IDS, SceneMeshes, scene_meshes
from openhoi.render.actions import encode_actions
from openhoi.render.camera_track import (
    CAMERA_MODES,
    CameraTrack,
    ego_track,
    orbit_track,
    third_person_track,
)
from openhoi.render.scar import ScarConfig, contact_region, dilate, mask_contour

__all__ = [
    "PACKS",
    "PACK_FILES",
    "PACK_NAMES",
    "PackConfig",
    "PackFile",
    "PackOutput",
    "pack_file_names",
    "parse_size",
    "render_pack",
]

logger = logging.getLogger(__name__)

PACK_NAMES = ("pam", "scar", "handworld", "cointeract")
PACKS = (*PACK_NAMES, "all")
DEFAULT_SIZE = (720, 480)
DEFAULT_CLIP_FRAMES = 49
# Per-frame files are numbered with this pattern (frame index within the clip).
FRAME_NAME = "{:06d}.png"
MM_PER_M = 1000.0
UINT16_MAX = 65535
# Frame writes queued ahead of the background writer before rendering waits for it.
MAX_PENDING_WRITES = 64


@dataclass(frozen=True)
class PackFile:
    """One file of a clip folder.

    Attributes:
        name: path inside the clip folder; `NNNNNN` stands for the frame number.
        packs: the packs that write it ("all" writes every file).
        description: one line for `--list-packs`.
    """

    name: str
    packs: tuple[str, ...]
    description: str


_EVERY = PACK_NAMES
# The one table of pack contents: the writer checks its output against it, --list-packs
# prints it.
PACK_FILES = (
    PackFile(
        "meta.json",
        _EVERY,
        "sub-task texts with clip and sequence frame ranges, fps, "
        "source frames, camera mode, seed, SCAR radii",
    ),
    PackFile(
        "camera.json",
        _EVERY,
        "OpenCV camera: K, per-frame world->camera R and t, width, height, near/far (m), fps",
    ),
    PackFile("depth.mp4", ("pam", "scar"), "depth video, near bright, background black"),
    PackFile(
        "depth/NNNNNN.png",
        ("pam", "scar"),
        "exact depth, 16-bit PNG in millimetres, 0 = background",
    ),
    PackFile(
        "depth.npz",
        ("pam", "scar"),
        "depth (T, H, W) float32 camera-frame z in metres, 0 = background",
    ),
    PackFile("instance.mp4", ("pam",), "instance ids in colour"),
    PackFile(
        "instance/NNNNNN.png",
        ("pam",),
        "instance ids, 8-bit PNG: 0 background, 1 left "
        "hand, 2 right hand, 3 object (its first part), 4.. further parts, then static objects",
    ),
    PackFile("instance.json", ("pam",), "legend: instance id -> name"),
    PackFile("keypoints.mp4", ("pam",), "OpenPose-style 2D hand skeletons"),
    PackFile(
        "keypoints/NNNNNN.png",
        ("pam",),
        "OpenPose-style 2D hand skeletons (bone i in hue i/20, keypoints blue), black background",
    ),
    PackFile(
        "keypoints.npz",
        ("pam", "handworld"),
        "keypoints (T, 2, 21, 2) pixels (left, "
        "right; openhoi order), depth (T, 2, 21) m, in_image, visible (not occluded) "
        "bools, names, openpose_order",
    ),
    PackFile(
        "scar.mp4",
        ("scar",),
        "SCAR: hand (green) and object (red) contours and 2D "
        "contact (yellow) alpha-blended on depth",
    ),
    PackFile(
        "scar_exact.mp4",
        ("scar",),
        "as scar.mp4, contact from exact 3D contact (hand "
        "vertices near the object surface, projected)",
    ),
    PackFile(
        "scar.npz",
        ("scar",),
        "hand_contour, object_contour, contact, contact_exact (T, H, W) bool and the radii used",
    ),
    PackFile(
        "hands.mp4", ("handworld",), "hands-only render (shaded, no object), black background"
    ),
    PackFile(
        "actions.npy",
        ("handworld",),
        "(T, 138) float32: R (9, row-major), t (3), left "
        "and right 21 joints x 3 in the camera frame (openhoi.render.decode_actions)",
    ),
    PackFile(
        "structure.mp4",
        ("cointeract",),
        "CoInteract structure stream: untextured "
        "hand silhouettes fused with the object's own shaded appearance",
    ),
    PackFile(
        "boxes.json",
        ("cointeract",),
        "per frame 2D boxes [x0, y0, x1, y1) of left hand, "
        "right hand and object: visible (from instance ids) and amodal",
    ),
    PackFile(
        "normals.mp4",
        (),
        "camera-frame normals as RGB = 255 ((n_x, -n_y, -n_z) + 1) / 2 "
        "(x right, y up, z towards the camera), background black",
    ),
)


def pack_file_names(pack: str) -> tuple[str, ...]:
    """Names (as in `PACK_FILES`) of the files `pack` writes into each clip folder."""
    if pack not in PACKS:
        raise InputError(f"unknown pack {pack!r}; choose one of {', '.join(PACKS)}")
    return tuple(f.name for f in PACK_FILES if pack == "all" or pack in f.packs)


def parse_size(text: str) -> tuple[int, int]:
    """`"720x480"` → `(720, 480)`; raises InputError naming the text otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", str(text))
    if match is None:
        raise InputError(f"--size must be WIDTHxHEIGHT in pixels, like 720x480; got {text!r}")
    return int(match.group(1)), int(match.group(2))


@dataclass(frozen=True)
class PackConfig:
    """What `render_pack` writes.

    Attributes:
        pack: one of `PACKS`.
        size: `(width, height)` pixels; None: 720×480, or the camera file's size.
        fps: frame rate of the clips; None: the sequence's (else it is resampled).
        clip: frames per clip.
        stride: frames between clip starts; None: `clip` (back to back).
        camera: "third", "orbit", "ego" or the path of a camera.json.
        seed: seeds the camera's jitter / start azimuth / head motion.
        scar: SCAR radii and drawing.
    """

    pack: str = "all"
    size: tuple[int, int] | None = None
    fps: float | None = None
    clip: int = DEFAULT_CLIP_FRAMES
    stride: int | None = None
    camera: str = "third"
    seed: int = 0
    scar: ScarConfig = field(default_factory=ScarConfig)

    def __post_init__(self) -> None:
        if self.pack not in PACKS:
            raise InputError(f"unknown pack {self.pack!r}; choose one of {', '.join(PACKS)}")
        if self.size is not None:
            width, height = self.size
            if width < 16 or height < 16 or width % 2 or height % 2:
                raise InputError(
                    f"size must be even and at least 16x16 pixels (H.264), got {width}x{height}"
                )
        if self.fps is not None and not (math.isfinite(self.fps) and self.fps > 0):
            raise InputError(f"fps must be a positive number, got {self.fps}")
        if self.clip < 1:
            raise InputError(f"clip must be at least 1 frame, got {self.clip}")
        if self.stride is not None and self.stride < 1:
            raise InputError(f"stride must be at least 1 frame, got {self.stride}")

    @property
    def files(self) -> tuple[str, ...]:
        """The `PACK_FILES` names this config writes per clip."""
        return pack_file_names(self.pack)


@dataclass(frozen=True)
class PackOutput:
    """Where `render_pack` wrote.

    Attributes:
        out_dir: the output folder.
        clips: one folder per clip, in order.
        files: the `PACK_FILES` names in each clip folder.
    """

    out_dir: Path
    clips: tuple[Path, ...]
    files: tuple[str, ...]


# Colours of the drawn maps (RGB, 0-255) and the light of the shaded renders.
HAND_COLORS = {"left": (237, 181, 153), "right": (214, 148, 122)}
STRUCTURE_HAND_COLOR = (255, 255, 255)
OBJECT_COLORS = ((140, 161, 189), (97, 128, 184), (170, 150, 120), (120, 170, 140))
SCAR_COLORS = {"hand": (0, 255, 0), "object": (255, 0, 0), "contact": (255, 255, 0)}
AMBIENT = 0.35
STRUCTURE_AMBIENT = 0.75
LIGHT_DIRECTION = np.array([-0.3, -0.5, -1.0]) / np.linalg.norm([-0.3, -0.5, -1.0])
LAYERS = ("left_hand", "right_hand", "object")


@dataclass(frozen=True)
class _Scene:
    """The sequence's meshes plus the lookup tables the frame loop needs."""

    meshes: SceneMeshes
    layer_faces: tuple[np.ndarray, ...]  # per LAYERS entry, (F_l,) face ids
    face_label: np.ndarray  # (1 + F,) uint8: 0 (no face), then the instance id of each face
    face_color: np.ndarray  # (F, 3) float object / hand colour in [0, 1]
    structure_color: np.ndarray  # (F, 3) CoInteract structure stream: white hands, object colour
    structure_ambient: np.ndarray  # (F,) its ambient light term per face
    legend: dict[int, str]
    hand_vertex_ids: np.ndarray  # (Vh,) left then right hand vertex ids
    object_vertex_ids: np.ndarray  # (Vo,) the manipulated object's vertex ids
    framing_vertex_ids: np.ndarray  # hands and the manipulated object


def _build_scene(sequence, obj, hands, static_objects) -> _Scene:
    from openhoi.export._static import resolve_static_objects

    statics = resolve_static_objects(static_objects)
    if obj is None and sequence.object_name:
        obj = sequence.load_object()
    meshes = scene_meshes(sequence, obj, hands, statics)
    num_faces = len(meshes.faces)
    label = np.zeros(num_faces, np.uint8)
    color = np.zeros((num_faces, 3))
    legend = {0: "background"}
    for side in ("left", "right"):
        is_side = meshes.face_instance == INSTANCE_IDS[f"{side}_hand"]
        label[is_side] = INSTANCE_IDS[f"{side}_hand"]
        color[is_side] = np.asarray(HAND_COLORS[side]) / 255.0
        legend[INSTANCE_IDS[f"{side}_hand"]] = f"{side}_hand"
    next_id = INSTANCE_IDS["object"]
    is_object = meshes.face_instance == INSTANCE_IDS["object"]
    object_face_ids = np.flatnonzero(is_object & (meshes.face_part >= 0))
    if obj is not None:
        parts = obj.part_names
        for index, part in enumerate(parts):
            faces = object_face_ids[meshes.face_part[object_face_ids] == index]
            label[faces] = next_id
            color[faces] = np.asarray(OBJECT_COLORS[index % len(OBJECT_COLORS)]) / 255.0
            legend[next_id] = f"object:{obj.name}" + (f"/{part}" if len(parts) > 1 else "")
            next_id += 1
    static_faces = np.flatnonzero(is_object & (meshes.face_part < 0))
    start = 0
    for index, static in enumerate(statics):
        count = len(static.obj.mesh.faces)
        faces = static_faces[start : start + count]
        start += count
        if next_id > 255:
            raise InputError("too many object parts and static objects for 8-bit instance ids")
        label[faces] = next_id
        color[faces] = np.asarray(OBJECT_COLORS[0]) / 255.0
        legend[next_id] = f"static{index}:{static.obj.name}"
        next_id += 1
    is_hand = meshes.face_instance != INSTANCE_IDS["object"]
    layer_faces = (
        np.flatnonzero(meshes.face_instance == INSTANCE_IDS["left_hand"]),
        np.flatnonzero(meshes.face_instance == INSTANCE_IDS["right_hand"]),
        np.flatnonzero(is_object),
    )
    vertex_instance = np.zeros(meshes.vertices.shape[1], np.uint8)
    vertex_instance[meshes.faces.reshape(-1)] = np.repeat(meshes.face_instance, 3)
    is_static_vertex = np.zeros(meshes.vertices.shape[1], bool)
    is_static_vertex[meshes.faces[static_faces].reshape(-1)] = True
    hand_ids = np.flatnonzero(
        (vertex_instance == INSTANCE_IDS["left_hand"])
        | (vertex_instance == INSTANCE_IDS["right_hand"])
    )
    object_ids = np.flatnonzero((vertex_instance == INSTANCE_IDS["object"]) & ~is_static_vertex)
    return _Scene(
        meshes=meshes,
        layer_faces=layer_faces,
        face_label=np.concatenate([np.zeros(1, np.uint8), label]),
        face_color=color,
        structure_color=np.where(is_hand[:, None], np.asarray(STRUCTURE_HAND_COLOR) / 255.0, color),
        structure_ambient=np.where(is_hand, STRUCTURE_AMBIENT, AMBIENT),
        legend=legend,
        hand_vertex_ids=hand_ids,
        object_vertex_ids=object_ids,
        framing_vertex_ids=np.concatenate([hand_ids, object_ids]),
    )


def _camera_for_clip(config: PackConfig, size, user_track, scene: _Scene, frames, fps):
    if user_track is not None:
        return user_track.for_frames(len(frames), where=f"camera file {config.camera!r}")
    points = scene.meshes.vertices[frames][:, scene.framing_vertex_ids]
    if config.camera == "third":
        return third_person_track(points, size, seed=config.seed)
    if config.camera == "orbit":
        return orbit_track(points, size, fps=fps, seed=config.seed)
    return ego_track(points, scene.meshes.keypoints[frames], size, fps=fps, seed=config.seed)


def _exact_contact(sequence, obj, scene: _Scene, frames, threshold_m: float) -> np.ndarray:
    """`(T, Vh)` bool: hand vertices within `threshold_m` of (or inside) the object."""
    import torch

    from openhoi.geometry import signed_distance

    hand = scene.meshes.vertices[frames][:, scene.hand_vertex_ids].astype(np.float64)
    contact = np.zeros(hand.shape[:2], bool)
    if obj is None:
        return contact
    # 1. Only vertices inside the object's box (grown by the threshold) can touch it.
    posed = scene.meshes.vertices[frames][:, scene.object_vertex_ids]
    low = posed.min(axis=1, keepdims=True) - threshold_m
    high = posed.max(axis=1, keepdims=True) + threshold_m
    candidate = ((hand >= low) & (hand <= high)).all(axis=2)
    frame_of, vertex_of = np.nonzero(candidate)
    if frame_of.size == 0:
        return contact
    # 2. Signed distance to each part in its canonical frame; the nearest part counts.
    world = sequence.object_transforms()[frames].astype(np.float64)
    angles = np.asarray(sequence.object_angle(), np.float64)[frames]
    sdf = np.full(frame_of.size, np.inf)
    for part, mesh in zip(obj.part_names, obj.part_meshes(), strict=True):
        transform = world @ np.asarray(obj.part_transform(part, angles))  # (T, 4, 4)
        inverse = np.linalg.inv(transform)[frame_of]
        points = hand[frame_of, vertex_of]
        local = np.einsum("nij,nj->ni", inverse[:, :3, :3], points) + inverse[:, :3, 3]
        out = signed_distance(torch.from_numpy(local), mesh, max_distance=2.0 * threshold_m)
        sdf = np.minimum(sdf, out.sdf.detach().numpy())
    contact[frame_of, vertex_of] = sdf < threshold_m
    return contact


def _box(mask: np.ndarray, x0: int = 0, y0: int = 0) -> list[int] | None:
    """`[x0, y0, x1, y1)` of a bool mask whose top-left pixel is `(x0, y0)`; None if empty."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return [int(cols[0] + x0), int(rows[0] + y0), int(cols[-1] + x0) + 1, int(rows[-1] + y0) + 1]


def _face_normals(camera_vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """`(F, 3)` unit camera-frame normals of the faces, turned towards the camera."""
    v0, v1, v2 = (camera_vertices[faces[:, i]] for i in range(3))
    e1, e2 = v1 - v0, v2 - v0
    normal = np.stack(
        [
            e1[:, 1] * e2[:, 2] - e1[:, 2] * e2[:, 1],
            e1[:, 2] * e2[:, 0] - e1[:, 0] * e2[:, 2],
            e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0],
        ],
        axis=1,
    )
    normal /= np.maximum(np.sqrt((normal**2).sum(axis=1, keepdims=True)), 1e-12)
    facing_away = (normal * v0).sum(axis=1) > 0
    normal[facing_away] *= -1.0
    return normal


def _shaded_faces(colors: np.ndarray, normals: np.ndarray, ambient) -> np.ndarray:
    """`(F, 3)` uint8 Lambert-shaded colour of every face (flat shading: one per face)."""
    light = np.clip(normals @ LIGHT_DIRECTION, 0.0, 1.0)
    intensity = ambient + (1.0 - ambient) * light
    return np.clip(colors * intensity[:, None] * 255.0, 0, 255).astype(np.uint8)


def _paint(face: np.ndarray, face_rgb: np.ndarray) -> np.ndarray:
    """`(H, W, 3)` uint8: each pixel in its face's colour, black where `face` is −1."""
    table = np.concatenate([np.zeros((1, 3), np.uint8), face_rgb])
    return np.take(table, face + 1, axis=0)


def _blend(base: np.ndarray, mask: np.ndarray, color, alpha: float) -> None:
    """Alpha-blend `color` over the `mask` pixels of the uint8 image `base`, in place."""
    flat = base.reshape(-1, 3)
    ids = np.flatnonzero(mask)
    mixed = (1.0 - alpha) * flat[ids] + alpha * np.asarray(color, np.float64)
    flat[ids] = np.rint(mixed).astype(np.uint8)


def _pixel_box(flat_ids: np.ndarray, width: int) -> list[int] | None:
    """`[x0, y0, x1, y1)` of flat pixel indices, None when empty."""
    if flat_ids.size == 0:
        return None
    rows, cols = flat_ids // width, flat_ids % width
    return [int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1]


def _segments(sequence, frames: np.ndarray) -> list[dict]:
    """Sub-tasks overlapping the clip, with clip and sequence frame ranges (end exclusive)."""
    start, stop = int(frames[0]), int(frames[-1]) + 1
    out = []
    for (low, high), text in zip(sequence.segment_ranges, sequence.texts, strict=True):
        if high <= start or low >= stop:
            continue
        out.append(
            {
                "text": text,
                "sequence_frames": [int(low), int(high)],
                "clip_frames": [max(low, start) - start, min(high, stop) - start],
            }
        )
    return out


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """`np.savez_compressed` at zlib level 1: several times faster on mostly-empty maps."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for key, value in arrays.items():
            with archive.open(f"{key}.npy", "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, np.asanyarray(value), allow_pickle=False)


def _write_png(path: Path, image: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(image).save(path, compress_level=1)


def _render_clip(
    folder: Path,
    sequence,
    obj,
    scene: _Scene,
    frames: np.ndarray,
    track: CameraTrack,
    config: PackConfig,
    meta: dict,
) -> None:
    files = set(config.files)
    width, height = track.width, track.height
    num_frames = len(frames)
    meshes = scene.meshes
    fps = float(sequence.fps)
    for name in files:
        if "/" in name:
            (folder / name.split("/")[0]).mkdir(parents=True, exist_ok=True)
    wants = {name: name in files for name in (f.name for f in PACK_FILES)}
    need_scar = wants["scar.mp4"] or wants["scar.npz"] or wants["scar_exact.mp4"]
    scar = config.scar
    contact_vertices = (
        _exact_contact(sequence, obj, scene, frames, scar.contact_threshold_m)
        if need_scar
        else None
    )
    # Depth range of the clip, for the depth visualisations.
    clip_vertices = meshes.vertices[frames][:, scene.framing_vertex_ids]
    clip_depth = track.to_camera(clip_vertices)[..., 2]
    clip_depth = clip_depth[(clip_depth > track.near_m) & (clip_depth < track.far_m)]
    depth_low = float(clip_depth.min()) if clip_depth.size else track.near_m
    depth_high = float(clip_depth.max()) if clip_depth.size else track.far_m
    # Keypoints (openhoi order) in pixels, with depth.
    keypoints_uv, keypoints_z = track.project(meshes.keypoints[frames])  # (T, 2, 21, 2)
    in_image = (
        (keypoints_z > track.near_m)
        & (keypoints_uv[..., 0] >= 0)
        & (keypoints_uv[..., 0] < width)
        & (keypoints_uv[..., 1] >= 0)
        & (keypoints_uv[..., 1] < height)
    )
    visible = np.zeros_like(in_image)
    palette = instance_palette(max(scene.legend) + 1)
    depth_all = np.zeros((num_frames, height, width), np.float32)
    scar_arrays = {
        key: np.zeros((num_frames, height, width), bool)
        for key in ("hand_contour", "object_contour", "contact", "contact_exact")
    }
    boxes = {"visible": [], "amodal": []}
    videos = {}
    # Frame files are written in order by one background thread (PNG encoding and the pipes
    # to ffmpeg release the GIL), so rendering the next frame overlaps the writing.
    ordered = ThreadPoolExecutor(max_workers=1)
    pending = collections.deque()

    def emit(write, *args) -> None:
        pending.append(ordered.submit(write, *args))
        while len(pending) > MAX_PENDING_WRITES:
            pending.popleft().result()

    try:
        for name in sorted(files):
            if name.endswith(".mp4"):
                videos[name] = VideoWriter(folder / name, (width, height), fps)
        # Every map is zero outside the box of the covered pixels; the box is grown by the
        # hand dilation radius so contours and contact regions fit in it too.
        pad = math.ceil(scar.hand_radius_px) + 2
        for index in range(num_frames):
            frame = int(frames[index])
            camera = track.at(index)
            camera_vertices = camera.to_camera(meshes.vertices[frame][None])[0]
            depth = camera_vertices[:, 2]
            uv = camera.project(meshes.vertices[frame][None])[0][0]
            # 1. One pass per layer (left hand, right hand, objects); only the covered pixels
            #    are unpacked, as flat pixel ids with their depth and (global) face ids.
            layer_hits = []
            for face_ids in scene.layer_faces:
                keys = rasterize_keys(uv, depth, meshes.faces[face_ids], width, height)
                hit = np.flatnonzero(keys != EMPTY_KEY)
                hit_depth, hit_face = unpack_keys(keys[hit])
                keep = (hit_depth >= track.near_m) & (hit_depth <= track.far_m)
                layer_hits.append((hit[keep], hit_depth[keep], face_ids[hit_face[keep]]))
            # 2. The region of interest (ROI) and the depth composite inside it.
            every = np.concatenate([hit for hit, _, _ in layer_hits])
            if every.size:
                rows, cols = every // width, every % width
                y0, y1 = max(rows.min() - pad, 0), min(rows.max() + 1 + pad, height)
                x0, x1 = max(cols.min() - pad, 0), min(cols.max() + 1 + pad, width)
            else:
                y0, y1, x0, x1 = 0, 1, 0, 1
            roi, roi_w, roi_size = (slice(y0, y1), slice(x0, x1)), x1 - x0, (y1 - y0) * (x1 - x0)
            surface = np.full(roi_size, np.inf, np.float32)
            face = np.full(roi_size, -1, np.int64)
            layer_depth = []  # per layer, (ROI pixels,) depth, inf where the layer is absent
            hand_face = face
            for layer, (hit, hit_depth, hit_face) in enumerate(layer_hits):
                ids = (hit // width - y0) * roi_w + (hit % width - x0)
                this = np.full(roi_size, np.inf, np.float32)
                this[ids] = hit_depth
                layer_depth.append(this)
                closer = hit_depth < surface[ids]
                surface[ids[closer]] = hit_depth[closer]
                face[ids[closer]] = hit_face[closer]
                if layer == 1:
                    hand_face = face.reshape(y1 - y0, roi_w).copy()
            face = face.reshape(y1 - y0, roi_w)
            covered = face >= 0
            depth_map = np.where(covered, surface.reshape(face.shape), 0.0).astype(np.float32)
            depth_all[index][roi] = depth_map
            instance = np.take(scene.face_label, face + 1)  # face −1 → id 0

            def full(crop: np.ndarray, roi=roi) -> np.ndarray:
                out = np.zeros((height, width, *crop.shape[2:]), crop.dtype)
                out[roi] = crop
                return out

            # 3. Keypoint occlusion: a keypoint is hidden by any other layer nearer than it.
            for side in (0, 1):
                u = np.floor(keypoints_uv[index, side, :, 0]).astype(np.int64) - x0
                v = np.floor(keypoints_uv[index, side, :, 1]).astype(np.int64) - y0
                inside = in_image[index, side] & (u >= 0) & (u < roi_w) & (v >= 0) & (v < y1 - y0)
                flat = np.where(inside, v * roi_w + u, 0)
                others = [layer for layer in range(len(LAYERS)) if layer != side]
                occluder = np.min([layer_depth[other][flat] for other in others], axis=0)
                occluder = np.where(inside, occluder, np.inf)
                visible[index, side] = in_image[index, side] & (
                    occluder >= keypoints_z[index, side]
                )
            # 4. Boxes: visible from the instance ids, amodal from each layer alone.
            boxes["visible"].append(
                {
                    "left_hand": _box(instance == INSTANCE_IDS["left_hand"], x0, y0),
                    "right_hand": _box(instance == INSTANCE_IDS["right_hand"], x0, y0),
                    "object": _box(instance >= INSTANCE_IDS["object"], x0, y0),
                }
            )
            boxes["amodal"].append(
                {
                    name: _pixel_box(hit, width)
                    for name, (hit, _, _) in zip(LAYERS, layer_hits, strict=True)
                }
            )
            # 5. Images.
            gray = depth_to_gray(depth_map, depth_low, depth_high)
            if wants["depth/NNNNNN.png"]:
                depth_mm = np.clip(np.rint(depth_map * MM_PER_M), 0, UINT16_MAX).astype(np.uint16)
                emit(_write_png, folder / "depth" / FRAME_NAME.format(index), full(depth_mm))
            if wants["instance/NNNNNN.png"]:
                emit(_write_png, folder / "instance" / FRAME_NAME.format(index), full(instance))
            if "depth.mp4" in videos:
                emit(videos["depth.mp4"].write, full(gray))
            if "instance.mp4" in videos:
                emit(videos["instance.mp4"].write, full(palette[instance]))
            if wants["keypoints.mp4"] or wants["keypoints/NNNNNN.png"]:
                skeleton = draw_openpose_hands(
                    keypoints_uv[index], in_image[index], (width, height)
                )
                if wants["keypoints/NNNNNN.png"]:
                    emit(_write_png, folder / "keypoints" / FRAME_NAME.format(index), skeleton)
                if "keypoints.mp4" in videos:
                    emit(videos["keypoints.mp4"].write, skeleton)
            normals = None
            if {"hands.mp4", "structure.mp4", "normals.mp4"} & videos.keys():
                normals = _face_normals(camera_vertices, meshes.faces)
            if "hands.mp4" in videos:
                hand_rgb = _shaded_faces(scene.face_color, normals, AMBIENT)
                hands_image = _paint(hand_face, hand_rgb)
                emit(videos["hands.mp4"].write, full(hands_image))
            if "structure.mp4" in videos:
                structure_rgb = _shaded_faces(
                    scene.structure_color, normals, scene.structure_ambient
                )
                structure = _paint(face, structure_rgb)
                emit(videos["structure.mp4"].write, full(structure))
            if "normals.mp4" in videos:
                normal_rgb = np.rint((normals * (1.0, -1.0, -1.0) + 1.0) * 127.5).astype(np.uint8)
                normal_image = _paint(face, normal_rgb)
                emit(videos["normals.mp4"].write, full(normal_image))
            if need_scar:
                hand_mask = (instance > 0) & (instance < INSTANCE_IDS["object"])
                object_mask = instance >= INSTANCE_IDS["object"]
                hand_contour, object_contour = mask_contour(hand_mask), mask_contour(object_mask)
                contact = contact_region(hand_contour, object_contour, object_mask, scar)
                touching = contact_vertices[index]
                exact = np.zeros(face.shape, bool)
                if touching.any():
                    points_uv = uv[scene.hand_vertex_ids[touching]]
                    u, v = np.floor(points_uv).astype(np.int64).T
                    u, v = u - x0, v - y0
                    inside = (u >= 0) & (u < roi_w) & (v >= 0) & (v < y1 - y0)
                    exact[v[inside], u[inside]] = True
                    exact = dilate(exact, scar.hand_radius_px)
                for key, value in (
                    ("hand_contour", hand_contour),
                    ("object_contour", object_contour),
                    ("contact", contact),
                    ("contact_exact", exact),
                ):
                    scar_arrays[key][index][roi] = value
                for name, region in (("scar.mp4", contact), ("scar_exact.mp4", exact)):
                    if name not in videos:
                        continue
                    image = np.repeat(gray[..., None], 3, axis=2)
                    _blend(image, hand_contour, SCAR_COLORS["hand"], scar.alpha)
                    _blend(image, object_contour, SCAR_COLORS["object"], scar.alpha)
                    _blend(image, region, SCAR_COLORS["contact"], scar.alpha)
                    emit(videos[name].write, full(image))
        while pending:
            pending.popleft().result()
        for writer in videos.values():
            writer.close()
    except BaseException:
        for future in pending:
            future.cancel()
        ordered.shutdown(wait=True)
        for writer in videos.values():
            writer.abort()
        raise
    ordered.shutdown()
    # 5. Whole-clip files; the two big npz files compress in parallel threads.
    io = ThreadPoolExecutor(max_workers=2)
    futures = []
    try:
        if wants["depth.npz"]:
            futures.append(io.submit(_save_npz, folder / "depth.npz", {"depth": depth_all}))
        if wants["instance.json"]:
            _write_json(folder / "instance.json", {str(k): v for k, v in scene.legend.items()})
        if wants["keypoints.npz"]:
            from openhoi.hand import KEYPOINT_NAMES

            _save_npz(
                folder / "keypoints.npz",
                {
                    "keypoints": keypoints_uv.astype(np.float32),
                    "depth": keypoints_z.astype(np.float32),
                    "in_image": in_image,
                    "visible": visible,
                    "names": np.array(KEYPOINT_NAMES, dtype=np.str_),
                    "openpose_order": np.array(OPENPOSE_FROM_OPENHOI, np.int64),
                },
            )
        if wants["scar.npz"]:
            futures.append(
                io.submit(
                    _save_npz,
                    folder / "scar.npz",
                    {
                        **scar_arrays,
                        "hand_radius_px": np.float64(scar.hand_radius_px),
                        "contact_threshold_m": np.float64(scar.contact_threshold_m),
                    },
                )
            )
        if wants["actions.npy"]:
            actions = encode_actions(track.rotation, track.translation, meshes.keypoints[frames])
            np.save(folder / "actions.npy", actions)
        if wants["boxes.json"]:
            _write_json(
                folder / "boxes.json",
                {"format": "[x0, y0, x1, y1] pixels, x1 and y1 exclusive; null: not seen", **boxes},
            )
        track.save(folder / "camera.json", fps=fps)
        _write_json(folder / "meta.json", meta)
        for future in futures:
            future.result()
    finally:
        io.shutdown(wait=True)


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _load_sequence(sequence):
    from openhoi.data import HOISequence

    if isinstance(sequence, HOISequence):
        return sequence, ""
    return HOISequence.load(sequence), str(sequence)


def render_pack(
    sequence,
    out_dir: str | os.PathLike,
    *,
    config: PackConfig | None = None,
    obj=None,
    hands: Mapping[str, object] | None = None,
    static_objects: Iterable = (),
    overwrite: bool = False,
) -> PackOutput:
    """Write the condition pack of every clip of `sequence` into `out_dir`.

    Args:
        sequence: an `HOISequence` or the path of a sequence.npz.
        out_dir: output folder; it must not exist (or be empty) unless `overwrite`.
        config: pack, size, fps, clip length and stride, camera, seed, SCAR radii.
        obj: the sequence's `HOIObject` (default `sequence.load_object()`).
        hands: `{"left": HandModel, "right": HandModel}` (default: the embedded hand).
        static_objects: `(HOIObject, (4, 4) pose)` pairs drawn at rest.
        overwrite: replace an existing `out_dir`.

    Returns:
        The clip folders and the file names in each.

    Raises:
        InputError: bad config, a sequence shorter than one clip, an existing `out_dir`,
            or a camera file that does not fit.
        MissingFileError: the sequence or camera file does not exist.
    """
    config = config or PackConfig()
    out_dir = Path(out_dir)
    # 1. Check every input before any work.
    user_track = None
    if config.camera not in CAMERA_MODES:
        if not config.camera.lower().endswith(".json"):
            raise InputError(
                f"camera must be one of {', '.join(CAMERA_MODES)} or a camera .json file, got "
                f"{config.camera!r}"
            )
        user_track = CameraTrack.load(config.camera)
        if config.size is not None and config.size != (user_track.width, user_track.height):
            raise InputError(
                f"size {config.size[0]}x{config.size[1]} differs from the camera file's "
                f"{user_track.width}x{user_track.height}; drop --size or change the file"
            )
    size = config.size or ((user_track.width, user_track.height) if user_track else DEFAULT_SIZE)
    if out_dir.exists() and not overwrite and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise InputError(f"output folder {str(out_dir)!r} exists; pass overwrite to replace it")
    sequence, source = _load_sequence(sequence)
    if config.fps is not None and abs(config.fps - sequence.fps) > 1e-9:
        sequence = sequence.resample(config.fps)
    stride = config.stride or config.clip
    if sequence.num_frames < config.clip:
        raise InputError(
            f"the sequence has {sequence.num_frames} frames at {sequence.fps:g} fps, fewer than "
            f"one clip of {config.clip}; use a smaller clip length"
        )
    starts = range(0, sequence.num_frames - config.clip + 1, stride)
    if obj is None and sequence.object_name:
        obj = sequence.load_object()
    # Only the frames some clip uses are posed (clips start at 0).
    used = sequence[: starts[-1] + config.clip]
    scene = _build_scene(used, obj, hands, static_objects)
    # 2. Render into a temporary sibling folder, then rename it into place.
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        clips = []
        for clip_index, start in enumerate(starts):
            frames = np.arange(start, start + config.clip)
            folder = temp / f"clip_{clip_index:03d}"
            folder.mkdir()
            track = _camera_for_clip(config, size, user_track, scene, frames, sequence.fps)
            meta = {
                "sequence": source,
                "object": sequence.object_name,
                "pack": config.pack,
                "fps": float(sequence.fps),
                "clip_index": clip_index,
                "num_frames": len(frames),
                "source_frames": [int(start), int(start + config.clip)],
                "stride": stride,
                "size": [track.width, track.height],
                "camera": config.camera,
                "seed": config.seed,
                "scar": {
                    "hand_radius_px": config.scar.hand_radius_px,
                    "object_radius_ratio": config.scar.object_radius_ratio,
                    "object_radius_px_range": [
                        config.scar.object_radius_min_px,
                        config.scar.object_radius_max_px,
                    ],
                    "contact_threshold_m": config.scar.contact_threshold_m,
                },
            }
            meta["segments"] = _segments(sequence, frames)
            _render_clip(folder, used, obj, scene, frames, track, config, meta)
            clips.append(out_dir / folder.name)
            logger.info("clip %d: frames %d-%d written", clip_index, start, start + config.clip)
        os.chmod(temp, 0o777 & ~_umask())
        if out_dir.exists():
            trash = Path(
                tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=out_dir.parent)
            )
            os.replace(out_dir, trash / "old")
            os.replace(temp, out_dir)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(temp, out_dir)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(temp)
        raise
    return PackOutput(out_dir=out_dir, clips=tuple(clips), files=config.files)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
