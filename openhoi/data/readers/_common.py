"""Pieces shared by the GRAB, ARCTIC and H2O readers.

- :class:`DatasetReader`, the reader interface (list sequences, read one into episodes,
  load an object), and :class:`HandSet`, both hands' models with what needs real MANO.
- :func:`build_object`: dataset meshes → a canonical-frame `HOIObject` plus the offset
  that object poses must absorb (:func:`pose_to_canonical`).
- Frame-rate reduction, ≤150-frame segmentation, episode assembly with plan and text,
  hand–object contact, and the seen/unseen split files.
"""

from __future__ import annotations

import abc
import functools
import itertools
import json
import logging
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import ClassVar

import numpy as np
import trimesh

from openhoi.data.episodes import Episode, SubTask
from openhoi.data.instructions import instruction_text, subtask_text, verb_info
from openhoi.data.sequence import HAND_SIDES, NUM_BETAS, HOISequence
from openhoi.errors import InputError, MissingFileError
from openhoi.vocab import MAX_SEGMENT_FRAMES

__all__ = [
    "MAX_SEGMENT_FRAMES",
    "MIN_SEGMENT_FRAMES",
    "TARGET_FPS",
    "ContactOutput",
    "DatasetReader",
    "HandSet",
    "SegmentSpec",
    "build_episode",
    "build_object",
    "hand_object_contact",
    "hands_choice",
    "load_mesh",
    "load_split",
    "pose_to_canonical",
    "reduce_frame_rate",
    "split_range",
]

logger = logging.getLogger(__name__)

#: Every prepared sequence runs at this rate (DESIGN.md data contract).
TARGET_FPS = 30.0
#: A sub-task segment is at most this many frames (5 s at 30 fps).
#: Labelled actions shorter than this (0.5 s at 30 fps) are dropped: too short to learn a
#: motion from, and mostly annotation boundary noise. Text2HOI drops ≤ 20 frames.
MIN_SEGMENT_FRAMES = 15


# ------------------------------------------------------------------------------ hands


class HandSet:
    """Left and right `HandModel`s, real MANO when `mano_dir` (or $OPENHOI_MANO_DIR) has them.

    Args:
        mano_dir: folder with MANO_LEFT.pkl / MANO_RIGHT.pkl, "embedded:v1" / "embedded:v2",
            or None for the default embedded hand.
    """

    def __init__(self, mano_dir: str | os.PathLike | None) -> None:
        from openhoi.hand import HandModel

        self.mano_dir = None if mano_dir is None else Path(mano_dir)
        self.models = {side: HandModel(side, mano_dir=mano_dir) for side in HAND_SIDES}
        self.is_real = not any(model.is_default_asset for model in self.models.values())

    def model(self, side: str):
        """The `HandModel` of one side."""
        return self.models[side]

    def hands_mean(self, side: str) -> np.ndarray:
        """`(45,)` MANO `hands_mean` of one side (needs the real MANO files)."""
        from openhoi.hand import load_mano_file
        from openhoi.hand.constants import MANO_DIR_ENV_VAR, MANO_FILE_NAMES

        if not self.is_real:
            raise InputError("hands_mean needs the real MANO files (pass mano_dir)")
        folder = self.mano_dir or Path(os.environ[MANO_DIR_ENV_VAR])
        return np.asarray(load_mano_file(folder / MANO_FILE_NAMES[side])["hands_mean"], np.float64)

    def rest_wrist(self, side: str, betas: np.ndarray) -> np.ndarray:
        """`(N, 3)` rest-pose wrist joint J0 for `(N, 10)` betas, metres."""
        import torch

        with torch.no_grad():
            joints = self.models[side].rest_joints(torch.as_tensor(betas, dtype=torch.float32))
        return np.asarray(joints[:, 0].detach().cpu().numpy(), np.float64)

    @functools.cache  # noqa: B019 - one HandSet per reader; caching per side is intended
    def shape_basis(self, side: str) -> tuple[np.ndarray, np.ndarray]:
        """`(V, 3)` zero-shape template and `(V·3, 10)` shape basis, read off the model.

        At zero pose and zero translation the MANO mesh is `v_template + shapedirs · β`
        exactly (every joint rotation is the identity), so evaluating the model at
        β = 0 and at the 10 unit vectors recovers both as the model really uses them
        (including any left-hand shapedirs fix).
        """
        import torch

        betas = torch.cat([torch.zeros(1, NUM_BETAS), torch.eye(NUM_BETAS)])
        count = betas.shape[0]
        with torch.no_grad():
            out = self.models[side](torch.zeros(count, 16, 3), torch.zeros(count, 3), betas=betas)
        vertices = out.vertices.detach().cpu().numpy().astype(np.float64)
        template = vertices[0]
        basis = (vertices[1:] - template).reshape(NUM_BETAS, -1).T
        return template, basis

    def fit_betas(self, side: str, template_vertices: np.ndarray) -> np.ndarray:
        """`(10,)` betas whose zero-pose mesh best matches a subject template (least squares)."""
        template, basis = self.shape_basis(side)
        target = np.asarray(template_vertices, np.float64)
        if target.shape != template.shape:
            raise InputError(
                f"subject hand template has {target.shape[0]} vertices, the {side} MANO model "
                f"{template.shape[0]}"
            )
        betas, *_ = np.linalg.lstsq(basis, (target - template).reshape(-1), rcond=None)
        return betas.astype(np.float32)


