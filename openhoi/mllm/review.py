"""Plans a user can trust: validation and repair of a decoded plan (issue 31, part 4).

Every plan, from the built-in planner or an LLM front end, passes :func:`review_plan`
before it is returned. The review works on the decoded steps and the scene's objects only
(no training, nothing learned from the held-out requests):

1. **Requested actions.** The instruction is read with a small verb lexicon
   (:data:`ACTION_PATTERNS`: "pick up", "open / unscrew", "pour", "tap / press", ...). Each
   match is a :class:`RequestedAction` that some primitives satisfy (open → twist_open or
   open) and that may need an affordance of the object (open → a part labelled "open").
2. **Steps the object cannot do are removed.** A step whose primitive needs an affordance
   the object does not have (twist_open on a cup, press on a bottle) is dropped and listed.
   A step whose affordance type is not on its object gets the closest one it has.
3. **Text is rebuilt** from the step's fields, with the scene's own object words and only
   parts the object has: the part the instruction names (when it affords the step) or the
   part under most of the step's mask. So no training stand-in name ("canteen"), no part
   the object lacks ("bristles" of a mug) and no repeated or truncated phrases.
4. **Dropped steps.** Every requested action that no remaining step satisfies is listed
   with the reason (the object does not afford it, or the planner left it out).
5. **Ungroundable requests.** `ungrounded` says why the request cannot be grounded: it
   names no action this planner knows and none of the scene's objects (nonsense); it names
   a part no scene object has ("the bottle trigger"); it names a built-in object that is
   not in the scene, and none that is; or nothing it asks for is afforded ("open the cup").
   `Planner(require_grounding=True)` (the CLI without `--force`) then raises
   :class:`UngroundedRequestError` instead of returning a made-up plan.

Objects without affordance labels (user meshes) skip the affordance and part checks:
there is nothing to check against.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from openhoi.errors import InputError
from openhoi.mllm.scene_roles import ObjectRoles, object_roles
from openhoi.vocab import PRIMITIVES, SubTask, object_words

__all__ = [
    "ACTION_PATTERNS",
    "DroppedStep",
    "PlanReview",
    "RequestedAction",
    "UngroundedRequestError",
    "default_affordance",
    "requested_actions",
    "review_plan",
    "subtask_text",
]


class UngroundedRequestError(InputError):
    """The planner cannot ground the request on the scene (nonsense, absent part, ...)."""


@dataclass(frozen=True)
class RequestedAction:
    """One action the instruction asks for.

    Attributes:
        words: the instruction's words that ask for it ("unscrew").
        label: short name of the action ("open").
        primitives: primitives any one of which satisfies it.
        needs: affordance type the object must have for it, or None.
    """

    words: str
    label: str
    primitives: tuple[str, ...]
    needs: str | None


@dataclass(frozen=True)
class DroppedStep:
    """A requested action or planned step that is not in the returned plan, and why."""

    request: str  # the instruction's words ("shake it") or the removed step's primitive
    primitives: tuple[str, ...]  # what would have satisfied it
    reason: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (plan.json's "dropped" entries)."""
        return {"request": self.request, "primitives": list(self.primitives), "reason": self.reason}


@dataclass(frozen=True)
class PlanReview:
    """Outcome of :func:`review_plan`.

    Attributes:
        subtasks: the reviewed steps (text rebuilt, impossible steps removed or moved;
            decoded masks carried over).
            Never empty: when every step had to go, the decoded steps are kept as the best
            guess and `ungrounded` says why.
        requested: the actions read from the instruction, in order.
        dropped: requested actions not planned, and removed steps, with reasons.
        ungrounded: why the request cannot be grounded; None when it can.
        changed: indices (into `subtasks`) whose primitive, object, affordance or named
            part changed (or that had no mask): their masks must be decoded again.
        roles: the mover and receiver the instruction names in a multi-object scene
            (`openhoi.mllm.scene_roles.object_roles`), or None.
    """

    subtasks: tuple[SubTask, ...]
    requested: tuple[RequestedAction, ...]
    dropped: tuple[DroppedStep, ...]
    ungrounded: str | None
    changed: tuple[int, ...]
    roles: ObjectRoles | None = None


# ------------------------------------------------------------------------ the lexicon
_OPEN = ("twist_open", "open")
_CLOSE = ("twist_close", "close")
_OBJ = r"(?:it|them|this|that|(?:the|a|an|my|your|this|that)\s+\w+(?:\s+\w+)?)"

