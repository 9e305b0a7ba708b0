"""SynthHOI episode kinds: which plans each object supports, and task sampling.

An episode kind is an ordered list of steps (primitive, acting hand role, touched
affordance, grasp type). Roles are resolved when a task is sampled: `main` is the
dominant acting hand (right with probability 0.65), `other` the opposite one, `both`
both hands. Every step's affordance is the region the acting hand(s) touch in that
segment, so the quality gate can check contact on it (a `pour` step touches the grasp
region, not the spout; the `pour` type names the region the liquid leaves by).

Kinds and their plans (see :data:`KIND_STEPS`):

===========  ==========================================================
kind         plan
===========  ==========================================================
drink        grasp → lift → drink → place
pour         grasp → lift → pour → place
shake        grasp → lift → shake → place
relocate     grasp → lift → move → place
inspect      grasp → lift → rotate → place
handover     grasp → lift → handover → place (with the other hand)
cut          grasp → lift → cut → place
carry        grasp → lift → move → place, all with both hands
open_close   open → close (articulated lid or cover)
open_use     open → press → close (laptop)
press        press (a finger taps a button or screen)
spray        grasp → lift → press (other hand on the trigger) → place
slide        push (a finger slides the object along the table)
twist_open   grasp (other hand, body) → twist_open → twist_open (main hand, lid)
twist_close  grasp (other hand, body) → twist_close → twist_close
===========  ==========================================================

Held-out objects (:data:`HELD_OUT_OBJECTS`) never appear in the train/val splits; each
shares its kinds with a training object of the same category: mug (cup), can (bottle),
book (box and laptop lids), spatula (knife, hammer and toothbrush tools).

Procedural family variants (SynthHOI v3, `openhoi.objects.families`, named "mug-v007")
take their kinds and regions from their family's registry entry, and their text names
the family ("mug"). Held out in v3 are whole families, listed in the committed file
`openhoi/data/splits/synthhoi_v3.json` (`held_out_families`); `is_unseen_object` answers
for built-in names and variants alike.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources

import numpy as np

from openhoi.data.episodes import SubTask
from openhoi.errors import InputError
from openhoi.synth.grasp import GRASP_TYPES
from openhoi.synth.language import (
    PHRASINGS,
    instruction_for,
    subtask_phrasings,
)

__all__ = [
    "EPISODE_KINDS",
    "HELD_OUT_OBJECTS",
    "KIND_STEPS",
    "Region",
    "StepTemplate",
    "TaskSpec",
    "held_out_families",
    "is_unseen_object",
    "kinds_for",
    "make_task",
    "sample_task",
]

HELD_OUT_OBJECTS = ("mug", "can", "book", "spatula")
# The committed SynthHOI v3 split of procedural families (package data of openhoi.data).
_V3_SPLIT_FILE = "splits/synthhoi_v3.json"
# Probability that the dominant (main) hand is the right one.
_RIGHT_HANDED_PROBABILITY = 0.65


@dataclass(frozen=True)
class Region:
    """A touched region: affordance type, optional part restriction, grasp types to try.

    `max_height_m`: only region points at most this high (object frame, metres) are
    grasped, e.g. a jar body held low so the twisting hand above has room. None: all.
    """

    affordance: str
    part: str | None
    grasp_types: tuple[str, ...]
    max_height_m: float | None = None

    def __post_init__(self) -> None:
        bad = [g for g in self.grasp_types if g not in GRASP_TYPES]
        if bad or not self.grasp_types:
            raise InputError(f"grasp_types must be some of {list(GRASP_TYPES)}, got {bad}")


# Per object: the region each role touches. "hold": the grasp that carries the object;
# "open": lid/cover edge; "press": button/screen/trigger; "push": where a finger slides it;
# "twist": the screw lid; "body": where the other hand steadies a body while twisting.
_REGIONS: dict[str, dict[str, Region]] = {
    "book": {"open": Region("open", "cover", ("pinch", "poke"))},
    "bottle": {"hold": Region("wrap-grasp", None, ("power", "pinch"))},
    "bowl": {"hold": Region("grasp", None, ("pinch", "power"))},
    "box": {
        "hold": Region("grasp", "base", ("flat",)),
        "open": Region("open", "lid", ("pinch", "poke")),
    },
    "can": {"hold": Region("wrap-grasp", None, ("power", "pinch"))},
    "cup": {"hold": Region("wrap-grasp", None, ("power", "pinch"))},
    "hammer": {"hold": Region("grasp", "handle", ("power", "pinch"))},
    "headphones": {"hold": Region("lift", "band", ("power", "hook", "pinch", "lateral"))},
    "jar": {
        "body": Region("grasp", "body", ("power", "pinch"), max_height_m=0.05),
        "twist": Region("open", "lid", ("pinch", "power")),
    },
    "kettle": {"hold": Region("lift", "handle", ("power", "hook"))},
    "knife": {"hold": Region("grasp", "handle", ("pinch", "power"))},
    "laptop": {
        "open": Region("open", "lid", ("pinch", "poke")),
        "press": Region("press", "base", ("poke",)),
    },
    "mug": {"hold": Region("grasp", "handle", ("hook", "power", "pinch", "lateral"))},
    "pan": {"hold": Region("grasp", "handle", ("power", "pinch"))},
    "phone": {
        "hold": Region("grasp", "body", ("pinch", "power")),
        "press": Region("press", "screen", ("poke",)),
    },
    "pitcher": {"hold": Region("grasp", "handle", ("hook", "power", "pinch", "lateral"))},
    "scissors": {"hold": Region("grasp", None, ("pinch", "power"))},
    "spatula": {
        "hold": Region("grasp", "handle", ("pinch", "power")),
        "push": Region("push", "blade", ("poke",)),
    },
    "spray_bottle": {
        "hold": Region("wrap-grasp", "body", ("power", "pinch")),
        "press": Region("press", "trigger", ("poke",)),
    },
    "toothbrush": {
        "hold": Region("grasp", "handle", ("pinch", "power")),
        "push": Region("push", "bristles", ("poke",)),
    },
}


@dataclass(frozen=True)
class StepTemplate:
    """The template of one step of a kind (not a sub-task: `make_task` fills it in).

    Attributes:
        primitive: one of `openhoi.vocab.PRIMITIVES`.
        role: hand role, "main" | "other" | "both" (resolved against the main hand).
        region: region role, a key of the object's `Region`s ("hold", "open", ...).
    """

    primitive: str
    role: str
    region: str


def _steps(*items: tuple[str, str, str]) -> tuple[StepTemplate, ...]:
    return tuple(StepTemplate(*item) for item in items)


_HOLD = ("grasp", "lift")
KIND_STEPS: dict[str, tuple[StepTemplate, ...]] = {
    "drink": _steps(*[(p, "main", "hold") for p in (*_HOLD, "drink", "place")]),
    "pour": _steps(*[(p, "main", "hold") for p in (*_HOLD, "pour", "place")]),
    "shake": _steps(*[(p, "main", "hold") for p in (*_HOLD, "shake", "place")]),
    "relocate": _steps(*[(p, "main", "hold") for p in (*_HOLD, "move", "place")]),
    "inspect": _steps(*[(p, "main", "hold") for p in (*_HOLD, "rotate", "place")]),
    "cut": _steps(*[(p, "main", "hold") for p in (*_HOLD, "cut", "place")]),
    "handover": _steps(
        ("grasp", "main", "hold"),
        ("lift", "main", "hold"),
        ("handover", "both", "hold"),
        ("place", "other", "hold"),
    ),
    "carry": _steps(*[(p, "both", "hold") for p in (*_HOLD, "move", "place")]),
    "open_close": _steps(("open", "main", "open"), ("close", "main", "open")),
    "open_use": _steps(
        ("open", "main", "open"), ("press", "main", "press"), ("close", "main", "open")
    ),
    "press": _steps(("press", "main", "press")),
    "spray": _steps(
        ("grasp", "main", "hold"),
        ("lift", "main", "hold"),
        ("press", "other", "press"),
        ("place", "main", "hold"),
    ),
    "slide": _steps(("push", "main", "push")),
    "twist_open": _steps(
        ("grasp", "other", "body"),
        ("twist_open", "main", "twist"),
        ("twist_open", "main", "twist"),
    ),
    "twist_close": _steps(
        ("grasp", "other", "body"),
        ("twist_close", "main", "twist"),
        ("twist_close", "main", "twist"),
    ),
}

# Handover is offered where the taker finds a free, reachable grip beside the giver's
# (bottle, can, hammer, spray bottle: 2-3 of 3 draws pass the gate); a phone held flat or
# a bowl held by its rim leaves the taker almost nothing, so every draw was rejected.
EPISODE_KINDS: dict[str, tuple[str, ...]] = {
    "book": ("open_close",),
    "bottle": ("drink", "pour", "shake", "relocate", "handover"),
    "bowl": ("pour", "relocate"),
    "box": ("open_close", "carry"),
    "can": ("drink", "pour", "shake", "handover"),
    "cup": ("drink", "pour", "relocate"),
    "hammer": ("inspect", "relocate", "handover"),
    "headphones": ("inspect", "relocate"),
    "jar": ("twist_open", "twist_close"),
    "kettle": ("pour", "relocate"),
    "knife": ("cut", "relocate"),
    "laptop": ("open_close", "open_use"),
    "mug": ("drink", "pour", "relocate"),
    "pan": ("relocate", "shake"),
    "phone": ("press", "inspect"),
    "pitcher": ("drink", "pour", "relocate"),
    "scissors": ("relocate", "inspect"),
    "spatula": ("relocate", "slide"),
    "spray_bottle": ("spray", "relocate", "handover"),
    "toothbrush": ("relocate", "shake", "slide"),
}


@dataclass(frozen=True)
class TaskSpec:
    """A sampled task: kind, instruction, plan and language variants.

    Attributes:
        kind: episode kind (a key of KIND_STEPS).
        instruction: the high-level instruction.
        plan: ordered sub-tasks; each `text` is one phrasing of the step.
        paraphrases: other instructions for the same episode (same template set).
        style: the instruction's style (see `language.INSTRUCTION_STYLES`).
        phrasing: "train" or "held_out" template set.
        main_hand: "left" or "right", the dominant acting hand.
        regions: per sub-task, the touched `Region` (affordance, part, grasp types).
        subtask_paraphrases: per sub-task, all phrasings in the template set.
    """

    kind: str
    instruction: str
    plan: tuple[SubTask, ...]
    paraphrases: tuple[str, ...]
    style: str = "imperative"
    phrasing: str = "train"
    main_hand: str = "right"
    regions: tuple[Region, ...] = ()
    subtask_paraphrases: tuple[tuple[str, ...], ...] = ()


@functools.cache
def held_out_families() -> tuple[str, ...]:
    """The SynthHOI v3 families held out for evaluation (fixed before training)."""
    text = resources.files("openhoi.data").joinpath(_V3_SPLIT_FILE).read_text("utf-8")
    return tuple(json.loads(text)["held_out_families"])


def is_unseen_object(name: str) -> bool:
    """Whether episodes on object `name` belong to the unseen-object test split.

    Built-in objects: `HELD_OUT_OBJECTS`. Family variants ("mug-v007", any `@scale`):
    their family is one of `held_out_families()`. Anything else (user meshes) is seen.
    """
    from openhoi.objects.families import family_of

    spec = family_of(name)
    if spec is not None:
        return spec.name in held_out_families()
    return str(name).split("@")[0] in HELD_OUT_OBJECTS


def _object_key(obj) -> str:
    return obj.name.split("@")[0]


def _family(obj):
    from openhoi.objects.families import family_of

    return family_of(obj.name)


def _text_name(obj) -> str:
    """The name the episode's text uses: a variant's family ("mug"), else the object's."""
    spec = _family(obj)
    return obj.name if spec is None else spec.name


