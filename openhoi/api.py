"""The Python API: where the stages are assembled. `cli.py` and `benchmark.py` stand on it.

A `Pipeline` is loaded once (`Pipeline.from_pretrained`) and called per prompt; its call
reads as the method does: plan -> conditions -> sample -> compose -> score. Each stage owns
its settings: `openhoi.motion.SamplingConfig` (sampler, steps, eta, CFG, smoothing; None
fields from the model folder), `openhoi.refine.RefineConfig` (DSG, loss weights, bridges,
continuation); `GenerateConfig` (openhoi/generate_config.py) groups them with the seed
and the report switch.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from openhoi.data import HAND_SIDES as SIDES
from openhoi.data import HOISequence
from openhoi.errors import InputError, OpenHOIError
from openhoi.generate_config import GenerateConfig
from openhoi.vocab import SEGMENT_FRAMES

__all__ = [
    "GenerateConfig",
    "GenerateResult",
    "Pipeline",
    "generate",
]

DEFAULT_BATCH_SIZE = 64  # segments per sampler call in `Pipeline.generate_many`
# Progress hook: (stage, done, total), stages "plan", "sample", "compose", "contact",
# "report", "simulate".
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class GenerateResult:
    """What one generation made.

    plan: the planner's `openhoi.mllm.Plan` (sub-tasks with masks, hands, objects).
    objects: every object given, as loaded (`HOIObject`s), in the order given.
    main_object: index in `objects` of the object the sequence manipulates.
    sequence: the whole episode as one `HOISequence` (sub-tasks and transitions).
    static_poses: `(4, 4)` world pose of every other object, by index into `objects`.
    subtask_frames: [start, end) frames of each generated sub-task, by plan index.
    skipped_subtasks: plan indices on other objects (not generated).
    weak_masks: plan indices whose mask never reached 0.5 (its top region was used).
    candidates: with `config.candidates` K > 1, by plan index, the kept candidate and
        every candidate's physics score (`CandidateChoice.to_dict()`: index, scores,
        terms; `openhoi.refine.candidates`); empty with K = 1.
    physics: the `PhysicsReport` (None with `report=False`).
    contact: the `openhoi.refine.contact_opt.ContactResult` of the contact optimisation
        (holding phases, fitted grasps; None when it was switched off).
    simulation: the MuJoCo check's `openhoi.refine.simulate.SimReport` with
        `physics_sim=True` (else None).
    static_physics: by index into `objects`, how deep the hands and the moved object go
        into each other object (`openhoi.eval.physics.static_object_penetration`); empty
        with one object or `report=False`.
    timings: seconds per stage (plan_s, motion_s, compose_s, contact_s, report_s).
    config: the `GenerateConfig` with every sampling field resolved.
    provenance: package version, model ids (weight hashes), hand model, device.
    """

    plan: Any
    objects: tuple
    main_object: int
    sequence: HOISequence
    static_poses: dict[int, np.ndarray]
    subtask_frames: dict[int, tuple[int, int]]
    skipped_subtasks: tuple[int, ...]
    weak_masks: tuple[int, ...]
    candidates: dict[int, dict] = dataclasses.field(default_factory=dict, kw_only=True)
    physics: Any
    timings: dict[str, float]
    config: GenerateConfig
    provenance: dict[str, Any]
    contact: Any = dataclasses.field(default=None, kw_only=True)
    simulation: Any = dataclasses.field(default=None, kw_only=True)
    static_physics: dict[int, dict[str, float]] = dataclasses.field(
        default_factory=dict, kw_only=True
    )

    @property
    def object(self):
        """The manipulated `HOIObject`."""
        return self.objects[self.main_object]

    def summary(self) -> dict[str, Any]:
        """JSON-ready report (report.json); "candidates" only with best-of-K (K > 1)."""
        out = {
            "object": _ref_text(self.object),
            "objects": [_ref_text(o) for o in self.objects],
            "physics": None if self.physics is None else self.physics.summary(),
            "contact": None if self.contact is None else self.contact.summary(),
            "simulation": None if self.simulation is None else self.simulation.to_dict(),
            "subtask_frames": {int(k): list(r) for k, r in self.subtask_frames.items()},
            "skipped_subtasks": list(self.skipped_subtasks),
            "weak_masks": list(self.weak_masks),
            "num_frames": self.sequence.num_frames,
            "fps": self.sequence.fps,
            "timings": dict(self.timings),
        }
        if self.config.candidates > 1:
            out["candidates"] = {int(k): dict(c) for k, c in self.candidates.items()}
        if self.static_physics:
            out["static_objects"] = {
                _ref_text(self.objects[k]): dict(v) for k, v in self.static_physics.items()
            }
        return out


@dataclass
class _Prompt:
    """One planned prompt on its way through `generate_many`."""

    plan: Any
    objects: tuple
    main: int
    kept: tuple[int, ...]
    timings: dict[str, float]


class Pipeline:
    """Planner, motion generator and hand models, loaded once.

    `__call__` runs one prompt; `generate_many` runs many with their segments batched.
    """

    def __init__(self, planner, generator, hands, provenance: dict | None = None) -> None:
        self.planner = planner
        self.generator = generator
        self.hands = hands
        self.provenance = dict(provenance or {})

    @classmethod
    def from_pretrained(
        cls,
        planner: str | None = None,
        motion: str | None = None,
        *,
        device: str = "cpu",
        mano_dir: str | None = None,
        planner_llm: Any = None,
        require_grounding: bool = False,
    ) -> Pipeline:
        """Load the planner and motion folders (None: the shipped ones) and both hands.

        `planner_llm`: an `openhoi.mllm.llm_frontend.LLMFrontEndConfig` to decompose
        instructions with an LLM (the planner still grounds the masks); `require_grounding`:
        a request the planner cannot ground fails instead of getting a best-guess plan.
        """
        from openhoi.hand import HandModel
        from openhoi.mllm import load_planner
        from openhoi.motion import load_generator
        from openhoi.provenance import describe_models

        _check_device(device)
        hands = {side: HandModel(side=side, mano_dir=mano_dir) for side in ("left", "right")}
        provenance = describe_models(planner, motion, hands, device)
        planner_model = load_planner(planner, device=device, require_grounding=require_grounding)
        if planner_llm is not None:
            from openhoi.mllm.llm_frontend import load_llm_planner

            planner_model = load_llm_planner(planner_model, planner_llm)
            provenance["planner_llm"] = planner_llm.source
        return cls(planner_model, load_generator(motion, device=device), hands, provenance)

    def __call__(
        self,
        instruction: str,
        objects: Sequence,
        config: GenerateConfig | None = None,
        *,
        progress: Progress | None = None,
    ) -> GenerateResult:
        """Plan, sample every sub-task with DSG, compose and measure one prompt."""
        (result,) = self.generate_many([(instruction, objects)], config, progress=progress)
        if isinstance(result, OpenHOIError):
            raise result
        return result

    def generate_many(
        self,
        requests: Sequence[tuple[str, Sequence]],
        config: GenerateConfig | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: Progress | None = None,
    ) -> list[GenerateResult | OpenHOIError]:
        """Many prompts at once: the sub-task segments of all prompts share sampler calls.

        Segment k of a prompt draws its noise from seed + k, as a single-prompt run does,
        so prompt i's result equals `self(*requests[i], config)` up to the float rounding
        of batched matmuls. Returns, per request in order, its `GenerateResult` or the
        `OpenHOIError` that stopped it (the others go on).
        """
        config = config or GenerateConfig()
        config = dataclasses.replace(
            config, sampling=self.generator.resolve_sampling(config.sampling)
        )
        tick = progress or (lambda stage, done, total: None)
        outcomes: list[GenerateResult | OpenHOIError | None] = [None] * len(requests)
        # 1. Plan each prompt; a failure is that prompt's entry.
        prompts: dict[int, _Prompt] = {}
        for index, (instruction, objects) in enumerate(requests):
            clock = time.perf_counter()
            try:
                prompts[index] = self._plan(instruction, objects)
            except OpenHOIError as exc:
                outcomes[index] = exc
            else:
                prompts[index].timings["plan_s"] = time.perf_counter() - clock
            tick("plan", index + 1, len(requests))
        # 1b. Each new sub-task text embedded on its own: the encoder caches embeddings, and
        # one computed in a batch with other texts differs in the last bits, so a prompt's
        # result would depend on the prompts run before it in this process (and so on how
        # `--workers` / `--shard` split a batch).
        for text in sorted({s.text for p in prompts.values() for s in p.plan.subtasks}):
            self.generator.text_encoder.encode([text])
        # 2. Conditions: one segment request per kept sub-task, with its DSG loss terms.
        requests_ = self._segment_requests(prompts, config)
        # 3. Sample them all, batched by length (DSG refinement inside).
        done = [0]

        def on_call(count: int) -> None:
            done[0] += count
            tick("sample", done[0], len(requests_))

        batch = self._sample(requests_, config, batch_size=batch_size, on_call=on_call)
        # 4. Per prompt: compose its segments, place the other objects, measure.
        for index, prompt in prompts.items():
            keys = [(index, k) for k in prompt.kept]
            failed = next((batch.failed[key] for key in keys if key in batch.failed), None)
            try:
                if failed is not None:
                    raise failed
                prompt.timings["motion_s"] = sum(batch.seconds[key] for key in keys)
                segments = [batch.segments[key] for key in keys]
                result = self._finish(prompt, segments, config, tick)
                choices = {k: c.to_dict() for (i, k), c in batch.choices.items() if i == index}
                outcomes[index] = dataclasses.replace(result, candidates=choices)
            except OpenHOIError as exc:
                outcomes[index] = exc
        return outcomes

    # -- the stages ---------------------------------------------------------------------
    def _plan(self, instruction: str, objects: Sequence) -> _Prompt:
        """Plan one prompt; the sequence manipulates the object most sub-tasks act on."""
        from openhoi.objects import HOIObject, load_object

        if isinstance(objects, (str, HOIObject)):
            objects = [objects]
        loaded = tuple(o if isinstance(o, HOIObject) else load_object(o) for o in objects)
        plan = self.planner.plan(instruction, list(loaded))
        counts = np.bincount([s.object_index for s in plan.subtasks], minlength=len(loaded))
        main = int(counts.argmax())
        kept = tuple(k for k, s in enumerate(plan.subtasks) if s.object_index == main)
        return _Prompt(plan=plan, objects=loaded, main=main, kept=kept, timings={})

    def _segment_requests(self, prompts: Mapping[int, _Prompt], config: GenerateConfig):
        from openhoi.motion import MotionCondition
        from openhoi.motion.segments import SegmentRequest
        from openhoi.refine.segment_guidance import SegmentLosses

        losses = SegmentLosses(self.hands, config.refine)
        out = []
        for index, prompt in prompts.items():
            obj = prompt.objects[prompt.main]
            for position, k in enumerate(prompt.kept):
                subtask = prompt.plan.subtasks[k]
                condition = MotionCondition.from_subtask(obj, subtask)
                after = (index, prompt.kept[position - 1]) if position else None
                out.append(
                    SegmentRequest(
                        key=(index, k),
                        condition=condition,
                        num_frames=min(
                            SEGMENT_FRAMES[subtask.primitive], self.generator.max_frames
                        ),
                        seed=config.seed + k,
                        after=after if config.refine.continue_segments else None,
                        guidance=losses.terms(obj, subtask.hands, condition.affordance),
                        num_candidates=config.candidates,
                    )
                )
        return out

    def _finish(self, prompt: _Prompt, segments, config: GenerateConfig, tick) -> GenerateResult:
        """Compose one prompt's segments, place its other objects and measure it."""
        from openhoi.objects.placement import place_beside
        from openhoi.refine import TRANSITION_TEXT, is_weak_mask

        timings, obj = prompt.timings, prompt.objects[prompt.main]
        clock = time.perf_counter()
        sequence = self.compose(obj, segments, config)
        ranges = [r for r, t in zip(sequence.segment_ranges, sequence.texts, strict=True)
                  if t != TRANSITION_TEXT]  # fmt: skip
        subtasks = [prompt.plan.subtasks[k] for k in prompt.kept]
        others = [i for i in range(len(prompt.objects)) if i != prompt.main]
        poses = place_beside(obj, [prompt.objects[i] for i in others])
        static = dict(zip(others, poses, strict=True))
        sequence = self.carry_to_targets(sequence, prompt, subtasks, ranges, static)
        timings["compose_s"] = time.perf_counter() - clock
        tick("compose", 1, 1)
        clock = time.perf_counter()
        contact = self.optimise_contacts(
            obj, sequence, subtasks, ranges, config, static, prompt.objects
        )
        if contact is not None:
            sequence = contact.sequence
            timings["contact_s"] = time.perf_counter() - clock
            tick("contact", 1, 1)
        physics, static_physics = None, {}
        if config.report:
            clock = time.perf_counter()
            physics = self.score(sequence, obj)
            if static:
                from openhoi.eval.physics import static_object_penetration

                statics = {k: (prompt.objects[k], pose) for k, pose in static.items()}
                hands = self._acting_hands(sequence)
                static_physics = static_object_penetration(sequence, obj, statics, hands)
            timings["report_s"] = time.perf_counter() - clock
            tick("report", 1, 1)
        simulation = None
        if config.physics_sim:
            from openhoi.refine.simulate import simulate_sequence

            clock = time.perf_counter()
            phases = None if contact is None else contact.phases
            simulation = simulate_sequence(sequence, obj, self.hands, phases=phases)
            timings["simulation_s"] = time.perf_counter() - clock
            tick("simulate", 1, 1)
        subtasks = prompt.plan.subtasks
        return GenerateResult(
            plan=prompt.plan,
            objects=prompt.objects,
            main_object=prompt.main,
            sequence=sequence,
            static_poses=static,
            subtask_frames={k: tuple(r) for k, r in zip(prompt.kept, ranges, strict=True)},
            skipped_subtasks=tuple(k for k in range(len(subtasks)) if k not in prompt.kept),
            weak_masks=tuple(k for k in prompt.kept if is_weak_mask(subtasks[k].mask)),
            physics=physics,
            timings=timings,
            config=config,
            provenance=self.provenance,
            contact=contact,
            simulation=simulation,
            static_physics=static_physics,
        )

    def compose(self, obj, segments: Sequence[HOISequence], config: GenerateConfig) -> HOISequence:
        """Chain canonical segments and join them as `config.refine` says."""
        from openhoi.refine.bridges import compose_segments

        return compose_segments(
            obj,
            segments,
            config.refine,
            hands=self.hands,
            generator=self.generator,
            sampling=self.generator.resolve_sampling(config.sampling),
            seed=config.seed,
        )

    def carry_to_targets(
        self, sequence: HOISequence, prompt: _Prompt, subtasks, ranges, static
    ) -> HOISequence:
        """`refine.carry_to_target` for the sub-tasks that act towards another object
        (`SubTask.target_index`): the place or pour happens at the target."""
        from openhoi.refine.destination import Destination, carry_to_target

        destinations = []
        for position, (subtask, frames) in enumerate(zip(subtasks, ranges, strict=True)):
            if subtask.target_index not in static:
                continue
            back = None
            if subtask.relation == "into":
                later = [r for s, r in zip(subtasks[position + 1 :], ranges[position + 1 :],
                                           strict=True) if s.primitive == "place"]  # fmt: skip
                back = tuple(later[0]) if later else None
            destinations.append(
                Destination(
                    relation=subtask.relation,
                    frames=tuple(frames),
                    target=prompt.objects[subtask.target_index],
                    target_pose=static[subtask.target_index],
                    region=subtask.target_mask,
                    back=back,
                )
            )
        return carry_to_target(sequence, prompt.objects[prompt.main], destinations)

    def optimise_contacts(
        self, obj, sequence: HOISequence, subtasks, ranges, config: GenerateConfig,
        static: Mapping[int, np.ndarray] | None = None, objects: Sequence = (),
    ):  # fmt: skip
        """`refine.optimise_contacts` of a composed sequence whose generated sub-tasks
        (`SubTask`s) occupy `ranges`; None when `config.refine` switches it off.

        `static`: world poses of the scene's other objects (by index into `objects`), which
        the object rests on or is carried over (`refine.scene.Support`)."""
        from openhoi.refine.contact_opt import ContactConfig, optimise_contacts
        from openhoi.refine.scene import Support

        refine = config.refine
        if not (refine.optimise_contacts or refine.kinematic_carry):
            return None
        spans = [(s.primitive, s.hands, tuple(r)) for s, r in zip(subtasks, ranges, strict=True)]
        settings = ContactConfig(
            optimise=refine.optimise_contacts,
            kinematic_carry=refine.kinematic_carry,
            # The simulator judges the grasps only where the user asked for the simulator.
            simulated_choice=config.physics_sim,
        )
        statics = [(objects[i], pose) for i, pose in (static or {}).items()]
        support = Support(statics)
        return optimise_contacts(
            sequence, obj, self.hands, subtasks=spans, config=settings, support=support
        )

    def score(self, sequence: HOISequence, obj):
        """The `PhysicsReport` of `sequence` with the hands that act in it."""
        from openhoi.eval import sequence_physics

        return sequence_physics(sequence, obj, self._acting_hands(sequence))

    def _acting_hands(self, sequence: HOISequence) -> dict:
        """Side → hand model of the hands that act in `sequence` (both if none does)."""
        acting = sequence.active_hands.any(axis=0)
        active = {side: self.hands[side] for side, on in zip(SIDES, acting, strict=True) if on}
        return active or dict(self.hands)

    def generate_segment(
        self, obj, condition, num_frames: int, config: GenerateConfig, *, seed: int,
        previous: HOISequence | None = None,
    ) -> HOISequence:  # fmt: skip
        """One sub-task segment from a `MotionCondition` (DSG per `config.refine`); with
        `continue_segments` and a `previous` segment it starts where that one ended."""
        from openhoi.motion.segments import SegmentRequest
        from openhoi.refine.segment_guidance import SegmentLosses

        continued = config.refine.continue_segments and previous is not None
        terms = SegmentLosses(self.hands, config.refine).terms(
            obj, condition.hands, condition.affordance
        )
        after = "previous" if continued else None
        request = SegmentRequest(
            "segment", condition, num_frames, seed, after, terms, num_candidates=config.candidates
        )
        batch = self._sample([request], config, done={"previous": previous} if continued else None)
        if "segment" in batch.failed:
            raise batch.failed["segment"]
        return batch.segments["segment"]

    def _sample(self, requests, config: GenerateConfig, **options):
        """`motion.sample_segments` with DSG per `config.refine` and, with
        `config.candidates` K > 1, the physics-score chooser (options: batch_size, ...)."""
        from openhoi.motion.segments import sample_segments
        from openhoi.refine.candidates import make_chooser
        from openhoi.refine.segment_guidance import dsg_factory

        choose = make_chooser(self.hands) if config.candidates > 1 else None
        return sample_segments(
            self.generator, requests, config.sampling, guidance=dsg_factory(config.refine),
            hands=self.hands, start_blend_frames=config.refine.continue_blend_frames,
            choose=choose, **options,
        )  # fmt: skip


