"""Best-of-K sampling: a cheap physics score per candidate segment and the chooser hook.

`openhoi.motion.sample_segments` samples K candidates of a sub-task in one batch and asks
a `choose` hook which to keep (PAM's sample-and-filter, done in one sampler call).
`make_chooser` builds that hook from this module's score.

The score of candidate k, higher is better, is

    score_k = w_aff · A_k + w_hold · H_k − w_pen · D_k

measured in the segment's own (canonical) frame, with only the sub-task's acting hands,
on every `frame_stride`-th frame (frames F) and every `vertex_stride`-th hand vertex plus
all contact-zone vertices (vertices V):

- D_k, penetration (mm): mean over F of the deepest vertex's depth inside the object,
  max_v max(0, −sdf(v)) (the physics report's `penetration_depth_mean_mm`);
- A_k, affordance contact in [0, 1]: among the frames of F in contact (some vertex with
  sdf < CONTACT_THRESHOLD_M), the fraction whose contact touches the sub-task's
  affordance region (`affordance_region` of its mask: a contacting vertex's closest
  surface point within AFFORDANCE_CONTACT_RADIUS_M of a region point); 0 without
  contact frames or without a region;
- H_k, holding ratio in [0, 1]: the fraction of F in which some acting hand touches the
  object with at least HOLDING_MIN_ZONES of its contact zones.

Defaults w_aff = 1, w_hold = 1, w_pen = 0.2 per mm: 5 mm of mean penetration cost as much
as losing all affordance contact or every holding frame. Typical generated segments sit
at 1–6 mm (BENCHMARKS.md), so the penetration term separates candidates at that scale. A
hand that stays away from the object scores 0; ties keep the lowest index (candidate 0,
the K = 1 sample). All K candidates' distance queries go to the Warp kernels in one call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from openhoi.data import HAND_SIDES, HOISequence
from openhoi.data.posing import object_part_transforms, pose_frames
from openhoi.errors import InputError
from openhoi.geometry import nearest_points_parts, signed_distance_parts
from openhoi.geometry.constants import (
    AFFORDANCE_CONTACT_RADIUS_M,
    CONTACT_THRESHOLD_M,
    HOLDING_MIN_ZONES,
)
from openhoi.motion.segments import CandidateChoice, SegmentRequest
from openhoi.refine.losses import affordance_region

if TYPE_CHECKING:
    from collections.abc import Callable

    from openhoi.hand import HandModel
    from openhoi.objects import HOIObject

__all__ = [
    "CandidateScoreConfig",
    "CandidateScorer",
    "CandidateScores",
    "make_chooser",
]

_MM_PER_M = 1000.0


@dataclass(frozen=True)
class CandidateScoreConfig:
    """Weights and subsampling of the candidate score (formula in the module docstring).

    affordance_weight: w_aff, on the affordance contact fraction A, >= 0.
    holding_weight: w_hold, on the holding ratio H, >= 0.
    penetration_weight_per_mm: w_pen, per mm of mean penetration depth D, >= 0.
    frame_stride: every n-th frame is measured, 1..30.
    vertex_stride: every n-th hand vertex is measured (contact zones always), 1..64.
    """

    affordance_weight: float = 1.0
    holding_weight: float = 1.0
    penetration_weight_per_mm: float = 0.2
    frame_stride: int = 4
    vertex_stride: int = 2

    def __post_init__(self) -> None:
        for name in ("affordance_weight", "holding_weight", "penetration_weight_per_mm"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise InputError(f"{name} must be a finite number >= 0, got {value}")
        if not 1 <= self.frame_stride <= 30:
            raise InputError(f"frame_stride must be 1..30, got {self.frame_stride}")
        if not 1 <= self.vertex_stride <= 64:
            raise InputError(f"vertex_stride must be 1..64, got {self.vertex_stride}")


@dataclass(frozen=True)
class CandidateScores:
    """The score of K candidates and its terms, each `(K,)` float64.

    score: the combined score (higher is better).
    penetration_mm: D, mean over measured frames of the deepest penetration, mm.
    affordance_contact: A, fraction of contact frames touching the affordance region.
    holding_ratio: H, fraction of measured frames holding the object.
    """

    score: np.ndarray
    penetration_mm: np.ndarray
    affordance_contact: np.ndarray
    holding_ratio: np.ndarray

    def terms(self, index: int) -> dict[str, float]:
        """Candidate `index`'s score and terms as plain floats."""
        return {
            "score": float(self.score[index]),
            "penetration_mm": float(self.penetration_mm[index]),
            "affordance_contact": float(self.affordance_contact[index]),
            "holding_ratio": float(self.holding_ratio[index]),
        }