# (label, regex, primitives that satisfy it, affordance needed). Earlier patterns win
# where matches overlap ("push the button" is a press, not a push).
ACTION_PATTERNS: tuple[tuple[str, str, tuple[str, ...], str | None], ...] = (
    (
        "hand over",
        r"\bhand(?:s|ing|ed)?\s+(?:" + _OBJ + r"\s+)?over\b"
        r"|\b(?:pass|shift|mov|giv|switch|transfer)\w*\s+(?:" + _OBJ + r"\s+)?(?:in)?to\s+"
        r"(?:your|the|my)\s+(?:other|opposite)\s+hand\b|\b(?:other|opposite)\s+hand\b"
        r"|\b(?:switch|swap|change)\w*\s+hands\b",
        ("handover",),
        None,
    ),
    (
        "press",
        r"\b(?:press\w*|tap|taps|tapp\w*|click\w*|typ(?:e|es|ing)|spray\w*|squirt\w*)\b"
        r"|\bpush\w*\s+(?:(?:on|down\s+on)\s+)?(?:the\s+|a\s+)?(?:\w+\s+)?(?:button|key|screen"
        r"|trigger)s?\b",
        ("press",),
        "press",
    ),
    (
        "drink",
        r"\b(?:drink\w*|drank|sip|sips|sipp\w*|swig\w*|gulp\w*|thirst\w*|parched|quench\w*)\b",
        ("drink",),
        "contain",
    ),
    ("pour", r"\b(?:pour\w*|empty|emptying|drain\w*|decant\w*)\b", ("pour",), "pour"),
    ("shake", r"\b(?:shak\w*|shook|rattl\w*|agitat\w*|jiggl\w*)\b", ("shake",), None),
    ("cut", r"\b(?:cut|cuts|cutting|slic\w*|chop\w*|carv\w*|trim\w*)\b", ("cut",), "cut"),
    (
        "open",
        # "open" the verb, not the adjective ("the open jar", "an open bottle")
        r"(?<!the )(?<!an )(?<!this )(?<!that )(?<!its )(?<!is )(?<!are )(?<!still )"
        r"\b(?:open\w*|unscrew\w*|uncap\w*|unseal\w*|loosen\w*)\b",
        _OPEN,
        "open",
    ),
    (
        "close",
        # "close" the verb, not the adjective ("too close", "close to", "closer")
        r"(?<!too )(?<!so )(?<!very )\b(?:clos(?:e|es|ed|ing)\b(?!\s+(?:to|by)\b)"
        r"|(?:shut|tighten|recap|screw)\w*\b|\b(?:lid|cap|top)\s+back\s+on\b)",
        _CLOSE,
        "open",
    ),
    ("push", r"\b(?:push\w*|nudg\w*|slid\w*|shov\w*|scoot\w*)\b", ("push",), None),
    (
        "inspect",
        r"\b(?:rotat\w*|inspect\w*|examin\w*|look\w*\s+(?:at|over|(?:it|them)\s+over)|turn\w*\s+"
        + _OBJ
        + r"\s+(?:around|over)|check\w*)\b",
        ("rotate",),
        None,
    ),
    (
        "move",
        r"\b(?:mov(?:e|es|ed|ing)|carr\w*|relocat\w*|shift\w*|transport\w*)\b",
        ("move",),
        None,
    ),
    (
        "put down",
        r"\b(?:put|puts|putting|set|sets|setting|lay|lays)\s+(?:" + _OBJ + r"\s+)?(?:back\s+)?"
        r"down\b|\bplac(?:e|es|ed|ing)\b|\bput\s+" + _OBJ + r"\s+back\b",
        ("place",),
        None,
    ),
    (
        "pick up",
        r"\bpick\w*\s+(?:" + _OBJ + r"\s+)?up\b|\b(?:grab\w*|grasp\w*|lift\w*|rais\w*)\b"
        r"|\btak(?:e|es|ing)\s+(?:hold|it|the)\b",
        ("grasp", "lift"),
        None,
    ),
)

# Words that show the instruction asks for something even where no pattern matched
# (indirect needs, typos are matched to them approximately).
_ACTION_WORDS = (
    "pick", "grab", "grasp", "hold", "lift", "raise", "take", "place", "put", "set", "move",
    "carry", "rotate", "turn", "inspect", "examine", "look", "check", "pour", "empty", "drink",
    "sip", "thirsty", "open", "unscrew", "close", "shut", "screw", "press", "tap", "push",
    "slide", "nudge", "hand", "pass", "give", "cut", "slice", "shake", "rattle", "use", "bring",
    "fetch", "lid", "cap", "wash", "clean", "spray", "flip", "show", "see", "want", "need",
)  # fmt: skip

