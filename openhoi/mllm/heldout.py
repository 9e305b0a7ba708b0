"""The frozen held-out planner requests (issue 31) and their evaluation.

`openhoi/assets/heldout/planner_requests_v1.jsonl` holds everyday requests written before
their author read any training phrasing: indirect needs, polite, terse, typos, stated
hands, multi-step, a few two-object scenes; seen objects and the four unseen ones. This
module is the only code under `openhoi/` that reads it (`tests/mllm/test_heldout_requests.py`
checks that, and that no training phrasing is a near-duplicate of a request). Never
train, select models or tune settings on it: report it once per shipped model.

Each request gives its required primitives in order (`steps`), in the plan grammar of
`openhoi.synth.tasks.KIND_STEPS` (drink = grasp, lift, drink, place; twist open = grasp,
twist_open, twist_open; ...; a multi-step request chains its parts, holding the object
through them and placing it once at the end). Scores, per request:

- exact plan: the generated primitives equal `steps` (same order, nothing extra) and every
  step is on the target object;
- step accuracy: steps whose primitive and object equal the target's at the same position,
  pooled, over max(len(target), len(generated));
- right object: every generated step is on the target object;
- hand accuracy (requests that state a hand): "both" → some step uses both hands;
  "left"/"right" → the stated hand acts in most of the one-hand steps.

Everything is reported overall and for seen / unseen target objects (SynthHOI's
`HELD_OUT_OBJECTS`: mug, can, book, spatula) and per style (and, for the multi-object sets
below, per relation).

The validation split. `openhoi/assets/validation/planner_val_v1.jsonl` (`VALIDATION_SETS`,
same format and scoring, 54 requests in the same styles, every primitive, seen and unseen
objects) is where models and settings are chosen: `openhoi eval planner --requests
validation_v1`. It was written after the held-out set by an author who had seen only
that file's first five lines, and `tests/mllm/test_heldout_requests.py` checks that none
of its requests is a near-duplicate of a held-out one or of a training phrasing, so
choosing on it does not tune to the held-out answers.

Multi-object requests. `openhoi/assets/heldout/planner_multi_v1.jsonl` (`heldout_multi_v1`,
60 requests; report once, never tune on it) and its validation split
`openhoi/assets/validation/planner_multi_val_v1.jsonl` (`validation_multi_v1`, 41 requests;
choose settings here) hold everyday requests over a scene of 2 or 3 built-in objects that
involve two of them: a mover (`target_object`, the object every step acts on, so the
scores above apply unchanged) and a receiver (`receiver`, the scene object the mover goes
in / on / next to, or that a pour fills), with the `relation` "in", "on", "beside" (steps
grasp, lift, place) or "into" (a pour: grasp, lift, pour, place). The validation file was
written first, the held-out file after it without reusing its sentences; the guard tests
keep both off training phrasings and off every other set. For requests with a receiver:

- right receiver: the step that carries the receiver (the last `place` for in / on /
  beside, the last `pour` for into) has `target_index == receiver`, and no step has any
  other `target_index`; exact plan then also requires the right receiver;
- receiver mask AUC (in / on / into): the rank ROC AUC of that step's `target_mask`
  against the receiver's labelled region (`contain` for in / into, with `support` where
  the object has no contain label; `support` only for on: the inside of a box is not
  where a thing put on it goes; and only its points that face up, the book's "support"
  label being its underside), the labels read from
  `load_object(name).normalised_points`, the 2048 points the planner's masks index. It
  is averaged over the requests where the step targets the receiver with a mask and the
  receiver has labels (n in brackets); elsewhere NaN (no mask, a wrong target: no score).
  A target mask of another length, or a plan whose points of the receiver
  (`Plan.object_points`) are not its normalised points, is refused (`InputError`): its
  mask would not index the labelled points.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np

from openhoi.errors import InputError

__all__ = [
    "HELDOUT_SETS",
    "RELATION_REGIONS",
    "RELATION_STEP",
    "VALIDATION_SETS",
    "HeldoutEvaluation",
    "HeldoutRequest",
    "evaluate_heldout",
    "heldout_report",
    "load_heldout_requests",
    "receiver_labels",
    "roc_auc",
]

HELDOUT_SETS: dict[str, str] = {
    "heldout_v1": "planner_requests_v1.jsonl",
    "heldout_multi_v1": "planner_multi_v1.jsonl",
}
# Validation request sets (module docstring): select models and settings here, not above.
VALIDATION_SETS: dict[str, str] = {
    "validation_v1": "planner_val_v1.jsonl",
    "validation_multi_v1": "planner_multi_val_v1.jsonl",
}
# Relations of multi-object requests: the primitive of the step that carries the receiver.
RELATION_STEP: dict[str, str] = {"in": "place", "on": "place", "beside": "place", "into": "pour"}
# The receiver's labelled region per relation, then the fallback ("next to": none).
RELATION_REGIONS: dict[str, tuple[str, ...]] = {
    "in": ("contain", "support"),
    "into": ("contain", "support"),
    "on": ("support",),
    "beside": (),
}


@dataclass(frozen=True)
class HeldoutRequest:
    """One held-out request: instruction, scene objects, target index, required primitives."""

    id: str
    instruction: str
    objects: tuple[str, ...]
    target_object: int
    steps: tuple[str, ...]
    hands: str | None
    style: str
    receiver: int | None = None  # multi-object sets: the scene object the mover goes to
    relation: str | None = None  # "in", "on", "into" (pour) or "beside"; with `receiver`


def load_heldout_requests(name: str = "heldout_v1") -> list[HeldoutRequest]:
    """The requests of a held-out set (a key of `HELDOUT_SETS`) or of a validation set
    (a key of `VALIDATION_SETS`)."""
    if name in HELDOUT_SETS:
        file = resources.files("openhoi.assets") / "heldout" / HELDOUT_SETS[name]
    elif name in VALIDATION_SETS:
        file = resources.files("openhoi.assets") / "validation" / VALIDATION_SETS[name]
    else:
        known = sorted(HELDOUT_SETS) + sorted(VALIDATION_SETS)
        raise InputError(f"unknown held-out set {name!r}; known: {known}")
    text = file.read_text()
    requests = []
    for line in text.splitlines():
        if line.strip():
            item = json.loads(line)
            requests.append(
                HeldoutRequest(
                    id=item["id"],
                    instruction=item["instruction"],
                    objects=tuple(item["objects"]),
                    target_object=int(item["target_object"]),
                    steps=tuple(item["steps"]),
                    hands=item["hands"],
                    style=item["style"],
                    receiver=None if item.get("receiver") is None else int(item["receiver"]),
                    relation=item.get("relation"),
                )
            )
    return requests


@dataclass(frozen=True)
class HeldoutEvaluation:
    """Scores of one planner on one held-out set."""

    name: str
    # "all", "seen", "unseen", "style:<s>" (and "relation:<r>" for multi-object sets) → scores
    groups: dict[str, dict[str, float]]
    records: tuple[dict, ...]  # per request: id, instruction, want, got, exact

    def as_dict(self) -> dict[str, object]:
        """JSON-ready dict."""
        return {"set": self.name, "groups": self.groups, "records": list(self.records)}


def _hand_ok(stated: str, hands: Sequence[str]) -> bool:
    if stated == "both":
        return "both" in hands
    single = [h for h in hands if h in ("left", "right")]
    return bool(single) and 2 * sum(h == stated for h in single) > len(single)


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Rank ROC AUC of one map's `scores` for boolean `labels` (ties share their mean rank);
    NaN when the labels are all one class (`openhoi.eval.affordance_metrics`'s AUC)."""
    from openhoi.eval.affordance_metrics import roc_auc_rows

    scores = np.asarray(scores, dtype=np.float64).reshape(1, -1)
    labels = np.asarray(labels, dtype=bool).reshape(1, -1)
    return float(roc_auc_rows(scores, labels)[0])