class CandidateScorer:
    """Scores candidate segments on one object with one set of acting hands.

    Built once per (object, hands): it keeps the object's part meshes (so the Warp BVHs
    are built once) and the measured vertex ids per hand.
    """

    def __init__(
        self,
        obj: HOIObject,
        hands: Mapping[str, HandModel],
        config: CandidateScoreConfig | None = None,
    ) -> None:
        if not hands:
            raise InputError("CandidateScorer needs at least one acting hand, got none")
        unknown = set(hands) - set(HAND_SIDES)
        if unknown:
            raise InputError(f"hands must be keyed by {list(HAND_SIDES)}, got {sorted(unknown)}")
        self.obj = obj
        self.config = config or CandidateScoreConfig()
        self.hands = {side: hands[side] for side in HAND_SIDES if side in hands}
        self.meshes = obj.part_meshes()
        self.points = torch.tensor(np.asarray(obj.points.points), dtype=torch.float32)
        self.part_ids = np.asarray(obj.points.part_ids, np.int64)
        # Per side: measured vertex ids, and each contact zone as positions among them.
        self.vertex_ids: dict[str, np.ndarray] = {}
        self.zones: dict[str, list[np.ndarray]] = {}
        for side, hand in self.hands.items():
            zones = list(hand.contact_zones.values())
            strided = np.arange(0, hand.num_vertices, self.config.vertex_stride)
            ids = np.unique(np.concatenate([strided, *zones]))
            self.vertex_ids[side] = ids
            self.zones[side] = [np.searchsorted(ids, zone) for zone in zones]

    def __call__(
        self, candidates: Sequence[HOISequence], affordance: np.ndarray
    ) -> CandidateScores:
        """Score K candidates of one sub-task.

        Args:
            candidates: K >= 1 segments of equal length, in their canonical frame.
            affordance: `(P,)` mask in [0, 1] on the object's P condition points
                (`HOIObject.points`), the sub-task's region.

        Returns:
            `CandidateScores`, one entry per candidate.
        """
        num_frames = self._check(candidates, affordance)
        config = self.config
        keep = np.arange(0, num_frames, config.frame_stride)
        num_kept = len(keep)
        frames = torch.from_numpy(np.stack([np.asarray(c.frames)[keep] for c in candidates]))
        betas = torch.from_numpy(np.stack([np.asarray(c.betas) for c in candidates]))
        with torch.no_grad():
            # 1. Pose the acting hands and the object parts: (K·F, N, 3), (K·F, 4, 4).
            posed = pose_frames(frames.float(), self.hands, betas.float(), with_vertices=True)
            transforms = [t.float() for t in object_part_transforms(self.obj, posed)]
            points = torch.cat(
                [
                    posed.vertices[side][:, :, self.vertex_ids[side]].flatten(0, 1)
                    for side in self.hands
                ],
                dim=1,
            ).float()
            # 2. One signed-distance query for every candidate, frame and vertex.
            query = signed_distance_parts(points, self.meshes, transforms)
            sdf = query.sdf  # (K·F, N)
            depth = torch.relu(-sdf).amax(dim=1).reshape(-1, num_kept)
            penetration_mm = depth.double().mean(dim=1).numpy() * _MM_PER_M
            contact = sdf < CONTACT_THRESHOLD_M
            # 3. Holding: some hand touches with >= HOLDING_MIN_ZONES of its zones.
            holding = torch.zeros(contact.shape[0], dtype=torch.bool)
            start = 0
            for side in self.hands:
                side_contact = contact[:, start : start + len(self.vertex_ids[side])]
                start += len(self.vertex_ids[side])
                touching = torch.stack(
                    [
                        side_contact[:, torch.from_numpy(zone)].any(dim=1)
                        for zone in self.zones[side]
                    ],
                    dim=1,
                )
                holding |= touching.sum(dim=1) >= HOLDING_MIN_ZONES
            holding_ratio = holding.reshape(-1, num_kept).double().mean(dim=1).numpy()
            # 4. Affordance contact among the contact frames.
            on_region = self._on_region(query.closest, contact, transforms, affordance)
            in_contact = contact.any(dim=1).reshape(-1, num_kept).numpy()
            on_region = on_region.reshape(-1, num_kept)
            count = in_contact.sum(axis=1)
            touched = (on_region & in_contact).sum(axis=1)
            affordance_contact = np.where(count > 0, touched / np.maximum(count, 1), 0.0)
        score = (
            config.affordance_weight * affordance_contact
            + config.holding_weight * holding_ratio
            - config.penetration_weight_per_mm * penetration_mm
        )
        return CandidateScores(
            score=score.astype(np.float64),
            penetration_mm=penetration_mm.astype(np.float64),
            affordance_contact=affordance_contact.astype(np.float64),
            holding_ratio=holding_ratio.astype(np.float64),
        )

    def _check(self, candidates: Sequence[HOISequence], affordance: np.ndarray) -> int:
        if not candidates:
            raise InputError("score needs at least one candidate segment, got none")
        lengths = {c.num_frames for c in candidates}
        if len(lengths) != 1:
            raise InputError(f"candidates must have equal lengths, got {sorted(lengths)} frames")
        expected = (len(self.part_ids),)
        if np.shape(affordance) != expected:
            raise InputError(
                f"affordance must have one value per object point {expected}, "
                f"got {np.shape(affordance)}"
            )
        return lengths.pop()

    def _on_region(
        self,
        closest: torch.Tensor,
        contact: torch.Tensor,
        transforms: Sequence[torch.Tensor],
        affordance: np.ndarray,
    ) -> np.ndarray:
        """`(K·F,)` bool: a contacting vertex's closest point lies near the region."""
        result = np.zeros(contact.shape[0], dtype=bool)
        region = affordance_region(np.asarray(affordance, np.float32))
        frame, vertex = torch.nonzero(contact, as_tuple=True)
        if not region.any() or len(frame) == 0:
            return result
        masks = [region & (self.part_ids == k) for k in range(len(self.meshes))]
        clouds = [self.points[torch.from_numpy(m)] if m.any() else None for m in masks]
        posed = [t[frame] for t in transforms]
        distance = nearest_points_parts(closest[frame, vertex], clouds, posed)
        near = distance <= AFFORDANCE_CONTACT_RADIUS_M
        result[np.unique(frame[near].numpy())] = True
        return result