# ----------------------------------------------------------------------------- objects


def load_mesh(path: Path, what: str) -> trimesh.Trimesh:
    """A triangle mesh from a file, unprocessed; clear errors for missing or bad files."""
    if not path.is_file():
        raise MissingFileError(f"{what} {str(path)!r} does not exist")
    try:
        mesh = trimesh.load(path, process=False, force="mesh")
    except Exception as exc:
        raise InputError(f"{what} {str(path)!r} is not a readable mesh ({exc})") from exc
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise InputError(f"{what} {str(path)!r} holds no triangles")
    return mesh


def build_object(
    name: str,
    parts: Sequence[tuple[str, trimesh.Trimesh]],
    *,
    scale: float = 1.0,
    articulation: tuple[str, np.ndarray, np.ndarray, tuple[float, float]] | None = None,
    source: str = "",
    description: str = "",
):
    """A canonical-frame `HOIObject` from dataset part meshes (source coordinates).

    The canonical frame (openhoi.objects) rests the object on z = 0 with its x,y box centred
    at the origin, so source coordinates are scaled to metres and shifted by
    `canonical_offset`; object poses must absorb that shift (:func:`pose_to_canonical`).

    Args:
        name: object id.
        parts: `(part name, mesh)` in source coordinates; parts keep their own vertices.
        scale: metres per source unit (0.001 for ARCTIC's millimetres).
        articulation: `(moving part, axis (3,), origin (3,) in source units, angle range)`.
        source: where the mesh came from.
        description: one line of text.

    Returns:
        The `HOIObject` (face affordances all zero: real datasets label none).
    """
    from openhoi.objects import AFFORDANCE_TYPES, Articulation, HOIObject, ObjectPart

    vertices, faces, object_parts = [], [], []
    vertex_count = face_count = 0
    watertight = True
    for part_name, mesh in parts:
        part_vertices = np.asarray(mesh.vertices, np.float64) * scale
        part_faces = np.asarray(mesh.faces, np.int64)
        vertices.append(part_vertices)
        faces.append(part_faces + vertex_count)
        object_parts.append(
            ObjectPart(part_name, np.arange(face_count, face_count + len(part_faces)))
        )
        watertight = watertight and bool(mesh.is_watertight)
        vertex_count += len(part_vertices)
        face_count += len(part_faces)
    all_vertices = np.concatenate(vertices)
    low, high = all_vertices.min(axis=0), all_vertices.max(axis=0)
    offset = -np.array([(low[0] + high[0]) / 2, (low[1] + high[1]) / 2, low[2]])
    mesh = trimesh.Trimesh(all_vertices + offset, np.concatenate(faces), process=False)
    joint = None
    if articulation is not None:
        part, axis, origin, angle_range = articulation
        joint = Articulation(
            part=part,
            axis=np.asarray(axis, np.float64),
            origin=np.asarray(origin, np.float64) * scale + offset,
            angle_range=angle_range,
        )
    return HOIObject(
        name=name,
        mesh=mesh,
        parts=tuple(object_parts),
        face_affordance=np.zeros((face_count, len(AFFORDANCE_TYPES)), np.float32),
        articulation=joint,
        is_watertight=watertight,
        source=source,
        description=description,
        canonical_offset=offset,
    )


