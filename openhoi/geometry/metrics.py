"""Physics metrics of posed hand–object geometry: penetration, contact, intersection volume.

All inputs are in the world frame, per frame t = 0..T−1. The object is a list of rigid parts
(one for rigid objects; e.g. base and lid for articulated ones), each a canonical-frame mesh
with a per-frame canonical → world transform. Thresholds live in `geometry/constants.py`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import trimesh
from torch import Tensor

from openhoi.errors import InputError
from openhoi.geometry.constants import (
    AFFORDANCE_CONTACT_RADIUS_M,
    AFFORDANCE_MASK_THRESHOLD,
    CONTACT_THRESHOLD_M,
    HOLDING_MIN_ZONES,
    VOLUME_VOXEL_PITCH_M,
)
from openhoi.geometry.distance import (
    DistanceMesh,
    nearest_points_parts,
    signed_distance,
    signed_distance_parts,
)

__all__ = ["PhysicsReport", "physics_report"]

_HAND_SIDES = ("left", "right")
_CM3_PER_M3 = 1.0e6


@dataclass(frozen=True)
class PhysicsReport:
    """Per-frame physics metrics of one sequence.

    Attributes:
        penetration_depth_m: `(T,)` max over both hands' vertices of max(0, −sdf), metres.
        in_contact: `(T,)` bool, some hand vertex has sdf < CONTACT_THRESHOLD_M.
        affordance_contact: `(T,)` bool, some contacting vertex's closest object point lies
            within AFFORDANCE_CONTACT_RADIUS_M of an affordance point (mask ≥ 0.5); None when
            no affordance region was given.
        intersection_volume_cm3: `(T,)` voxel estimate of the hand ∩ object volume, cm³
            (summed over hands; the hands are assumed not to overlap each other).
        holding: `(T,)` bool, some hand touches the object with at least
            HOLDING_MIN_ZONES of its contact zones (palm, thumb, fingers) — a grip, not a
            brush; None when no contact zones were given.
        object_lowest_m: `(T,)` height of the object's lowest vertex (the table is z = 0).
        object_centre_m: `(T, 3)` centre of the object's bounding box.
    """

    penetration_depth_m: np.ndarray
    in_contact: np.ndarray
    affordance_contact: np.ndarray | None
    intersection_volume_cm3: np.ndarray
    holding: np.ndarray | None = None
    object_lowest_m: np.ndarray | None = None
    object_centre_m: np.ndarray | None = None

    def summary(self) -> dict[str, float | None]:
        """Sequence-level numbers; `affordance_contact_ratio` is None without contact frames.

        Returns:
            penetration_depth_max_mm, penetration_depth_mean_mm (mean over frames of the
            per-frame max depth), intersection_volume_mean_cm3, contact_ratio (fraction of
            frames in contact), affordance_contact_ratio (fraction of contact frames that
            touch the affordance region; None when there is no contact frame or no region),
            and with contact zones holding_ratio (fraction of frames with a grip),
            penetration_holding_mean_mm / _max_mm (over the holding frames) and
            affordance_holding_ratio (fraction of holding frames that touch the region;
            None when there is no holding frame or no region); the support numbers of
            `_support_summary` when the object's extent was measured.
        """
        affordance_ratio = None
        if self.affordance_contact is not None and self.in_contact.any():
            affordance_ratio = float(self.affordance_contact[self.in_contact].mean())
        out = {
            "penetration_depth_max_mm": float(self.penetration_depth_m.max() * 1000.0),
            "penetration_depth_mean_mm": float(self.penetration_depth_m.mean() * 1000.0),
            "intersection_volume_mean_cm3": float(self.intersection_volume_cm3.mean()),
            "contact_ratio": float(self.in_contact.mean()),
            "affordance_contact_ratio": affordance_ratio,
        }
        if self.object_lowest_m is not None:
            out.update(self._support_summary())
        if self.holding is not None:
            held = self.penetration_depth_m[self.holding] * 1000.0
            out["penetration_holding_mean_mm"] = float(held.mean()) if len(held) else None
            out["penetration_holding_max_mm"] = float(held.max()) if len(held) else None
            out["holding_ratio"] = float(self.holding.mean())
            out["affordance_holding_ratio"] = (
                float(self.affordance_contact[self.holding].mean())
                if self.affordance_contact is not None and self.holding.any()
                else None
            )
        return out


    def _support_summary(self) -> dict[str, float | None]:
        """Does the object rest on the table (z = 0) and stay put when no hand touches it?

        object_start_height_mm: lowest point at the first frame; object_sink_max_mm: the
        deepest the object goes below the table; object_rest_height_max_mm: the largest
        |lowest point| over frames with no hand contact (None without such frames);
        untouched_motion_max_mm: over each run of frames without contact, the largest
        distance the object's centre moves from where the run began.
        """
        lowest = self.object_lowest_m * 1000.0
        free = ~self.in_contact
        motion = 0.0
        padded = np.concatenate([[False], free, [False]]).astype(int)
        edges = np.flatnonzero(np.diff(padded))
        for start, end in zip(edges[::2], edges[1::2], strict=True):
            centre = self.object_centre_m[start:end]
            motion = max(motion, float(np.linalg.norm(centre - centre[0], axis=1).max()))
        return {
            "object_start_height_mm": float(lowest[0]),
            "object_sink_max_mm": float(max(0.0, -lowest.min())),
            "object_rest_height_max_mm": float(np.abs(lowest[free]).max()) if free.any() else None,
            "untouched_motion_max_mm": motion * 1000.0,
        }


def _check_inputs(
    hand_vertices: Mapping[str, Tensor],
    hand_faces: Tensor,
    meshes: Sequence[trimesh.Trimesh],
    transforms: Sequence[Tensor],
) -> int:
    if not hand_vertices:
        raise InputError("hand_vertices must hold at least one of 'left', 'right'; got none")
    unknown = set(hand_vertices) - set(_HAND_SIDES)
    if unknown:
        raise InputError(f"hand_vertices keys must be 'left'/'right', got {sorted(unknown)}")
    shapes = {side: tuple(v.shape) for side, v in hand_vertices.items()}
    frames = {s[0] for s in shapes.values() if len(s) == 3 and s[2] == 3}
    if len(frames) != 1 or any(len(s) != 3 or s[2] != 3 for s in shapes.values()):
        raise InputError(f"hand_vertices must all be (T, V, 3) with the same T, got {shapes}")
    num_frames = frames.pop()
    if num_frames == 0:
        raise InputError("hand_vertices must have at least one frame, got T = 0")
    if hand_faces.ndim != 2 or hand_faces.shape[1] != 3:
        raise InputError(f"hand_faces must be (F, 3), got {tuple(hand_faces.shape)}")
    if len(meshes) == 0 or len(meshes) != len(transforms):
        raise InputError(
            f"need one (T, 4, 4) transform per object part: got {len(meshes)} meshes and "
            f"{len(transforms)} transforms"
        )
    for index, transform in enumerate(transforms):
        if tuple(transform.shape) != (num_frames, 4, 4):
            raise InputError(
                f"transforms[{index}] must be (T, 4, 4) = ({num_frames}, 4, 4), "
                f"got {tuple(transform.shape)}"
            )
    return num_frames


def _object_bounds(meshes: Sequence[trimesh.Trimesh], transforms: Sequence[Tensor]) -> Tensor:
    """World-frame AABB of the posed object per frame → `(T, 2, 3)` (min, max)."""
    boxes = []
    for mesh, transform in zip(meshes, transforms, strict=True):
        lo, hi = np.asarray(mesh.bounds, dtype=np.float64)
        corners = torch.tensor(
            [[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])],
            dtype=transform.dtype,
            device=transform.device,
        )  # (8, 3)
        world = (
            torch.einsum("tij,kj->tki", transform[:, :3, :3], corners) + transform[:, None, :3, 3]
        )
        boxes.append(torch.stack([world.amin(1), world.amax(1)], dim=1))
    stacked = torch.stack(boxes)  # (parts, T, 2, 3)
    return torch.stack([stacked[:, :, 0].amin(0), stacked[:, :, 1].amax(0)], dim=1)


# Two-level voxel grid: blocks of _BLOCK³ voxels are classified from their centre first
# (4 measured ~2× faster than 8 on a 150-frame sequence: tighter blocks, fewer voxel queries).
_BLOCK = 4


def _block_grid(lo: Tensor, hi: Tensor, pitch: float) -> tuple[Tensor, Tensor]:
    """Blocks covering the lattice cells (k + ½)·pitch inside [lo, hi].

    Returns:
        first `(n, 3)` int64 lattice index of each block's first cell, and last `(3,)` the
        largest valid cell index (blocks may stick out past it).
    """
    first = torch.ceil(lo / pitch - 0.5).long()
    last = torch.floor(hi / pitch - 0.5).long()
    if bool((last < first).any()):
        return first.new_zeros(0, 3), last
    axes = [
        torch.arange(int(a), int(b) + 1, _BLOCK, device=lo.device)
        for a, b in zip(first.tolist(), last.tolist(), strict=True)
    ]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, 3), last


def _inside_hand(points: Tensor, frame: Tensor, vertices: Tensor, hand_faces: np.ndarray) -> Tensor:
    """Signed distance `(M,)` of points (sorted by frame) to the hand of their frame.

    The hand mesh is open at the wrist, so its sign comes from the winding number.
    """
    if len(points) == 0:
        return points.new_zeros(0)
    frames, sizes = torch.unique_consecutive(frame, return_counts=True)
    parts = []
    for t, chunk in zip(frames.tolist(), torch.split(points, sizes.tolist()), strict=True):
        hand = DistanceMesh(vertices[t].cpu().numpy(), hand_faces, is_watertight=False)
        parts.append(signed_distance(chunk, hand).sdf)
    return torch.cat(parts)


def _intersection_volume(
    vertices: Tensor,
    hand_faces: np.ndarray,
    meshes: Sequence[trimesh.Trimesh],
    transforms: Sequence[Tensor],
    object_bounds: Tensor,
    pitch: float,
) -> np.ndarray:
    """Voxels inside both the object and one hand per frame → `(T,)` cm³.

    Voxel centres lie on the world lattice (k + ½)·pitch within hand AABB ∩ object AABB.
    To stay fast, blocks of 4³ voxels are first classified by the signed distances of their
    centre c with radius r (centre to farthest voxel centre): a block is empty when
    sdf_object(c) > r or sdf_hand(c) > r, entirely counted when both are < −r, and only
    otherwise (near a surface) are its voxels queried one by one.
    """
    num_frames = vertices.shape[0]
    device, dtype = vertices.device, vertices.dtype
    volume_per_voxel_cm3 = pitch**3 * _CM3_PER_M3
    counts = torch.zeros(num_frames, dtype=torch.long, device=device)

    # 1. Blocks over hand AABB ∩ object AABB per frame.
    lo = torch.maximum(vertices.amin(1), object_bounds[:, 0])
    hi = torch.minimum(vertices.amax(1), object_bounds[:, 1])
    firsts, lasts, frames = [], [], []
    for t in range(num_frames):
        first, last = _block_grid(lo[t], hi[t], pitch)
        firsts.append(first)
        lasts.append(last.expand(len(first), 3))
        frames.append(torch.full((len(first),), t, device=device))
    first, last, frame = torch.cat(firsts), torch.cat(lasts), torch.cat(frames)
    if len(first) == 0:
        return counts.double().cpu().numpy()

    def object_sdf(points: Tensor, point_frame: Tensor) -> Tensor:
        per_point = [transform[point_frame] for transform in transforms]  # parts × (M, 4, 4)
        return signed_distance_parts(points[:, None], meshes, per_point).sdf[:, 0]

    # 2. Classify blocks from their centre.
    offsets = torch.stack(
        torch.meshgrid(*[torch.arange(_BLOCK, device=device)] * 3, indexing="ij"), dim=-1
    ).reshape(-1, 3)  # (_BLOCK³, 3)
    centre = (first.to(dtype) + _BLOCK / 2) * pitch
    radius = (_BLOCK - 1) / 2 * pitch * math.sqrt(3.0) * (1 + 1e-6)
    sdf_object = object_sdf(centre, frame)
    maybe = sdf_object <= radius
    sdf_hand = torch.full_like(sdf_object, math.inf)
    sdf_hand[maybe] = _inside_hand(centre[maybe], frame[maybe], vertices, hand_faces)
    full = (sdf_object < -radius) & (sdf_hand < -radius)
    refine = maybe & (sdf_hand <= radius) & ~full
    # Voxels of a block that fall inside the frame's index range.
    valid = ((first[:, None] + offsets[None]) <= last[:, None]).all(-1)  # (blocks, _BLOCK³)
    counts.index_add_(0, frame[full], valid[full].sum(-1))

    # 3. Query the voxels of blocks near a surface, object first then hand.
    cells = (first[refine][:, None] + offsets[None])[valid[refine]]  # (M, 3)
    cell_frame = frame[refine][:, None].expand(-1, offsets.shape[0])[valid[refine]]
    points = (cells.to(dtype) + 0.5) * pitch
    in_object = object_sdf(points, cell_frame) < 0
    points, cell_frame = points[in_object], cell_frame[in_object]
    in_hand = _inside_hand(points, cell_frame, vertices, hand_faces) < 0
    counts.index_add_(0, cell_frame[in_hand], torch.ones_like(cell_frame[in_hand]))
    return counts.double().cpu().numpy() * volume_per_voxel_cm3


def physics_report(
    hand_vertices: Mapping[str, Tensor],
    hand_faces: Tensor,
    meshes: Sequence[trimesh.Trimesh],
    transforms: Sequence[Tensor],
    *,
    affordance_points: Tensor | None = None,
    affordance_mask: Tensor | None = None,
    body_transform: Tensor | None = None,
    affordance_part_ids: Tensor | None = None,
    voxel_pitch_m: float = VOLUME_VOXEL_PITCH_M,
    contact_zones: Mapping[str, Mapping[str, np.ndarray]] | None = None,
) -> PhysicsReport:
    """Penetration depth, contact, affordance contact and intersection volume per frame.

    Args:
        hand_vertices: side ("left"/"right", only the present ones) → `(T, V, 3)` world
            vertices in metres.
        hand_faces: `(F, 3)` int faces of the hand mesh (shared by both sides).
        meshes: object parts in their canonical frames.
        transforms: per part, `(T, 4, 4)` canonical → world transforms.
        affordance_points: optional `(P, 3)` affordance cloud in the object's canonical frame.
        affordance_mask: `(P,)` per-point mask in [0, 1], required with `affordance_points`.
        body_transform: `(T, 4, 4)` object body transform that poses `affordance_points`;
            defaults to `transforms[0]` for a single-part object.
        affordance_part_ids: optional `(P,)` part index of each affordance point; with it
            every point moves with its own part (`transforms[k]`), so a region on an opened
            lid is where the lid is, and `body_transform` is not used.
        voxel_pitch_m: grid pitch of the intersection-volume estimate, metres.
        contact_zones: side → zone name → vertex ids (`HandModel.contact_zones`); with
            them the report says which frames hold the object (`PhysicsReport.holding`).

    Returns:
        `PhysicsReport` with per-frame numpy arrays.
    """
    num_frames = _check_inputs(hand_vertices, hand_faces, meshes, transforms)
    if not voxel_pitch_m > 0:
        raise InputError(f"voxel_pitch_m must be > 0, got {voxel_pitch_m}")
    sides = [side for side in _HAND_SIDES if side in hand_vertices]
    device = hand_vertices[sides[0]].device
    faces_np = np.asarray(hand_faces.detach().cpu().numpy(), dtype=np.int64)
    with torch.no_grad():
        verts = {s: hand_vertices[s].detach().to(device, torch.float32) for s in sides}
        poses = [t.detach().to(device, torch.float32) for t in transforms]

        # 1. Signed distance of every hand vertex: (T, V) per side.
        queries = {s: signed_distance_parts(verts[s], meshes, poses) for s in sides}
        sdf = torch.cat([queries[s].sdf for s in sides], dim=1)  # (T, V_total)
        closest = torch.cat([queries[s].closest for s in sides], dim=1)  # (T, V_total, 3)
        depth = (-sdf).clamp_min(0.0).amax(dim=1)
        contact = sdf < CONTACT_THRESHOLD_M  # (T, V_total)

        # 2. Affordance contact: closest points of contacting vertices vs the region.
        affordance_contact = None
        if affordance_points is not None:
            affordance_contact = _affordance_contact(
                closest, contact, affordance_points, affordance_mask, body_transform, poses,
                affordance_part_ids,
            )  # fmt: skip

        # 3. Holding: some hand touches with at least HOLDING_MIN_ZONES of its zones.
        holding = None
        if contact_zones is not None:
            holding = torch.zeros(num_frames, dtype=torch.bool, device=device)
            start = 0
            for s in sides:
                side_contact = contact[:, start : start + verts[s].shape[1]]
                start += verts[s].shape[1]
                zones = [torch.as_tensor(ids, device=device) for ids in contact_zones[s].values()]
                touching = torch.stack([side_contact[:, ids].any(dim=1) for ids in zones], dim=1)
                holding |= touching.sum(dim=1) >= HOLDING_MIN_ZONES

        # 4. Intersection volume per hand, summed.
        bounds = _object_bounds(meshes, poses)
        volume = np.zeros(num_frames)
        for s in sides:
            volume += _intersection_volume(verts[s], faces_np, meshes, poses, bounds, voxel_pitch_m)

    lowest, centre = _object_extent(meshes, poses)
    return PhysicsReport(
        object_lowest_m=lowest,
        object_centre_m=centre,
        penetration_depth_m=depth.cpu().double().numpy(),
        in_contact=contact.any(dim=1).cpu().numpy(),
        affordance_contact=affordance_contact,
        intersection_volume_cm3=volume,
        holding=None if holding is None else holding.cpu().numpy(),
    )


def _object_extent(meshes, transforms) -> tuple[np.ndarray, np.ndarray]:
    """`(T,)` lowest vertex height and `(T, 3)` bounding-box centre of the posed object."""
    lows, los, his = [], [], []
    for mesh, transform in zip(meshes, transforms, strict=True):
        pose = transform.detach().cpu().double().numpy()
        verts = np.asarray(mesh.vertices, np.float64)
        world = np.einsum("tij,vj->tvi", pose[:, :3, :3], verts) + pose[:, None, :3, 3]
        lows.append(world[..., 2].min(axis=1))
        los.append(world.min(axis=1))
        his.append(world.max(axis=1))
    low = np.min(lows, axis=0)
    centre = (np.min(los, axis=0) + np.max(his, axis=0)) / 2.0
    return low, centre


def _affordance_contact(
    closest: Tensor,
    contact: Tensor,
    affordance_points: Tensor,
    affordance_mask: Tensor | None,
    body_transform: Tensor | None,
    poses: Sequence[Tensor],
    part_ids: Tensor | None = None,
) -> np.ndarray:
    """`(T,)` bool: a contacting vertex's closest point is near a masked affordance point."""
    num_frames = closest.shape[0]
    if affordance_mask is None or tuple(affordance_mask.shape) != (affordance_points.shape[0],):
        raise InputError(
            f"affordance_mask must be (P,) = ({affordance_points.shape[0]},) to match "
            "affordance_points, got "
            f"{None if affordance_mask is None else tuple(affordance_mask.shape)}"
        )
    # Each point moves with a pose: its own part's (`part_ids`), or the body's for all.
    if part_ids is not None:
        part_ids = torch.as_tensor(part_ids, device=closest.device).long()
        num_points = affordance_points.shape[0]
        if tuple(part_ids.shape) != (num_points,) or int(part_ids.max()) >= len(poses):
            raise InputError(
                f"affordance_part_ids must be (P,) = ({num_points},) part "
                f"indices below {len(poses)}, got shape {tuple(part_ids.shape)}"
            )
    else:
        if body_transform is None:
            if len(poses) != 1:
                raise InputError(
                    "body_transform (T, 4, 4) is required with affordance_points for a "
                    "multi-part object"
                )
            body = poses[0]
        elif tuple(body_transform.shape) != (num_frames, 4, 4):
            raise InputError(
                f"body_transform must be (T, 4, 4) = ({num_frames}, 4, 4), "
                f"got {tuple(body_transform.shape)}"
            )
        else:
            body = body_transform
        poses = [body]
        part_ids = torch.zeros(affordance_points.shape[0], dtype=torch.long, device=closest.device)
    inside = affordance_mask.to(closest.device) >= AFFORDANCE_MASK_THRESHOLD
    points = affordance_points.detach().to(closest.device, closest.dtype)
    result = np.zeros(num_frames, dtype=bool)
    frame, vertex = torch.nonzero(contact, as_tuple=True)
    if not bool(inside.any()) or len(frame) == 0:
        return result
    regions = [points[inside & (part_ids == k)] for k in range(len(poses))]
    posed = [pose.detach().to(closest.device, closest.dtype)[frame] for pose in poses]
    distance = nearest_points_parts(closest[frame, vertex], regions, posed)
    near = distance <= AFFORDANCE_CONTACT_RADIUS_M
    result[np.unique(frame[near].cpu().numpy())] = True
    return result
