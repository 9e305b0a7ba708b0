"""One self-contained viewer.html: the vendored three.js, the app and every run's scene inline.

Arrays travel as `{"dtype", "shape", "data"}` with `data` the base64 of the zlib-compressed
little-endian bytes (the browser inflates them with `DecompressionStream`). Hand vertices are
quantised to int16 over the scene's bounding box (< 0.02 mm steps for a 1 m scene) and stored
as frame-to-frame differences, which compress well; contact distances as int8 in
`CONTACT_STEP_M` steps. Nothing is fetched at run time: the page works from file://.
"""

from __future__ import annotations

import base64
import json
import os
import zlib
from importlib import resources
from pathlib import Path

import numpy as np

from openhoi.geometry import CONTACT_THRESHOLD_M

__all__ = ["THREE_VERSION", "scene_payload", "write_viewer"]

THREE_VERSION = "0.170.0"  # assets/three.module.min.js, MIT (assets/three.LICENSE)
# Contact heat: signed distance per hand vertex in 0.25 mm steps, clipped to ±31.75 mm.
CONTACT_STEP_M = 0.00025
_INT16_LEVELS = 65000.0


def _pack(array: np.ndarray, dtype: str, **extra) -> dict:
    data = np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder("<"))
    encoded = base64.b64encode(zlib.compress(data.tobytes(), 6)).decode("ascii")
    return {"dtype": dtype, "shape": list(data.shape), "data": encoded, **extra}


def _pack_motion(vertices: np.ndarray, low: np.ndarray, step: float) -> dict:
    """`(T, ...)` float vertices → int16 steps from `low`, differenced over frames."""
    quantised = np.round((vertices - low) / step).astype(np.int32) - 32500
    delta = np.diff(quantised, axis=0, prepend=0).astype(np.int16)  # wraps; the reader too
    return _pack(delta, "int16", offset=[float(x) for x in low], step=step, delta=True)


def scene_payload(scene, figures=None, distances=None) -> dict:
    """The JSON-ready description of one `RunScene` (see the module docstring).

    Args:
        scene: the `RunScene`.
        figures: its `FrameFigures`, or None (no physics plots).
        distances: `(T, 2, V)` contact distances in metres, or None (no heat).
    """
    hands = scene.hand_vertices
    every = [hands.reshape(-1, 3)]
    for k, vertices in enumerate(scene.part_vertices):
        pose = scene.part_transforms[:, k]  # (T, 4, 4)
        corners = np.array([vertices.min(0), vertices.max(0)])  # enough for the bounds
        every.append(corners @ pose[:, :3, :3].transpose(0, 2, 1) + pose[:, None, :3, 3])
    every = [chunk.reshape(-1, 3) for chunk in every]
    points = np.concatenate(every)
    low, high = points.min(axis=0), points.max(axis=0)
    step = max(float((high - low).max()) / _INT16_LEVELS, 1e-6)
    payload = {
        "focus": _focus(scene),
        "name": scene.name,
        "fps": scene.fps,
        "numFrames": scene.num_frames,
        "bounds": [low.tolist(), high.tolist()],
        "hands": {
            "faces": _pack(scene.hand_faces, "uint16"),
            "vertices": _pack_motion(hands, low, step),
            "active": _pack(scene.active_hands, "uint8"),
        },
        "parts": [
            {"vertices": _pack(v, "float32"), "faces": _pack(f, "uint32")}
            for v, f in zip(scene.part_vertices, scene.part_faces, strict=True)
        ],
        "partTransforms": _pack(scene.part_transforms, "float32"),
        "statics": [
            {"vertices": _pack(v, "float32"), "faces": _pack(f, "uint32")}
            for v, f in zip(scene.static_vertices, scene.static_faces, strict=True)
        ],
        "points": _pack(scene.points, "float32"),
        "pointParts": _pack(scene.point_parts, "uint8"),
        "masks": None if scene.masks is None else _pack(np.round(scene.masks * 255), "uint8"),
        "subtasks": [
            {
                "start": s.start,
                "end": s.end,
                "text": s.text,
                "primitive": s.primitive,
                "hands": s.hands,
            }
            for s in scene.subtasks
        ],
        "planText": scene.plan_text,
        "contactThresholdM": CONTACT_THRESHOLD_M,
        "contact": None,
        "figures": None,
    }
    if distances is not None:
        steps = np.clip(np.round(distances / CONTACT_STEP_M), -127, 127)
        payload["contact"] = _pack(steps, "int8", step=CONTACT_STEP_M)
    if figures is not None:
        payload["figures"] = {
            "penetration_mm": np.round(figures.penetration_mm, 3).tolist(),
            "volume_cm3": np.round(figures.volume_cm3, 4).tolist(),
            "in_contact": figures.in_contact.astype(int).tolist(),
            "holding": figures.holding.astype(int).tolist(),
            "affordance_contact": (
                None if figures.affordance_contact is None
                else np.asarray(figures.affordance_contact).astype(int).tolist()
            ),
        }  # fmt: skip
    return payload


def _focus(scene) -> dict:
    """Where the camera starts: the median over frames of the centre and radius of the object
    and the active hands (a hand's far-away start does not shrink the picture)."""
    centers, radii = [], []
    for frame in range(scene.num_frames):
        chunks = [scene.hand_vertices[frame, k] for k in range(2) if scene.active_hands[frame, k]]
        for k, vertices in enumerate(scene.part_vertices):
            pose = scene.part_transforms[frame, k]
            chunks.append(vertices[::8] @ pose[:3, :3].T + pose[:3, 3])
        if not chunks:
            continue
        points = np.concatenate(chunks)
        center = (points.min(axis=0) + points.max(axis=0)) / 2.0
        centers.append(center)
        radii.append(float(np.linalg.norm(points - center, axis=1).max()))
    if not centers:
        centers, radii = [scene.hand_vertices.reshape(-1, 3).mean(axis=0)], [0.2]
    return {
        "center": np.median(np.array(centers), axis=0).tolist(),
        "radius": max(float(np.median(radii)), 0.05),
    }


def _asset(name: str) -> str:
    return resources.files("openhoi.viewer").joinpath("assets", name).read_text(encoding="utf-8")


def _inline_json(value) -> str:
    """JSON safe inside a <script> element (no "</script>", no "<!--")."""
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c")


def write_viewer(payloads: list[dict], path: str | os.PathLike, *, title: str) -> Path:
    """Write the page showing `payloads` (one pane each, played in sync) to `path`, atomically.

    Returns:
        The path written.
    """
    three = _asset("three.module.min.js").replace("</script", "<\\/script")
    page = (
        _asset("viewer.html")
        .replace("__TITLE__", _escape(title))
        .replace("/*__CSS__*/", _asset("viewer.css"))
        .replace("__THREE_VERSION__", THREE_VERSION)
        .replace("/*__THREE__*/", three)
        .replace("/*__SCENES__*/", _inline_json(payloads))
        .replace("/*__APP__*/", _asset("viewer.js"))
    )
    path = Path(path)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(page, encoding="utf-8")
    os.replace(temp, path)
    return path


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