def pose_to_canonical(
    rotation: np.ndarray, translation: np.ndarray, offset: np.ndarray
) -> np.ndarray:
    """`(T, 3)` translation of a pose given for source coordinates, for canonical ones.

    A source point x_s = x_c − offset maps to R x_s + t = R x_c + (t − R·offset).
    """
    return np.asarray(translation, np.float64) - np.einsum(
        "tij,j->ti", np.asarray(rotation, np.float64), np.asarray(offset, np.float64)
    )


# ----------------------------------------------------------------------- frames, segments


def reduce_frame_rate(sequence: HOISequence, fps: float = TARGET_FPS) -> HOISequence:
    """The sequence at `fps`: every k-th frame when the rate is an integer multiple k, else
    `HOISequence.resample`. Integer strides keep source frames exactly (no interpolation)."""
    ratio = sequence.fps / fps
    if abs(ratio - round(ratio)) < 1e-6 and round(ratio) >= 1:
        stride = round(ratio)
        if stride == 1:
            return sequence
        if sequence.num_segments != 1:
            raise InputError("reduce_frame_rate expects a single-segment sequence")
        return sequence.replace(
            frames=sequence.frames[::stride],
            active_hands=sequence.active_hands[::stride],
            fps=float(fps),
        )
    return sequence.resample(fps)


def split_range(
    start: int, stop: int, max_frames: int = MAX_SEGMENT_FRAMES
) -> list[tuple[int, int]]:
    """`[start, stop)` cut into the fewest near-equal pieces of at most `max_frames`."""
    length = stop - start
    if length <= 0:
        return []
    pieces = math.ceil(length / max_frames)
    bounds = np.linspace(start, stop, pieces + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(bounds)]


def hands_choice(left: bool, right: bool) -> str:
    """ "left", "right" or "both" from two flags (neither → "both")."""
    if left and not right:
        return "left"
    if right and not left:
        return "right"
    return "both"


@dataclass(frozen=True)
class SegmentSpec:
    """One sub-task segment before text is attached.

    Attributes:
        sequence: the segment at 30 fps, ≤150 frames, `active_hands` set.
        verb: the dataset's action label for it.
        hands: "left", "right" or "both".
        source_frames: `(first, last)` source-file frame indices (inclusive) it covers.
    """

    sequence: HOISequence
    verb: str
    hands: str
    source_frames: tuple[int, int] = (0, 0)


def build_episode(
    *,
    source: str,
    episode_id: str,
    object_name: str,
    segments: Sequence[SegmentSpec],
    metadata: dict[str, object],
) -> Episode:
    """An `Episode` with one templated SubTask per segment and a templated instruction."""
    plan, sequences = [], []
    for spec in segments:
        info = verb_info(spec.verb)
        text = subtask_text(spec.verb, object_name, spec.hands)
        plan.append(SubTask(info.primitive, spec.hands, info.affordance, text))
        sequences.append(spec.sequence.replace(texts=(text,), object_name=object_name))
    meta = dict(metadata)
    meta["segment_source_frames"] = [list(spec.source_frames) for spec in segments]
    meta["actions"] = [spec.verb for spec in segments]
    return Episode(
        episode_id=episode_id,
        instruction=instruction_text(object_name, [s.text for s in plan], episode_id),
        object=object_name,
        plan=tuple(plan),
        segments=tuple(sequences),
        source=source,
        metadata=meta,
    )


def segment_specs(
    sequence: HOISequence,
    start: int,
    stop: int,
    verb: str,
    hands: str,
    frame_to_source: np.ndarray,
) -> list[SegmentSpec]:
    """`sequence[start:stop]` cut into ≤150-frame `SegmentSpec`s with constant active hands."""
    active = np.array([hands in ("left", "both"), hands in ("right", "both")])
    specs = []
    for a, b in split_range(start, stop):
        piece = sequence[a:b]
        piece = piece.replace(active_hands=np.tile(active, (piece.num_frames, 1)))
        specs.append(
            SegmentSpec(piece, verb, hands, (int(frame_to_source[a]), int(frame_to_source[b - 1])))
        )
    return specs


