"""SynthHOI quality gate: the physics checks every emitted segment must pass.

The checks use the same signed-distance kernels and thresholds as
`openhoi.eval.sequence_physics` (penetration = deepest hand vertex inside the object per
frame; contact within `CONTACT_THRESHOLD_M`; affordance contact = a contacting vertex
whose closest surface point lies within `AFFORDANCE_CONTACT_RADIUS_M` of a region
point), minus the voxel intersection volume, which is slow and not gated. Two things are
stricter than `sequence_physics`: region points on a moving part are posed with the
part's articulation, and the table (z = 0) counts as an obstacle for hands and object.

A segment passes when:
1. penetration (object or table) per frame: mean ≤ 2 mm and max ≤ 5 mm;
2. in ≥ 95% of held frames (a hand holds or touches the object on purpose) the holding
   hand touches the affordance region;
3. in frames where no hand holds the object, the object does not move and rests on the
   table (lowest point within 2 mm of z = 0);
4. the object never sinks below the table by more than 2 mm;
5. the two hands do not intersect (no vertex pair closer than 5 mm).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from openhoi.data.sequence import HAND_SIDES, HOISequence
from openhoi.errors import InputError
from openhoi.geometry import CONTACT_THRESHOLD_M, signed_distance_parts
from openhoi.geometry.constants import AFFORDANCE_CONTACT_RADIUS_M, AFFORDANCE_MASK_THRESHOLD

__all__ = ["QualityConfig", "QualityReport", "check_segment"]

# A hand vertex farther than this from the object's box can neither touch nor penetrate it.
_VERTEX_MARGIN_M = CONTACT_THRESHOLD_M + 0.001


@dataclass(frozen=True)
class QualityConfig:
    """Thresholds of the gate (metres; ratios in [0, 1])."""

    max_mean_penetration_m: float = 0.002
    max_penetration_m: float = 0.005
    min_affordance_contact: float = 0.95
    rest_tolerance_m: float = 0.002
    # Largest per-frame object displacement still counted as "not moving".
    rest_motion_m: float = 1e-4
    min_hand_gap_m: float = 0.005
    # Hands farther than this from the object's bounding box are not queried.
    cull_margin_m: float = 0.02

    def __post_init__(self) -> None:
        for name in ("max_mean_penetration_m", "max_penetration_m", "rest_tolerance_m"):
            if getattr(self, name) <= 0:
                raise InputError(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0.0 <= self.min_affordance_contact <= 1.0:
            raise InputError(
                f"min_affordance_contact must be in [0, 1], got {self.min_affordance_contact}"
            )


@dataclass(frozen=True)
class QualityReport:
    """The gate's verdict on one segment.

    Attributes:
        passed: every check passed. reasons: short names of the failed checks
            ("penetration_mean", "penetration_max", "affordance_contact", "object_rest",
            "object_below_table", "hands_intersect").
        penetration_mean_m / penetration_max_m: over frames of the per-frame deepest point.
        affordance_contact_ratio: share of held frames touching the region (1.0 when none).
        num_held_frames: frames with at least one holding hand.
        rest_drift_m: largest object motion between consecutive unheld frames.
        rest_height_m: largest |lowest object point| over unheld frames.
    """

    passed: bool
    reasons: tuple[str, ...]
    penetration_mean_m: float
    penetration_max_m: float
    affordance_contact_ratio: float
    num_held_frames: int
    rest_drift_m: float
    rest_height_m: float


def _part_transforms(obj, body: np.ndarray, angles: np.ndarray) -> list[torch.Tensor]:
    return [
        torch.from_numpy(
            body @ np.asarray(obj.part_transform(part.name, angles), np.float64).reshape(-1, 4, 4)
        ).float()
        for part in obj.parts
    ]


def _posed_region(obj, mask, body, angles) -> np.ndarray:
    """`(T, R, 3)` world positions of the region points, moving part articulated."""
    points = np.asarray(obj.points.points, np.float64)
    part_ids = np.asarray(obj.points.part_ids)
    region = np.flatnonzero(np.asarray(mask) >= AFFORDANCE_MASK_THRESHOLD)
    out = np.empty((len(body), len(region), 3))
    for k, part in enumerate(obj.parts):
        sel = part_ids[region] == k
        if not sel.any():
            continue
        transform = body @ np.asarray(obj.part_transform(part.name, angles)).reshape(-1, 4, 4)
        out[:, sel] = np.einsum("tij,rj->tri", transform[:, :3, :3], points[region[sel]])
        out[:, sel] += transform[:, None, :3, 3]
    return out


def check_segment(
    sequence: HOISequence,
    obj,
    held: np.ndarray,
    hands: dict,
    config: QualityConfig | None = None,
    *,
    vertices: dict[str, np.ndarray] | None = None,
) -> QualityReport:
    """Run the gate on one segment.

    Args:
        sequence: the segment (one affordance mask in `sequence.affordance[0]`).
        obj: the `HOIObject` it refers to.
        held: `(T, 2)` bool, which hand holds (or purposely touches) the object per frame.
        hands: side → HandModel.
        config: thresholds; defaults when None.
        vertices: optional side → `(T, 778, 3)` world hand vertices already computed.

    Returns:
        QualityReport.
    """
    config = config or QualityConfig()
    num = sequence.num_frames
    held = np.asarray(held, bool)
    if held.shape != (num, len(HAND_SIDES)):
        raise InputError(f"held must have shape ({num}, 2), got {held.shape}")
    body = np.asarray(sequence.object_transforms(), np.float64)
    angles = np.asarray(sequence.object_angle(), np.float64)
    transforms = _part_transforms(obj, body, angles)
    meshes = obj.part_meshes()
    # Object vertices per frame (subsampled) for the table and rest checks, and its bounds.
    unique_angles, inverse = np.unique(angles, return_inverse=True)
    canon = np.stack([np.asarray(obj.vertices_at(float(a)), np.float64) for a in unique_angles])
    canon = canon[inverse]
    object_verts = np.einsum("tij,tvj->tvi", body[:, :3, :3], canon) + body[:, None, :3, 3]
    low = object_verts[..., 2].min(axis=1)
    box_lo = object_verts.min(axis=1) - config.cull_margin_m
    box_hi = object_verts.max(axis=1) + config.cull_margin_m

    # Per vertex, only those within the contact threshold of the object's box are queried.
    shrink = config.cull_margin_m - _VERTEX_MARGIN_M
    vertices = dict(vertices or {})
    depth = np.zeros(num)
    contact_on_region = np.zeros((num, len(HAND_SIDES)), bool)
    mask = sequence.affordance[0] if sequence.affordance is not None else None
    region = _posed_region(obj, mask, body, angles) if mask is not None else None
    for k, side in enumerate(HAND_SIDES):
        if side not in vertices:
            vertices[side] = sequence.hand_vertices(side, hands[side])
        verts = vertices[side]
        depth = np.maximum(depth, np.clip(-verts[..., 2].min(axis=1), 0.0, None))
        near = np.all(
            (verts.max(axis=1) >= box_lo) & (verts.min(axis=1) <= box_hi), axis=1
        )  # AABB overlap: frames where this hand can touch the object at all
        frames = np.flatnonzero(near)
        if not len(frames):
            continue
        sdf, closest = _culled_distance(
            verts, frames, box_lo + shrink, box_hi - shrink, meshes, transforms
        )
        depth[frames] = np.maximum(depth[frames], np.clip(-sdf.min(axis=1), 0.0, None))
        if region is not None and held[:, k].any():
            for row, frame in enumerate(frames):
                if not held[frame, k]:
                    continue
                touching = closest[row][sdf[row] < CONTACT_THRESHOLD_M]
                if not len(touching):
                    continue
                gaps = np.linalg.norm(touching[::2, None] - region[frame][None], axis=-1)
                contact_on_region[frame, k] = bool((gaps < AFFORDANCE_CONTACT_RADIUS_M).any())

    reasons = []
    if depth.mean() > config.max_mean_penetration_m:
        reasons.append("penetration_mean")
    if depth.max() > config.max_penetration_m:
        reasons.append("penetration_max")
    any_held = held.any(axis=1)
    touch = (contact_on_region | ~held).all(axis=1) & any_held
    ratio = float(touch.sum() / any_held.sum()) if any_held.any() else 1.0
    if ratio < config.min_affordance_contact:
        reasons.append("affordance_contact")
    free = np.flatnonzero(~any_held)
    drift = 0.0
    height = 0.0
    if len(free):
        centres = object_verts[free].mean(axis=1)
        if len(free) > 1:
            steps = np.linalg.norm(np.diff(object_verts[free], axis=0), axis=-1).max(axis=1)
            # Only consecutive free frames count as "still": a hold in between may move it.
            consecutive = np.diff(free) == 1
            drift = float(steps[consecutive].max()) if consecutive.any() else 0.0
        del centres
        height = float(np.abs(low[free]).max())
        if drift > config.rest_motion_m or height > config.rest_tolerance_m:
            reasons.append("object_rest")
    if low.min() < -config.rest_tolerance_m:
        reasons.append("object_below_table")
    gap = _hand_gap(vertices)
    if gap < config.min_hand_gap_m:
        reasons.append("hands_intersect")
    return QualityReport(
        passed=not reasons,
        reasons=tuple(reasons),
        penetration_mean_m=float(depth.mean()),
        penetration_max_m=float(depth.max()),
        affordance_contact_ratio=ratio,
        num_held_frames=int(any_held.sum()),
        rest_drift_m=drift,
        rest_height_m=height,
    )


def _culled_distance(verts, frames, box_lo, box_hi, meshes, transforms):
    """`(F, V)` sdf and `(F, V, 3)` world closest points of `verts[frames]`.

    Only vertices inside the given box (the object's, plus a margin) are queried; the others
    get sdf = +inf (they can neither touch nor penetrate), so the result is exact where
    it matters at a fraction of the queries.
    """
    points = verts[frames]
    inside = np.all((points >= box_lo[frames, None]) & (points <= box_hi[frames, None]), axis=-1)
    sdf = np.full(inside.shape, np.inf)
    closest = np.zeros(points.shape)
    rows, cols = np.nonzero(inside)
    if not len(rows):
        return sdf, closest
    with torch.no_grad():
        query = signed_distance_parts(
            torch.from_numpy(points[rows, cols][:, None]).float(),
            meshes,
            [t[frames][torch.from_numpy(rows)] for t in transforms],
        )
    sdf[rows, cols] = query.sdf[:, 0].double().numpy()
    closest[rows, cols] = query.closest[:, 0].double().numpy()
    return sdf, closest


def _hand_gap(vertices: dict[str, np.ndarray]) -> float:
    """Smallest left–right vertex distance over frames where the hands' boxes overlap."""
    left, right = vertices["left"], vertices["right"]
    lo = np.maximum(left.min(axis=1), right.min(axis=1))
    hi = np.minimum(left.max(axis=1), right.max(axis=1))
    frames = np.flatnonzero((hi - lo > -0.01).all(axis=1))
    if not len(frames):
        return float("inf")
    a = torch.from_numpy(left[frames, ::2]).float()
    b = torch.from_numpy(right[frames, ::2]).float()
    return float(torch.cdist(a, b).amin())