# Part words a user may name. A mentioned word that no scene object has is an error,
# unless a part affords what the word stands for (a laptop's "keyboard" is its base,
# labelled "press"). Words that also name places ("drawer", "door", "wheel") are left out:
# "put it near the drawer" asks for no part.
_PART_STAND_INS: dict[str, tuple[str, ...]] = {
    "handle": (),
    "lid": ("open",),
    "cap": ("open",),
    "cork": ("open",),
    "trigger": ("press",),
    "button": ("press",),
    "buttons": ("press",),
    "key": ("press",),
    "keys": ("press",),
    "keyboard": ("press",),
    "nozzle": ("press",),
    "screen": ("press", "display"),
    "spout": ("pour",),
    "blade": ("cut", "push"),
    "bristles": ("push",),
    "tab": ("open", "pull"),
    "knob": (),
}

# Affordance type a step of each primitive touches when its own is not on the object,
# in order of preference; the first the object has wins.
_AFFORDANCE_FALLBACK: dict[str, tuple[str, ...]] = {
    "twist_open": ("open",),
    "twist_close": ("open",),
    "open": ("open",),
    "close": ("open",),
    "press": ("press",),
    "push": ("push", "move", "wrap-grasp", "grasp", "lift"),
}
_HOLD_AFFORDANCES = ("wrap-grasp", "grasp", "lift", "move", "support")

# Affordance a primitive needs on its object (else the step is impossible there).
_PRIMITIVE_NEEDS: dict[str, str] = {
    "twist_open": "open",
    "twist_close": "open",
    "open": "open",
    "close": "open",
    "press": "press",
    "cut": "cut",
    "pour": "pour",
    "drink": "contain",
}

_DETERMINERS = r"(?:the|a|an|this|that|my|your|its|his|her|our|their)"


# -------------------------------------------------------------------- sub-task text
# One phrasing per primitive; {o} object words, {p} " by its part" style fragments.
_TEXT: dict[str, tuple[str, str]] = {
    # primitive: (with a part, without)
    "grasp": ("grasp the {o} by its {p}", "grasp the {o}"),
    "lift": ("lift the {o} off the table", "lift the {o} off the table"),
    "place": ("put the {o} back down on the table", "put the {o} back down on the table"),
    "move": ("move the {o} to another spot", "move the {o} to another spot"),
    "rotate": ("turn the {o} around to look at it", "turn the {o} around to look at it"),
    "pour": ("pour from the {o}", "pour from the {o}"),
    "drink": ("drink from the {o}", "drink from the {o}"),
    "twist_open": ("twist open the {p} of the {o}", "twist the {o} open"),
    "twist_close": ("twist the {p} of the {o} shut", "twist the {o} shut"),
    "open": ("open the {p} of the {o}", "open the {o}"),
    "close": ("close the {p} of the {o}", "close the {o}"),
    "press": ("press the {p} of the {o}", "press the {o}"),
    "push": ("push the {o} across the table", "push the {o} across the table"),
    "handover": ("pass the {o} to the other hand", "pass the {o} to the other hand"),
    "cut": ("cut with the {o}", "cut with the {o}"),
    "shake": ("shake the {o}", "shake the {o}"),
}
# A step towards a target object: (primitive, relation) → text.
_TARGET_TEXT: dict[tuple[str, str], str] = {
    ("place", "in"): "put the {o} in the {t}",
    ("place", "on"): "put the {o} on the {t}",
    ("place", "beside"): "put the {o} down next to the {t}",
    ("pour", "into"): "pour from the {o} into the {t}",
}
_HANDS_TEXT = {
    "left": "with the left hand",
    "right": "with the right hand",
    "both": "with both hands",
}


def subtask_text(
    primitive: str,
    hands: str,
    object_name: str,
    part: str | None,
    *,
    target_name: str | None = None,
    relation: str | None = None,
) -> str:
    """The sub-task text of a step: the object's own words, the part only if given, and
    the target object for a step that acts towards one (`relation` as in
    `openhoi.mllm.scene_roles.RELATIONS`).

    E.g. `subtask_text("grasp", "right", "mug", "handle")` →
    "grasp the mug by its handle with the right hand";
    `subtask_text("place", "right", "phone", None, target_name="bowl", relation="in")` →
    "put the phone in the bowl with the right hand".
    """
    if primitive not in PRIMITIVES:
        raise InputError(f"primitive must be one of {list(PRIMITIVES)}, got {primitive!r}")
    with_part, without = _TEXT[primitive]
    words = object_words(object_name)
    if target_name is not None and (primitive, relation) in _TARGET_TEXT:
        target = object_words(target_name)
        return f"{_TARGET_TEXT[primitive, relation].format(o=words, t=target)} {_HANDS_TEXT[hands]}"
    text = with_part.format(o=words, p=part.replace("_", " ")) if part else without.format(o=words)
    if primitive == "handover":
        return text
    return f"{text} {_HANDS_TEXT[hands]}"