def _regions_for(obj) -> dict[str, Region]:
    """Family or built-in table, or regions derived from a user object's affordance labels."""
    spec = _family(obj)
    if spec is not None:
        return {
            role: Region(r.affordance, r.part, tuple(r.grasp_types), r.max_height_m)
            for role, r in spec.regions.items()
        }
    key = _object_key(obj)
    if key in _REGIONS:
        return _REGIONS[key]
    names = set(obj.affordance_names)
    regions: dict[str, Region] = {}
    for affordance in ("grasp", "wrap-grasp", "lift"):
        if affordance in names:
            regions["hold"] = Region(affordance, None, ("power", "pinch", "hook"))
            break
    if "open" in names and obj.articulation is not None:
        regions["open"] = Region("open", obj.articulation.part, ("pinch", "poke"))
    if "press" in names:
        regions["press"] = Region("press", None, ("poke",))
    if "push" in names:
        regions["push"] = Region("push", None, ("poke",))
    return regions


def kinds_for(obj) -> tuple[str, ...]:
    """Episode kinds available for an object (family or built-in table, else its labels)."""
    spec = _family(obj)
    if spec is not None:
        return tuple(spec.kinds)
    key = _object_key(obj)
    if key in EPISODE_KINDS:
        return EPISODE_KINDS[key]
    regions = _regions_for(obj)
    kinds = []
    if "hold" in regions:
        kinds += ["relocate", "inspect", "shake"]
    if "open" in regions:
        kinds.append("open_close")
    if "press" in regions:
        kinds.append("press")
    if "push" in regions:
        kinds.append("slide")
    if not kinds:
        raise InputError(
            f"object {obj.name!r} has no affordance SynthHOI can act on (it has "
            f"{list(obj.affordance_names)}); label a grasp, open, press or push region"
        )
    return tuple(kinds)


