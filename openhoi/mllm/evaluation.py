"""Planner evaluation: affordance maps (AUC/aIoU/SIM/MAE) and plan accuracy.

- Plans: SynthHOI scenes on the evaluated objects (default: `HELD_OUT_OBJECTS`, never seen
  in training) with the held-out instruction templates, plus 0..N-1 distractor objects.
  A generated step is correct when (primitive, hands, object index, affordance type) all
  equal the target's at the same position; step accuracy = correct / max(len(target),
  len(generated)) pooled over scenes; exact match = every step correct and same length.
  Per-field accuracies are reported too, and the hand accuracy restricted to scenes whose
  instruction names the hand (`phrasing.names_hand`), and every scene whose plan is not
  exactly right (`PlannerEvaluation.errors`: what to read before changing the planner).
  Hands: SynthHOI draws the dominant hand at random (right with probability 0.65) and most
  of its instructions do not say which. By default the scenes state it where it is not the
  default (`openhoi.mllm.phrasing.with_hand_cue`, held-out cue sentences for held-out
  phrasings), so the hand field is answerable; `hand_cues=False` scores the raw SynthHOI
  instructions, where an unnamed hand is a coin flip no planner can see.
- Affordance: masks decoded teacher-forced from the target plan's `<AFF>` states (so the
  numbers measure grounding, not plan errors) against the targets, PIAD/LASO metrics via
  `openhoi.eval.affordance_metrics`; separately on object-level coarse questions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from openhoi.errors import InputError
from openhoi.eval.affordance_metrics import AffordanceMetrics, affordance_metrics

__all__ = ["PlannerEvaluation", "evaluate_planner"]

_FIELDS = ("primitive", "hands", "object_index", "affordance")


@dataclass(frozen=True)
class PlannerEvaluation:
    """Scores of one evaluation run."""

    objects: tuple[str, ...]
    phrasing: str
    num_scenes: int
    plan_affordance: AffordanceMetrics  # masks of plan steps (teacher-forced)
    coarse_affordance: AffordanceMetrics  # object-level questions
    exact_match: float  # share of scenes whose whole plan is right
    step_accuracy: float  # pooled share of correct steps (all four fields)
    field_accuracy: dict[str, float]  # per field: primitive, hands, object_index, affordance
    hand_named_accuracy: float  # hands accuracy where the instruction names the hand; NaN if none
    step_accuracy_hand_free: float  # steps correct on (primitive, object, affordance)
    num_constrained: int  # scenes whose free generation failed to parse (retried)
    hand_cues: bool = True  # scenes stated a non-default dominant hand
    # One record per scene whose plan is not exactly right: the target object, the scene's
    # object names, the instruction, and the target and generated steps as
    # [primitive, hands, object_index, affordance] rows (`tools/eval_mllm.py --show-errors`).
    errors: tuple[dict, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """JSON-ready dict."""

        def metrics(m: AffordanceMetrics) -> dict[str, float]:
            return {"auc": m.auc, "aiou": m.aiou, "sim": m.sim, "mae": m.mae, "n": m.num_samples}

        return {
            "objects": list(self.objects),
            "phrasing": self.phrasing,
            "num_scenes": self.num_scenes,
            "plan_affordance": metrics(self.plan_affordance),
            "coarse_affordance": metrics(self.coarse_affordance),
            "exact_match": self.exact_match,
            "step_accuracy": self.step_accuracy,
            "step_accuracy_hand_free": self.step_accuracy_hand_free,
            "field_accuracy": self.field_accuracy,
            "hand_named_accuracy": self.hand_named_accuracy,
            "num_constrained": self.num_constrained,
            "hand_cues": self.hand_cues,
            "errors": [dict(e) for e in self.errors],
        }


def evaluate_planner(
    model: object,
    *,
    objects: tuple[str, ...] | None = None,
    phrasing: str = "held_out",
    num_scenes: int = 60,
    num_coarse: int = 60,
    max_scene_objects: int = 2,
    seed: int = 0,
    hand_cues: bool = True,
) -> PlannerEvaluation:
    """Evaluate a `PlannerModel` (see module docstring for the protocol).

    Args:
        model: the planner network.
        objects: target objects; default SynthHOI's `HELD_OUT_OBJECTS`.
        phrasing: SynthHOI template set, "held_out" or "train".
        num_scenes: instruction scenes generated and scored.
        num_coarse: object-level affordance questions scored (0: coarse metrics NaN).
        max_scene_objects: scenes hold the target plus up to N-1 distractors.
        seed: sampling seed (fixed → the same scenes every run).
        hand_cues: state a non-default dominant hand in the instruction (see module docstring).
    """
    import torch

    from openhoi.mllm.phrasing import names_hand
    from openhoi.mllm.plan import PlanParseError
    from openhoi.mllm.training import SceneSampler, training_objects
    from openhoi.synth.tasks import HELD_OUT_OBJECTS

    if num_scenes < 1 or num_coarse < 0:
        raise InputError(
            f"num_scenes must be >= 1 and num_coarse >= 0, got {num_scenes} and {num_coarse}"
        )
    targets = tuple(objects) if objects is not None else tuple(HELD_OUT_OBJECTS)
    sampler = SceneSampler(
        list(targets),
        use_normals=model.config.point_encoder.use_normals,
        max_scene_objects=max_scene_objects,
        phrasing=phrasing,
        augment=False,
        distractors=sorted(set(training_objects()) | set(targets)),
        hand_cues=hand_cues,
    )
    rng = np.random.default_rng(seed)
    model.eval()
    predictions, truths = [], []
    correct = hand_free = total = exact = constrained = 0
    field_hits = dict.fromkeys(_FIELDS, 0)
    named_hits = named_total = 0
    errors: list[dict] = []
    with torch.no_grad():
        for index in range(num_scenes):
            target = targets[index % len(targets)]
            sample, _ = sampler.fine(rng, target=target)
            try:
                output = model.generate(sample, constrained=False)
            except PlanParseError:
                constrained += 1
                output = model.generate(sample, constrained=True)
            steps = output.steps
            total += max(len(steps), len(sample.steps))
            scene_correct = len(steps) == len(sample.steps)
            named = names_hand(sample.instruction)
            for got, want in zip(steps, sample.steps, strict=False):
                hits = {f: getattr(got, f) == getattr(want, f) for f in _FIELDS}
                for f in _FIELDS:
                    field_hits[f] += hits[f]
                correct += all(hits.values())
                hand_free += hits["primitive"] and hits["object_index"] and hits["affordance"]
                scene_correct &= all(hits.values())
                if named:
                    named_total += 1
                    named_hits += hits["hands"]
            exact += scene_correct
            if not scene_correct:
                errors.append(
                    {
                        "target_object": target,
                        "objects": list(sample.names),
                        "instruction": sample.instruction,
                        "want": [_fields(s) for s in sample.steps],
                        "got": [_fields(s) for s in steps],
                    }
                )
            predictions.append(model.predict_masks(sample))
            truths.append(np.stack(sample.masks))
        coarse_pred, coarse_true = [], []
        for _ in range(num_coarse):
            sample = sampler.coarse(rng)
            coarse_pred.append(model.predict_masks(sample))
            coarse_true.append(np.stack(sample.masks))
    nan = float("nan")
    coarse = (
        affordance_metrics(np.concatenate(coarse_pred), np.concatenate(coarse_true))
        if coarse_pred
        else AffordanceMetrics(  # num_coarse=0: not scored
            auc=nan,
            aiou=nan,
            sim=nan,
            mae=nan,
            num_samples=0,
            num_auc_samples=0,
            num_aiou_samples=0,
        )
    )
    return PlannerEvaluation(
        objects=targets,
        phrasing=phrasing,
        num_scenes=num_scenes,
        plan_affordance=affordance_metrics(np.concatenate(predictions), np.concatenate(truths)),
        coarse_affordance=coarse,
        exact_match=exact / max(1, num_scenes),
        step_accuracy=correct / max(1, total),
        field_accuracy={f: field_hits[f] / max(1, total) for f in _FIELDS},
        hand_named_accuracy=named_hits / named_total if named_total else float("nan"),
        step_accuracy_hand_free=hand_free / max(1, total),
        num_constrained=constrained,
        hand_cues=hand_cues,
        errors=tuple(errors),
    )


def _fields(step: object) -> list:
    return [getattr(step, f) for f in _FIELDS]