def receiver_labels(name: str, relation: str) -> np.ndarray | None:
    """`(P,)` bool labels of the receiver's region for `relation` over the normalised points
    of built-in object `name` (`RELATION_REGIONS`), or None (no region for the relation, or
    the object has none of its labels)."""
    from openhoi.objects import load_object
    from openhoi.vocab import AFFORDANCE_TYPES

    points = load_object(name).normalised_points
    affordance = np.asarray(points.affordance)
    for region in RELATION_REGIONS[relation]:
        labels = affordance[:, AFFORDANCE_TYPES.index(region)] >= 0.5
        if relation == "on":
            # A thing put on an object rests on a face that looks up; the book's "support"
            # label is its underside (what it stands on), which no request means.
            labels &= np.asarray(points.normals)[:, 2] >= 0.5
        if labels.any():
            return labels
    return None


def _check_alignment(plan: object, index: int, name: str, mask: np.ndarray) -> None:
    """The target mask indexes the receiver's normalised points: same count, and the plan's
    points of that object (when it has them) are those points in the object frame."""
    from openhoi.objects import load_object

    points = load_object(name).normalised_points
    if mask.shape != (len(points.affordance),):
        raise InputError(
            f"target mask of shape {mask.shape} does not index the {len(points.affordance)} "
            f"normalised points of {name!r}"
        )
    object_points = getattr(plan, "object_points", ())
    if object_points and index < len(object_points):
        want = points.to_object_frame(points.points)
        got = np.asarray(object_points[index])
        if got.shape != want.shape or not np.allclose(got, want, atol=1e-5):
            raise InputError(
                f"the plan's points of object {index} ({name!r}) are not its normalised "
                "points, so its target mask cannot be scored against their labels"
            )


