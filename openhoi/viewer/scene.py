"""A run folder read into what the viewer draws: hands, object parts, masks, plan, physics.

`load_run(folder)` reads `sequence.npz` (required), `plan.json` (sub-task text, primitive and
hands, when present) and the sequence's own object; it poses nothing in JavaScript that numpy
can pose here: hand vertices per frame, one canonical → world transform per object part per
frame, and the affordance points in the canonical frame with their part.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from openhoi.errors import InputError

__all__ = ["RunScene", "SubtaskSpan", "load_run"]

SEQUENCE_FILE = "sequence.npz"
PLAN_FILE = "plan.json"
MESHES_FILE = "meshes.npz"
_SIDES = ("left", "right")


@dataclass(frozen=True)
class SubtaskSpan:
    """One segment of the timeline: frames `[start, end)`, its text and (from the plan) the
    primitive and acting hands; `primitive` and `hands` are "" for bridges or without a plan."""

    start: int
    end: int
    text: str
    primitive: str = ""
    hands: str = ""


@dataclass(frozen=True)
class RunScene:
    """Everything one viewer pane shows, world frame (metres, z up).

    Attributes:
        name: the run folder's name (the pane's label).
        fps: frames per second.
        hand_vertices: `(T, 2, V, 3)` float32 left and right hand vertices.
        hand_faces: `(F, 3)` int64 hand triangles (both sides).
        active_hands: `(T, 2)` bool, whether each hand takes part in the frame.
        part_vertices: per object part, `(V_k, 3)` float32 canonical vertices (none without
            an object).
        part_faces: per object part, `(F_k, 3)` int64 triangles.
        part_transforms: `(T, K, 4, 4)` float32 canonical → world transform of each part.
        points: `(P, 3)` float32 affordance points in the canonical frame; `(0, 3)` without
            an object.
        point_parts: `(P,)` int64 part of each affordance point.
        masks: `(S, P)` float32 affordance mask of each segment in [0, 1], or None.
        subtasks: the timeline's segments in order.
        plan_text: the instruction and the plan's sub-tasks as lines ("" without a plan).
        sequence: the `HOISequence` itself (for the physics figures).
        obj: its `HOIObject`, or None.
        static_vertices: per object standing beside the manipulated one (meshes.npz
            `static_*`), `(V_i, 3)` float32 world vertices.
        static_faces: per static object, `(F_i, 3)` int64 triangles.
    """

    name: str
    fps: float
    hand_vertices: np.ndarray
    hand_faces: np.ndarray
    active_hands: np.ndarray
    part_vertices: tuple[np.ndarray, ...]
    part_faces: tuple[np.ndarray, ...]
    part_transforms: np.ndarray
    points: np.ndarray
    point_parts: np.ndarray
    masks: np.ndarray | None
    subtasks: tuple[SubtaskSpan, ...]
    plan_text: str
    sequence: object
    obj: object | None
    static_vertices: tuple[np.ndarray, ...] = ()
    static_faces: tuple[np.ndarray, ...] = ()

    @property
    def num_frames(self) -> int:
        """T, the number of frames."""
        return int(self.hand_vertices.shape[0])


def check_run_folder(folder: str | os.PathLike) -> Path:
    """The run folder as a Path, or one clear error when it is missing or holds no sequence.

    Raises:
        InputError: `folder` does not exist, is not a folder or has no sequence.npz.
    """
    path = Path(folder)
    if not path.exists():
        raise InputError(f"run folder {str(path)!r} does not exist; give a folder written by "
                         "`openhoi generate --out FOLDER`")  # fmt: skip
    if not path.is_dir():
        raise InputError(f"{str(path)!r} is not a folder; give a folder written by "
                         "`openhoi generate --out FOLDER`")  # fmt: skip
    if not (path / SEQUENCE_FILE).is_file():
        raise InputError(
            f"run folder {str(path)!r} has no {SEQUENCE_FILE}; give a folder written by "
            "`openhoi generate --out FOLDER`"
        )
    return path


def load_run(folder: str | os.PathLike, *, hands=None) -> RunScene:
    """Read a run folder written by `openhoi generate`.

    Args:
        folder: the run folder (it must hold sequence.npz; plan.json is optional).
        hands: `{"left": HandModel, "right": HandModel}` (default: the embedded hand).

    Raises:
        InputError: see `check_run_folder`.
    """
    from openhoi.data import HOISequence
    from openhoi.export._rig import resolve_hand_models

    path = check_run_folder(folder)
    sequence = HOISequence.load(path / SEQUENCE_FILE)
    models = resolve_hand_models(hands)
    hand_vertices = np.stack(
        [sequence.hand_vertices(side, models[side]) for side in _SIDES], axis=1
    ).astype(np.float32)
    obj = sequence.load_object() if sequence.object_name else None
    num_frames = sequence.num_frames
    if obj is None:
        part_vertices, part_faces = (), ()
        transforms = np.zeros((num_frames, 0, 4, 4), np.float32)
        points, point_parts = np.zeros((0, 3), np.float32), np.zeros(0, np.int64)
    else:
        meshes = obj.part_meshes()
        part_vertices = tuple(np.asarray(m.vertices, np.float32) for m in meshes)
        part_faces = tuple(np.asarray(m.faces, np.int64) for m in meshes)
        body = sequence.object_transforms()
        angles = np.asarray(sequence.object_angle(), np.float64)
        transforms = np.stack(
            [body @ np.asarray(obj.part_transform(p.name, angles), np.float64) for p in obj.parts],
            axis=1,
        ).astype(np.float32)
        points = np.asarray(obj.points.points, np.float32)
        point_parts = np.asarray(obj.points.part_ids, np.int64)
    masks = None
    if sequence.affordance is not None and len(points):
        masks = np.clip(np.asarray(sequence.affordance, np.float32), 0.0, 1.0)
    plan = _read_plan(path)
    static_vertices, static_faces = _static_meshes(path)
    return RunScene(
        name=path.resolve().name,
        fps=float(sequence.fps),
        hand_vertices=hand_vertices,
        hand_faces=np.asarray(models["left"].faces, np.int64),
        active_hands=np.asarray(sequence.active_hands, bool),
        part_vertices=part_vertices,
        part_faces=part_faces,
        part_transforms=transforms,
        points=points,
        point_parts=point_parts,
        masks=masks,
        subtasks=_subtasks(sequence, plan),
        plan_text=_plan_text(plan),
        sequence=sequence,
        obj=obj,
        static_vertices=static_vertices,
        static_faces=static_faces,
    )


def _static_meshes(folder: Path) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """The static objects meshes.npz holds (world vertices, faces); none without the file."""
    try:
        with np.load(folder / MESHES_FILE) as meshes:
            count = len(meshes["static_names"]) if "static_names" in meshes.files else 0
            vertices = tuple(
                np.asarray(meshes[f"static_{i}_verts"], np.float32) for i in range(count)
            )
            faces = tuple(np.asarray(meshes[f"static_{i}_faces"], np.int64) for i in range(count))
    except (OSError, ValueError, KeyError):
        return (), ()  # the static objects only add context; the run plays without them
    return vertices, faces


def _read_plan(folder: Path) -> dict | None:
    try:
        plan = json.loads((folder / PLAN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # a sequence alone still plays; the plan only adds text
    return plan if isinstance(plan, dict) else None


def _subtasks(sequence, plan: dict | None) -> tuple[SubtaskSpan, ...]:
    """The sequence's segments, with primitive and hands from the plan's matching frames."""
    by_start = {}
    for entry in (plan or {}).get("subtasks", []):
        frames = entry.get("frames") if isinstance(entry, dict) else None
        if isinstance(frames, list) and frames:
            by_start[int(frames[0])] = entry
    spans = []
    for (start, end), text in zip(sequence.segment_ranges, sequence.texts, strict=True):
        entry = by_start.get(int(start), {})
        hands = entry.get("hands", "")
        spans.append(
            SubtaskSpan(
                start=int(start),
                end=int(end),
                text=str(text),
                primitive=str(entry.get("primitive", "")),
                hands=" + ".join(hands) if isinstance(hands, list) else str(hands),
            )
        )
    return tuple(spans)


def _plan_text(plan: dict | None) -> str:
    if not plan:
        return ""
    lines = [f"“{plan.get('instruction', '')}”"]
    for index, entry in enumerate(plan.get("subtasks", [])):
        if not isinstance(entry, dict):
            continue
        hands = entry.get("hands", "")
        hands = " + ".join(hands) if isinstance(hands, list) else str(hands)
        frames = entry.get("frames")
        where = f" [{frames[0]}–{frames[1]})" if isinstance(frames, list) and frames else ""
        detail = ", ".join(
            str(x) for x in (entry.get("primitive"), hands, entry.get("affordance")) if x
        )
        lines.append(f"{index + 1}. {entry.get('text', '')} ({detail}){where}")
    return "\n".join(lines)