# ---------------------------------------------------------------------- the review
# Action verbs a misspelt word is read as (`_spelled`).
_ACTION_VERBS = (
    "drink", "sip", "shake", "pour", "open", "unscrew", "close", "shut", "type", "press",
    "tap", "cut", "slice", "push", "slide", "move", "rotate", "inspect", "examine", "look",
    "lift", "grab", "pick", "place", "put", "spray", "empty", "screw", "tighten", "pass",
)  # fmt: skip


@functools.lru_cache(maxsize=1)
def _known_words() -> frozenset[str]:
    """The lower-case whole words of MiniLM's WordPiece vocabulary (real English words);
    empty without the package (then nothing is read as a misspelling)."""
    from openhoi.mllm.default_backbone import minilm_path

    try:
        vocab = (minilm_path() / "vocab.txt").read_text(encoding="utf-8").split()
    except (OSError, ImportError):  # the MiniLM package missing or incomplete
        return frozenset()
    return frozenset(w for w in vocab if w.isalpha())


def _spelled(text: str) -> str:
    """`text` with misspelt action verbs corrected ("drnk" → "drink", "opne" → "open"): a
    word of three letters or more that is no word of the vocabulary, starts like a verb of
    `_ACTION_VERBS` and is close to it (similarity ≥ 0.75)."""
    known = _known_words()
    if not known:
        return text

    def fix(match: re.Match) -> str:
        word = match.group(0)
        if len(word) < 3 or word in known:
            return word
        close = [v for v in _ACTION_VERBS if v[0] == word[0]]
        best = difflib.get_close_matches(word, close, n=1, cutoff=0.75)
        return best[0] if best else word

    return re.sub(r"[a-z]+", fix, text)


def requested_actions(instruction: str) -> tuple[RequestedAction, ...]:
    """The actions the instruction asks for, in the order named (:data:`ACTION_PATTERNS`;
    misspelt action verbs are read as the verb, `_spelled`)."""
    text = _spelled(instruction.lower())
    taken = np.zeros(len(text) + 1, dtype=bool)
    found: list[tuple[int, RequestedAction]] = []
    for label, pattern, primitives, needs in ACTION_PATTERNS:
        for match in re.finditer(pattern, text):
            start, end = match.span()
            if taken[start:end].any():
                continue
            taken[start:end] = True
            found.append((start, RequestedAction(match.group(0), label, primitives, needs)))
    found.sort(key=lambda item: item[0])
    return tuple(action for _, action in found)


def _mentions(text: str, words: str) -> bool:
    return re.search(rf"\b{re.escape(words.lower())}s?\b", text) is not None


def _named_absent_object(text: str, objects: Sequence[object], known: Sequence[str]) -> str | None:
    """A built-in object the instruction names with a determiner that is not in the scene,
    when it names none of the scene's objects; else None."""
    scene = [object_words(o.name).lower() for o in objects]
    scene_heads = {w.split()[-1] for w in scene}
    if any(_mentions(text, w) or _mentions(text, w.split()[-1]) for w in scene):
        return None
    for name in known:
        words = object_words(name).lower()
        if words.split()[-1] in scene_heads:
            continue
        if re.search(rf"\b{_DETERMINERS}\s+(?:\w+\s+)?{re.escape(words)}s?\b", text):
            return words
    return None


def _has_word(text: str, words: Sequence[str]) -> bool:
    """Whether `text` holds one of `words`, or a typo of one (3+ letters, close spelling)."""
    for token in re.findall(r"[a-z]+", text):
        if token in words:
            return True
        if len(token) >= 3 and difflib.get_close_matches(token, words, n=1, cutoff=0.85):
            return True
    return False


def _labelled(obj: object) -> bool:
    return bool(obj.affordance_names)


def _affords(obj: object, affordance: str | None) -> bool:
    return affordance is None or not _labelled(obj) or affordance in obj.affordance_names


