"""Start→target in-filling and forecasting with the motion model (PAM's Stage I, HandWorld).

Both are motion in-filling: known frames are put into the model's clean estimate x̂_0 at
every denoising step (`openhoi.motion.sampling.StartFrames`, replacement in the model's
own normalised object-centric representation) and the model denoises the rest in
agreement with them, under DSG guidance (`openhoi.refine`).

- `Infiller.interpolate(obj, start, target, num_frames)`: a window whose first frame is the
  start state (hands + object) and whose last is the target (hand pose; object pose too,
  or the object where it starts). K candidates are sampled in one batch and the best by
  the physics score of `openhoi.refine.candidates` is kept (sample-and-filter); the
  contact stage (`openhoi.refine.contact_opt`) then fits the grasps. Both ends are exact
  in the result: the sampler returns them (up to float rounding of the representation's
  round trip); the idle-hand hold, the temporal low-pass and the contact stage can move
  them, so any residual left at either end is removed with a minimum-jerk blend across
  the window (`refine.bridges.meet_endpoints`).
- `Infiller.forecast(history, num_frames)`: a window whose first H frames are the
  history's last H; the model continues them. K samples are returned as they are (no
  filter: forecasting is scored best-of-K against the truth, `openhoi eval forecast`).
  Each sample starts with the history's last frame, exactly.

Windows are sampled in the model's canonical frame (the object at x = y = 0 with zero yaw
at the window's first frame, SynthHOI's segment convention) and moved back to the world.
`linear_interpolation` is the baseline the benchmark compares against.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from openhoi.data import HAND_SIDES, HOISequence, layout
from openhoi.errors import InputError
from openhoi.generate_config import GenerateConfig

__all__ = [
    "DEFAULT_HISTORY_FRAMES",
    "ForecastResult",
    "Infiller",
    "InterpolateResult",
    "check_made_for",
    "forecast",
    "interpolate",
    "linear_interpolation",
    "write_infill",
]

# History frames a forecast conditions on (the first H frames of its sampling window).
DEFAULT_HISTORY_FRAMES = 10
# A target hand within this distance (metres) of an object point marks it as the region the
# in-between motion aims for, when the target carries no affordance mask of its own.
TARGET_REGION_RADIUS_M = 0.02
# A hand whose wrist moves less than this (metres) between start and target, and that is
# not marked active, stays idle.
_IDLE_MOTION_M = 1e-4
_MIN_FRAMES = 2


@dataclass(frozen=True)
class InterpolateResult:
    """One start→target in-fill.

    sequence: the kept motion in the world frame, `num_frames` frames; frame 0 is the start
        state and the last frame the target, exactly.
    object: the `HOIObject`.
    hands: "left", "right" or "both", the hands that act.
    affordance: `(P,)` the region the motion was conditioned on (the target's mask, or the
        points the target hand touches).
    choice: with K > 1 the `CandidateChoice` (index, scores, terms); None with K = 1.
    contact: the contact stage's `ContactResult` (None when switched off).
    physics: the `PhysicsReport` of `sequence` (None with `config.report` off).
    timings: seconds per stage (sample_s, choose_s, contact_s, report_s, total_s).
    config: the `GenerateConfig` with its sampling fields resolved.
    """

    sequence: HOISequence
    object: Any
    hands: str
    affordance: np.ndarray
    choice: Any
    contact: Any
    physics: Any
    timings: dict[str, float]
    config: GenerateConfig
    provenance: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-ready report (report.json)."""
        return {
            "task": "interpolate",
            "object": _ref_text(self.object),
            "hands": self.hands,
            "num_frames": self.sequence.num_frames,
            "fps": self.sequence.fps,
            "candidates": None if self.choice is None else self.choice.to_dict(),
            "contact": None if self.contact is None else self.contact.summary(),
            "physics": None if self.physics is None else self.physics.summary(),
            "timings": dict(self.timings),
        }