def _receiver_scores(request: HeldoutRequest, plan: object) -> dict[str, object]:
    """right_receiver and receiver_mask_auc of one multi-object request (module docstring)."""
    subtasks = list(plan.subtasks)
    targets = [getattr(s, "target_index", None) for s in subtasks]
    carrier_step = RELATION_STEP[request.relation]
    carriers = [i for i, s in enumerate(subtasks) if s.primitive == carrier_step]
    carrier = carriers[-1] if carriers else None
    no_wrong = all(t is None or t == request.receiver for t in targets)
    right = carrier is not None and targets[carrier] == request.receiver and no_wrong
    auc = float("nan")
    if carrier is not None and targets[carrier] == request.receiver:
        mask = getattr(subtasks[carrier], "target_mask", None)
        name = request.objects[request.receiver]
        labels = receiver_labels(name, request.relation)
        if mask is not None and labels is not None:
            mask = np.asarray(mask, dtype=np.float64).reshape(-1)
            _check_alignment(plan, request.receiver, name, mask)
            auc = roc_auc(mask, labels)
    return {
        "receiver": request.receiver,
        "relation": request.relation,
        "got_targets": targets,
        "right_receiver": right,
        "receiver_mask_auc": auc,
    }


def _score(records: Sequence[dict]) -> dict[str, float]:
    n = len(records)
    total = sum(max(len(r["want"]), len(r["got"])) for r in records)
    hand = [r["hand_ok"] for r in records if r["hand_ok"] is not None]
    scores = {
        "n": n,
        "exact_plan": sum(r["exact"] for r in records) / max(1, n),
        "step_accuracy": sum(r["steps_correct"] for r in records) / max(1, total),
        "right_object": sum(r["right_object"] for r in records) / max(1, n),
        "hand_accuracy": sum(hand) / len(hand) if hand else float("nan"),
        "n_hand": len(hand),
    }
    multi = [r for r in records if r.get("receiver") is not None]
    if multi:
        aucs = [r["receiver_mask_auc"] for r in multi if not np.isnan(r["receiver_mask_auc"])]
        scores["n_receiver"] = len(multi)
        scores["right_receiver"] = sum(r["right_receiver"] for r in multi) / len(multi)
        scores["receiver_mask_auc"] = float(np.mean(aucs)) if aucs else float("nan")
        scores["n_receiver_mask"] = len(aucs)
    return scores