def _missing_part(text: str, objects: Sequence[object]) -> str | None:
    """Why a part the instruction names exists on no scene object; None if all exist."""
    for word, stand_ins in _PART_STAND_INS.items():
        if not _mentions(text, word):
            continue
        labelled = [o for o in objects if _labelled(o)]
        if len(labelled) < len(objects):
            return None  # a user mesh may have any part
        has = any(
            word in (p.lower() for p in o.part_names)
            or any(a in o.affordance_names for a in stand_ins)
            for o in objects
        )
        if not has:
            names = "; ".join(
                f"the {object_words(o.name)} has "
                + ", ".join(p.replace("_", " ") for p in o.part_names)
                for o in objects
            )
            return f"no object in the scene has a {word} ({names})"
    return None


def _step_part(step: SubTask, obj: object, text: str, mask: np.ndarray | None) -> str | None:
    """The part a step's text names: the instruction's part when it affords the step, else
    the part under most of the step's mask (None for unlabelled objects or no mask)."""
    if not _labelled(obj) or len(obj.part_names) < 2:
        return None
    for part in obj.part_names:
        named = _mentions(text, part.replace("_", " "))
        if named and step.affordance in obj.part_affordances(part):
            return part
    candidates = [p for p in obj.part_names if step.affordance in obj.part_affordances(p)]
    if mask is not None:
        part_ids = np.asarray(obj.normalised_points.part_ids)
        weights = np.asarray(mask, dtype=np.float64)
        if len(part_ids) == len(weights) and weights.sum() > 0:
            mass = np.bincount(part_ids, weights=weights, minlength=len(obj.part_names))
            ranked = [obj.part_names[i] for i in np.argsort(-mass)]
            ranked = [p for p in ranked if p in candidates] or ranked
            return ranked[0]
    return candidates[0] if len(candidates) == 1 else None


def review_plan(
    instruction: str,
    objects: Sequence[object],
    steps: Sequence[SubTask],
    *,
    known_objects: Sequence[str] = (),
) -> PlanReview:
    """Validate and repair decoded steps (module docstring).

    Args:
        instruction: the (cleaned) instruction.
        objects: the scene's `HOIObject`s, indexed by the steps' `object_index`.
        steps: the decoded steps, with or without masks (masks pick the named part).
        known_objects: built-in object names, to notice a request for an absent object.

    Returns:
        :class:`PlanReview`.
    """
    if not steps:
        raise InputError("review_plan needs at least one decoded step")
    text = " ".join(instruction.lower().split())
    requested = requested_actions(text)
    dropped: list[DroppedStep] = []
    kept: list[SubTask] = []
    changed: list[int] = []
    roles = object_roles(instruction, objects)
    if roles is not None and not _places_or_pours(text, requested):
        roles = None  # "open the laptop beside the phone": where it is, not where it goes
    if roles is not None:
        requested = _with_relation(requested, roles, objects)
        steps, dropped = _apply_roles(steps, roles, objects, requested)
    possible = {
        s.primitive
        for s in steps
        if _affords(objects[s.object_index], _PRIMITIVE_NEEDS.get(s.primitive))
    }
    # Requested actions no possible step satisfies: an impossible step stands in for the
    # next one its object affords ("push the bottle" decoded as a press → a push).
    unmet = [a for a in requested if not possible & set(a.primitives)]
    remap = _wrong_object_moves(objects, steps)
    for step in steps:
        if step.object_index in remap:  # the plan was on an object that cannot do it
            moved = remap[step.object_index]
            target = {} if step.target_index != moved else {"target_index": None, "relation": None}
            step = dataclasses.replace(step, object_index=moved, mask=None, **target)
        obj = objects[step.object_index]
        words = object_words(obj.name)
        need = _PRIMITIVE_NEEDS.get(step.primitive)
        if not _affords(obj, need):
            swap = next((a for a in unmet if _affords(obj, a.needs)), None)
            if swap is None:
                verb = step.primitive.replace("_", " ")
                reason = f"the {words} has no part that affords '{need}', so it cannot be a {verb}"
                dropped.append(DroppedStep(step.primitive, (step.primitive,), reason))
                continue
            unmet.remove(swap)
            step = dataclasses.replace(step, primitive=swap.primitives[0], mask=None)
        affordance = step.affordance
        if _labelled(obj) and affordance not in obj.affordance_names:
            affordance = default_affordance(step.primitive, obj)
        fixed = SubTask(step.primitive, step.hands, affordance, "x", step.object_index)
        part = _step_part(fixed, obj, text, step.mask if affordance == step.affordance else None)
        target = None if step.target_index is None else objects[step.target_index].name
        relation = step.relation
        new_text = subtask_text(
            step.primitive, step.hands, obj.name, part, target_name=target, relation=relation
        )
        # The mask is decoded again where what it should cover changed: another primitive,
        # object or affordance, or a part the decoded text did not name.
        named = part.replace("_", " ") if part else None
        new_part = named is not None and named in new_text and named not in step.text.lower()
        if step.mask is None or affordance != step.affordance or new_part:
            changed.append(len(kept))
        fields = (step.primitive, step.hands, affordance, new_text, step.object_index)
        kept.append(
            SubTask(*fields, step.mask, target_index=step.target_index, relation=step.relation)
        )
    if roles is None and kept:
        kept, completed = _complete_requested(kept, requested, objects)
        if completed is not None:  # a new plan: every mask is decoded for it
            changed = list(range(len(kept)))
    planned = {s.primitive for s in kept}
    for action in requested:
        if planned & set(action.primitives):
            continue
        if not any(_affords(o, action.needs) for o in objects):
            names = ", ".join(object_words(o.name) for o in objects)
            reason = f"no object in the scene ({names}) has a part that affords '{action.needs}'"
        else:
            reason = "the planner did not plan it (try one request per step, or --planner-llm)"
        if not any(d.request == action.words for d in dropped):
            dropped.append(DroppedStep(action.words, action.primitives, reason))
    ungrounded = _ungrounded(text, objects, requested, known_objects)
    if not kept:
        ungrounded = ungrounded or "nothing the plan does is afforded by the scene's objects"
        kept = [_plain_step(s, objects) for s in steps]
        changed = list(range(len(kept)))
    return PlanReview(
        subtasks=tuple(kept),
        requested=requested,
        dropped=tuple(dropped),
        ungrounded=ungrounded,
        changed=tuple(changed),
        roles=roles,
    )


