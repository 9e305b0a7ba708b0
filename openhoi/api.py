"""The Python API: where the parts are assembled. `cli.py` and `tools/` are thin users of it."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from openhoi.data import HOISequence
from openhoi.errors import OpenHOIError
from openhoi.vocab import SEGMENT_FRAMES

__all__ = [
    "GenerateConfig",
    "GenerateResult",
    "Pipeline",
    "check_output_folder",
    "diagnose",
    "generate",
    "refine",
    "write_generation",
]

MANO_DIR_ENV = "OPENHOI_MANO_DIR"
_REPORTED_PACKAGES = (
    "openhoi",
    "torch",
    "numpy",
    "smplx",
    "trimesh",
    "warp-lang",
    "hydra-core",
    "typer",
)


def diagnose(mano_dir: str | None = None) -> dict[str, str]:
    """Versions, compute devices and MANO status, as printable strings."""
    report = {"python": platform.python_version(), "platform": platform.platform()}
    for package in _REPORTED_PACKAGES:
        try:
            report[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            report[package] = "not installed"
    import torch

    report["torch device"] = (
        f"cuda ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else "cpu"
    )
    report["torch threads"] = str(torch.get_num_threads())
    try:
        from openhoi.geometry.distance import warp_devices

        report["warp devices"] = ", ".join(warp_devices())
    except OpenHOIError as exc:
        report["warp devices"] = f"unavailable: {exc}"
    report["MANO"] = _mano_status(mano_dir)
    return report


def _mano_status(mano_dir: str | None) -> str:
    """Describe the MANO set-up; an explicitly given `mano_dir` that fails raises."""
    from openhoi.hand import HandModel

    folder = mano_dir or os.environ.get(MANO_DIR_ENV)
    if not folder:
        return f"embedded default hand (set {MANO_DIR_ENV} or --mano-dir for real MANO files)"
    try:
        for side in ("right", "left"):
            HandModel(side=side, mano_dir=folder)
    except OpenHOIError as exc:
        if mano_dir:
            raise
        return f"{MANO_DIR_ENV}={folder!r} is not usable: {exc}"
    return f"real MANO files at {folder!r} (both hands load)"


# ----------------------------------------------------------------------------------------
# The generation pipeline: planner → per-segment diffusion (+ DSG) → bridges → report.


@dataclass(frozen=True)
class GenerateConfig:
    """Settings of `generate` / `openhoi generate` (checked on construction)."""

    # Sampling.
    sampler: str = "ddim"
    steps: int = 30
    guidance_scale: float = 2.5
    seed: int = 0
    device: str = "cpu"
    # Physical refinement inside the sampler (DSG, Eq. 9–14) and its loss weights.
    refine: bool = True
    guidance_rate: float = 0.3
    guidance_interval: int = 2
    guidance_active_fraction: float = 0.5
    penetration_weight: float = 1.0
    affordance_weight: float = 0.05
    # Attraction of near-touching hand contact zones onto the surface (refine.ContactLoss).
    contact_weight: float = 0.0
    transition_weight: float = 1.0
    penetration_vertex_stride: int = 3
    # Long horizon: in-between frames between consecutive sub-tasks, made by "model" (the
    # unconditional diffusion model under the transition + penetration losses, the paper's
    # method) or "interpolation" (minimum-jerk slerp between the neighbouring frames). The
    # default is interpolation while the shipped model is under-trained: measured with
    # tools/ablate_refine.py, its bridges jumped 340-420 mm at a boundary against 1.3 mm
    # interpolated (the data's own 95th-percentile step is 47 mm).
    bridge: str = "interpolation"
    bridge_frames: int = 15
    # Each sub-task segment starts exactly where the previous one ended (the motion model
    # in-fills it from that frame, `MotionGenerator.sample(start_frames=...)`), so a grasp
    # made in one segment is the grasp the next one holds; consecutive segments then join
    # without a bridge. False samples every segment on its own and bridges them.
    continue_segments: bool = False
    # ... and the jump after that start frame is faded out over this many frames.
    continue_blend_frames: int = 15
    # Temporal low-pass of each sampled segment (Gaussian, in frames; 0: off). Segment end
    # frames and constant-velocity motion are kept exactly; it removes the frame-to-frame
    # jitter of the current weights (measured in README: boundary jerk 3.5k → 1.1 k m/s³ at
    # sigma 2 with penetration and contact unchanged within noise).
    smooth_sigma_frames: float = 2.0
    # Models and hands (None: shipped defaults / embedded hand / $OPENHOI_MANO_DIR).
    planner_path: str | None = None
    motion_path: str | None = None
    mano_dir: str | None = None

    def __post_init__(self) -> None:
        from openhoi.errors import InputError

        if self.sampler not in ("ddim", "ddpm"):
            raise InputError(f"sampler must be 'ddim' or 'ddpm', got {self.sampler!r}")
        if not 1 <= self.steps <= 1000:
            raise InputError(f"steps must be 1..1000, got {self.steps}")
        if not 0 <= self.guidance_scale <= 50:
            raise InputError(f"guidance_scale must be 0..50, got {self.guidance_scale}")
        if self.device not in ("cpu", "cuda") and not self.device.startswith("cuda:"):
            raise InputError(f"device must be 'cpu' or 'cuda[:k]', got {self.device!r}")
        if self.bridge not in ("model", "interpolation"):
            raise InputError(f"bridge must be 'model' or 'interpolation', got {self.bridge!r}")
        if not 0 <= self.bridge_frames <= 60:
            raise InputError(f"bridge_frames must be 0..60, got {self.bridge_frames}")
        if not 0 <= self.smooth_sigma_frames <= 10:
            raise InputError(f"smooth_sigma_frames must be 0..10, got {self.smooth_sigma_frames}")


@dataclass(frozen=True)
class GenerateResult:
    """What `generate` made.

    plan: the planner's `openhoi.mllm.Plan` (sub-tasks, hands, objects, masks).
    sequence: the whole episode as one `HOISequence` (sub-tasks and transitions).
    report: physics metrics, per-sub-task frame ranges, skipped sub-tasks and timings.
    """

    plan: object
    sequence: HOISequence
    report: dict


DEFAULT_BATCH_SIZE = 64  # segments per sampler call in `Pipeline.generate_many`


@dataclass
class _PlannedPrompt:
    """One planned prompt on its way through `generate_many`.

    kept: indices of the sub-tasks on `obj`, the object the plan uses most.
    timings: seconds per stage, filled in as the stages run.
    """

    plan: object  # openhoi.mllm.Plan
    obj: object  # openhoi.objects.HOIObject
    kept: tuple[int, ...]
    timings: dict[str, float]


@dataclass(frozen=True, eq=False)
class _SegmentJob:
    """One sub-task segment to sample: whose it is, its condition, length, seed, losses."""

    prompt: int
    subtask: int
    condition: object  # openhoi.motion.MotionCondition
    num_frames: int
    seed: int
    terms: tuple  # DSG LossTerms of this segment; empty when refinement is off


class Pipeline:
    """Planner, motion generator and hand models, loaded once.

    `__call__` runs one prompt; `generate_many` runs many with their segments batched.
    """

    def __init__(self, planner, generator, hands) -> None:
        self.planner = planner
        self.generator = generator
        self.hands = hands

    @classmethod
    def from_config(cls, config: GenerateConfig) -> Pipeline:
        """Load the planner and motion weights named by `config` (defaults: shipped)."""
        from openhoi.hand import HandModel
        from openhoi.mllm import load_planner
        from openhoi.motion import load_generator

        if config.device.startswith("cuda"):
            import torch

            from openhoi.errors import InputError

            if not torch.cuda.is_available():
                raise InputError("device 'cuda' was asked for, but torch sees no CUDA device")
        planner = load_planner(config.planner_path, device=config.device)
        generator = load_generator(config.motion_path, device=config.device)
        hands = {side: HandModel(side=side, mano_dir=config.mano_dir) for side in ("left", "right")}
        return cls(planner, generator, hands)

    def __call__(self, instruction: str, objects, config: GenerateConfig) -> GenerateResult:
        """Plan, generate every sub-task, refine, bridge and measure one prompt.

        The same code as `generate_many` with one request; a bad input raises.
        """
        (result,) = self.generate_many([(instruction, objects)], config)
        if isinstance(result, OpenHOIError):
            raise result
        return result

    def generate_many(
        self,
        requests: Sequence[tuple[str, Sequence]],
        config: GenerateConfig,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> list[GenerateResult | OpenHOIError]:
        """Many prompts at once: the sub-task segments of all prompts share sampler calls.

        Every prompt is planned; then all their segments are sampled together, grouped by
        length (a call's frames all have one length) in calls of at most `batch_size`
        segments, each with its own DSG loss terms; then each prompt is composed and
        measured. Segment k of a prompt draws its noise from its own generator seeded
        by `config.seed + k`, exactly as a single-prompt run does, so prompt i's noise
        does not depend on the other prompts. Its result equals `self(*requests[i],
        config)` up to the float rounding of batched matmuls (~1e-5 on the frames; DSG's
        non-smooth losses can amplify it, measured up to 5.5e-3 at 10 steps); the same
        requests, config, batch_size and device give bit-equal results.

        Args:
            requests: (instruction, objects) pairs; objects as in `__call__`.
            config: settings shared by every prompt (seed included).
            batch_size: most segments per sampler call.

        Returns:
            One entry per request, in order: its `GenerateResult`, or the `OpenHOIError`
            that stopped it (bad instruction, unknown object, ...); the others go on.

        Report timings: `plan_s`, `bridges_s`, `report_s` are the prompt's own; `motion_s`
        is its share of the batched sampler calls (call time × its segments / call size).
        """
        import time

        from openhoi.errors import InputError

        if not 1 <= batch_size <= 4096:
            raise InputError(f"batch_size must be 1..4096, got {batch_size}")
        outcomes: list[GenerateResult | OpenHOIError | None] = [None] * len(requests)
        planned: dict[int, _PlannedPrompt] = {}
        jobs: list[_SegmentJob] = []
        # Penetration / contact losses per (object, hands), shared by the segments that
        # need the same one (DSG evaluates a shared loss once for all of them).
        shared_losses: dict = {}
        # 1. Plan each prompt and describe its segments; a failure is that prompt's entry.
        for index, (instruction, objects) in enumerate(requests):
            clock = time.perf_counter()
            try:
                prompt = self._plan(instruction, objects)
                prompt.timings["plan_s"] = time.perf_counter() - clock
                jobs.extend(self._segment_jobs(index, prompt, config, shared_losses))
            except OpenHOIError as exc:
                outcomes[index] = exc
                continue
            planned[index] = prompt
        # 2. Sample every segment of every prompt, batched (DSG refinement inside).
        segments, failed = self._sample_jobs(jobs, config, batch_size, planned)
        # 3. Per prompt: chain its segments, bridge them, measure.
        for index, prompt in planned.items():
            if index in failed:
                outcomes[index] = failed[index]
                continue
            ordered = [segments[(index, k)] for k in prompt.kept]
            try:
                outcomes[index] = self._finish(prompt, ordered, config)
            except OpenHOIError as exc:
                outcomes[index] = exc
        return outcomes

    # -- steps ---------------------------------------------------------------------------
    def _plan(self, instruction: str, objects) -> _PlannedPrompt:
        """Plan one prompt and keep the sub-tasks on the object the plan uses most."""
        from openhoi.objects import HOIObject, load_object

        loaded = [o if isinstance(o, HOIObject) else load_object(o) for o in objects]
        # Ordered sub-tasks, each with hands, object and affordance mask.
        plan = self.planner.plan(instruction, loaded)
        # One object per sequence.
        counts = np.bincount([s.object_index for s in plan.subtasks], minlength=len(loaded))
        main = int(counts.argmax())
        kept = tuple(k for k, s in enumerate(plan.subtasks) if s.object_index == main)
        return _PlannedPrompt(plan=plan, obj=loaded[main], kept=kept, timings={})

    def _segment_jobs(
        self, index: int, prompt: _PlannedPrompt, config: GenerateConfig, shared: dict
    ) -> list[_SegmentJob]:
        """The segments of one planned prompt: condition, length, seed and DSG terms."""
        jobs = []
        for k in prompt.kept:
            subtask = prompt.plan.subtasks[k]
            condition = self._condition(prompt.obj, subtask)
            jobs.append(
                _SegmentJob(
                    prompt=index,
                    subtask=k,
                    condition=condition,
                    num_frames=min(SEGMENT_FRAMES[subtask.primitive], self.generator.max_frames),
                    seed=config.seed + k,
                    terms=tuple(self._loss_terms(prompt.obj, condition, config, shared)),
                )
            )
        return jobs

    def _sample_jobs(
        self,
        jobs: list[_SegmentJob],
        config: GenerateConfig,
        batch_size: int,
        planned: dict[int, _PlannedPrompt],
    ) -> tuple[dict[tuple[int, int], HOISequence], dict[int, OpenHOIError]]:
        """Sample `jobs` in calls of one length and ≤ `batch_size` segments.

        Returns the segments by (prompt, sub-task), and the prompts whose call failed
        (every prompt with a segment in a failing call gets that call's error). Adds each
        prompt's share of the call times to its `motion_s`.
        """
        import time

        for prompt in planned.values():
            prompt.timings["motion_s"] = 0.0
        # With continue_segments, a prompt's k-th segment needs its (k-1)-th: sample in
        # rounds by position in the plan (all prompts' k-th segments together).
        rounds: dict[int, list[_SegmentJob]] = {}
        for job in jobs:
            position = planned[job.prompt].kept.index(job.subtask)
            rounds.setdefault(position if config.continue_segments else 0, []).append(job)
        segments: dict[tuple[int, int], HOISequence] = {}
        failed: dict[int, OpenHOIError] = {}
        for position in sorted(rounds):
            by_length: dict[int, list[_SegmentJob]] = {}
            for job in rounds[position]:
                if job.prompt not in failed:
                    by_length.setdefault(job.num_frames, []).append(job)
            for num_frames in sorted(by_length):
                group = by_length[num_frames]
                for start in range(0, len(group), batch_size):
                    chunk = group[start : start + batch_size]
                    starts = [
                        self.start_frames(segments[_previous_key(job, planned)])
                        if position > 0
                        else None
                        for job in chunk
                    ]
                    clock = time.perf_counter()
                    try:
                        made = self._sample(chunk, num_frames, config, starts)
                    except OpenHOIError as exc:
                        failed.update({job.prompt: exc for job in chunk})
                        continue
                    share = (time.perf_counter() - clock) / len(chunk)
                    for job, segment in zip(chunk, made, strict=True):
                        segments[(job.prompt, job.subtask)] = segment
                        planned[job.prompt].timings["motion_s"] += share
        return segments, failed

    def start_frames(self, previous: HOISequence) -> np.ndarray:
        """`(1, 208)`: `previous`'s last frame in the frame the next segment is sampled in
        (object at x = y = 0 with zero yaw, height and tilt kept; SynthHOI's convention)."""
        from openhoi.data.transforms import canonical_transform, transform_sequence

        last = previous[previous.num_frames - 1 :]
        pose = last.object_transforms()[0].astype(np.float64)
        rotation, shift = canonical_transform(pose[:3, :3], pose[:3, 3])
        return np.array(transform_sequence(last, rotation, shift, self.hands).frames)

    def _sample(
        self,
        jobs: Sequence[_SegmentJob],
        num_frames: int,
        config: GenerateConfig,
        starts: Sequence[np.ndarray | None] | None = None,
    ) -> list[HOISequence]:
        """One sampler call for segments of one length, each with its own seed and losses
        (and, with `starts`, its own start frames)."""
        from openhoi.motion.generator import DEFAULT_DDIM_ETA
        from openhoi.refine import DSGGuidance

        # Loss terms exist for all jobs of a config or for none (they follow its weights).
        has_terms = config.refine and all(job.terms for job in jobs)
        guidance = (
            DSGGuidance([job.terms for job in jobs], self._dsg_config(config))
            if has_terms
            else None
        )
        made = self.generator.sample(
            [job.condition for job in jobs],
            num_frames,
            steps=config.steps,
            sampler=config.sampler,
            guidance_scale=config.guidance_scale,
            seed=[job.seed for job in jobs],
            guidance=guidance,
            eta=DEFAULT_DDIM_ETA,
            start_frames=starts,
            start_blend_frames=config.continue_blend_frames,
        )
        from openhoi.data.transforms import smooth_frames

        out = []
        for job, segment in zip(jobs, made, strict=True):
            segment = _hold_idle_hands(segment, job.condition.hands)
            if config.smooth_sigma_frames:
                frames = smooth_frames(segment.frames, config.smooth_sigma_frames)
                segment = segment.replace(frames=frames)
            out.append(segment)
        return out

    def _finish(
        self, prompt: _PlannedPrompt, segments: list[HOISequence], config: GenerateConfig
    ) -> GenerateResult:
        """Chain and bridge one prompt's segments, then its physics report."""
        import time

        from openhoi.eval import sequence_physics

        timings, obj = prompt.timings, prompt.obj
        # 1. Chain the canonical segments and bridge them.
        clock = time.perf_counter()
        sequence = self.compose(obj, segments, config)
        timings["bridges_s"] = time.perf_counter() - clock
        # 2. Physics report.
        clock = time.perf_counter()
        active = {
            side: hand
            for side, hand in self.hands.items()
            if sequence.active_hands[:, ("left", "right").index(side)].any()
        }
        physics = sequence_physics(sequence, obj, active or dict(self.hands))
        timings["report_s"] = time.perf_counter() - clock
        ranges = [
            r
            for r, text in zip(sequence.segment_ranges, sequence.texts, strict=True)
            if text != _transition_text()
        ]
        kept, plan = prompt.kept, prompt.plan
        report = {
            "object": obj.name,
            "physics": physics.summary(),
            "subtask_frames": {int(k): list(r) for k, r in zip(kept, ranges, strict=True)},
            "skipped_subtasks": [k for k in range(len(plan.subtasks)) if k not in kept],
            "num_frames": sequence.num_frames,
            "fps": sequence.fps,
            "timings": {
                name: timings[name] for name in ("plan_s", "motion_s", "bridges_s", "report_s")
            },
        }
        return GenerateResult(plan=plan, sequence=sequence, report=report)

    def _condition(self, obj, subtask):
        from openhoi.motion import MotionCondition

        return MotionCondition(
            object=obj,
            affordance=_mask_on_condition_points(obj, subtask.mask),
            text=subtask.text,
            hands=subtask.hands,
        )

    def _acting(self, hands: str) -> dict:
        sides = ("left", "right") if hands == "both" else (hands,)
        return {side: self.hands[side] for side in sides}

    def _loss_terms(self, obj, condition, config: GenerateConfig, shared: dict | None = None):
        """DSG loss terms of one segment (none when `config.refine` is off).

        Loss terms with weight 0 are left out, so ablations switch a loss off by its weight.
        The penetration and contact losses depend on the object and the hands only; with a
        `shared` dict, segments with the same ones get the same loss object (keyed by the
        object instance: built-ins are one instance per name).
        """
        from openhoi.refine import AffordanceLoss, ContactLoss, LossTerm, PenetrationLoss

        if not config.refine:
            return []
        acting = self._acting(condition.hands)
        shared = {} if shared is None else shared

        def once(kind: str, make):
            key = (id(obj), condition.hands, kind)
            if key not in shared:
                shared[key] = (obj, make())  # the object is kept so its id stays unique
            return shared[key][1]

        terms = []
        if config.penetration_weight:
            stride = config.penetration_vertex_stride
            loss = once("penetration", lambda: PenetrationLoss(obj, acting, vertex_stride=stride))
            terms.append(LossTerm(loss, config.penetration_weight, "penetration"))
        if config.affordance_weight:
            loss = AffordanceLoss(obj, acting, condition.affordance)
            terms.append(LossTerm(loss, config.affordance_weight, "affordance"))
        if config.contact_weight:
            loss = once("contact", lambda: ContactLoss(obj, acting))
            terms.append(LossTerm(loss, config.contact_weight, "contact"))
        return terms

    def generate_segment(
        self,
        obj,
        condition,
        num_frames: int,
        config: GenerateConfig,
        *,
        seed: int,
        previous: HOISequence | None = None,
    ) -> HOISequence:
        """One sub-task segment from a `MotionCondition`, with DSG when `config.refine`.

        Loss terms with weight 0 are left out, so ablations switch a loss off by its weight.
        With `config.continue_segments` and a `previous` segment, it starts where that one
        ended.
        """
        job = _SegmentJob(
            prompt=0,
            subtask=0,
            condition=condition,
            num_frames=num_frames,
            seed=seed,
            terms=tuple(self._loss_terms(obj, condition, config)),
        )
        starts = None
        if config.continue_segments and previous is not None:
            starts = [self.start_frames(previous)]
        (segment,) = self._sample([job], num_frames, config, starts)
        return segment

    def _dsg_config(self, config: GenerateConfig):
        from openhoi.refine import DSGConfig

        return DSGConfig(
            guidance_rate=config.guidance_rate,
            interval=config.guidance_interval,
            active_fraction=config.guidance_active_fraction,
        )

    def compose(self, obj, segments: list[HOISequence], config: GenerateConfig) -> HOISequence:
        """Chain canonical segments and bridge them as `config.bridge` says."""
        from openhoi.refine import compose

        def model_bridge(previous: HOISequence, following: HOISequence, num_frames: int):
            return self._bridge(obj, previous, following, num_frames, config)

        # None: compose's minimum-jerk interpolation.
        bridge = model_bridge if config.bridge == "model" else None
        if config.continue_segments:  # each segment starts with its predecessor's last frame
            return compose(segments, bridge_frames=0, overlap=1, hands=self.hands)
        return compose(
            segments, bridge=bridge, bridge_frames=config.bridge_frames, hands=self.hands
        )

    def _bridge(self, obj, previous, following, num_frames, config) -> HOISequence:
        """In-between motion from the unconditional model under the transition loss.

        The bridge is sampled in the frame where the object starts at the origin (the
        model's canonical frame), pulled by DSG onto the previous segment's last frame and
        the next segment's first, then moved back to the world frame.
        """
        import torch

        from openhoi.data.transforms import transform_sequence
        from openhoi.motion import MotionCondition
        from openhoi.refine import (
            TRANSITION_TEXT,
            DSGConfig,
            DSGGuidance,
            LossTerm,
            PenetrationLoss,
            TransitionLoss,
        )

        pose = previous.object_transforms()[-1].astype(np.float64)
        inverse_r, inverse_t = pose[:3, :3].T, -pose[:3, :3].T @ pose[:3, 3]
        local_prev = transform_sequence(previous[-2:], inverse_r, inverse_t, self.hands)
        local_next = transform_sequence(following[:2], inverse_r, inverse_t, self.hands)
        start = torch.from_numpy(np.array(local_prev.frames[-1]))
        end = torch.from_numpy(np.array(local_next.frames[0]))
        terms = [
            LossTerm(
                TransitionLoss(
                    start,
                    end,
                    start_velocity=torch.from_numpy(np.diff(local_prev.frames, axis=0)[-1]),
                    end_velocity=torch.from_numpy(np.diff(local_next.frames, axis=0)[0]),
                ),
                config.transition_weight,
                "transition",
            ),
        ]
        active = previous.active_hands[-1] | following.active_hands[0]
        acting = {s: self.hands[s] for k, s in enumerate(("left", "right")) if active[k]}
        if acting and config.penetration_weight:
            terms.append(
                LossTerm(
                    PenetrationLoss(obj, acting, vertex_stride=4),
                    config.penetration_weight,
                    "penetration",
                )
            )
        hands = "both" if active.all() else ("left" if active[0] else "right")
        condition = MotionCondition(
            object=obj,
            affordance=np.zeros(len(obj.points.points), np.float32),
            text="",
            hands=hands,
        )
        # Bridges must meet their endpoints: guide every step, at least at rate 0.5.
        rate = max(config.guidance_rate, 0.5)
        guidance = DSGGuidance([terms], DSGConfig(guidance_rate=rate, interval=1))
        (local,) = self.generator.sample(
            [condition],
            num_frames,
            steps=config.steps,
            sampler=config.sampler,
            guidance_scale=0.0,
            seed=config.seed + 10_000,
            guidance=guidance,
            eta=1.0,
        )
        local = local.replace(
            frames=_meet_endpoints(
                np.array(local.frames),
                np.array(local_prev.frames[-1]) + np.diff(local_prev.frames, axis=0)[-1],
                np.array(local_next.frames[0]) - np.diff(local_next.frames, axis=0)[0],
            )
        )
        world = transform_sequence(local, pose[:3, :3], pose[:3, 3], self.hands)
        return world.replace(
            active_hands=np.repeat(active[None], num_frames, axis=0),
            texts=(TRANSITION_TEXT,),
            affordance=None,
        )


def _previous_key(job: _SegmentJob, planned: dict[int, _PlannedPrompt]) -> tuple[int, int]:
    """(prompt, sub-task) of the segment sampled before `job` in its prompt's plan."""
    kept = planned[job.prompt].kept
    return job.prompt, kept[kept.index(job.subtask) - 1]


def _meet_endpoints(frames: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Bend a bridge so its first/last frames continue the neighbours exactly.

    DSG pulls the bridge towards its endpoints but, with σ_t → 0 in the last steps, cannot
    guarantee they are met (measured: joints jumping tens of cm at boundaries). The residual
    offsets at both ends are removed with a smooth (minimum-jerk) blend across the bridge,
    which keeps the model's in-between motion; 6D blocks are re-orthonormalised after.
    """
    import torch

    from openhoi.data.transforms import minimum_jerk_at, orthonormalise_frames

    weight = minimum_jerk_at(np.linspace(0.0, 1.0, len(frames)))[:, None]
    corrected = frames + (1 - weight) * (first - frames[0]) + weight * (last - frames[-1])
    return orthonormalise_frames(torch.from_numpy(corrected.astype(np.float32))).numpy()


def _hold_idle_hands(segment: HOISequence, hands: str) -> HOISequence:
    """Keep a hand that does not act in this sub-task still (its first generated frame).

    In the training data an idle hand rests beside the person; the model's output for it is
    free to wander, which reads as jitter in previews and exports, so it is held fixed.
    """
    from openhoi.data import layout

    acting = ("left", "right") if hands == "both" else (hands,)
    frames = np.array(segment.frames)
    for side in ("left", "right"):
        if side not in acting:
            block = layout.hand_slice(side)
            frames[:, block] = frames[:1, block]
    return segment.replace(frames=frames)


def _transition_text() -> str:
    from openhoi.refine.compose import TRANSITION_TEXT

    return TRANSITION_TEXT


def _mask_on_condition_points(obj, mask_2048: np.ndarray) -> np.ndarray:
    """A planner mask over the 2048 normalised points → the 1024 condition points (nearest)."""
    import torch

    normalised = obj.normalised_points
    source = torch.tensor(normalised.to_object_frame(normalised.points), dtype=torch.float32)
    target = torch.tensor(np.asarray(obj.points.points), dtype=torch.float32)
    nearest = torch.cdist(target, source).argmin(dim=1).numpy()
    return np.asarray(mask_2048, np.float32)[nearest]


_PIPELINES: dict[tuple, Pipeline] = {}


def generate(instruction: str, objects, seed: int = 0, **options) -> GenerateResult:
    """Instruction + objects → plan, one continuous HOI sequence and a physics report.

    Args:
        instruction: free-form text ("I'm thirsty, open the bottle and take a sip").
        objects: built-in names, mesh paths or `HOIObject`s (one or several).
        seed: same seed, inputs and device → same output.
        **options: any `GenerateConfig` field (steps, sampler, refine, device, ...).
    """
    if isinstance(objects, str):
        objects = [objects]
    config = GenerateConfig(seed=seed, **options)
    key = (config.planner_path, config.motion_path, config.mano_dir, config.device)
    if key not in _PIPELINES:
        _PIPELINES[key] = Pipeline.from_config(config)
    return _PIPELINES[key](instruction, objects, config)


def refine(sequence: HOISequence, obj, **options):
    """Post-hoc physical refinement of any sequence (`openhoi.refine.refine_sequence`)."""
    from openhoi.objects import HOIObject, load_object
    from openhoi.refine import PostHocConfig, refine_sequence

    obj = obj if isinstance(obj, HOIObject) else load_object(obj)
    return refine_sequence(sequence, obj, config=PostHocConfig(**options))


def check_output_folder(out_dir: str | os.PathLike) -> Path:
    """Fail early, with a clear error, when `out_dir` cannot be created or written."""
    import tempfile

    from openhoi.errors import InputError

    out = Path(out_dir)
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise InputError(f"output folder {str(out)!r}: {str(existing)!r} is a file")
    try:
        with tempfile.TemporaryDirectory(dir=existing):
            pass
    except OSError as exc:
        raise InputError(f"cannot write to output folder {str(out)!r} ({exc.strerror})") from exc
    return out


def write_generation(
    result: GenerateResult,
    out_dir: str | os.PathLike,
    *,
    hands=None,
    render: bool = True,
) -> list[Path]:
    """Write every output of one `generate` run into `out_dir`, atomically.

    Files: sequence.npz, plan.json (+ mask_XX.npy / .ply, with frame ranges), meshes.npz,
    sequence.glb, sequence.bvh, preview.mp4 (when `render`), report.json. Everything is
    written into a hidden temporary folder inside `out_dir` first and moved into place only
    when all files exist (report.json last), so an error or Ctrl-C leaves nothing
    half-written.
    """
    import json
    import shutil
    import uuid

    from openhoi.errors import InputError
    from openhoi.export import export_sequence
    from openhoi.mllm import write_plan
    from openhoi.objects import load_object

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        temp = out / f".generate.tmp-{uuid.uuid4().hex[:8]}"
        temp.mkdir()
    except OSError as exc:
        raise InputError(f"cannot write to output folder {str(out)!r} ({exc.strerror})") from exc
    try:
        sequence = result.sequence
        obj = load_object(result.report["object"])
        sequence.save(temp / "sequence.npz")
        plan_path = write_plan(result.plan, temp)
        plan = json.loads(plan_path.read_text())
        for index, entry in enumerate(plan["subtasks"]):
            frames = result.report["subtask_frames"].get(index)
            entry["frames"] = frames  # [start, end) or None when the sub-task was skipped
        plan_path.write_text(json.dumps(plan, indent=2))
        for fmt in ("meshes", "glb", "bvh") + (("mp4",) if render else ()):
            export_sequence(sequence, temp, fmt, obj=obj, hands=hands)
        (temp / "report.json").write_text(json.dumps(result.report, indent=2))
        names = sorted(p.name for p in temp.iterdir())
        # Publish: every file moved into place, report.json last (a complete run's marker).
        for name in [n for n in names if n != "report.json"] + ["report.json"]:
            os.replace(temp / name, out / name)
        temp.rmdir()
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return [out / name for name in names]