@dataclass(frozen=True)
class ForecastResult:
    """K continuations of a history.

    samples: K sequences in the world frame, each `num_frames + 1` frames: the history's
        last frame (exactly), then the `num_frames` forecast frames.
    history_frames: H, the history frames the model was conditioned on.
    text: the sub-task text the samples were conditioned on; hands: the acting hands.
    timings: seconds (sample_s, total_s).
    config: the `GenerateConfig` with its sampling fields resolved (K = `config.candidates`).
    """

    samples: tuple[HOISequence, ...]
    history_frames: int
    text: str
    hands: str
    timings: dict[str, float]
    config: GenerateConfig
    provenance: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-ready report (report.json)."""
        return {
            "task": "forecast",
            "object": self.samples[0].object_name,
            "text": self.text,
            "hands": self.hands,
            "history_frames": self.history_frames,
            "num_samples": len(self.samples),
            "num_frames": self.samples[0].num_frames - 1,
            "fps": self.samples[0].fps,
            "timings": dict(self.timings),
        }


class Infiller:
    """The motion generator and both hand models, loaded once; see the module docstring."""

    def __init__(self, generator, hands: Mapping, provenance: dict | None = None) -> None:
        self.generator = generator
        self.hands = dict(hands)
        self.provenance = dict(provenance or {})

    @classmethod
    def from_pretrained(
        cls, motion: str | None = None, *, device: str = "cpu", mano_dir: str | None = None
    ) -> Infiller:
        """Load a motion model folder (None: the shipped one) and both hands."""
        from openhoi.api import _check_device
        from openhoi.hand import HandModel
        from openhoi.hand.identity import hand_identity
        from openhoi.motion import load_generator
        from openhoi.provenance import describe_motion, package_version

        _check_device(device)
        hands = {side: HandModel(side=side, mano_dir=mano_dir) for side in HAND_SIDES}
        generator = load_generator(motion, device=device)
        identity = hand_identity(hands)
        provenance = {
            "openhoi": package_version(),
            "motion": describe_motion(motion, hands),  # warns once on another hand
            "hand_model": identity.describe(),
            "hand": identity.to_record(),
            "device": device,
        }
        return cls(generator, hands, provenance)

    # -- start → target ---------------------------------------------------------------
    def interpolate(
        self,
        obj,
        start: HOISequence,
        target: HOISequence,
        num_frames: int,
        config: GenerateConfig | None = None,
        *,
        use_target_object: bool = False,
        instruction: str | None = None,
    ) -> InterpolateResult:
        """In-fill `num_frames` frames from `start`'s last frame to `target`'s first.

        Args:
            obj: the object (built-in name, mesh path, reference or `HOIObject`).
            start: its last frame is the start state (hands and object).
            target: its first frame holds the target hand pose; with `use_target_object`
                also the target object pose (else the object stays where it starts, the
                whole window: the target says nothing of moving it). The hands keep the
                start's shape (betas).
            num_frames: frames of the result, endpoints included, 2..the model's
                max_frames.
            config: seed, sampling, DSG and contact settings, `candidates` K.
            instruction: sub-task text (default: the target's own text, else "").

        Raises:
            InputError: bad frame count, or a start/target made for another object.
        """
        from openhoi.data.transforms import smooth_frames
        from openhoi.motion.segments import candidate_seed, hold_idle_hands
        from openhoi.refine.bridges import meet_endpoints

        clock = time.perf_counter()
        config = self._resolved(config)
        obj = _load(obj)
        _check_frames("frames", num_frames, self.generator.max_frames)
        for name, seq in (("start", start), ("target", target)):
            check_made_for(name, seq, obj)
        first = start[start.num_frames - 1 :]
        last = target[:1]
        last_frame = np.array(last.frames[0])
        if not use_target_object:
            last_frame[layout.OBJECT] = first.frames[0][layout.OBJECT]
        last = first.replace(frames=last_frame[None], active_hands=last.active_hands)
        hands = _acting_hands(first, last)
        affordance = _target_region(obj, target, last, hands, self.hands)
        text = instruction if instruction is not None else _text_of(target)
        timings: dict[str, float] = {}
        # 1. The pair in the canonical frame of the start.
        rotation, shift = _canonical(first)
        pair = _transform(HOISequence.concatenate([first, last]), rotation, shift, self.hands)
        if num_frames == _MIN_FRAMES:  # nothing to in-fill
            one = {"segment_starts": np.zeros(1, np.int64), "texts": (text,), "affordance": None}
            canonical = [pair.replace(**one)]
            choice = None
        else:
            # 2. K candidates in one batch, both ends in-filled, under DSG.
            k = config.candidates
            condition = self._condition(obj, affordance, text, hands)
            guidance = self._guidance(obj, hands, affordance, config, k)
            blend = min(config.refine.continue_blend_frames, max(1, (num_frames - 2) // 2))
            sampling = config.sampling
            tick = time.perf_counter()
            made = self.generator.sample(
                [condition] * k, num_frames, steps=sampling.steps, sampler=sampling.sampler,
                guidance_scale=sampling.guidance_scale,
                seed=[candidate_seed(config.seed, j) for j in range(k)], guidance=guidance,
                eta=sampling.eta, start_frames=[np.array(pair.frames[:1])] * k,
                end_frames=[np.array(pair.frames[1:])] * k, start_blend_frames=blend,
            )  # fmt: skip
            timings["sample_s"] = time.perf_counter() - tick
            canonical = []
            for segment in made:
                segment = hold_idle_hands(segment, hands)
                frames = smooth_frames(segment.frames, sampling.smooth_sigma_frames or 0.0)
                frames = meet_endpoints(frames, pair.frames[0], pair.frames[1])
                if not use_target_object:  # nothing says the object moves: it stays put
                    frames[:, layout.OBJECT] = pair.frames[0][layout.OBJECT]
                canonical.append(segment.replace(frames=frames, betas=first.betas))
            # 3. Sample-and-filter: the physics score of refine.candidates.
            choice = None
            if k > 1:
                tick = time.perf_counter()
                choice = self._choose(obj, hands, canonical, affordance)
                timings["choose_s"] = time.perf_counter() - tick
        kept = canonical[0 if choice is None else choice.index]
        world = _transform(kept, rotation.T, -rotation.T @ shift, self.hands)
        world = world.replace(
            object_name=first.object_name or _ref_text(obj),
            texts=(text,),
            affordance=affordance[None],
            active_hands=np.repeat(_active_row(hands)[None], world.num_frames, axis=0),
        )
        start_frame, target_frame = np.array(first.frames[0]), np.array(last.frames[0])
        # 4. The contact stage, then both ends exact again.
        contact = None
        refine = config.refine
        if num_frames > _MIN_FRAMES and (refine.optimise_contacts or refine.kinematic_carry):
            from openhoi.refine.contact_opt import ContactConfig, optimise_contacts

            tick = time.perf_counter()
            settings = ContactConfig(
                optimise=refine.optimise_contacts, kinematic_carry=refine.kinematic_carry
            )
            contact = optimise_contacts(world, obj, self.hands, config=settings)
            world = contact.sequence
            timings["contact_s"] = time.perf_counter() - tick
        world = world.replace(frames=meet_endpoints(world.frames, start_frame, target_frame))
        world = _exact_ends(world, start_frame, target_frame)
        physics = None
        if config.report:
            tick = time.perf_counter()
            physics = self.score(world, obj, hands, affordance)
            timings["report_s"] = time.perf_counter() - tick
        timings["total_s"] = time.perf_counter() - clock
        return InterpolateResult(
            sequence=world, object=obj, hands=hands, affordance=affordance, choice=choice,
            contact=contact, physics=physics, timings=timings, config=config,
            provenance=self.provenance,
        )  # fmt: skip

    # -- forecasting -------------------------------------------------------------------
    def forecast(
        self,
        history: HOISequence,
        num_frames: int,
        config: GenerateConfig | None = None,
        *,
        history_frames: int = DEFAULT_HISTORY_FRAMES,
        instruction: str | None = None,
        obj=None,
    ) -> ForecastResult:
        """K = `config.candidates` continuations of `history`, `num_frames` frames each.

        Args:
            history: the motion so far; its last `history_frames` frames condition the model.
            num_frames: frames to forecast, 2..max_frames − history_frames.
            config: seed, sampling, DSG settings and K.
            history_frames: H, 1..the history's length.
            instruction: sub-task text (default: the history's last segment text; one of
                the two is needed).
            obj: the object (default: the history's `object_name`).

        Raises:
            InputError: bad counts, a history shorter than H, or no sub-task text.
        """
        from openhoi.data.transforms import smooth_frames
        from openhoi.motion.segments import candidate_seed, hold_idle_hands
        from openhoi.refine.bridges import meet_endpoints

        clock = time.perf_counter()
        config = self._resolved(config)
        if not 1 <= history_frames <= self.generator.max_frames - _MIN_FRAMES:
            raise InputError(
                f"history frames must be 1..{self.generator.max_frames - _MIN_FRAMES}, "
                f"got {history_frames}"
            )
        if history.num_frames < history_frames:
            raise InputError(
                f"history has {history.num_frames} frames; forecasting from the last "
                f"{history_frames} needs at least {history_frames} (lower --history-frames)"
            )
        _check_frames("frames", num_frames, self.generator.max_frames - history_frames)
        obj = _load(obj if obj is not None else history.object_name or None, "history")
        check_made_for("history", history, obj)
        text = instruction if instruction is not None else _text_of(history)
        if not text:
            raise InputError(
                "the history has no sub-task text in its meta (texts); pass --instruction"
            )
        past = history[history.num_frames - history_frames :]
        hands = _hands_of(past.active_hands[-1], past.active_hands.any(axis=0))
        affordance = (
            np.array(history.affordance[-1], np.float32)
            if history.affordance is not None and history.affordance.shape[1] == _num_points(obj)
            else np.zeros(_num_points(obj), np.float32)
        )
        rotation, shift = _canonical(past)
        local = _transform(past, rotation, shift, self.hands)
        k = config.candidates
        window = history_frames + num_frames
        blend = min(config.refine.continue_blend_frames, num_frames)
        sampling = config.sampling
        tick = time.perf_counter()
        made = self.generator.sample(
            [self._condition(obj, affordance, text, hands)] * k, window,
            steps=sampling.steps, sampler=sampling.sampler,
            guidance_scale=sampling.guidance_scale,
            seed=[candidate_seed(config.seed, j) for j in range(k)],
            guidance=self._guidance(obj, hands, affordance, config, k), eta=sampling.eta,
            start_frames=[np.array(local.frames)] * k, start_blend_frames=blend,
        )  # fmt: skip
        sample_s = time.perf_counter() - tick
        last = np.array(local.frames[-1])
        samples = []
        for segment in made:
            segment = hold_idle_hands(segment, hands)
            frames = smooth_frames(segment.frames, sampling.smooth_sigma_frames or 0.0)
            future = frames[history_frames - 1 :]
            future = meet_endpoints(future, last, future[-1])
            moved = _transform(
                segment.replace(frames=future, active_hands=segment.active_hands[: len(future)],
                                betas=history.betas),
                rotation.T, -rotation.T @ shift, self.hands,
            )  # fmt: skip
            moved = moved.replace(
                object_name=history.object_name or _ref_text(obj),
                affordance=affordance[None],
                texts=(text,),
            )
            samples.append(_exact_ends(moved, np.array(history.frames[-1]), None))
        timings = {"sample_s": sample_s, "total_s": time.perf_counter() - clock}
        return ForecastResult(
            samples=tuple(samples), history_frames=history_frames, text=text, hands=hands,
            timings=timings, config=config, provenance=self.provenance,
        )  # fmt: skip

    # -- pieces ------------------------------------------------------------------------
    def score(self, sequence: HOISequence, obj, hands: str, affordance: np.ndarray):
        """The `PhysicsReport` of `sequence` with its acting hands and region."""
        from openhoi.eval import sequence_physics

        acting = {side: self.hands[side] for side in _sides(hands)}
        mask = affordance if np.asarray(affordance).max(initial=0.0) > 0 else None
        return sequence_physics(sequence, obj, acting, affordance_mask=mask)

    def _resolved(self, config: GenerateConfig | None) -> GenerateConfig:
        config = config or GenerateConfig()
        return dataclasses.replace(
            config, sampling=self.generator.resolve_sampling(config.sampling)
        )

    def _condition(self, obj, affordance: np.ndarray, text: str, hands: str):
        from openhoi.motion import MotionCondition

        return MotionCondition(object=obj, affordance=affordance, text=text, hands=hands)

    def _guidance(self, obj, hands: str, affordance: np.ndarray, config: GenerateConfig, k: int):
        """DSG with the segment losses (penetration, affordance, contact), or None."""
        from openhoi.refine.guidance import DSGGuidance
        from openhoi.refine.segment_guidance import SegmentLosses, dsg_config

        terms = SegmentLosses(self.hands, config.refine).terms(obj, hands, affordance)
        if not terms:
            return None
        return DSGGuidance([list(terms)] * k, dsg_config(config.refine))

    def _choose(self, obj, hands: str, candidates, affordance: np.ndarray):
        from openhoi.motion.segments import CandidateChoice
        from openhoi.refine.candidates import CandidateScorer

        scorer = CandidateScorer(obj, {side: self.hands[side] for side in _sides(hands)})
        scores = scorer(candidates, affordance)
        return CandidateChoice(
            index=int(np.argmax(scores.score)),
            scores=tuple(float(s) for s in scores.score),
            terms=tuple(scores.terms(j) for j in range(len(candidates))),
        )


_LOAD_OPTIONS = ("motion_path", "mano_dir", "device")
_INFILLERS: dict[tuple, Infiller] = {}


def _infiller(options: dict) -> Infiller:
    """The cached `Infiller` of the load options popped from `options`."""
    load = {name: options.pop(name, None) for name in _LOAD_OPTIONS}
    key = (load["motion_path"], load["mano_dir"], load["device"] or "cpu")
    if key not in _INFILLERS:
        _INFILLERS[key] = Infiller.from_pretrained(key[0], device=key[2], mano_dir=key[1])
    return _INFILLERS[key]


def _sequence(value, name: str) -> HOISequence:
    if isinstance(value, HOISequence):
        return value
    import os

    if isinstance(value, (str, os.PathLike)):
        return HOISequence.load(value)
    raise InputError(f"{name} must be an HOISequence or an .npz path, got {type(value).__name__}")


def interpolate(
    obj, start, target, frames: int = 30, candidates: int = 1, seed: int = 0, *,
    use_target_object: bool = False, instruction: str | None = None, **options,
) -> InterpolateResult:  # fmt: skip
    """Start state → target hand pose, in-filled by the motion model (`Infiller.interpolate`).

    Args:
        obj: built-in name, mesh path, reference or `HOIObject`.
        start, target: `HOISequence`s or .npz paths (start's last frame, target's first).
        frames: frames of the result, endpoints included.
        candidates: K, best-of-K by the candidate physics score.
        seed: same seed, inputs and device -> same output.
        **options: `motion_path`, `mano_dir`, `device` (load; cached), and any
            `GenerateConfig.from_options` name (steps, sampler, refine, report, ...).
    """
    infiller = _infiller(options)
    config = GenerateConfig.from_options(seed=seed, candidates=candidates, **options)
    return infiller.interpolate(
        obj, _sequence(start, "start"), _sequence(target, "target"), frames, config,
        use_target_object=use_target_object, instruction=instruction,
    )  # fmt: skip


def forecast(
    history, frames: int = 30, samples: int = 1, seed: int = 0, *,
    history_frames: int = DEFAULT_HISTORY_FRAMES, instruction: str | None = None, obj=None,
    **options,
) -> ForecastResult:  # fmt: skip
    """K = `samples` continuations of `history` (an `HOISequence` or .npz path), `frames`
    frames each (`Infiller.forecast`); options as in `interpolate`."""
    infiller = _infiller(options)
    config = GenerateConfig.from_options(seed=seed, candidates=samples, **options)
    return infiller.forecast(
        _sequence(history, "history"), frames, config, history_frames=history_frames,
        instruction=instruction, obj=obj,
    )  # fmt: skip


def linear_interpolation(start: HOISequence, target: HOISequence, num_frames: int,
                         *, use_target_object: bool = False) -> HOISequence:  # fmt: skip
    """The baseline: `start`'s last frame to `target`'s first, linear in time, translations
    and angles blended linearly and every rotation by slerp (object as in `interpolate`)."""
    from openhoi.data.sequence import _interpolate_frames

    if num_frames < _MIN_FRAMES:
        raise InputError(f"frames must be >= {_MIN_FRAMES}, got {num_frames}")
    first = np.array(start.frames[-1])
    last = np.array(target.frames[0])
    if not use_target_object:
        last[layout.OBJECT] = first[layout.OBJECT]
    progress = np.linspace(0.0, 1.0, num_frames).astype(np.float32)
    zeros = np.zeros(num_frames, np.int64)
    frames = _interpolate_frames(np.stack([first, last]), zeros, zeros + 1, progress)
    frames[0], frames[-1] = first, last
    hands = _acting_hands(start[start.num_frames - 1 :], target[:1])
    return start.replace(
        frames=frames,
        active_hands=np.repeat(_active_row(hands)[None], num_frames, axis=0),
        segment_starts=np.zeros(1, np.int64),
        texts=(_text_of(target),),
        affordance=None,
    )


def write_infill(
    result: InterpolateResult | ForecastResult, out_dir, *, history: HOISequence | None = None,
    hands=None, render: bool = False, overwrite: bool = False,
) -> list:  # fmt: skip
    """Write a run folder, whole or not at all (`openhoi.export.run_folder.fresh_folder`).

    interpolate: sequence.npz, meshes.npz, sequence.glb, sequence.bvh, (preview.mp4),
    report.json, config.json. forecast: sample_XX.npz per sample (the history's last frame,
    then the forecast), and sequence.npz / meshes / glb / bvh / (mp4) of the history followed
    by sample 0 (`history` given) or of sample 0 alone.
    """
    from pathlib import Path

    from openhoi._io import save_json_atomic
    from openhoi.export import export_sequence
    from openhoi.export.run_folder import fresh_folder

    with fresh_folder(out_dir, overwrite=overwrite) as temp:
        if isinstance(result, ForecastResult):
            for index, sample in enumerate(result.samples):
                sample.save(temp / f"sample_{index:02d}.npz")
            shown = result.samples[0]
            if history is not None:
                shown = HOISequence.concatenate(
                    [history.replace(affordance=None), shown[1:].replace(affordance=None)]
                )
            obj = shown.load_object()
        else:
            shown, obj = result.sequence, result.object
        shown.save(temp / "sequence.npz")
        for fmt in ("meshes", "glb", "bvh") + (("mp4",) if render else ()):
            export_sequence(shown, temp, fmt, obj=obj, hands=hands)
        save_json_atomic(temp / "report.json", result.summary())
        save_json_atomic(
            temp / "config.json",
            {"format": "openhoi-run", "version": 1, "task": result.summary()["task"],
             "config": result.config.to_dict(), **result.provenance},
        )  # fmt: skip
        names = sorted(p.name for p in temp.iterdir())
    return [Path(out_dir) / name for name in names]


# -- helpers ----------------------------------------------------------------------------
def _ref_text(obj) -> str:
    return obj.name if obj.ref is None else str(obj.ref)


def _load(obj, what: str = "object"):
    from openhoi.objects import HOIObject, load_object

    if obj is None:
        raise InputError(f"the {what} names no object; pass --object")
    return obj if isinstance(obj, HOIObject) else load_object(obj)


def _num_points(obj) -> int:
    return len(obj.points.points)


def _check_frames(name: str, value: int, most: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{name} must be an integer, got {value!r}")
    if not _MIN_FRAMES <= value <= most:
        raise InputError(f"{name} must be {_MIN_FRAMES}..{most}, got {value}")


def check_made_for(name: str, sequence: HOISequence, obj) -> None:
    """A sequence made for another object than `obj` is refused (poses would not fit)."""
    from openhoi.data.sequence import _same_object

    if not isinstance(sequence, HOISequence):
        raise InputError(f"{name} must be an HOISequence, got {type(sequence).__name__}")
    if sequence.object_name and not _same_object(sequence.object_name, _ref_text(obj)):
        raise InputError(
            f"{name} was made for object {sequence.object_name!r}, not {_ref_text(obj)!r}; "
            "pass the object it was made for"
        )


def _text_of(sequence: HOISequence) -> str:
    from openhoi.refine import TRANSITION_TEXT

    texts = [t for t in sequence.texts if t and t != TRANSITION_TEXT]
    return texts[-1] if texts else ""


def _sides(hands: str) -> tuple[str, ...]:
    return HAND_SIDES if hands == "both" else (hands,)


def _active_row(hands: str) -> np.ndarray:
    return np.array([side in _sides(hands) for side in HAND_SIDES])


def _hands_of(*rows: np.ndarray) -> str:
    """The hands ("left", "right", "both") of the first non-empty active row (else "right")."""
    for row in rows:
        row = np.asarray(row, bool)
        if row.all():
            return "both"
        if row.any():
            return HAND_SIDES[int(np.argmax(row))]
    return "right"


def _acting_hands(first: HOISequence, last: HOISequence) -> str:
    """Hands marked active at either end, plus any hand whose wrist moves between them."""
    moved = np.array(
        [
            np.abs(first.frames[0][layout.hand_slice(s)][layout.HAND_TRANSL]
                   - last.frames[0][layout.hand_slice(s)][layout.HAND_TRANSL]).max()
            > _IDLE_MOTION_M
            for s in HAND_SIDES
        ]
    )  # fmt: skip
    marked = np.asarray(first.active_hands[0]) | np.asarray(last.active_hands[0])
    return _hands_of(marked | moved)


def _target_region(obj, target: HOISequence, last: HOISequence, hands: str, models) -> np.ndarray:
    """`(P,)` the region the motion aims for: the target's own mask, else the object points
    within TARGET_REGION_RADIUS_M of the target hand (in the target object pose)."""
    count = _num_points(obj)
    if target.affordance is not None and target.affordance.shape[1] == count:
        mask = np.array(target.affordance[0], np.float32)
        if mask.max() > 0:
            return mask
    pose = last.object_transforms()[0].astype(np.float64)
    points = np.asarray(obj.points.points, np.float64) @ pose[:3, :3].T + pose[:3, 3]
    near = np.zeros(count, bool)
    for side in _sides(hands):
        vertices = last.hand_vertices(side, models[side])[0].astype(np.float64)
        distance = np.linalg.norm(points[:, None] - vertices[None], axis=-1).min(axis=1)
        near |= distance <= TARGET_REGION_RADIUS_M
    return near.astype(np.float32)


def _canonical(sequence: HOISequence) -> tuple[np.ndarray, np.ndarray]:
    """The world change putting `sequence`'s first object pose in the canonical frame."""
    from openhoi.data.transforms import canonical_transform

    pose = sequence.object_transforms()[0].astype(np.float64)
    return canonical_transform(pose[:3, :3], pose[:3, 3])


def _transform(sequence: HOISequence, rotation, shift, hands) -> HOISequence:
    from openhoi.data.transforms import transform_sequence

    return transform_sequence(sequence, np.asarray(rotation), np.asarray(shift), hands)


def _exact_ends(sequence: HOISequence, first: np.ndarray, last: np.ndarray | None):
    """Write the given end frames back bit for bit (the blends leave float rounding)."""
    frames = np.array(sequence.frames)
    frames[0] = first
    if last is not None:
        frames[-1] = last
    return sequence.replace(frames=frames)