# Primitives that move the object in hand: in a scene whose roles are known, these belong
# to the mover whatever object the planner put them on.
_MOVING = frozenset(
    {"grasp", "lift", "place", "move", "rotate", "pour", "drink", "shake", "handover", "push"}
)


# Verbs that take an object somewhere (a relation after them names where it goes).
_PLACING = re.compile(
    r"\b(?:put|puts|putting|plac\w*|set|sets|setting|lay|lays|laying|drop\w*|mov\w*|tuck\w*"
    r"|stand\w*|leav\w*|stack\w*|sit|sits|rest\w*|stor\w*|slid\w*|shift\w*|transfer\w*"
    r"|bring\w*|carr\w*|return\w*|pop|pops|stick|stash\w*|position\w*|go|goes|belongs?"
    r"|pour\w*|fill\w*|refill\w*|top\w*|tip\w*|decant\w*|empty\w*)\b"
)


def _places_or_pours(text: str, requested: Sequence[RequestedAction]) -> bool:
    """Whether the request takes something somewhere: a placing or pouring verb, a placing
    action, or no action word at all ("phone in the bowl")."""
    if _PLACING.search(text):
        return True
    labels = {a.label for a in requested}
    return not labels or bool(labels & {"put down", "pour", "move"})


def _with_relation(
    requested: tuple[RequestedAction, ...], roles: ObjectRoles, objects: Sequence[object]
) -> tuple[RequestedAction, ...]:
    """`requested` plus the place or pour the relation asks for, if the lexicon missed it."""
    primitive = roles.primitive
    if any(primitive in a.primitives for a in requested):
        return requested
    words = f"{roles.relation} the {object_words(objects[roles.target].name)}"
    needs = "pour" if primitive == "pour" else None
    label = "pour" if primitive == "pour" else "put down"
    return (*requested, RequestedAction(words, label, (primitive,), needs))


