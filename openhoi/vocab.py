"""The HOI vocabulary: one home for the words every stage shares.

Primitives (sub-task identifiers), hand choices, the 18 affordance types, the typical
segment length of each primitive, object words for text, and the one sub-task type
(`SubTask`). The planner, SynthHOI, the motion model and the pipeline all import these
from here; this module imports nothing from openhoi but its errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from openhoi.errors import InputError

__all__ = [
    "AFFORDANCE_TYPES",
    "AFF_TOKEN",
    "HAND_CHOICES",
    "MAX_SEGMENT_FRAMES",
    "PRIMITIVES",
    "SEGMENT_FRAMES",
    "TARGET_RELATIONS",
    "SubTask",
    "object_display_name",
    "object_words",
]

AFF_TOKEN = "<AFF>"

# The affordance taxonomy: the 18 types of 3D-AffordanceNet, PIAD and LASO, in their label
# order (column i of every `(F, 18)` / `(P, 18)` affordance array is AFFORDANCE_TYPES[i]).
AFFORDANCE_TYPES: tuple[str, ...] = (
    "grasp",
    "contain",
    "lift",
    "open",
    "lay",
    "sit",
    "support",
    "wrap-grasp",
    "pour",
    "move",
    "display",
    "push",
    "pull",
    "listen",
    "wear",
    "press",
    "cut",
    "stab",
)

# Stable sub-task identifiers used by plans, plan.json and SynthHOI.
PRIMITIVES = (
    "grasp",
    "lift",
    "place",
    "move",
    "rotate",
    "pour",
    "drink",
    "twist_open",
    "twist_close",
    "open",
    "close",
    "press",
    "push",
    "handover",
    "cut",
    "shake",
)
HAND_CHOICES = ("left", "right", "both")
# How a step acts towards a second object (`SubTask.relation`).
TARGET_RELATIONS = ("in", "on", "beside", "into")


@dataclass(frozen=True)
class SubTask:
    """One step of a plan: what to do, with which hand(s), touching which affordance.

    The one sub-task type: episode plans (no mask), planner targets and generations, and
    the planner's `Plan` (with a mask on every sub-task) all hold `SubTask`s.

    Attributes:
        primitive: one of `PRIMITIVES`.
        hands: one of `HAND_CHOICES` ("left", "right", "both").
        affordance: one of the 18 `AFFORDANCE_TYPES`.
        text: sub-task text ("grasp the bottle by its body").
        object_index: index into the scene's objects (`Plan.objects`).
        mask: `(P,)` float32 in [0, 1] over the object's normalised points (2048 for the
            planner), read-only; None where no affordance mask was predicted or given.
            Equality compares masks by value; the hash leaves the mask out.
        target_index: index of a second scene object the step acts towards (where a place
            puts the object, what a pour fills), or None (most steps).
        target_mask: `(P,)` mask over the target object's points: the region that receives
            the object or the liquid (its "contain" or "support" region); None without a
            target or where the relation has no such region ("next to").
        relation: how the step acts towards its target: "in", "on", "beside" (a place)
            or "into" (a pour); with a target and no relation, "into" for a pour and
            "in" otherwise.
    """

    primitive: str
    hands: str
    affordance: str
    text: str
    object_index: int = 0
    mask: np.ndarray | None = field(default=None, compare=False, repr=False)
    target_index: int | None = None
    target_mask: np.ndarray | None = field(default=None, compare=False, repr=False)
    relation: str | None = None

    def __post_init__(self) -> None:
        if self.primitive not in PRIMITIVES:
            raise InputError(f"primitive must be one of {list(PRIMITIVES)}, got {self.primitive!r}")
        if self.hands not in HAND_CHOICES:
            raise InputError(f"hands must be one of {list(HAND_CHOICES)}, got {self.hands!r}")
        if self.affordance not in AFFORDANCE_TYPES:
            raise InputError(
                f"affordance must be one of {list(AFFORDANCE_TYPES)}, got {self.affordance!r}"
            )
        if self.object_index < 0:
            raise InputError(f"object_index must be >= 0, got {self.object_index}")
        if self.target_index is not None:
            if self.target_index < 0 or self.target_index == self.object_index:
                raise InputError(
                    f"target_index must be another object's index (>= 0, not object_index "
                    f"{self.object_index}), got {self.target_index}"
                )
            relation = self.relation or ("into" if self.primitive == "pour" else "in")
            if relation not in TARGET_RELATIONS:
                raise InputError(
                    f"relation must be one of {list(TARGET_RELATIONS)}, got {self.relation!r}"
                )
            object.__setattr__(self, "relation", relation)
        elif self.target_mask is not None or self.relation is not None:
            raise InputError("a sub-task with a target_mask or relation needs its target_index")
        for name in ("mask", "target_mask"):
            value = getattr(self, name)
            if value is None:
                continue
            mask = np.array(value, dtype=np.float32).reshape(-1)
            if mask.size == 0 or not np.isfinite(mask).all() or mask.min() < 0 or mask.max() > 1:
                raise InputError(
                    f"sub-task {name} must be a non-empty (P,) array with values in [0, 1] "
                    f"(got shape {np.shape(value)}); clip a predicted mask with "
                    "np.clip(mask, 0, 1)"
                )
            mask.setflags(write=False)
            object.__setattr__(self, name, mask)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SubTask):
            return NotImplemented
        if self._step() != other._step():
            return False
        for mine, theirs in ((self.mask, other.mask), (self.target_mask, other.target_mask)):
            if mine is None or theirs is None:
                if mine is not theirs:
                    return False
            elif not np.array_equal(mine, theirs):
                return False
        return True

    def __hash__(self) -> int:
        return hash(self._step())

    def _step(self) -> tuple[str, str, str, str, int, int | None, str | None]:
        fields = (self.primitive, self.hands, self.affordance, self.text, self.object_index)
        return (*fields, self.target_index, self.relation)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (the plan.json sub-task fields; masks are not included).

        "target" (the target object's index) and "relation" are present only on steps that
        have a target.
        """
        out: dict[str, object] = {
            "text": self.text,
            "primitive": self.primitive,
            "hands": self.hands,
            "object": self.object_index,
            "affordance": self.affordance,
        }
        if self.target_index is not None:
            out["target"] = self.target_index
            out["relation"] = self.relation
        return out

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> SubTask:
        """Inverse of `to_dict`."""
        return cls(
            primitive=str(data["primitive"]),
            hands=str(data["hands"]),
            affordance=str(data["affordance"]),
            text=str(data.get("text", "")),
            object_index=int(data.get("object", 0)),
            target_index=None if data.get("target") is None else int(data["target"]),
            relation=None if data.get("target") is None else data.get("relation"),
        )


