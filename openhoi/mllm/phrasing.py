"""Instruction variety for planner scenes: extra training paraphrases and hand cues.

SynthHOI's instruction templates (`openhoi.synth.language`) give each episode kind
seven training phrasings. That is enough to name the kind for the motion data, but a
planner trained on only those learns the sentences rather than the requests: on the
held-out phrasings its most common error was the wrong kind of plan ("Have a peek inside
the book" → a twist-open plan). `EXTRA_INSTRUCTIONS` adds ten more per kind, used only by
planner training (`SceneSampler(paraphrase_probability=...)`), so the SynthHOI data and its
random streams stay as they are. None repeats a held-out template or its key words
("peek", "mist", "shove", ...), so the held-out evaluation stays held out.

Hand cues. SynthHOI draws an episode's dominant hand at random (right with probability
0.65) and most instruction templates do not say which, so for those scenes the target's
hand field was a coin the planner could not see. `with_hand_cue` makes the scene state it
whenever it is not the default: a left-handed scene always gets a cue ("Use the left
hand."), a right-handed one sometimes; with no cue, right is the answer — the convention a
user typing "open the bottle" expects. Training and held-out cue sentences differ.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from openhoi.errors import InputError

__all__ = [
    "COARSE_QUESTIONS",
    "EXTRA_INSTRUCTIONS",
    "HAND_CUES",
    "extra_instruction",
    "names_hand",
    "with_hand_cue",
]

# Ten training-only paraphrases per SynthHOI episode kind ({object}: the object's words).
EXTRA_INSTRUCTIONS: dict[str, tuple[str, ...]] = {
    "drink": (
        "Have a drink from the {object}.",
        "I need something to drink.",
        "Can you take a swig from the {object}?",
        "Grab the {object} and have a sip.",
        "Time for a drink from the {object}.",
        "I'd like a mouthful of what's in the {object}.",
        "Let me quench my thirst with the {object}.",
        "Would you sip from the {object}?",
        "Lift the {object} to your mouth and drink.",
        "I'm parched, give me a drink.",
    ),
    "pour": (
        "Empty the {object}.",
        "Pour whatever is in the {object} into the sink.",
        "Can you pour some out of the {object}?",
        "I'd like you to pour from the {object}.",
        "Drain the {object}.",
        "Tilt the {object} until it is empty.",
        "Let the contents of the {object} run out.",
        "Would you pour the {object} out?",
        "Fill a glass from the {object}.",
        "The {object} is full, pour it out.",
    ),
    "shake": (
        "Give the {object} a good shake.",
        "Shake up the {object}.",
        "Can you shake the {object} a few times?",
        "Rattle the {object}.",
        "Would you shake the {object} for me?",
        "The {object} needs a shake before use.",
        "Swirl the {object} around by shaking it.",
        "I want the {object} shaken.",
        "Pick the {object} up and shake it hard.",
        "Stir the contents of the {object} by shaking it.",
    ),
    "relocate": (
        "Put the {object} somewhere else.",
        "Can you move the {object} over there?",
        "Take the {object} and set it down further away.",
        "The {object} should be on the other side.",
        "Would you move the {object} a bit?",
        "I'd like the {object} in a different place.",
        "Pick the {object} up and place it elsewhere.",
        "The {object} is blocking me.",
        "Reposition the {object}.",
        "Shift the {object} over, please.",
    ),
    "inspect": (
        "Take a look at the {object}.",
        "Have a look at the {object} from every angle.",
        "Can you check the {object}?",
        "I want to see the bottom of the {object}.",
        "Would you study the {object} closely?",
        "Hold up the {object} and rotate it to look at it.",
        "Let me see the {object} up close.",
        "Examine the {object} carefully.",
        "Is the {object} scratched anywhere?",
        "Show me every side of the {object}.",
    ),
    "cut": (
        "Slice something with the {object}.",
        "Use the {object} to cut this.",
        "Can you cut with the {object}?",
        "Make a slice with the {object}.",
        "I need this cut in half.",
        "Would you cut with the {object}?",
        "Take the {object} and slice the bread.",
        "The cheese needs cutting with the {object}.",
        "Carve with the {object}.",
        "Trim this with the {object}.",
    ),
    "handover": (
        "Move the {object} into the other hand.",
        "Can you pass the {object} from one hand to the other?",
        "Switch the {object} to the other hand.",
        "Would you pass the {object} across to your other hand?",
        "Let the other hand take the {object}.",
        "Change hands with the {object}.",
        "Give the {object} to your other hand.",
        "I want to hold the {object} in the opposite hand.",
        "Shift the {object} from one hand into the other.",
        "Hand the {object} across.",
    ),
    "carry": (
        "Pick up the {object} with two hands and carry it.",
        "Can you carry the {object} using both hands?",
        "Move the {object} with both hands.",
        "The {object} is heavy, use two hands.",
        "Would you lift the {object} with both hands and put it elsewhere?",
        "Take the {object} in both hands and move it.",
        "Heave the {object} over to another spot.",
        "I need the {object} moved; it is bulky.",
        "Use both hands to transport the {object}.",
        "Lug the {object} somewhere else.",
    ),
    "open_close": (
        "Open the {object} and then close it.",
        "Can you open the {object} and shut it again?",
        "Flip up the lid of the {object} and close it again.",
        "See what is inside the {object}.",
        "Would you open the {object} and close it?",
        "Open the {object} for a moment.",
        "Check what is in the {object}, then close it.",
        "Pop the {object} open and shut it.",
        "I'd like to see inside the {object}.",
        "Open and close the {object}.",
    ),
    "open_use": (
        "Open the {object} and type something.",
        "Can you open the {object} and press a key?",
        "I want to send an email on the {object}.",
        "Would you open the {object} and tap a key?",
        "Flip up the {object} and use it.",
        "Turn on the {object} and type.",
        "Open the {object} to do some work.",
        "Open the {object} and press something on it.",
        "Let me type on the {object}.",
        "Use the {object}, then shut it.",
    ),
    "press": (
        "Push the {object}.",
        "Press down on the {object}.",
        "Can you tap the {object}?",
        "Would you press on the {object}?",
        "Switch on the {object}.",
        "Turn the {object} on.",
        "Give the {object} a tap.",
        "I want the {object} pressed.",
        "Poke the {object} with a finger.",
        "Hit the {object} once.",
    ),
    "spray": (
        "Use the {object} to spray.",
        "Can you spray with the {object}?",
        "Pull the trigger on the {object}.",
        "Spray some water with the {object}.",
        "Would you spray the {object} once?",
        "Water the flowers with the {object}.",
        "Pick up the {object} and press its trigger.",
        "Fire a spray from the {object}.",
        "I need to spray the table with the {object}.",
        "Give a spray with the {object}.",
    ),
    "slide": (
        "Slide the {object} away from me.",
        "Push the {object} to the side.",
        "Can you push the {object} along?",
        "Would you push the {object} away?",
        "Move the {object} by pushing it.",
        "Scoot the {object} over.",
        "Push the {object} a little further.",
        "I don't want the {object} so near me.",
        "Slide the {object} across without lifting it.",
        "Give the {object} a push.",
    ),
    "twist_open": (
        "Unscrew the {object}.",
        "Can you open the {object}?",
        "Twist the cap off the {object}.",
        "Would you unscrew the lid of the {object}?",
        "Take the lid off the {object}.",
        "I need the {object} open.",
        "Remove the cap of the {object}.",
        "Open up the {object} by twisting its lid.",
        "I want what is in the {object}.",
        "Screw the lid off the {object}.",
    ),
    "twist_close": (
        "Screw the lid onto the {object}.",
        "Can you close the {object}?",
        "Put the cap back on the {object}.",
        "Would you screw the {object} shut?",
        "Twist the cap of the {object} closed.",
        "Seal the {object}.",
        "The {object} is still open.",
        "Close the lid of the {object} by twisting it.",
        "Make sure the {object} won't leak.",
        "Cap the {object}.",
    ),
}

# Sentences that name the dominant hand, per template set.
HAND_CUES: dict[str, dict[str, tuple[str, ...]]] = {
    "train": {
        "left": (
            "Use the left hand.",
            "Do it with your left hand.",
            "I'm left-handed.",
            "Left hand, please.",
            "Go with the left hand.",
        ),
        "right": (
            "Use the right hand.",
            "Do it with your right hand.",
            "I'm right-handed.",
            "Right hand, please.",
            "Go with the right hand.",
        ),
    },
    "held_out": {
        "left": ("Lead with your left hand.", "My left hand should do this."),
        "right": ("Lead with your right hand.", "My right hand should do this."),
    },
}

_HAND_WORD = re.compile(r"\b(left|right|both hands|two hands)\b", re.IGNORECASE)


def names_hand(instruction: str) -> bool:
    """Whether an instruction already says which hand(s) act."""
    return _HAND_WORD.search(instruction) is not None


def extra_instruction(kind: str, object_words: str, rng: np.random.Generator) -> str:
    """One of `EXTRA_INSTRUCTIONS[kind]` for an object, chosen with `rng`."""
    if kind not in EXTRA_INSTRUCTIONS:
        raise InputError(f"unknown episode kind {kind!r}; known: {sorted(EXTRA_INSTRUCTIONS)}")
    templates = EXTRA_INSTRUCTIONS[kind]
    return templates[int(rng.integers(len(templates)))].format(object=object_words)


def with_hand_cue(
    instruction: str,
    main_hand: str,
    hands: Sequence[str],
    rng: np.random.Generator,
    *,
    phrasing: str = "train",
    right_probability: float = 0.3,
) -> str:
    """`instruction` with a sentence naming the dominant hand, where the scene needs one.

    Args:
        instruction: the scene's instruction.
        main_hand: "left" or "right", the episode's dominant hand.
        hands: the plan's per-step hands; a plan done with both hands throughout needs no cue.
        rng: random source (cue choice, and whether a right-handed scene gets one).
        phrasing: "train" or "held_out" cue sentences.
        right_probability: share of right-handed scenes that get a cue anyway.

    Returns the instruction unchanged when it already names a hand, when every step uses
    both hands, or for a right-handed scene that draws no cue; otherwise the instruction
    with a cue sentence after it (training cues also go before it, half of the time).
    """
    if main_hand not in ("left", "right"):
        raise InputError(f"main_hand must be 'left' or 'right', got {main_hand!r}")
    if phrasing not in HAND_CUES:
        raise InputError(f"phrasing must be one of {sorted(HAND_CUES)}, got {phrasing!r}")
    if names_hand(instruction) or all(h == "both" for h in hands):
        return instruction
    if main_hand == "right" and rng.random() >= right_probability:
        return instruction
    cues = HAND_CUES[phrasing][main_hand]
    cue = cues[int(rng.integers(len(cues)))]
    if phrasing == "train" and rng.random() < 0.5:
        return f"{cue} {instruction}"
    return f"{instruction} {cue}"


# Coarse questions per affordance type: (primitive, verb phrase, question templates).
COARSE_QUESTIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "grasp": (
        "grasp",
        "grasp the {o}",
        ("where would you grasp the {o}?", "where do I hold the {o}?"),
    ),
    "wrap-grasp": (
        "grasp",
        "wrap a hand around the {o}",
        (
            "where can a hand wrap around the {o}?",
            "where would you grip the {o} with the whole hand?",
        ),
    ),
    "lift": (
        "lift",
        "lift the {o}",
        ("where would you lift the {o}?", "which part do you take to pick up the {o}?"),
    ),
    "contain": (
        "pour",
        "fill the {o}",
        ("which part of the {o} holds things?", "where does the {o} contain liquid?"),
    ),
    "pour": (
        "pour",
        "pour from the {o}",
        ("where would you pour from the {o}?", "where does liquid leave the {o}?"),
    ),
    "open": (
        "open",
        "open the {o}",
        ("where would you open the {o}?", "which part opens the {o}?"),
    ),
    "support": (
        "place",
        "rest things on the {o}",
        ("where does the {o} support things?", "which surface of the {o} can hold objects?"),
    ),
    "press": (
        "press",
        "press the {o}",
        ("where would you press the {o}?", "which part of the {o} is pressed?"),
    ),
    "push": (
        "push",
        "push the {o}",
        ("where would you push the {o}?", "which part of the {o} is used to push?"),
    ),
    "pull": (
        "open",
        "pull the {o}",
        ("where would you pull the {o}?", "which part of the {o} is pulled?"),
    ),
    "cut": (
        "cut",
        "cut with the {o}",
        ("which part of the {o} cuts?", "where is the cutting edge of the {o}?"),
    ),
    "stab": (
        "cut",
        "stab with the {o}",
        ("which part of the {o} stabs?", "where is the point of the {o}?"),
    ),
    "display": (
        "rotate",
        "look at the {o}",
        ("where does the {o} display things?", "which part of the {o} shows content?"),
    ),
    "listen": ("move", "listen with the {o}", ("which part of the {o} do you listen with?",)),
    "wear": ("move", "wear the {o}", ("where would you wear the {o}?",)),
}