# ------------------------------------------------------------------------------ contact


@dataclass(frozen=True)
class ContactOutput:
    """Hand–object proximity of one segment.

    Attributes:
        keypoints: `(T, 2, 21)` bool, keypoint within the radius of the object surface
            (left row 0, right row 1).
        vertices: `(T, 2)` bool, any hand vertex within the radius.
        point_hits: `(P,)` float32 in [0, 1]: fraction of the contact frames in which each
            of the object's 1024 canonical points lies within the radius of a hand vertex.
    """

    keypoints: np.ndarray
    vertices: np.ndarray
    point_hits: np.ndarray


def _part_transforms(sequence: HOISequence, obj) -> list[np.ndarray]:
    """Per part, `(T, 4, 4)` transforms part rest pose (canonical) → world."""
    world = sequence.object_transforms().astype(np.float64)  # (T, 4, 4)
    angles = np.asarray(sequence.object_angle(), np.float64)
    return [world @ np.asarray(obj.part_transform(name, angles)) for name in obj.part_names]


def hand_object_contact(
    sequence: HOISequence,
    obj,
    hands: HandSet,
    radius: float | None = None,
    *,
    keypoints_only: bool = False,
) -> ContactOutput:
    """Which hand keypoints / vertices lie within `radius` of the object surface, per frame.

    Distances are signed distances to the object's part meshes posed per frame
    (`openhoi.geometry.signed_distance_parts`); points inside the object count as contact.

    Args:
        sequence: the segment (world frame).
        obj: its `HOIObject`.
        hands: the hand models that turn parameters into vertices.
        radius: metres; default `geometry.constants.CONTACT_LABEL_THRESHOLD_M` (2 cm).
        keypoints_only: skip the vertex and object-point parts (cheaper).
    """
    import torch

    from openhoi.geometry.constants import CONTACT_LABEL_THRESHOLD_M
    from openhoi.geometry.distance import signed_distance_parts

    radius = CONTACT_LABEL_THRESHOLD_M if radius is None else radius
    num_frames = sequence.num_frames
    transforms = [torch.from_numpy(t) for t in _part_transforms(sequence, obj)]
    meshes = obj.part_meshes()
    joints = [sequence.hand_joints(side, hands.model(side)) for side in HAND_SIDES]
    keypoint_contact = np.zeros((num_frames, 2, joints[0].shape[1]), bool)
    vertex_contact = np.zeros((num_frames, 2), bool)
    hits = np.zeros(len(obj.points.points), np.float64)
    contact_frames = np.zeros(num_frames, bool)
    for index in range(len(HAND_SIDES)):
        query = torch.from_numpy(np.asarray(joints[index], np.float64))
        sdf = signed_distance_parts(query, meshes, transforms).sdf.numpy()
        keypoint_contact[:, index] = sdf < radius
    if keypoints_only:
        return ContactOutput(
            keypoint_contact, keypoint_contact.any(axis=2), hits.astype(np.float32)
        )
    # Object points in the world per frame, each moved with its part.
    points = np.asarray(obj.points.points, np.float64)
    part_ids = np.asarray(obj.points.part_ids)
    points_world = np.zeros((num_frames, len(points), 3))
    for part, transform in enumerate(transforms):
        mask = part_ids == part
        t = transform.numpy()
        points_world[:, mask] = (
            np.einsum("tij,pj->tpi", t[:, :3, :3], points[mask]) + t[:, None, :3, 3]
        )
    near_vertices: list[np.ndarray] = [np.zeros((0, 3))] * num_frames
    for index, side in enumerate(HAND_SIDES):
        vertices = sequence.hand_vertices(side, hands.model(side)).astype(np.float64)
        sdf = signed_distance_parts(torch.from_numpy(vertices), meshes, transforms).sdf.numpy()
        close = sdf < radius  # (T, V)
        vertex_contact[:, index] = close.any(axis=1)
        for t in np.flatnonzero(close.any(axis=1)):
            near_vertices[t] = np.concatenate([near_vertices[t], vertices[t, close[t]]])
    for t in range(num_frames):
        if len(near_vertices[t]) == 0:
            continue
        contact_frames[t] = True
        distance = (
            torch.cdist(torch.from_numpy(points_world[t]), torch.from_numpy(near_vertices[t]))
            .min(dim=1)
            .values.numpy()
        )
        hits += distance < radius
    count = int(contact_frames.sum())
    point_hits = (hits / count if count else hits).astype(np.float32)
    return ContactOutput(keypoint_contact, vertex_contact, np.clip(point_hits, 0.0, 1.0))