def evaluate_heldout(
    planner: object, name: str = "heldout_v1", *, unseen_objects: Collection[str]
) -> HeldoutEvaluation:
    """Score a `Planner` (`openhoi.mllm.load_planner`) on a held-out set (module docstring).

    `unseen_objects`: the objects the planner never trained on (SynthHOI's
    `HELD_OUT_OBJECTS`; `openhoi.benchmark.run_heldout_eval` passes them), for the
    seen / unseen split of the scores.
    """
    records = []
    for request in load_heldout_requests(name):
        plan = planner.plan(request.instruction, list(request.objects))
        got = [s.primitive for s in plan.subtasks]
        on = [s.object_index for s in plan.subtasks]
        target = request.target_object
        right_object = bool(on) and all(i == target for i in on)
        correct = sum(
            g == w and i == target for g, w, i in zip(got, request.steps, on, strict=False)
        )
        exact = tuple(got) == request.steps and right_object
        extra: dict[str, object] = {}
        if request.receiver is not None:
            extra = _receiver_scores(request, plan)
            exact = exact and bool(extra["right_receiver"])
        records.append(
            {
                "id": request.id,
                "instruction": request.instruction,
                "objects": list(request.objects),
                "target_object": target,
                "unseen": request.objects[target] in unseen_objects,
                "style": request.style,
                "want": list(request.steps),
                "got": got,
                "got_objects": on,
                "got_hands": [s.hands for s in plan.subtasks],
                "exact": exact,
                "steps_correct": correct,
                "right_object": right_object,
                "hand_ok": (
                    _hand_ok(request.hands, [s.hands for s in plan.subtasks])
                    if request.hands
                    else None
                ),
                **extra,
            }
        )
    groups = {
        "all": _score(records),
        "seen": _score([r for r in records if not r["unseen"]]),
        "unseen": _score([r for r in records if r["unseen"]]),
    }
    for style in sorted({r["style"] for r in records}):
        groups[f"style:{style}"] = _score([r for r in records if r["style"] == style])
    for relation in sorted({r["relation"] for r in records if r.get("relation")}):
        groups[f"relation:{relation}"] = _score(
            [r for r in records if r.get("relation") == relation]
        )
    return HeldoutEvaluation(name=name, groups=groups, records=tuple(records))


def heldout_report(result: HeldoutEvaluation, *, show_errors: bool = False) -> str:
    """Markdown table of a held-out evaluation (and the wrong plans with `show_errors`)."""
    receivers = "right_receiver" in result.groups.get("all", {})
    header = "| group | n | exact plan | step accuracy | right object | hand (n) |"
    rule = "|---|---|---|---|---|---|"
    if receivers:
        header += " right receiver | receiver mask AUC (n) |"
        rule += "---|---|"
    lines = [f"## Planner on held-out requests `{result.name}`", "", header, rule]
    for group, s in result.groups.items():
        row = (
            f"| {group} | {s['n']} | {s['exact_plan']:.3f} | {s['step_accuracy']:.3f} | "
            f"{s['right_object']:.3f} | {s['hand_accuracy']:.3f} ({s['n_hand']}) |"
        )
        if receivers:
            if "right_receiver" in s:
                row += (
                    f" {s['right_receiver']:.3f} | "
                    f"{s['receiver_mask_auc']:.3f} ({s['n_receiver_mask']}) |"
                )
            else:  # an empty group (no request in it)
                row += " nan | nan (0) |"
        lines.append(row)
    if show_errors:
        lines += ["", "Wrong plans:", ""]
        for r in result.records:
            if not r["exact"]:
                line = (
                    f"- {r['id']} {r['instruction']!r} {r['objects']}: want "
                    f"{' '.join(r['want'])}; got {' '.join(r['got'])} on {r['got_objects']}"
                )
                if r.get("receiver") is not None:
                    line += (
                        f"; want {r['relation']} object {r['receiver']}, "
                        f"got targets {r['got_targets']}"
                    )
                lines.append(line)
    return "\n".join(lines) + "\n"
