"""Refinement losses on batches of frames: affordance, penetration, transition (Eq. 10–12).

Each loss is a small callable object built once per object/segment, applied to frames
`(B, T, 208)` in metres (denormalised), returning one value per sample `(B,)`. They are
differentiable with respect to the frames (hands and object pose), so the same objects
serve guidance inside the sampler (`refine.dsg`) and post-hoc refinement of any sequence.
Units are chosen so the losses are of order one for visible errors: millimetres for
distances.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from openhoi.data import layout
from openhoi.data.posing import object_part_transforms, pose_frames
from openhoi.errors import InputError
from openhoi.geometry import nearest_points_parts, signed_distance_parts
from openhoi.geometry.constants import AFFORDANCE_MASK_THRESHOLD, WEAK_MASK_PEAK_FRACTION

if TYPE_CHECKING:
    from openhoi.hand import HandModel
    from openhoi.objects import HOIObject

__all__ = [
    "AffordanceLoss",
    "ContactLoss",
    "LossTerm",
    "PenetrationLoss",
    "TransitionLoss",
    "affordance_region",
    "is_weak_mask",
]

_MM_PER_M = 1000.0
# Keypoints 16..20 are the fingertips (index, middle, pinky, ring, thumb).
_TIP_KEYPOINTS = slice(16, 21)
# A frame is in the contact phase when a fingertip is this close to the object.
_CONTACT_PHASE_M = 0.03
# Fingertips averaged per frame in the affordance loss (the closest ones).
_TIPS_AVERAGED = 3
# ContactLoss: a hand contact zone whose closest vertex is this near the object surface
# (outside it) is pulled onto it; farther zones are reaching, not touching.
_CONTACT_PULL_M = 0.015
# Translations weigh this much more than 6D entries in the transition loss: 1 cm of wrist
# travel then counts like a ~6° rotation change.
_TRANSLATION_SCALE = 10.0


@dataclass(frozen=True)
class LossTerm:
    """A loss and its weight in the guidance sum."""

    loss: object  # a callable frames (B, T, 208) -> (B,)
    weight: float = 1.0
    name: str = ""


class PenetrationLoss:
    """Hand vertices inside the object (Eq. 10): Σ_v max(0, −sdf(v))² in mm², mean over frames.

    Every part of an articulated object is queried at the frame's articulation angle; the
    signed distances come from the Warp kernels with analytic gradients, so the gradient
    pushes hand vertices out along the surface normal and the object pose away from them.
    """

    def __init__(
        self,
        obj: HOIObject,
        hands: Mapping[str, HandModel],
        betas: Tensor | None = None,
        *,
        vertex_stride: int = 1,
    ) -> None:
        if vertex_stride < 1:
            raise InputError(f"vertex_stride must be >= 1, got {vertex_stride}")
        self.obj = obj
        self.hands = dict(hands)
        self.betas = betas
        self.vertex_stride = vertex_stride
        self.meshes = obj.part_meshes()

    def per_frame_depth(self, frames: Tensor) -> Tensor:
        """`(B, T)` deepest penetration of any hand vertex, metres (differentiable)."""
        batch, num_frames = frames.shape[:2]
        posed = pose_frames(frames, self.hands, self.betas, with_vertices=True)
        transforms = [t.float() for t in object_part_transforms(self.obj, posed)]
        depths = []
        for verts in posed.vertices.values():
            points = verts.reshape(batch * num_frames, -1, 3)[:, :: self.vertex_stride].float()
            sdf = signed_distance_parts(points, self.meshes, transforms).sdf
            depths.append(torch.relu(-sdf).amax(dim=-1))
        return torch.stack(depths).amax(dim=0).reshape(batch, num_frames)

    def __call__(self, frames: Tensor) -> Tensor:
        batch, num_frames = frames.shape[:2]
        posed = pose_frames(frames, self.hands, self.betas, with_vertices=True)
        transforms = [t.float() for t in object_part_transforms(self.obj, posed)]
        total = frames.new_zeros(batch)
        for verts in posed.vertices.values():
            points = verts.reshape(batch * num_frames, -1, 3)[:, :: self.vertex_stride].float()
            sdf = signed_distance_parts(points, self.meshes, transforms).sdf
            depth_mm = torch.relu(-sdf) * _MM_PER_M
            per_frame = depth_mm.pow(2).sum(dim=-1).reshape(batch, num_frames)
            total = total + per_frame.mean(dim=-1).to(frames.dtype)
        return total


def affordance_region(mask: np.ndarray) -> np.ndarray:
    """`(P,)` bool: the points of a `(P,)` mask in [0, 1] that form its region.

    The points at or above `AFFORDANCE_MASK_THRESHOLD` (0.5); for a weak mask whose peak
    is below it, the points at or above `WEAK_MASK_PEAK_FRACTION` of its peak (the mask's
    own top region, see `is_weak_mask`); none for an all-zero mask.
    """
    mask = np.asarray(mask, np.float32)
    peak = float(mask.max()) if mask.size else 0.0
    if peak >= AFFORDANCE_MASK_THRESHOLD:
        return mask >= AFFORDANCE_MASK_THRESHOLD
    if peak <= 0.0:
        return np.zeros(mask.shape, bool)
    return mask >= WEAK_MASK_PEAK_FRACTION * peak


def is_weak_mask(mask: np.ndarray) -> bool:
    """True when no point of `mask` reaches `AFFORDANCE_MASK_THRESHOLD` (low confidence)."""
    mask = np.asarray(mask, np.float32)
    return not mask.size or float(mask.max()) < AFFORDANCE_MASK_THRESHOLD


class AffordanceLoss:
    """Fingertips of the acting hands onto the affordance region (Eq. 12), mm.

    Per frame in the contact phase (a fingertip within 3 cm of the object), the mean over
    the three fingertips closest to the region of their distance to it; averaged over
    those frames. Frames outside the contact phase (reaching, releasing) cost nothing.
    Region and object points move with their own part at each frame's articulation angle,
    so on an opened lid the fingers are pulled to where the lid is.
    """

    def __init__(
        self,
        obj: HOIObject,
        hands: Mapping[str, HandModel],
        region_mask: np.ndarray,
        betas: Tensor | None = None,
    ) -> None:
        mask = np.asarray(region_mask, np.float32)
        points = np.asarray(obj.points.points, np.float32)
        if mask.shape != (len(points),):
            raise InputError(
                f"region_mask must have one value per object point ({len(points)},), "
                f"got {mask.shape}"
            )
        inside = affordance_region(mask)
        if not inside.any():
            raise InputError("region_mask marks no object point (every value is 0)")
        self.obj = obj
        self.hands = dict(hands)
        self.betas = betas
        # Canonical points per part (empty where a part has none): each set moves with its
        # part, so a region on a lid is pulled towards where the lid is at that frame.
        part_ids = np.asarray(obj.points.part_ids)
        parts = range(len(obj.parts))
        self.region_parts = [torch.tensor(points[inside & (part_ids == k)]) for k in parts]
        self.object_parts = [torch.tensor(points[part_ids == k]) for k in parts]

    def __call__(self, frames: Tensor) -> Tensor:
        batch, num_frames = frames.shape[:2]
        posed = pose_frames(frames, self.hands, self.betas, with_vertices=False)
        transforms = [t.to(frames.dtype) for t in object_part_transforms(self.obj, posed)]
        total = frames.new_zeros(batch)
        for joints in posed.joints.values():
            tips = joints[:, :, _TIP_KEYPOINTS].reshape(batch * num_frames, -1, 3)
            to_region = nearest_points_parts(tips, self.region_parts, transforms)  # (BT, 5)
            fixed = [t.detach() for t in transforms]
            to_object = nearest_points_parts(tips.detach(), self.object_parts, fixed)
            in_contact = (to_object.min(dim=-1).values < _CONTACT_PHASE_M).float()
            closest = to_region.topk(_TIPS_AVERAGED, dim=-1, largest=False).values.mean(-1)
            per_frame = (closest * _MM_PER_M * in_contact).reshape(batch, num_frames)
            count = in_contact.reshape(batch, num_frames).sum(dim=-1).clamp_min(1.0)
            total = total + per_frame.sum(dim=-1) / count
        return total


class ContactLoss:
    """Hand contact zones that nearly touch the object onto its surface (attraction), mm.

    Per frame and hand, each contact zone (palm, thumb, index, middle, ring, pinky; the
    hand asset's palmar patches) whose closest vertex is outside the object and within
    1.5 cm of its surface costs that distance; zones farther away (reaching, releasing) or
    inside (the penetration loss's business) cost nothing. Summed over zones, averaged over
    the frames where some zone is that near. With the penetration loss repelling, the pair
    makes a hand that hovers millimetres off the object close onto it instead of stopping
    short, which is what "holding" needs (several zones within 5 mm). Every part of an
    articulated object is queried at the frame's articulation angle.
    """

    def __init__(
        self,
        obj: HOIObject,
        hands: Mapping[str, HandModel],
        betas: Tensor | None = None,
        *,
        radius_m: float = _CONTACT_PULL_M,
    ) -> None:
        if radius_m <= 0:
            raise InputError(f"radius_m must be > 0, got {radius_m}")
        self.obj = obj
        self.hands = dict(hands)
        self.betas = betas
        self.radius_m = radius_m
        self.meshes = obj.part_meshes()
        # Per side: the zone vertices, and for each of them the index of its zone.
        self.zone_vertices: dict[str, Tensor] = {}
        self.zone_index: dict[str, Tensor] = {}
        for side, hand in self.hands.items():
            zones = list(hand.contact_zones.values())
            self.zone_vertices[side] = torch.as_tensor(np.concatenate(zones), dtype=torch.long)
            self.zone_index[side] = torch.cat(
                [torch.full((len(z),), k, dtype=torch.long) for k, z in enumerate(zones)]
            )

    def per_zone_distance(self, frames: Tensor) -> dict[str, Tensor]:
        """Side → `(B, T, Z)` signed distance of each zone's closest vertex, metres."""
        batch, num_frames = frames.shape[:2]
        posed = pose_frames(frames, self.hands, self.betas, with_vertices=True)
        transforms = [t.float() for t in object_part_transforms(self.obj, posed)]
        out = {}
        for side, verts in posed.vertices.items():
            ids = self.zone_vertices[side].to(verts.device)
            points = verts.reshape(batch * num_frames, -1, 3)[:, ids].float()
            sdf = signed_distance_parts(points, self.meshes, transforms).sdf  # (BT, V_z)
            zone = self.zone_index[side].to(sdf.device)
            num_zones = int(zone.max()) + 1
            per_zone = torch.full(
                (sdf.shape[0], num_zones), float("inf"), dtype=sdf.dtype, device=sdf.device
            )
            per_zone = per_zone.scatter_reduce(
                1, zone.expand_as(sdf), sdf, reduce="amin", include_self=True
            )
            out[side] = per_zone.reshape(batch, num_frames, num_zones).to(frames.dtype)
        return out

    def __call__(self, frames: Tensor) -> Tensor:
        total = frames.new_zeros(frames.shape[0])
        for distance in self.per_zone_distance(frames).values():
            near = (distance > 0) & (distance < self.radius_m)
            cost = torch.where(near, distance, torch.zeros_like(distance)) * _MM_PER_M
            in_phase = near.any(dim=-1).to(frames.dtype)  # (B, T)
            per_frame = cost.sum(dim=-1) * in_phase
            total = total + per_frame.sum(dim=-1) / in_phase.sum(dim=-1).clamp_min(1.0)
        return total


class TransitionLoss:
    """Continuity with the neighbouring segments (Eq. 11): positions and velocities.

    For an in-between segment x (B, T, 208): ‖x₀ − a‖² + ‖x_{T−1} − b‖² with `a` the last
    frame of the previous segment and `b` the first of the next, plus the same for the
    first differences against the neighbours' end/start velocities. Translations are
    scaled ×10 so centimetres of travel weigh like a few degrees of rotation.
    """

    def __init__(
        self,
        start: Tensor,
        end: Tensor | None = None,
        *,
        start_velocity: Tensor | None = None,
        end_velocity: Tensor | None = None,
        velocity_weight: float = 1.0,
    ) -> None:
        self.start = start
        self.end = end
        self.start_velocity = start_velocity
        self.end_velocity = end_velocity
        self.velocity_weight = velocity_weight
        scale = torch.ones(layout.FRAME_DIM)
        for block in (layout.LEFT_HAND, layout.RIGHT_HAND, layout.OBJECT):
            offset = block.start
            scale[offset : offset + 3] = _TRANSLATION_SCALE
        self.scale = scale

    def __call__(self, frames: Tensor) -> Tensor:
        scale = self.scale.to(frames)

        def gap(a: Tensor, b: Tensor) -> Tensor:
            return ((a - b.to(a)) * scale).pow(2).sum(dim=-1)

        total = gap(frames[:, 0], self.start)
        if self.end is not None:
            total = total + gap(frames[:, -1], self.end)
        if frames.shape[1] >= 2:
            if self.start_velocity is not None:
                velocity = frames[:, 1] - frames[:, 0]
                total = total + self.velocity_weight * gap(velocity, self.start_velocity)
            if self.end_velocity is not None:
                velocity = frames[:, -1] - frames[:, -2]
                total = total + self.velocity_weight * gap(velocity, self.end_velocity)
        return total


def weighted_sum(terms: Sequence[LossTerm], frames: Tensor) -> Tensor:
    """Σ_k w_k · loss_k(frames), `(B,)`."""
    total = frames.new_zeros(frames.shape[0])
    for term in terms:
        if term.weight:
            total = total + term.weight * term.loss(frames)
    return total