def _ref_text(obj) -> str:
    """An object's reference string (its name when it was built in memory)."""
    return obj.name if obj.ref is None else str(obj.ref)


def _check_device(device: str) -> None:
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise InputError(f"device must be 'cpu' or 'cuda[:k]', got {device!r}")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise InputError("device 'cuda' was asked for, but torch sees no CUDA device")


_LOAD_OPTIONS = ("planner_path", "motion_path", "mano_dir", "device")
_PIPELINES: dict[tuple, Pipeline] = {}


def generate(instruction: str, objects, seed: int = 0, **options) -> GenerateResult:
    """Instruction + objects -> plan, one continuous HOI sequence and a physics report.

    Args:
        instruction: free-form text ("I'm thirsty, open the bottle and take a sip").
        objects: built-in names, mesh paths, object references or `HOIObject`s.
        seed: same seed, inputs and device -> same output.
        **options: `planner_path`, `motion_path`, `mano_dir`, `device` (load time; the
            pipeline is cached per combination), and any `GenerateConfig.from_options`
            name (steps, sampler, guidance_rate, bridge, continue_segments, report, ...).
    """
    load = {name: options.pop(name, None) for name in _LOAD_OPTIONS}
    load["device"] = load["device"] or "cpu"
    config = GenerateConfig.from_options(seed=seed, **options)
    key = tuple(load[name] for name in _LOAD_OPTIONS)
    if key not in _PIPELINES:
        _PIPELINES[key] = Pipeline.from_pretrained(
            load["planner_path"], load["motion_path"], device=load["device"],
            mano_dir=load["mano_dir"],
        )  # fmt: skip
    return _PIPELINES[key](instruction, objects, config)
