"""Sampling many sub-task segments: `SamplingConfig` and segment batching.

`SamplingConfig` is the one place where sampler, steps, eta, CFG scale and smoothing are
chosen. Its fields left at None take the model folder's own defaults (the `"sampling"`
block of its config.json, `MotionGenerator.sampling_defaults`), so the command line, the
Python API and the benchmark sample a given model the same way.

`sample_segments` samples a list of `SegmentRequest`s in as few sampler calls as it can:
requests of one length share a call (at most `batch_size` each), and a request that
continues another (`after`) waits for it and starts from its last frame. Guidance is a
hook: the caller passes a factory that turns a chunk of requests into a `Guidance`
(refine's DSG), so this module knows nothing of what guidance computes.

Best-of-K: a request with `num_candidates` K > 1 is sampled K times in the same sampler
call (K rows of the batch). Candidate 0 draws its noise from the request's own seed, so
it is the segment a K = 1 run makes (up to the float rounding of batched matmuls);
candidate j > 0 from `candidate_seed(seed, j)`. A `choose` hook, passed in by the caller
(refine's physics score, `openhoi.refine.candidates.make_chooser`), keeps one candidate
per request before any request that continues it is sampled.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from openhoi.data import HOISequence, layout
from openhoi.errors import InputError, OpenHOIError
from openhoi.vocab import HAND_CHOICES

__all__ = [
    "MAX_CANDIDATES",
    "SAMPLING_DEFAULTS",
    "CandidateChoice",
    "SamplingConfig",
    "SegmentBatch",
    "SegmentRequest",
    "candidate_seed",
    "continuation_start",
    "hold_idle_hands",
    "sample_segments",
]

SAMPLERS = ("ddim", "ddpm")
# Most candidates per request (best-of-K): each is a row of the sampler's batch.
MAX_CANDIDATES = 16
# Used when a model folder's config.json has no "sampling" block. DDIM with 30 steps and
# eta = 1 (DDPM's step variance; deterministic DDIM leaves a frame-to-frame ripple, 8x the
# jerk on 60-frame segments, BENCHMARKS.md "Motion sampling"), CFG 2.5 as in the paper, and
# a Gaussian low-pass of sigma 2 frames (boundary jerk 3.5k -> 1.1k m/s^3, README).
SAMPLING_DEFAULTS: dict[str, Any] = {
    "sampler": "ddim",
    "ddim_steps": 30,
    "eta": 1.0,
    "guidance_scale": 2.5,
    "smooth_sigma_frames": 2.0,
}


@dataclass(frozen=True)
class SamplingConfig:
    """How sub-task segments are sampled; None takes the model folder's default.

    sampler: "ddim" (few steps) or "ddpm" (ancestral, the paper's).
    steps: sampler steps, 1..T (None: the folder's DDIM steps, or all T for DDPM).
    eta: DDIM stochasticity in [0, 1] (1: DDPM's step variance; DSG needs eta > 0).
    guidance_scale: classifier-free guidance scale s (Eq. 7), 0..50.
    smooth_sigma_frames: temporal Gaussian low-pass of each segment, frames (0: off), 0..10.
    """

    sampler: str | None = None
    steps: int | None = None
    eta: float | None = None
    guidance_scale: float | None = None
    smooth_sigma_frames: float | None = None

    def __post_init__(self) -> None:
        if self.sampler is not None and self.sampler not in SAMPLERS:
            raise InputError(f"sampler must be one of {list(SAMPLERS)}, got {self.sampler!r}")
        if self.steps is not None and not 1 <= self.steps <= 1000:
            raise InputError(f"steps must be 1..1000, got {self.steps}")
        if self.eta is not None and not 0 <= self.eta <= 1:
            raise InputError(f"eta must be 0..1, got {self.eta}")
        if self.guidance_scale is not None and not 0 <= self.guidance_scale <= 50:
            raise InputError(f"guidance_scale must be 0..50, got {self.guidance_scale}")
        if self.smooth_sigma_frames is not None and not 0 <= self.smooth_sigma_frames <= 10:
            raise InputError(f"smooth_sigma_frames must be 0..10, got {self.smooth_sigma_frames}")

    def resolve(self, defaults: Mapping[str, Any], num_timesteps: int) -> SamplingConfig:
        """Every field set: None fields from `defaults` (a folder's "sampling" block)."""
        merged = {**SAMPLING_DEFAULTS, **defaults}
        sampler = self.sampler or merged["sampler"]
        steps = self.steps or (merged["ddim_steps"] if sampler == "ddim" else num_timesteps)
        if steps > num_timesteps:
            raise InputError(f"steps must be 1..{num_timesteps}, got {steps}")

        def pick(name: str):
            value = getattr(self, name)
            return merged[name] if value is None else value

        return SamplingConfig(
            sampler=sampler,
            steps=int(steps),
            eta=float(pick("eta")),
            guidance_scale=float(pick("guidance_scale")),
            smooth_sigma_frames=float(pick("smooth_sigma_frames")),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, eq=False)
class SegmentRequest:
    """One segment to sample.

    key: the caller's identifier (unique within one `sample_segments` call).
    condition: the `MotionCondition` (object, affordance mask, text, hands).
    num_frames: frames to sample, 1..the model's max_frames.
    seed: its noise seed (the same request and seed give the same segment in any batch).
    after: key of the request this one continues (it starts from that one's last frame),
        or None.
    guidance: opaque payload for the guidance factory (refine's loss terms), or None.
    num_candidates: K, segments sampled for it in one call, 1..MAX_CANDIDATES; with
        K > 1 the `choose` hook of `sample_segments` keeps one.
    """

    key: Hashable
    condition: Any
    num_frames: int
    seed: int
    after: Hashable | None = None
    guidance: Any = None
    num_candidates: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.num_candidates <= MAX_CANDIDATES:
            raise InputError(
                f"num_candidates must be 1..{MAX_CANDIDATES}, got {self.num_candidates}"
            )


@dataclass(frozen=True)
class CandidateChoice:
    """Which of a request's K candidates was kept, as the `choose` hook decided.

    index: the kept candidate, 0..K-1.
    scores: one score per candidate (higher is better), in candidate order.
    terms: optional per-candidate breakdown of the score (name -> value), or ().
    """

    index: int
    scores: tuple[float, ...]
    terms: tuple[Mapping[str, float], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "index": int(self.index),
            "scores": [float(s) for s in self.scores],
            "terms": [dict(t) for t in self.terms],
        }


@dataclass(frozen=True)
class SegmentBatch:
    """What `sample_segments` made.

    segments: the sampled segments by request key.
    failed: by key, the error of the sampler call that request was in (it has no segment).
    seconds: by key, the request's share of its sampler call's wall time (with the time
        its candidates took to choose).
    choices: by key, the `CandidateChoice` of each request with num_candidates > 1.
    """

    segments: dict[Hashable, HOISequence]
    failed: dict[Hashable, OpenHOIError]
    seconds: dict[Hashable, float]
    choices: dict[Hashable, CandidateChoice] = field(default_factory=dict)


GuidanceFactory = Callable[[Sequence[SegmentRequest]], Any]
# (request, its K candidate segments) -> the kept one; see `sample_segments`.
Chooser = Callable[[SegmentRequest, Sequence[HOISequence]], CandidateChoice]


def candidate_seed(seed: int, index: int) -> int:
    """Noise seed of candidate `index` of a request seeded `seed` (candidate 0: `seed`).

    Candidates j > 0 take 31 bits of BLAKE2b("seed:j"), so they are fixed by (seed, j)
    alone, whatever the batch, and do not repeat another candidate's noise.
    """
    if index == 0:
        return int(seed)
    digest = hashlib.blake2b(f"{int(seed)}:{int(index)}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "little") & 0x7FFFFFFF


def sample_segments(
    generator,
    requests: Sequence[SegmentRequest],
    sampling: SamplingConfig,
    *,
    guidance: GuidanceFactory | None = None,
    batch_size: int = 64,
    hands: Mapping | None = None,
    start_blend_frames: int = 0,
    on_call: Callable[[int], None] | None = None,
    done: Mapping[Hashable, HOISequence] | None = None,
    choose: Chooser | None = None,
) -> SegmentBatch:
    """Sample `requests` in sampler calls of one length and at most `batch_size` segments.

    Args:
        generator: a `MotionGenerator`.
        requests: the segments; an `after` key must name another request.
        sampling: sampler settings (resolved against the generator's folder defaults).
        guidance: `chunk -> Guidance | None`, called once per sampler call.
        batch_size: most segments per sampler call, 1..4096.
        hands: hand models used to move a continued segment's start frame.
        start_blend_frames: frames over which a continued segment's start jump is faded.
        on_call: called with the number of segments after each sampler call (progress).
        done: segments sampled before, by key, that requests may continue (`after`).
        choose: `(request, candidates) -> CandidateChoice`, called once per request with
            num_candidates K > 1 on its K finished segments (idle hands held, smoothed);
            required when some request has K > 1.

    A request whose predecessor failed fails with the same error, as does a request whose
    `choose` raised an `OpenHOIError`. Every segment has its idle hand held still
    (`hold_idle_hands`) and, when `smooth_sigma_frames` > 0, is low-passed in time. A
    sampler call holds at most `batch_size` rows (K per request), but always at least
    one request.
    """
    if not 1 <= batch_size <= 4096:
        raise InputError(f"batch_size must be 1..4096, got {batch_size}")
    keys = [r.key for r in requests]
    if len(set(keys)) != len(keys):
        raise InputError("segment request keys must be unique")
    if choose is None and any(r.num_candidates > 1 for r in requests):
        raise InputError("requests with num_candidates > 1 need a choose hook")
    by_key = {r.key: r for r in requests}
    done = dict(done or {})
    for request in requests:
        if request.after is not None and request.after not in by_key and request.after not in done:
            raise InputError(f"segment {request.key!r} continues unknown segment {request.after!r}")
    sampling = generator.resolve_sampling(sampling)
    segments: dict[Hashable, HOISequence] = dict(done)
    failed: dict[Hashable, OpenHOIError] = {}
    seconds: dict[Hashable, float] = {}
    choices: dict[Hashable, CandidateChoice] = {}
    pending = list(requests)
    while pending:
        # Rounds: a request is ready when what it continues has been sampled (or failed).
        ready = [r for r in pending if r.after is None or r.after in segments or r.after in failed]
        if not ready:
            raise InputError("segment requests continue each other in a cycle")
        pending = [r for r in pending if r not in ready]
        by_length: dict[int, list[SegmentRequest]] = {}
        for request in ready:
            if request.after in failed:
                failed[request.key] = failed[request.after]
            else:
                by_length.setdefault(request.num_frames, []).append(request)
        for num_frames in sorted(by_length):
            for chunk in _chunks(by_length[num_frames], batch_size):
                clock = time.perf_counter()
                rows = [(r, j) for r in chunk for j in range(r.num_candidates)]
                try:
                    made = _sample_chunk(
                        generator,
                        rows,
                        num_frames,
                        sampling,
                        guidance,
                        segments,
                        hands,
                        start_blend_frames,
                    )
                except OpenHOIError as exc:
                    failed.update({r.key: exc for r in chunk})
                    continue
                share = (time.perf_counter() - clock) / len(chunk)
                start = 0
                for request in chunk:
                    candidates = made[start : start + request.num_candidates]
                    start += request.num_candidates
                    seconds[request.key] = share
                    if request.num_candidates == 1:
                        segments[request.key] = candidates[0]
                        continue
                    clock = time.perf_counter()
                    try:
                        choice = _choose(choose, request, candidates)
                    except OpenHOIError as exc:
                        failed[request.key] = exc
                        continue
                    segments[request.key] = candidates[choice.index]
                    choices[request.key] = choice
                    seconds[request.key] += time.perf_counter() - clock
                if on_call is not None:
                    on_call(len(chunk))
    made = {key: segment for key, segment in segments.items() if key in by_key}
    return SegmentBatch(segments=made, failed=failed, seconds=seconds, choices=choices)


def _chunks(group: Sequence[SegmentRequest], batch_size: int) -> list[list[SegmentRequest]]:
    """Consecutive runs of `group` of at most `batch_size` rows (K per request), >= 1 request."""
    chunks: list[list[SegmentRequest]] = []
    rows = 0
    for request in group:
        if not chunks or rows + request.num_candidates > batch_size:
            chunks.append([])
            rows = 0
        chunks[-1].append(request)
        rows += request.num_candidates
    return chunks


def _choose(
    choose: Chooser | None, request: SegmentRequest, candidates: Sequence[HOISequence]
) -> CandidateChoice:
    """The hook's choice for one request, checked against its candidates."""
    if choose is None:  # checked on entry; kept for type checkers
        raise InputError("requests with num_candidates > 1 need a choose hook")
    choice = choose(request, list(candidates))
    count = len(candidates)
    if not isinstance(choice, CandidateChoice):
        raise InputError(f"choose must return a CandidateChoice, got {type(choice).__name__}")
    if not 0 <= choice.index < count or len(choice.scores) != count:
        raise InputError(
            f"choose picked candidate {choice.index} with {len(choice.scores)} scores for "
            f"segment {request.key!r}; expected an index 0..{count - 1} and {count} scores"
        )
    return choice


def _sample_chunk(
    generator,
    rows: Sequence[tuple[SegmentRequest, int]],
    num_frames: int,
    sampling: SamplingConfig,
    guidance: GuidanceFactory | None,
    done: Mapping[Hashable, HOISequence],
    hands: Mapping | None,
    start_blend_frames: int,
) -> list[HOISequence]:
    """One sampler call for rows of one length, then idle hands held and smoothing.

    `rows` holds one (request, candidate index j) per sample; row j of a request draws its
    noise from `candidate_seed(seed, j)`. The guidance factory sees the rows' requests.
    """
    from openhoi.data.transforms import smooth_frames

    chunk = [request for request, _ in rows]
    seeds = [candidate_seed(request.seed, j) for request, j in rows]

    # Computed once per request (its K candidates start alike).
    first = {r.key: continuation_start(done[r.after], hands) for r in chunk if r.after is not None}
    starts = [first.get(r.key) for r in chunk]
    made = generator.sample(
        [r.condition for r in chunk],
        num_frames,
        steps=sampling.steps,
        sampler=sampling.sampler,
        guidance_scale=sampling.guidance_scale,
        seed=seeds,
        guidance=guidance(chunk) if guidance is not None else None,
        eta=sampling.eta,
        start_frames=starts if any(s is not None for s in starts) else None,
        start_blend_frames=start_blend_frames,
    )
    out = []
    for request, segment in zip(chunk, made, strict=True):
        segment = hold_idle_hands(segment, request.condition.hands)
        if sampling.smooth_sigma_frames:
            segment = segment.replace(
                frames=smooth_frames(segment.frames, sampling.smooth_sigma_frames)
            )
        out.append(segment)
    return out


def continuation_start(previous: HOISequence, hands: Mapping | None = None) -> np.ndarray:
    """`(1, 208)`: `previous`'s last frame in the frame the next segment is sampled in.

    That frame puts the object at x = y = 0 with zero yaw, keeping its height and tilt
    (SynthHOI's segment convention, `openhoi.data.transforms.canonical_transform`).
    """
    from openhoi.data.transforms import canonical_transform, transform_sequence

    last = previous[previous.num_frames - 1 :]
    pose = last.object_transforms()[0].astype(np.float64)
    rotation, shift = canonical_transform(pose[:3, :3], pose[:3, 3])
    return np.array(transform_sequence(last, rotation, shift, hands).frames)


def hold_idle_hands(segment: HOISequence, hands: str) -> HOISequence:
    """Keep a hand that does not act in this sub-task still (its first generated frame).

    In the training data an idle hand rests beside the person; the model's output for it is
    free to wander, which reads as jitter in previews and exports, so it is held fixed.
    """
    if hands not in HAND_CHOICES:
        raise InputError(f"hands must be one of {list(HAND_CHOICES)}, got {hands!r}")
    acting = ("left", "right") if hands == "both" else (hands,)
    frames = np.array(segment.frames)
    for side in ("left", "right"):
        if side not in acting:
            block = layout.hand_slice(side)
            frames[:, block] = frames[:1, block]
    return segment.replace(frames=frames)