def _apply_roles(
    steps: Sequence[SubTask],
    roles: ObjectRoles,
    objects: Sequence[object],
    requested: Sequence[RequestedAction],
) -> tuple[list[SubTask], list[DroppedStep]]:
    """The decoded steps arranged around the instruction's mover and receiver.

    Steps that move an object go to the mover (the planner often puts them on the receiver
    or a distractor); steps on the mover that the request does not ask for are dropped
    (listed); the mover is grasped and lifted first; the step the relation needs (the last
    place, or the pour) carries the receiver as its target, and is added when missing; a
    pour is followed by a place; a step on another object stays only where the request asks
    for it ("open the jar"). The mover's steps all use the hand most of the decoded
    moving steps use, the first such on a tie (a dropped hand-over would otherwise leave a
    stray hand).
    """
    mover, words = roles.mover, object_words(objects[roles.mover].name)
    asked = {p for a in requested for p in a.primitives}
    if roles.primitive == "place":
        asked.discard("move")  # "move the cup beside the bowl" is the place itself
    allowed = {"grasp", "lift", "place", roles.primitive} | asked
    mover_hands = [s.hands for s in steps if s.primitive in _MOVING]
    hands = Counter(mover_hands).most_common(1)[0][0] if mover_hands else "right"
    out: list[SubTask] = []
    dropped: list[DroppedStep] = []
    for step in steps:
        if step.primitive in _MOVING and step.object_index != mover:
            step = dataclasses.replace(
                step, object_index=mover, mask=None, target_index=None, relation=None
            )
        on_mover = step.object_index == mover
        if step.primitive not in (allowed if on_mover else asked):
            verb = step.primitive.replace("_", " ")
            name = words if on_mover else object_words(objects[step.object_index].name)
            reason = f"the request does not ask to {verb} the {name}"
            dropped.append(DroppedStep(step.primitive, (step.primitive,), reason))
            continue
        previous = next((s for s in reversed(out) if s.object_index == mover), None)
        repeat = previous is not None and previous.primitive == step.primitive
        if step.object_index == mover and repeat and step.primitive in ("grasp", "lift"):
            continue
        if step.object_index == mover:  # one hand choice through the carry
            step = dataclasses.replace(step, hands=hands)
        out.append(dataclasses.replace(step, target_index=None, relation=None))

    def new_step(primitive: str) -> SubTask:
        affordance = default_affordance(primitive, objects[mover])
        return SubTask(primitive, hands, affordance, "", mover)

    on_mover = [k for k, s in enumerate(out) if s.object_index == mover]
    first = on_mover[0] if on_mover else len(out)
    if not on_mover or out[first].primitive != "grasp":
        out.insert(first, new_step("grasp"))
    if first + 1 >= len(out) or out[first + 1].primitive != "lift":
        out.insert(first + 1, new_step("lift"))
    on_mover = [k for k, s in enumerate(out) if s.object_index == mover]
    if roles.primitive == "place":
        places = [k for k in on_mover if out[k].primitive == "place"]
        if not places:
            out.append(new_step("place"))
            places = [len(out) - 1]
        at = places[-1]
    else:
        pours = [k for k in on_mover if out[k].primitive == "pour"]
        if pours:
            at = pours[0]
        else:
            places = [k for k in on_mover if out[k].primitive == "place"]
            at = places[-1] if places else len(out)
            out.insert(at, new_step("pour"))
        if not any(s.primitive == "place" and s.object_index == mover for s in out[at + 1 :]):
            out.append(new_step("place"))
    out[at] = dataclasses.replace(out[at], target_index=roles.target, relation=roles.relation)
    return out, dropped


def default_affordance(primitive: str, obj: object) -> str:
    """The affordance type a step of `primitive` touches on `obj` (the first it has of the
    primitive's preferences; the preference itself for an unlabelled object)."""
    options = _AFFORDANCE_FALLBACK.get(primitive, _HOLD_AFFORDANCES)
    present = obj.affordance_names
    if not present:
        return options[0]
    return next((a for a in options if a in present), present[0])


def _wrong_object_moves(objects: Sequence[object], steps: Sequence[SubTask]) -> dict[int, int]:
    """Object index → the one other scene object that affords what a step on it needs.

    When the planner put a step on an object that cannot do it (a cut on the pan) and
    exactly one other object can (the knife), its steps on that object belong there.
    """
    moves: dict[int, int] = {}
    for step in steps:
        need = _PRIMITIVE_NEEDS.get(step.primitive)
        if step.object_index in moves or _affords(objects[step.object_index], need):
            continue
        able = [i for i, o in enumerate(objects) if _labelled(o) and need in o.affordance_names]
        if len(able) == 1:
            moves[step.object_index] = able[0]
    return moves


def _plain_step(step: SubTask, objects: Sequence[object]) -> SubTask:
    """`step` with its text rebuilt from its fields (no part), for best-guess plans."""
    obj = objects[step.object_index]
    text = subtask_text(step.primitive, step.hands, obj.name, None)
    return SubTask(step.primitive, step.hands, step.affordance, text, step.object_index, step.mask)


def _ungrounded(
    text: str,
    objects: Sequence[object],
    requested: Sequence[RequestedAction],
    known_objects: Sequence[str],
) -> str | None:
    scene = ", ".join(object_words(o.name) for o in objects)
    absent = _named_absent_object(text, objects, known_objects)
    if absent is not None:
        return f"it names the {absent}, which is not in the scene (objects: {scene})"
    missing = _missing_part(text, objects)
    if missing is not None:
        return missing
    names_object = _has_word(
        text, [w for o in objects for w in object_words(o.name).lower().split()]
    )
    if not requested and not names_object and not _has_word(text, _ACTION_WORDS):
        return (
            f"it asks for no action this planner knows on the scene's objects ({scene}); "
            "say what the hands should do, e.g. 'pick up the "
            f"{object_words(objects[0].name)}'"
        )
    if requested and not any(any(_affords(o, a.needs) for o in objects) for a in requested):
        wanted = ", ".join(sorted({a.label for a in requested}))
        return f"no object in the scene ({scene}) affords what it asks for ({wanted})"
    return None