# DESIGN.md: a sub-task segment is at most 150 frames (5 s at 30 fps).
MAX_SEGMENT_FRAMES = 150

# Typical length of each primitive's segment at 30 fps: medians of SynthHOI segments
# (`openhoi data synth`, seed 0), used as the length condition of the motion model.
SEGMENT_FRAMES = {
    "grasp": 56,
    "lift": 35,
    "place": 76,
    "move": 49,
    "rotate": 89,
    "pour": 80,
    "drink": 96,
    "twist_open": 90,
    "twist_close": 90,
    "open": 115,
    "close": 116,
    "press": 80,
    "push": 110,
    "handover": 100,
    "cut": 62,
    "shake": 61,
}

_OBJECT_WORDS = {
    "alarmclock": "alarm clock",
    "coffeemug": "coffee mug",
    "cubelarge": "large cube",
    "cubemedium": "medium cube",
    "cubesmall": "small cube",
    "cylinderlarge": "large cylinder",
    "cylindermedium": "medium cylinder",
    "cylindersmall": "small cylinder",
    "fryingpan": "frying pan",
    "gamecontroller": "game controller",
    "lightbulb": "light bulb",
    "piggybank": "piggy bank",
    "pyramidlarge": "large pyramid",
    "pyramidmedium": "medium pyramid",
    "pyramidsmall": "small pyramid",
    "spherelarge": "large sphere",
    "spheremedium": "medium sphere",
    "spheresmall": "small sphere",
    "stanfordbunny": "Stanford bunny",
    "toruslarge": "large torus",
    "torusmedium": "medium torus",
    "torussmall": "small torus",
    "waterbottle": "water bottle",
    "wineglass": "wine glass",
    "wristwatch": "wristwatch",
    "capsulemachine": "capsule machine",
    "espressomachine": "espresso machine",
    "waffleiron": "waffle iron",
    "espresso": "espresso box",
    "cocoa": "cocoa box",
    "cappuccino": "cappuccino box",
    "chips": "chips can",
    "milk": "milk bottle",
    "lotion": "lotion bottle",
    "spray": "spray bottle",
}


def object_display_name(name: str) -> str:
    """Words for an object id in text ("fryingpan" → "frying pan")."""
    return _OBJECT_WORDS.get(name, name.replace("_", " "))


def object_words(name: str) -> str:
    """Words for a (built-in or user) object name in text; `name@scale` drops the scale."""
    return object_display_name(name.split("@")[0])
