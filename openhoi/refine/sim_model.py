"""Convex collision geometry and in-memory MuJoCo scenes for the simulator check.

MuJoCo collides convex shapes only, so both sides of a grasp are cut into convex pieces:

- the hand, per MANO segment: each vertex goes to the joint with the largest skinning
  weight (`lbs_weights`, `(V, 16)`). One hull per segment over-fills curved skin: the
  palm's hull spans the hollow of a cupped palm, and a phalanx hull bridges the bend at
  its knuckle, so a hand that touches a surface with its skin starts millimetres inside
  it in MuJoCo and kicks the object away. So a segment longer than
  `HAND_PIECE_MAX_EXTENT_M` is cut (in the rest pose, k-means on its vertices) into
  pieces of about that size, each grown by the one-ring of mesh neighbours so that
  neighbouring pieces overlap and leave no gap (about 40 pieces in all; a piece with
  fewer than four points or almost no volume is dropped). A piece moves rigidly with its
  joint's world transform, computed by forward kinematics
  (`smplx.lbs.batch_rigid_transform` on the pose's rotation matrices), not fitted;
- the object, per part: a part that is already convex (`trimesh` `is_convex`) is one
  piece; any other part is split by CoACD (Wei et al. 2022, `coacd.run_coacd`). Each
  decomposition is cached under `<cache_root()>/convex/<sha256>.npz` (key: the part's
  vertex and face bytes and the CoACD settings; written atomically, read without pickle).

Scenes are MJCF strings with the pieces' vertices inline (MuJoCo takes the convex hull of
a vertex-only mesh), compiled by `mujoco.MjModel.from_xml_string`: nothing is written
to disk except the decomposition cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

from openhoi._cache import cache_root
from openhoi._deps import require
from openhoi._io import save_npz_atomic
from openhoi.errors import InputError

__all__ = [
    "HAND_PIECE_MAX_EXTENT_M",
    "MIN_PIECE_VOLUME_M3",
    "ContactSettings",
    "ConvexPiece",
    "HandPieceBody",
    "HandSegmentation",
    "convex_decomposition",
    "convex_piece",
    "hand_joint_frames",
    "hand_pieces",
    "hand_segment_ids",
    "hand_segmentation",
    "object_pieces",
    "scene_xml",
]

logger = logging.getLogger(__name__)

#: A convex piece smaller than 1 mm³ (a sliver of a few coplanar skin vertices) is dropped:
#: it carries no contact a finger could make, and MuJoCo refuses near-zero-volume meshes.
MIN_PIECE_VOLUME_M3 = 1.0e-9
#: Largest extent (rest pose) of one hand piece: longer segments (the palm, the thumb's
#: base) are cut so that a hull stays within about a millimetre of the skin it wraps.
HAND_PIECE_MAX_EXTENT_M = 0.02
# Lloyd iterations of the k-means that cuts a segment (converges in a few on MANO).
_KMEANS_ITERATIONS = 20
#: CoACD settings fixed here (the concavity threshold is `SimConfig.coacd_threshold`):
#: seeded for determinism, at most 32 pieces per part (plenty for hand-held objects).
COACD_SEED = 0
COACD_MAX_CONVEX_HULLS = 32
# Bumped whenever the cached file's layout changes, so stale files are never read.
_CACHE_FORMAT = 1

# Collision groups (MuJoCo: geoms a, b collide when a.contype & b.conaffinity or
# b.contype & a.conaffinity): the object touches hands and table; hand pieces and the
# table never touch each other.
_OBJECT_CONTYPE, _OBJECT_CONAFFINITY = 1, 2
_KINEMATIC_CONTYPE, _KINEMATIC_CONAFFINITY = 2, 0
# A driven hand body is heavy (its pose is rewritten every step anyway), so contact
# impulses within a step barely move it.
_DRIVEN_MASS_KG = 100.0
_DRIVEN_INERTIA = 1.0


@dataclass(frozen=True)
class ConvexPiece:
    """One convex collision shape.

    Attributes:
        vertices: `(N, 3)` float64 hull vertices, metres, in the frame of their owner
            (world, a hand joint, or the object's canonical frame).
        faces: `(M, 3)` int32 hull triangles (informational; MuJoCo rebuilds the hull).
    """

    vertices: np.ndarray
    faces: np.ndarray


@dataclass(frozen=True)
class ContactSettings:
    """MuJoCo contact and integration settings of a scene (see `SimConfig`)."""

    timestep_s: float
    friction: float
    torsional_friction_m: float
    condim: int
    impratio: float
    noslip_iterations: int
    solref: tuple[float, float]
    solimp: tuple[float, float, float]
    density_kg_m3: float
    press_stiffness_n_m: float
    press_damping_n_s_m: float
    press_mass_kg: float


def convex_piece(points: np.ndarray) -> ConvexPiece | None:
    """The convex hull of `(N, 3)` points, or None when it is degenerate (flat, < 1 mm³)."""
    from scipy.spatial import ConvexHull, QhullError

    points = np.asarray(points, dtype=np.float64)
    if len(points) < 4:
        return None
    try:
        hull = ConvexHull(points)
    except (QhullError, ValueError):
        return None
    if hull.volume < MIN_PIECE_VOLUME_M3:
        return None
    used = hull.vertices
    remap = np.full(len(points), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return ConvexPiece(points[used].copy(), remap[hull.simplices].astype(np.int32))


# ---------------------------------------------------------------------------- hand


def hand_segment_ids(lbs_weights: np.ndarray) -> np.ndarray:
    """`(V,)` int64: the joint (0..15) with the largest skinning weight of each vertex."""
    weights = np.asarray(lbs_weights)
    if weights.ndim != 2:
        raise InputError(f"lbs_weights must have shape (V, J), got {weights.shape}")
    return np.argmax(weights, axis=1).astype(np.int64)


@dataclass(frozen=True)
class HandSegmentation:
    """How a hand mesh is cut into convex pieces (fixed per hand model).

    Attributes:
        joints: `(K,)` int64 MANO joint (0..15) each piece moves with.
        members: K arrays of vertex ids, one per piece (pieces of a segment overlap by one
            ring of mesh neighbours).
    """

    joints: np.ndarray
    members: tuple[np.ndarray, ...]


def _kmeans(points: np.ndarray, count: int) -> np.ndarray:
    """`(N,)` cluster of each point: deterministic Lloyd's k-means, farthest-point start."""
    centres = [points[np.argmax(np.linalg.norm(points - points.mean(0), axis=1))]]
    for _ in range(count - 1):
        gaps = np.min(np.linalg.norm(points[:, None] - np.array(centres)[None], axis=2), axis=1)
        centres.append(points[np.argmax(gaps)])
    centres = np.array(centres)
    for _ in range(_KMEANS_ITERATIONS):
        labels = np.argmin(np.linalg.norm(points[:, None] - centres[None], axis=2), axis=1)
        centres = np.array([
            points[labels == k].mean(0) if np.any(labels == k) else centres[k]
            for k in range(count)
        ])  # fmt: skip
    return np.argmin(np.linalg.norm(points[:, None] - centres[None], axis=2), axis=1)


def hand_segmentation(
    lbs_weights: np.ndarray,
    rest_vertices: np.ndarray,
    faces: np.ndarray,
    *,
    max_extent_m: float = HAND_PIECE_MAX_EXTENT_M,
) -> HandSegmentation:
    """Cut the hand into convex-piece vertex sets (see the module docstring).

    Args:
        lbs_weights: `(V, 16)` skinning weights.
        rest_vertices: `(V, 3)` rest-pose vertices, metres (where segments are measured).
        faces: `(F, 3)` mesh triangles (their edges give the one-ring that pieces grow by).
        max_extent_m: longest principal extent of a piece before it is cut.
    """
    segment = hand_segment_ids(lbs_weights)
    rest = np.asarray(rest_vertices, np.float64)
    faces = np.asarray(faces, np.int64)
    joints, members = [], []
    for joint in np.unique(segment):
        ids = np.flatnonzero(segment == joint)
        centred = rest[ids] - rest[ids].mean(0)
        axes = np.linalg.svd(centred, full_matrices=False)[2]
        extent = float(np.ptp(centred @ axes[0]))
        count = max(1, min(len(ids) // 8, math.ceil(extent / max_extent_m)))
        labels = _kmeans(rest[ids], count) if count > 1 else np.zeros(len(ids), np.int64)
        for label in range(count):
            core = np.zeros(len(rest), bool)
            core[ids[labels == label]] = True
            # One ring of neighbours within the segment, so adjacent pieces overlap.
            touching = faces[core[faces].any(axis=1)].ravel()
            grown = np.zeros(len(rest), bool)
            grown[touching] = True
            grown &= segment == joint
            joints.append(int(joint))
            members.append(np.flatnonzero(grown | core))
    return HandSegmentation(np.array(joints, np.int64), tuple(members))


def hand_pieces(
    vertices: np.ndarray, segmentation: HandSegmentation
) -> list[tuple[int, ConvexPiece]]:
    """Convex hull of each hand piece: `[(joint, piece), ...]`, degenerate ones dropped.

    Args:
        vertices: `(V, 3)` posed hand vertices, metres (any frame; the pieces share it).
        segmentation: the pieces' vertex sets (`hand_segmentation`).
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    pieces = []
    for joint, ids in zip(segmentation.joints, segmentation.members, strict=True):
        piece = convex_piece(vertices[ids])
        if piece is not None:
            pieces.append((int(joint), piece))
    return pieces


def hand_joint_frames(
    model, pose_6d: np.ndarray, transl: np.ndarray, betas: np.ndarray
) -> np.ndarray:
    """`(T, 16, 4, 4)` world transform of each MANO joint (rotation, joint position).

    Forward kinematics as in `HandModel.keypoints`: a vertex skinned to joint j alone moves
    as `frames[:, j] @ inverse(frames_rest[j])`, so a hand piece expressed in its joint's
    frame at one frame follows the hand rigidly at every other frame.

    Args:
        model: the `openhoi.hand.HandModel` of the side.
        pose_6d: `(T, 16, 6)` global orient then finger joints, 6D rotations.
        transl: `(T, 3)` MANO translation, metres.
        betas: `(10,)` hand shape.
    """
    import torch
    from smplx.lbs import batch_rigid_transform

    from openhoi.geometry import rotation_6d_to_matrix

    with torch.no_grad():
        rot_mats = rotation_6d_to_matrix(torch.as_tensor(np.array(pose_6d), dtype=model.dtype))
        count = rot_mats.shape[0]
        rest = model.rest_joints(torch.as_tensor(np.array(betas), dtype=model.dtype)[None])
        posed, relative = batch_rigid_transform(
            rot_mats, rest.expand(count, -1, -1).contiguous(), model.mano.parents
        )
    frames = np.tile(np.eye(4), (count, rot_mats.shape[1], 1, 1))
    frames[:, :, :3, :3] = relative[:, :, :3, :3].double().numpy()
    frames[:, :, :3, 3] = posed.double().numpy() + np.asarray(transl, np.float64)[:, None]
    return frames


# -------------------------------------------------------------------------- object


def _cache_key(mesh: trimesh.Trimesh, threshold: float) -> str:
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(mesh.vertices, dtype=np.float64).tobytes())
    digest.update(np.ascontiguousarray(mesh.faces, dtype=np.int64).tobytes())
    settings = {
        "format": _CACHE_FORMAT,
        "threshold": float(threshold),
        "max_convex_hull": COACD_MAX_CONVEX_HULLS,
        "seed": COACD_SEED,
    }
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()


def _pack(pieces: list[ConvexPiece]) -> dict[str, np.ndarray]:
    return {
        "vertices": np.concatenate([p.vertices for p in pieces]),
        "faces": np.concatenate([p.faces for p in pieces]),
        "vertex_counts": np.array([len(p.vertices) for p in pieces], np.int64),
        "face_counts": np.array([len(p.faces) for p in pieces], np.int64),
    }


def _unpack(path: Path) -> list[ConvexPiece] | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            vertices, faces = data["vertices"], data["faces"]
            vertex_counts, face_counts = data["vertex_counts"], data["face_counts"]
    except (OSError, ValueError, KeyError) as error:
        logger.warning("ignoring unreadable convex-decomposition cache %s: %s", path, error)
        return None
    vertex_split = np.cumsum(vertex_counts)[:-1]
    face_split = np.cumsum(face_counts)[:-1]
    return [
        ConvexPiece(v.astype(np.float64), f.astype(np.int32))
        for v, f in zip(np.split(vertices, vertex_split), np.split(faces, face_split), strict=True)
    ]


def convex_decomposition(
    mesh: trimesh.Trimesh,
    *,
    threshold: float,
    cache_dir: str | os.PathLike | None = None,
) -> tuple[ConvexPiece, ...]:
    """Convex pieces of `mesh` (CoACD), cached; a convex mesh is returned as one piece.

    Args:
        mesh: a closed triangle mesh, metres.
        threshold: CoACD concavity threshold (relative to the mesh's bounding box).
        cache_dir: cache root (default `openhoi._cache.cache_root()`); files go in its
            `convex/` folder.

    Returns:
        The pieces, in the mesh's frame.
    """
    if mesh.is_convex:
        piece = convex_piece(np.asarray(mesh.vertices))
        if piece is None:
            raise InputError("a part mesh has almost no volume; it cannot collide in MuJoCo")
        return (piece,)
    folder = (Path(cache_dir) if cache_dir is not None else cache_root()) / "convex"
    path = folder / f"{_cache_key(mesh, threshold)}.npz"
    if path.is_file():
        cached = _unpack(path)
        if cached:
            return tuple(cached)
    coacd = require("coacd", "the simulator check's convex decomposition")
    coacd.set_log_level("error")  # CoACD logs progress to stdout otherwise
    raw = coacd.run_coacd(
        coacd.Mesh(np.asarray(mesh.vertices, np.float64), np.asarray(mesh.faces, np.int32)),
        threshold=threshold,
        max_convex_hull=COACD_MAX_CONVEX_HULLS,
        seed=COACD_SEED,
    )
    pieces = [p for p in (convex_piece(vertices) for vertices, _ in raw) if p is not None]
    if not pieces:
        raise InputError("CoACD returned no usable convex piece for a part mesh")
    save_npz_atomic(path, _pack(pieces))
    return tuple(pieces)


def object_pieces(
    obj, *, threshold: float, cache_dir: str | os.PathLike | None = None
) -> dict[str, tuple[ConvexPiece, ...]]:
    """Part name → convex pieces of that part, canonical rest frame (see the module doc)."""
    return {
        name: convex_decomposition(mesh, threshold=threshold, cache_dir=cache_dir)
        for name, mesh in zip(obj.part_names, obj.part_meshes(), strict=True)
    }


# --------------------------------------------------------------------------- scene


@dataclass(frozen=True)
class HandPieceBody:
    """A hand piece as MuJoCo sees it: rigid on its joint's body, or pressing.

    Attributes:
        vertices: `(N, 3)` hull vertices in the joint's frame, metres.
        press_axis: `(3,)` unit direction (joint frame) along which the piece slides
            towards the object, pushed by a spring; None for a rigid piece.
        press_rest_m: the spring's rest position along `press_axis`, metres (the piece's
            gap to the surface plus the squeeze depth); the slide range is [0, 2 × rest]:
            the piece never backs off from its generated pose.
        press_share: the fraction of its joint's squeeze force this piece presses with
            (1 / the number of pressing pieces of that joint), so that cutting a segment into
            pieces does not multiply its grip; it scales the spring's stiffness and damping.
    """

    vertices: np.ndarray
    press_axis: np.ndarray | None = None
    press_rest_m: float = 0.0
    press_share: float = 1.0


def _numbers(values: np.ndarray) -> str:
    return " ".join(f"{x:.9g}" for x in np.asarray(values, np.float64).ravel())


def scene_xml(
    *,
    contact: ContactSettings,
    hand: list[HandPieceBody],
    hand_position: np.ndarray,
    hand_quat: np.ndarray,
    is_hand_moving: bool,
    object_pieces_body: list[np.ndarray],
    object_position: np.ndarray,
    object_quat: np.ndarray,
    has_table: bool,
) -> str:
    """The MJCF of one check scene.

    Hand piece i sits on body `hand_<i>` (its joint's frame); a pressing piece hangs below
    it on a gravity-compensated body with one spring-loaded slide joint. With
    `is_hand_moving` False the `hand_<i>` are fixed (mocap bodies that stay put); with True
    each is a heavy gravity-compensated free body that the caller drives by writing its
    pose and velocity (`qpos`, `qvel` of joint `hand_<i>`) before every step. Mocap bodies
    would be simpler, but MuJoCo gives them zero velocity, so friction could not drag the
    object along with a moving hand.

    Args:
        contact: MuJoCo settings.
        hand: the hand pieces.
        hand_position: `(P, 3)` initial body positions, metres; hand_quat: `(P, 4)` w, x, y, z.
        is_hand_moving: fixed (False) or driven (True) hand bodies, see above.
        object_pieces_body: `(N_i, 3)` vertices of the object's pieces in its body frame.
        object_position: `(3,)` object body position, metres; object_quat: `(4,)` w, x, y, z.
        has_table: whether a table plane at z = 0 is present.

    Returns:
        The XML text; gravity is zero (callers set `model.opt.gravity`).
    """
    assets, world, body = [], [], []
    kinematic = f'contype="{_KINEMATIC_CONTYPE}" conaffinity="{_KINEMATIC_CONAFFINITY}"'
    for index, piece in enumerate(hand):
        assets.append(f'<mesh name="hand_{index}" vertex="{_numbers(piece.vertices)}"/>')
        geom = f'<geom type="mesh" mesh="hand_{index}" {kinematic}'
        if piece.press_axis is None:
            inner = f"{geom}/>"
        else:
            rest = piece.press_rest_m
            stiffness = contact.press_stiffness_n_m * piece.press_share
            damping = 2.0 * math.sqrt(stiffness * contact.press_mass_kg)
            inner = (
                f'<body name="press_{index}" gravcomp="1">'
                f'<joint name="press_{index}" type="slide" axis="{_numbers(piece.press_axis)}" '
                f'stiffness="{stiffness:.9g}" springref="{rest:.9g}" '
                f'damping="{damping:.9g}" limited="true" '
                f'range="0 {2 * rest:.9g}" solreflimit="{_numbers(contact.solref)}" '
                f'solimplimit="{_numbers(contact.solimp)}"/>'
                f'{geom} mass="{contact.press_mass_kg:.9g}"/></body>'
            )
        pose = f'pos="{_numbers(hand_position[index])}" quat="{_numbers(hand_quat[index])}"'
        if is_hand_moving:
            driver = (
                f'<body name="hand_{index}" {pose} gravcomp="1"><freejoint name="hand_{index}"/>'
                f'<inertial pos="0 0 0" mass="{_DRIVEN_MASS_KG}" '
                f'diaginertia="{_DRIVEN_INERTIA} {_DRIVEN_INERTIA} {_DRIVEN_INERTIA}"/>'
            )
        else:
            driver = f'<body name="hand_{index}" mocap="true" {pose}>'
        world.append(f"{driver}{inner}</body>")
    if has_table:
        world.append(f'<geom name="table" type="plane" size="0 0 1" {kinematic}/>')
    for index, vertices in enumerate(object_pieces_body):
        assets.append(f'<mesh name="object_{index}" vertex="{_numbers(vertices)}"/>')
        body.append(
            f'<geom type="mesh" mesh="object_{index}" density="{contact.density_kg_m3:.9g}" '
            f'contype="{_OBJECT_CONTYPE}" conaffinity="{_OBJECT_CONAFFINITY}"/>'
        )
    friction = f"{contact.friction:.9g} {contact.torsional_friction_m:.9g} 0.0001"
    return (
        '<mujoco model="openhoi_check">'
        '<compiler angle="radian"/>'
        f'<option timestep="{contact.timestep_s:.9g}" gravity="0 0 0" cone="elliptic" '
        f'impratio="{contact.impratio:.9g}" noslip_iterations="{contact.noslip_iterations}" '
        'integrator="implicitfast"/>'
        f'<default><geom condim="{contact.condim}" friction="{friction}" '
        f'solref="{_numbers(contact.solref)}" solimp="{_numbers(contact.solimp)}"/></default>'
        f"<asset>{''.join(assets)}</asset>"
        f"<worldbody>{''.join(world)}"
        f'<body name="object" pos="{_numbers(object_position)}" quat="{_numbers(object_quat)}">'
        f'<freejoint name="object"/>{"".join(body)}</body>'
        "</worldbody></mujoco>"
    )