# Primitives done with the object in hand: a request for any of them is framed by a grasp
# and lift before and a place after (`openhoi.synth.tasks.KIND_STEPS`).
_IN_HAND = ("drink", "pour", "shake", "cut", "rotate", "move", "handover")
_ACTION_ONLY = ("pick up", "put down")


def _open_primitives(obj) -> tuple[str, str]:
    """(open, close) primitives of an object: a lid turning about the vertical (or a cap
    with no hinge) twists, a hinge opens."""
    hinge = obj.articulation is not None and abs(float(obj.articulation.axis[2])) < 0.5
    return ("open", "close") if hinge else ("twist_open", "twist_close")


def _middle(action: RequestedAction, obj) -> str | None:
    """The primitive that does `action` on `obj`, None where the object cannot."""
    if not _affords(obj, action.needs):
        return None
    if action.label == "open":
        return _open_primitives(obj)[0]
    if action.label == "close":
        return _open_primitives(obj)[1]
    return action.primitives[0]


def _complete_requested(
    kept: list[SubTask], requested: Sequence[RequestedAction], objects: Sequence[object]
) -> tuple[list[SubTask], list[int] | None]:
    """The plan the instruction's own action words spell out, where they spell one out.

    When the instruction names actions (`requested_actions`: "shake it, then pour") beyond
    picking up and putting down, and the object affords each of them, the plan becomes those
    actions in the order named, framed as SynthHOI frames them: in-hand actions between a
    grasp + lift and a place, a twisted lid as grasp + twist twice, a press on an object
    one holds (a spray bottle) in hand, hinged opening and pressing as they are. Planned
    steps the words do not ask for go; decoded masks stay where the step is unchanged.
    Returns `(steps, indices of the new steps)`, or `(kept, None)` when the words spell
    out no plan or the one planned (indirect requests keep the planner's reading).
    """
    index = kept[0].object_index
    if any(s.object_index != index for s in kept):
        return kept, None
    obj = objects[index]
    if not _labelled(obj):
        return kept, None
    actions = [a for a in requested if a.label not in _ACTION_ONLY]
    if not actions:
        return kept, None
    middles = [_middle(a, obj) for a in actions]
    if any(m is None for m in middles):
        return kept, None
    middles = [m for k, m in enumerate(middles) if k == 0 or m != middles[k - 1]]
    # A press on a part that moves (a spray bottle's trigger) is done holding the object.
    hinge = obj.articulation
    held_press = hinge is not None and "press" in obj.part_affordances(hinge.part)
    hands = Counter(s.hands for s in kept if s.hands != "both").most_common(1)
    main = hands[0][0] if hands else "right"
    other = "left" if main == "right" else "right"
    in_hand = any(m in _IN_HAND or (m == "press" and held_press) for m in middles)
    plan: list[tuple[str, str]] = []
    grasped = lifted = False
    holder = main
    for primitive in middles:
        if primitive in ("twist_open", "twist_close"):
            if not grasped:
                plan.append(("grasp", other))
                grasped = True
            plan += [(primitive, main), (primitive, main)]
            continue
        if in_hand and not lifted:
            if not grasped:
                plan.append(("grasp", main))
                grasped = True
            plan.append(("lift", main))
            lifted = True
        if primitive == "handover":
            plan.append(("handover", "both"))
            holder = other
        elif primitive == "press" and held_press:
            plan.append(("press", other if holder == main else main))
        else:
            plan.append((primitive, holder if in_hand else main))
    if lifted:
        plan.append(("place", holder))
    if [p for p, _ in plan] == [s.primitive for s in kept]:
        return kept, None
    decoded = {s.primitive: s for s in kept}
    out, changed = [], []
    for position, (primitive, hands_) in enumerate(plan):
        step = decoded.get(primitive)
        if step is not None and step.hands == hands_:
            out.append(step)
            continue
        affordance = step.affordance if step is not None else default_affordance(primitive, obj)
        text = subtask_text(primitive, hands_, obj.name, None)
        out.append(SubTask(primitive, hands_, affordance, text, index))
        changed.append(position)
    return out, changed