# -------------------------------------------------------------------------------- splits


def load_split(dataset: str) -> dict[str, object]:
    """The fixed seen/unseen object and held-out subject split of a dataset (package JSON)."""
    try:
        text = resources.files("openhoi.data").joinpath(f"splits/{dataset}.json").read_text("utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"no split file for dataset {dataset!r}") from exc
    return json.loads(text)


def split_tags(split: dict[str, object], object_name: str, subject: str) -> dict[str, str]:
    """`{"object_split": "seen"|"unseen"|"unlisted", "subject_split": "train"|"heldout"}`."""
    if object_name in split.get("unseen_objects", []):
        object_split = "unseen"
    elif object_name in split.get("seen_objects", []):
        object_split = "seen"
    else:
        object_split = "unlisted"
    subject_split = "heldout" if subject in split.get("heldout_subjects", []) else "train"
    return {"object_split": object_split, "subject_split": subject_split}


# -------------------------------------------------------------------------------- reader


@dataclass
class DatasetReader(abc.ABC):
    """Reads one released dataset folder into `Episode`s (30 fps, ≤150-frame segments).

    Args:
        root: the dataset folder as released (see each reader's docstring).
        mano_dir: folder with the official MANO files, or None (embedded hand).
        keep_betas: keep the dataset's hand shapes; False zeroes them.
        assume_flat_mean: ARCTIC only: use poses as they are when MANO's `hands_mean`
            (needed to convert flat_hand_mean=False poses) is unavailable.
    """

    name: ClassVar[str] = ""
    #: Frame rate of the released files.
    source_fps: ClassVar[float] = TARGET_FPS

    root: Path
    mano_dir: Path | None = None
    keep_betas: bool = True
    assume_flat_mean: bool = False
    _objects: dict[str, object] = field(default_factory=dict, init=False, repr=False)
    _hands: HandSet | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.mano_dir = None if self.mano_dir is None else Path(self.mano_dir)
        if not self.root.is_dir():
            raise MissingFileError(f"{self.name} dataset folder {str(self.root)!r} does not exist")
        if self.mano_dir is not None and not self.mano_dir.is_dir():
            from openhoi.hand import embedded_asset_name  # "embedded:v2" names no folder

            if embedded_asset_name(self.mano_dir) is None:
                raise MissingFileError(f"MANO folder {str(self.mano_dir)!r} does not exist")

    @property
    def hands(self) -> HandSet:
        """Both hand models (built on first use)."""
        if self._hands is None:
            self._hands = HandSet(self.mano_dir)
        return self._hands

    @abc.abstractmethod
    def sequence_keys(self) -> list[str]:
        """Sorted ids of the recorded sequences (e.g. "s1/apple_eat_1"); checks the layout."""

    @abc.abstractmethod
    def read_sequence(self, key: str) -> list[Episode]:
        """The episodes of one recorded sequence."""

    @abc.abstractmethod
    def _load_object(self, name: str):
        """Build the `HOIObject` of a dataset object."""

    def mano_notes(self) -> list[str]:
        """What this reader approximates because the real MANO files are missing (or [])."""
        if self.hands.is_real:
            return []
        return [
            "contact labels and affordance masks are computed with the embedded default hand "
            "(approximate; pass the real MANO files for exact hand surfaces)"
        ]

    def load_object(self, name: str):
        """The canonical-frame `HOIObject` of a dataset object (cached)."""
        if name not in self._objects:
            self._objects[name] = self._load_object(name)
        return self._objects[name]

    def episodes(self) -> Iterator[Episode]:
        """Every episode of the dataset, sequence by sequence."""
        for key in self.sequence_keys():
            yield from self.read_sequence(key)

    def _betas(self, betas: np.ndarray) -> np.ndarray:
        return betas.astype(np.float32) if self.keep_betas else np.zeros_like(betas, np.float32)
