"""SynthHOI language: sub-task phrasings and high-level instruction templates.

Two disjoint template sets exist for every phrasing, `"train"` and `"held_out"`: episodes
written with the held-out set test generalisation to unseen phrasings (the split file
tags them `test_held_out_phrasing`). Nothing here is random by itself; callers pass a
`numpy.random.Generator`.

Sub-task text always names the object (in words, e.g. "spray bottle") and uses one of
the primitive's verbs in :data:`PRIMITIVE_VERBS`, so a text can be checked against its
primitive. Instruction templates come in five styles (:data:`INSTRUCTION_STYLES`):
imperative, intent-centric ("I'm thirsty"), polite, synonym (other verbs and object
words) and multi-step (the sub-task texts joined). Every episode kind has at least 10
train templates (kind-specific ones plus the shared multi-step ones) and at least 3
held-out ones.

Placeholders: `{object}` object words, `{hand}` "with the right hand" / "with both
hands", `{part}` the touched part ("body", "handle"), `{hands}` "the right hand".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from openhoi.errors import InputError
from openhoi.vocab import AFF_TOKEN, PRIMITIVES, SubTask, object_words

__all__ = [
    "INSTRUCTION_STYLES",
    "INSTRUCTION_TEMPLATES",
    "PHRASINGS",
    "PRIMITIVE_VERBS",
    "SUBTASK_TEMPLATES",
    "hand_words",
    "instruction_for",
    "instruction_templates",
    "object_words",
    "part_words",
    "plan_target_text",
    "subtask_phrasings",
]

PHRASINGS = ("train", "held_out")
INSTRUCTION_STYLES = ("imperative", "intent", "polite", "synonym", "multi_step")

# Every sub-task text of a primitive contains one of these verbs (tests rely on it).
PRIMITIVE_VERBS: dict[str, tuple[str, ...]] = {
    "grasp": ("grasp", "grab", "take hold of", "reach for", "get a grip on"),
    "lift": ("lift", "raise", "pick up"),
    "place": ("place", "put", "set", "lay"),
    "move": ("move", "carry", "bring", "transport", "shift"),
    "rotate": ("rotate", "turn", "inspect", "examine", "look at"),
    "pour": ("pour", "tip", "tilt"),
    "drink": ("drink", "sip", "bring", "raise"),
    "twist_open": ("twist open", "unscrew", "twist off", "loosen"),
    "twist_close": ("twist", "screw", "tighten"),
    "open": ("open", "flip open", "lift the"),
    "close": ("close", "shut", "fold"),
    "press": ("press", "push down", "tap", "squeeze", "pull the trigger"),
    "push": ("push", "slide", "nudge", "shove"),
    "handover": ("hand over", "pass", "transfer", "switch"),
    "cut": ("cut", "slice", "saw", "stroke"),
    "shake": ("shake", "jiggle", "agitate"),
}

# Sub-task templates per primitive and phrasing set. Placeholders as in the module doc.
SUBTASK_TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "grasp": {
        "train": (
            "grasp the {object} by its {part} {hand}",
            "grab the {object} by the {part} {hand}",
            "reach for the {object} and take hold of its {part} {hand}",
        ),
        "held_out": ("get a grip on the {part} of the {object} {hand}",),
    },
    "lift": {
        "train": (
            "lift the {object} off the table {hand}",
            "raise the {object} {hand}",
            "pick up the {object} {hand}",
        ),
        "held_out": ("raise the {object} up into the air {hand}",),
    },
    "place": {
        "train": (
            "place the {object} back on the table {hand}",
            "put the {object} down {hand}",
            "set the {object} down on the table {hand}",
        ),
        "held_out": ("lay the {object} back down and let go of it {hand}",),
    },
    "move": {
        "train": (
            "move the {object} to another spot {hand}",
            "carry the {object} to the side {hand}",
            "bring the {object} over to a new place {hand}",
        ),
        "held_out": ("transport the {object} a little way across {hand}",),
    },
    "rotate": {
        "train": (
            "rotate the {object} to inspect it {hand}",
            "turn the {object} around to look at it {hand}",
            "examine the {object} by turning it {hand}",
        ),
        "held_out": ("inspect the {object} from another side {hand}",),
    },
    "pour": {
        "train": (
            "pour from the {object} {hand}",
            "tilt the {object} to pour it out {hand}",
            "pour the contents of the {object} {hand}",
        ),
        "held_out": ("tip the {object} over so that it pours {hand}",),
    },
    "drink": {
        "train": (
            "drink from the {object} {hand}",
            "bring the {object} to the mouth and drink {hand}",
            "take a sip from the {object} {hand}",
        ),
        "held_out": ("raise the {object} to the lips for a drink {hand}",),
    },
    "twist_open": {
        "train": (
            "twist open the {part} of the {object} {hand}",
            "unscrew the {part} of the {object} {hand}",
            "twist off the {object} {part} {hand}",
        ),
        "held_out": ("loosen the {part} on the {object} {hand}",),
    },
    "twist_close": {
        "train": (
            "twist the {part} of the {object} shut {hand}",
            "screw the {part} back onto the {object} {hand}",
            "twist the {object} {part} closed {hand}",
        ),
        "held_out": ("tighten the {part} of the {object} {hand}",),
    },
    "open": {
        "train": (
            "open the {part} of the {object} {hand}",
            "flip open the {object} {hand}",
            "open the {object} by its {part} {hand}",
        ),
        "held_out": ("lift the {part} to open up the {object} {hand}",),
    },
    "close": {
        "train": (
            "close the {part} of the {object} {hand}",
            "shut the {object} {hand}",
            "close the {object} by its {part} {hand}",
        ),
        "held_out": ("fold the {part} of the {object} back down {hand}",),
    },
    "press": {
        "train": (
            "press the {part} of the {object} {hand}",
            "tap the {object} {part} {hand}",
            "press on the {object} {part} {hand}",
        ),
        "held_out": ("push down on the {part} of the {object} {hand}",),
    },
    "push": {
        "train": (
            "push the {object} across the table {hand}",
            "slide the {object} along the table {hand}",
            "push the {object} by its {part} {hand}",
        ),
        "held_out": ("nudge the {object} a bit further away {hand}",),
    },
    "handover": {
        "train": (
            "hand over the {object} to the other hand",
            "pass the {object} across to the other hand",
            "transfer the {object} between the hands",
        ),
        "held_out": ("switch the {object} over into the other hand",),
    },
    "cut": {
        "train": (
            "cut with the {object} {hand}",
            "make a cutting stroke with the {object} {hand}",
            "slice with the {object} {hand}",
        ),
        "held_out": ("saw back and forth with the {object} {hand}",),
    },
    "shake": {
        "train": (
            "shake the {object} {hand}",
            "give the {object} a shake {hand}",
            "shake the {object} up and down {hand}",
        ),
        "held_out": ("agitate the {object} a few times {hand}",),
    },
}

# Multi-step templates shared by every kind: {steps} are the sub-task texts joined.
_MULTI_STEP = {
    "train": (
        "First {first}, then {rest}.",
        "{steps_then}.",
        "Step by step: {steps_semicolon}.",
    ),
    "held_out": ("Begin by {first_ing}; after that {rest}.",),
}

# Kind-specific instruction templates: (style, template) per phrasing set.
INSTRUCTION_TEMPLATES: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    "drink": {
        "train": (
            ("imperative", "Drink from the {object}."),
            ("imperative", "Pick up the {object} and take a drink."),
            ("intent", "I'm thirsty."),
            ("intent", "I could use a sip of something from the {object}."),
            ("polite", "Could you take a drink from the {object}, please?"),
            ("polite", "Please have a sip from the {object}."),
            ("synonym", "Sip from the {object} and set it back down."),
        ),
        "held_out": (
            ("intent", "My throat is dry."),
            ("polite", "Would you mind drinking a bit from the {object}?"),
        ),
    },
    "pour": {
        "train": (
            ("imperative", "Pour out the {object}."),
            ("imperative", "Lift the {object} and pour from it."),
            ("intent", "I need to empty the {object}."),
            ("intent", "The {object} should be emptied out."),
            ("polite", "Could you pour from the {object}, please?"),
            ("polite", "Please pour the {object} out for me."),
            ("synonym", "Tip the {object} over to empty it, then put it back."),
        ),
        "held_out": (
            ("intent", "Get rid of whatever is inside the {object}."),
            ("polite", "Would you kindly tip out the {object}?"),
        ),
    },
    "shake": {
        "train": (
            ("imperative", "Shake the {object}."),
            ("imperative", "Pick up the {object} and shake it."),
            ("intent", "The contents of the {object} need mixing."),
            ("intent", "I want to hear what is inside the {object}."),
            ("polite", "Could you give the {object} a shake, please?"),
            ("polite", "Please shake the {object} a little."),
            ("synonym", "Jiggle the {object} about and set it down again."),
        ),
        "held_out": (
            ("intent", "Mix up whatever is in the {object}."),
            ("polite", "Would you mind agitating the {object}?"),
        ),
    },
    "relocate": {
        "train": (
            ("imperative", "Move the {object} to another place."),
            ("imperative", "Pick up the {object} and put it somewhere else."),
            ("intent", "The {object} is in the way."),
            ("intent", "I need this spot cleared of the {object}."),
            ("polite", "Could you move the {object} aside, please?"),
            ("polite", "Please carry the {object} over there."),
            ("synonym", "Shift the {object} to a new spot on the table."),
        ),
        "held_out": (
            ("intent", "Make some room where the {object} is."),
            ("polite", "Would you relocate the {object} for me?"),
        ),
    },
    "inspect": {
        "train": (
            ("imperative", "Inspect the {object}."),
            ("imperative", "Pick up the {object} and look at it from all sides."),
            ("intent", "I want to check the {object} for damage."),
            ("intent", "I wonder what the underside of the {object} looks like."),
            ("polite", "Could you take a closer look at the {object}, please?"),
            ("polite", "Please examine the {object}."),
            ("synonym", "Turn the {object} over in the hand and study it."),
        ),
        "held_out": (
            ("intent", "Let's see whether the {object} is in good shape."),
            ("polite", "Would you mind checking the {object} over?"),
        ),
    },
    "handover": {
        "train": (
            ("imperative", "Pass the {object} to the other hand."),
            ("imperative", "Pick up the {object} and switch hands."),
            ("intent", "This hand is getting tired of holding the {object}."),
            ("intent", "I need the {object} in my other hand."),
            ("polite", "Could you move the {object} to the other hand, please?"),
            ("polite", "Please hand the {object} over to the other hand."),
            ("synonym", "Transfer the {object} from one hand to the other."),
        ),
        "held_out": (
            ("intent", "My other hand should hold the {object} now."),
            ("polite", "Would you swap the {object} into your other hand?"),
        ),
    },
    "twist_open": {
        "train": (
            ("imperative", "Open the {object}."),
            ("imperative", "Hold the {object} and unscrew its lid."),
            ("intent", "I want to get at what's inside the {object}."),
            ("intent", "The {object} needs to be opened."),
            ("polite", "Could you open the {object}, please?"),
            ("polite", "Please twist the lid off the {object}."),
            ("synonym", "Unscrew the top of the {object}."),
        ),
        "held_out": (
            ("intent", "I'd like to reach into the {object}."),
            ("polite", "Would you loosen the lid of the {object}?"),
        ),
    },
    "twist_close": {
        "train": (
            ("imperative", "Close the {object}."),
            ("imperative", "Hold the {object} and screw its lid on."),
            ("intent", "The {object} should not stay open."),
            ("intent", "I don't want the {object} to spill."),
            ("polite", "Could you close the {object}, please?"),
            ("polite", "Please twist the lid of the {object} shut."),
            ("synonym", "Screw the top back onto the {object}."),
        ),
        "held_out": (
            ("intent", "Keep the contents of the {object} fresh."),
            ("polite", "Would you tighten the lid of the {object}?"),
        ),
    },
    "open_close": {
        "train": (
            ("imperative", "Open the {object} and close it again."),
            ("imperative", "Open the {object}, then shut it."),
            ("intent", "I want to check inside the {object}."),
            ("intent", "I wonder what is in the {object}."),
            ("polite", "Could you open the {object} and close it afterwards, please?"),
            ("polite", "Please take a quick look inside the {object}."),
            ("synonym", "Flip the {object} open and fold it shut."),
        ),
        "held_out": (
            ("intent", "Have a peek inside the {object}."),
            ("polite", "Would you open up the {object} briefly?"),
        ),
    },
    "open_use": {
        "train": (
            ("imperative", "Open the {object} and press a key."),
            ("imperative", "Open the {object}, use it, then close it."),
            ("intent", "I need to type something on the {object}."),
            ("intent", "I have to check something on the {object}."),
            ("polite", "Could you open the {object} and press a key, please?"),
            ("polite", "Please open the {object} and tap it."),
            ("synonym", "Flip the {object} open, tap a key and shut it again."),
        ),
        "held_out": (
            ("intent", "Wake the {object} up for me."),
            ("polite", "Would you open the {object} and hit a key?"),
        ),
    },
    "carry": {
        "train": (
            ("imperative", "Carry the {object} with both hands."),
            ("imperative", "Lift the {object} with both hands and move it."),
            ("intent", "The {object} is too big for one hand."),
            ("intent", "The {object} has to go somewhere else."),
            ("polite", "Could you carry the {object} over, please?"),
            ("polite", "Please move the {object} using both hands."),
            ("synonym", "Haul the {object} to another spot with two hands."),
        ),
        "held_out": (
            ("intent", "Clear the {object} off this side of the table."),
            ("polite", "Would you bring the {object} over with both hands?"),
        ),
    },
    "press": {
        "train": (
            ("imperative", "Press the {object}."),
            ("imperative", "Tap the {object} with a finger."),
            ("intent", "I need to use the {object}."),
            ("intent", "The {object} has to be switched on."),
            ("polite", "Could you press the {object}, please?"),
            ("polite", "Please tap on the {object}."),
            ("synonym", "Push down on the {object} with one finger."),
        ),
        "held_out": (
            ("intent", "Activate the {object} for me."),
            ("polite", "Would you give the {object} a press?"),
        ),
    },
    "spray": {
        "train": (
            ("imperative", "Spray with the {object}."),
            ("imperative", "Pick up the {object} and squeeze the trigger."),
            ("intent", "These plants need some water from the {object}."),
            ("intent", "I want to spray something with the {object}."),
            ("polite", "Could you use the {object}, please?"),
            ("polite", "Please pull the trigger of the {object}."),
            ("synonym", "Squirt the {object} once."),
        ),
        "held_out": (
            ("intent", "Mist the plants with the {object}."),
            ("polite", "Would you give the {object} a squeeze?"),
        ),
    },
    "slide": {
        "train": (
            ("imperative", "Push the {object} away."),
            ("imperative", "Slide the {object} along the table."),
            ("intent", "The {object} is too close to me."),
            ("intent", "I want the {object} a bit further off."),
            ("polite", "Could you push the {object} aside, please?"),
            ("polite", "Please slide the {object} away."),
            ("synonym", "Nudge the {object} across the table."),
        ),
        "held_out": (
            ("intent", "Get the {object} out of my reach."),
            ("polite", "Would you shove the {object} over a little?"),
        ),
    },
    "cut": {
        "train": (
            ("imperative", "Cut with the {object}."),
            ("imperative", "Pick up the {object} and make a cut."),
            ("intent", "This bread needs slicing."),
            ("intent", "I want to cut something with the {object}."),
            ("polite", "Could you cut with the {object}, please?"),
            ("polite", "Please use the {object} to slice."),
            ("synonym", "Slice with the {object} and put it down."),
        ),
        "held_out": (
            ("intent", "Chop this up with the {object}."),
            ("polite", "Would you saw with the {object} for a moment?"),
        ),
    },
}

# Object part names → words ("pan_body" → "body", "ear_cups" → "ear cups").
_PART_WORDS = {
    "pan_body": "body",
    "ear_cups": "ear cups",
    "lower": "handles",
    "upper": "handles",
    "pages": "pages",
    "base": "base",
    "tab": "tab",
    "screen": "screen",
}
_HAND_PHRASES = {"left": "the left hand", "right": "the right hand", "both": "both hands"}


def _check_phrasing(phrasing: str) -> None:
    if phrasing not in PHRASINGS:
        raise InputError(f"phrasing must be one of {list(PHRASINGS)}, got {phrasing!r}")


def part_words(part: str) -> str:
    """Words for an object part name in text."""
    return _PART_WORDS.get(part, part.replace("_", " "))


def hand_words(hands: str) -> str:
    """ "with the right hand" / "with both hands"."""
    if hands not in _HAND_PHRASES:
        raise InputError(f"hands must be one of {sorted(_HAND_PHRASES)}, got {hands!r}")
    return "with " + _HAND_PHRASES[hands]


def subtask_phrasings(
    primitive: str, object_name: str, part: str, hands: str, *, phrasing: str = "train"
) -> tuple[str, ...]:
    """All phrasings of one sub-task in a template set (lower case, no final stop)."""
    _check_phrasing(phrasing)
    if primitive not in PRIMITIVES:
        raise InputError(f"primitive must be one of {list(PRIMITIVES)}, got {primitive!r}")
    values = {
        "object": object_words(object_name),
        "part": part_words(part),
        "hand": hand_words(hands),
        "hands": _HAND_PHRASES[hands],
    }
    return tuple(t.format(**values) for t in SUBTASK_TEMPLATES[primitive][phrasing])


_DOUBLED = {"get", "put", "set", "cut", "tap", "tip", "shut", "flip", "grab", "slip", "stop"}


def _gerund(clause: str) -> str:
    verb, _, rest = clause.partition(" ")
    if verb in _DOUBLED:
        verb = verb + verb[-1]
    elif verb.endswith("e") and not verb.endswith("ee"):
        verb = verb[:-1]
    return f"{verb}ing {rest}".strip()


def _multi_step(template: str, texts: Sequence[str]) -> str:
    texts = list(texts)
    rest = ", then ".join(texts[1:]) if len(texts) > 1 else "stop"
    values = {
        "first": texts[0],
        "first_ing": _gerund(texts[0]),
        "rest": rest,
        "steps_then": ", then ".join(texts),
        "steps_semicolon": "; ".join(texts),
    }
    text = template.format(**values)
    return text[0].upper() + text[1:]


def instruction_templates(kind: str, phrasing: str = "train") -> tuple[tuple[str, str], ...]:
    """(style, template) pairs of an episode kind in a template set, multi-step included."""
    _check_phrasing(phrasing)
    if kind not in INSTRUCTION_TEMPLATES:
        raise InputError(f"unknown episode kind {kind!r}; known: {sorted(INSTRUCTION_TEMPLATES)}")
    shared = tuple(("multi_step", t) for t in _MULTI_STEP[phrasing])
    return INSTRUCTION_TEMPLATES[kind][phrasing] + shared


def instruction_for(
    kind: str,
    object_name: str,
    subtask_texts: Sequence[str],
    rng: np.random.Generator,
    *,
    phrasing: str = "train",
    num_paraphrases: int = 3,
) -> tuple[str, str, tuple[str, ...]]:
    """A high-level instruction for an episode, its style and other paraphrases.

    Returns:
        (instruction, style, paraphrases): paraphrases are other templates of the same set,
        at most `num_paraphrases`, never equal to the instruction.
    """
    templates = instruction_templates(kind, phrasing)
    order = rng.permutation(len(templates))
    words = object_words(object_name)
    rendered = []
    for k in order:
        style, template = templates[int(k)]
        if style == "multi_step":
            text = _multi_step(template, subtask_texts)
        else:
            text = template.format(object=words)
        rendered.append((text, style))
    instruction, style = rendered[0]
    paraphrases = tuple(t for t, _ in rendered[1:] if t != instruction)[:num_paraphrases]
    return instruction, style, paraphrases


def plan_target_text(plan: Sequence[SubTask]) -> str:
    """The planner's target: "<text> <AFF> <text> <AFF> ..." (same as `Episode.target_text`)."""
    return " ".join(f"{step.text} {AFF_TOKEN}" for step in plan)