def _majority_part(obj, region: Region) -> str:
    if region.part is not None:
        return region.part
    mask = np.asarray(obj.affordance_mask(region.affordance)) >= 0.5
    part_ids = np.asarray(obj.points.part_ids)[mask]
    if not len(part_ids):
        return obj.parts[0].name
    return obj.parts[int(np.bincount(part_ids).argmax())].name


def make_task(
    obj,
    kind: str,
    main_hand: str,
    rng: np.random.Generator,
    *,
    phrasing: str = "train",
) -> TaskSpec:
    """The task of a given kind on `obj` with `main_hand` as the dominant hand."""
    if phrasing not in PHRASINGS:
        raise InputError(f"phrasing must be one of {list(PHRASINGS)}, got {phrasing!r}")
    if kind not in KIND_STEPS:
        raise InputError(f"unknown episode kind {kind!r}; known: {sorted(KIND_STEPS)}")
    if main_hand not in ("left", "right"):
        raise InputError(f"main_hand must be 'left' or 'right', got {main_hand!r}")
    regions = _regions_for(obj)
    other = "left" if main_hand == "right" else "right"
    hands_of = {"main": main_hand, "other": other, "both": "both"}
    plan, used, variants = [], [], []
    for step in KIND_STEPS[kind]:
        if step.region not in regions:
            raise InputError(f"object {obj.name!r} has no {step.region!r} region for {kind!r}")
        region = regions[step.region]
        hands = hands_of[step.role]
        part = _majority_part(obj, region)
        options = subtask_phrasings(step.primitive, _text_name(obj), part, hands, phrasing=phrasing)
        text = options[int(rng.integers(len(options)))]
        plan.append(SubTask(step.primitive, hands, region.affordance, text))
        used.append(region)
        variants.append(options)
    instruction, style, paraphrases = instruction_for(
        kind, _text_name(obj), [s.text for s in plan], rng, phrasing=phrasing
    )
    return TaskSpec(
        kind=kind,
        instruction=instruction,
        plan=tuple(plan),
        paraphrases=paraphrases,
        style=style,
        phrasing=phrasing,
        main_hand=main_hand,
        regions=tuple(used),
        subtask_paraphrases=tuple(variants),
    )


def sample_task(obj, rng: np.random.Generator, *, phrasing: str = "train") -> TaskSpec:
    """A random task on `obj`: kind uniform over `kinds_for(obj)`, main hand, phrasings."""
    kinds = kinds_for(obj)
    kind = kinds[int(rng.integers(len(kinds)))]
    main_hand = "right" if rng.random() < _RIGHT_HANDED_PROBABILITY else "left"
    return make_task(obj, kind, main_hand, rng, phrasing=phrasing)