def make_chooser(
    hands: Mapping[str, HandModel], config: CandidateScoreConfig | None = None
) -> Callable[[SegmentRequest, Sequence[HOISequence]], CandidateChoice]:
    """The `choose` hook of `sample_segments`: keep the candidate with the highest score.

    Args:
        hands: side -> hand model; each request is scored with the hands its condition
            says act ("left", "right" or "both").
        config: score weights and subsampling (default `CandidateScoreConfig()`).

    Returns:
        `(request, candidates) -> CandidateChoice` with every candidate's score and terms;
        ties keep the lowest index.
    """
    config = config or CandidateScoreConfig()
    scorers: dict[tuple[int, str], tuple[object, CandidateScorer]] = {}

    def choose(request: SegmentRequest, candidates: Sequence[HOISequence]) -> CandidateChoice:
        from openhoi.objects import HOIObject, load_object

        condition = request.condition
        key = (id(condition.object), condition.hands)
        if key not in scorers:
            obj = condition.object
            loaded = obj if isinstance(obj, HOIObject) else load_object(obj)
            acting = HAND_SIDES if condition.hands == "both" else (condition.hands,)
            missing = [side for side in acting if side not in hands]
            if missing:
                raise InputError(f"no hand model for the acting hand(s) {missing}")
            # The condition's object is kept so its id stays unique while cached.
            scorer = CandidateScorer(loaded, {side: hands[side] for side in acting}, config)
            scorers[key] = (obj, scorer)
        scores = scorers[key][1](candidates, np.asarray(condition.affordance, np.float32))
        return CandidateChoice(
            index=int(np.argmax(scores.score)),
            scores=tuple(float(s) for s in scores.score),
            terms=tuple(scores.terms(k) for k in range(len(candidates))),
        )

    return choose
