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
`HELD_OUT_OBJECTS`: mug, can, book, spatula) and per style.

The validation split. `openhoi/assets/validation/planner_val_v1.jsonl` (`VALIDATION_SETS`,
same format and scoring, 54 requests in the same styles, every primitive, seen and unseen
objects) is where models and settings are chosen: `openhoi eval planner --requests
validation_v1`. It was written after the held-out set by an author who had seen only
that file's first five lines, and `tests/mllm/test_heldout_requests.py` checks that none
of its requests is a near-duplicate of a held-out one or of a training phrasing, so
choosing on it does not tune to the held-out answers.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from importlib import resources

from openhoi.errors import InputError

__all__ = [
    "HELDOUT_SETS",
    "VALIDATION_SETS",
    "HeldoutEvaluation",
    "HeldoutRequest",
    "evaluate_heldout",
    "heldout_report",
    "load_heldout_requests",
]

HELDOUT_SETS: dict[str, str] = {"heldout_v1": "planner_requests_v1.jsonl"}
# Validation request sets (module docstring): select models and settings here, not above.
VALIDATION_SETS: dict[str, str] = {"validation_v1": "planner_val_v1.jsonl"}


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
                )
            )
    return requests


@dataclass(frozen=True)
class HeldoutEvaluation:
    """Scores of one planner on one held-out set."""

    name: str
    groups: dict[str, dict[str, float]]  # "all", "seen", "unseen", "style:<s>" → scores
    records: tuple[dict, ...]  # per request: id, instruction, want, got, exact

    def as_dict(self) -> dict[str, object]:
        """JSON-ready dict."""
        return {"set": self.name, "groups": self.groups, "records": list(self.records)}


def _hand_ok(stated: str, hands: Sequence[str]) -> bool:
    if stated == "both":
        return "both" in hands
    single = [h for h in hands if h in ("left", "right")]
    return bool(single) and 2 * sum(h == stated for h in single) > len(single)


def _score(records: Sequence[dict]) -> dict[str, float]:
    n = len(records)
    total = sum(max(len(r["want"]), len(r["got"])) for r in records)
    hand = [r["hand_ok"] for r in records if r["hand_ok"] is not None]
    return {
        "n": n,
        "exact_plan": sum(r["exact"] for r in records) / max(1, n),
        "step_accuracy": sum(r["steps_correct"] for r in records) / max(1, total),
        "right_object": sum(r["right_object"] for r in records) / max(1, n),
        "hand_accuracy": sum(hand) / len(hand) if hand else float("nan"),
        "n_hand": len(hand),
    }


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
                "exact": tuple(got) == request.steps and right_object,
                "steps_correct": correct,
                "right_object": right_object,
                "hand_ok": (
                    _hand_ok(request.hands, [s.hands for s in plan.subtasks])
                    if request.hands
                    else None
                ),
            }
        )
    groups = {
        "all": _score(records),
        "seen": _score([r for r in records if not r["unseen"]]),
        "unseen": _score([r for r in records if r["unseen"]]),
    }
    for style in sorted({r["style"] for r in records}):
        groups[f"style:{style}"] = _score([r for r in records if r["style"] == style])
    return HeldoutEvaluation(name=name, groups=groups, records=tuple(records))


def heldout_report(result: HeldoutEvaluation, *, show_errors: bool = False) -> str:
    """Markdown table of a held-out evaluation (and the wrong plans with `show_errors`)."""
    lines = [
        f"## Planner on held-out requests `{result.name}`",
        "",
        "| group | n | exact plan | step accuracy | right object | hand (n) |",
        "|---|---|---|---|---|---|",
    ]
    for group, s in result.groups.items():
        lines.append(
            f"| {group} | {s['n']} | {s['exact_plan']:.3f} | {s['step_accuracy']:.3f} | "
            f"{s['right_object']:.3f} | {s['hand_accuracy']:.3f} ({s['n_hand']}) |"
        )
    if show_errors:
        lines += ["", "Wrong plans:", ""]
        for r in result.records:
            if not r["exact"]:
                lines.append(
                    f"- {r['id']} {r['instruction']!r} {r['objects']}: want "
                    f"{' '.join(r['want'])}; got {' '.join(r['got'])} on {r['got_objects']}"
                )
    return "\n".join(lines) + "\n"
