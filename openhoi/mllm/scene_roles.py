"""Which scene object an instruction moves and which one it moves it towards (issue 31, part 5).

In a scene of several objects, "put the phone in the bowl" moves the phone and puts it in
the bowl; "pour from the kettle into the mug" tilts the kettle over the mug; "fill my mug
from the kettle" says the same with the objects the other way round. :func:`object_roles`
reads these roles from the instruction's words and the scene's object names alone:

- **Mentions.** Each scene object is found by its words ("spray bottle", a plural "s"
  allowed; a longer name wins over a shorter one it covers).
- **Markers.** The words just before a mention (skipping up to three others: "the",
  "my", "big blue", ...) say what the object is: after "in / into / inside" it is a
  receiver *in*, after "on / onto / on top of" *on*, after "next to / beside / near"
  *beside*; "fill / refill / top up" before it makes it the receiver of a pour; after
  "from / out of" it is where something comes from, after "with / using" the tool.
- **Roles.** The receiver is the first object with a receiving marker. With a pour
  (the instruction asks to pour or fill), an "in" receiver becomes *into* and the object
  poured from ("from the kettle", "with the kettle") is the mover; otherwise the mover is
  the first other object named, or, when only the receiver is named in a two-object
  scene, the other object ("put it in the bowl"). A receiver named by a pronoun ("put
  the cup beside it") is the other object named; the mover is then the one named last
  before the marker. Marker words of four letters or more match close misspellings.

No roles (None) when the scene has one object or the instruction names no receiver: the
planner's own choice then stands. Nothing here is learned; the rules were written from
the relation words of English and checked on the validation requests only.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from openhoi.vocab import object_words

__all__ = ["RELATIONS", "ObjectRoles", "object_mentions", "object_roles"]

# Relation → the affordance of the receiver's region that takes the object or the liquid
# (None: no region, the object stands beside the receiver).
RELATIONS: dict[str, tuple[str, ...] | None] = {
    "in": ("contain", "support"),
    "into": ("contain",),
    "on": ("support",),
    "beside": None,
}

_WORD = re.compile(r"[a-z0-9]+")
# Word sequences (read backwards from a mention) and what they make the mentioned object.
_MARKERS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("on", "top", "of"), "on"),
    (("in", "front", "of"), "beside"),
    (("inside", "of"), "in"),
    (("out", "of"), "from"),
    (("next", "to"), "beside"),
    (("close", "to"), "beside"),
    (("up", "against"), "beside"),
    (("into",), "in"),
    (("inside",), "in"),
    (("in",), "in"),
    (("within",), "in"),
    (("onto",), "on"),
    (("on",), "on"),
    (("atop",), "on"),
    (("across",), "on"),
    (("upon",), "on"),
    (("beside",), "beside"),
    (("besides",), "beside"),
    (("alongside",), "beside"),
    (("near",), "beside"),
    (("by",), "beside"),
    (("from",), "from"),
    (("with",), "with"),
    (("using",), "with"),
    (("fill",), "fill"),
    (("fills",), "fill"),
    (("filling",), "fill"),
    (("refill",), "fill"),
    (("up",), "fill_up"),  # "top up the mug", "fill up the mug"
)
_PRONOUNS = {"you", "i", "we", "u", "someone", "somebody", "they"}
# A receiver named by a pronoun after its marker ("put the cup beside it").
_RECEIVER_PRONOUNS = {"it", "them", "that", "this", "one"}
# "that is next to": a relative clause saying where an object is, not where it goes.
_RELATIVES = {"that", "which", "who", "thats"}
_STATIVES = {"is", "are", "was", "sits", "stands", "lies", "rests", "s"}
# Words after a mention that make it the receiver of a pour ("my mug topped up").
_FILLED = {"topped", "filled", "refilled"}
_FILL_UP_VERBS = {"top", "tops", "topping", "fill", "fills", "filling"}
_POUR_WORDS = re.compile(r"\b(?:pour\w*|fill\w*|refill\w*|top\w*\s+up|decant\w*|empty\w*|tip\w*)\b")
_SKIPPABLE = 3  # words between a marker and its object ("the", "my", "big blue", ...)
# Words that end a marker's reach: a marker never reads across a verb or a conjunction.
_BARRIERS = {
    "and", "then", "or", "but", "so", "put", "place", "set", "move", "pour", "take", "grab",
    "pick", "lift", "it", "them", "is", "are", "should", "go", "goes", "belongs",
}  # fmt: skip


@dataclass(frozen=True)
class ObjectRoles:
    """The mover, the receiver and how one relates to the other.

    Attributes:
        mover: index of the object the hands move (or pour from).
        target: index of the object it is moved towards (the receiver).
        relation: "in", "on", "beside" (a place) or "into" (a pour).
    """

    mover: int
    target: int
    relation: str

    @property
    def primitive(self) -> str:
        """The primitive of the step that carries the target: "pour" or "place"."""
        return "pour" if self.relation == "into" else "place"


def object_mentions(instruction: str, names: Sequence[str]) -> list[tuple[int, int, int]]:
    """`(object index, first token, end token)` of each mention, in text order.

    Tokens are the instruction's lower-case words. A plural "s" / "es" is allowed; where
    a longer name covers a shorter one's words ("spray bottle", "bottle"), only the longer
    counts.
    """
    tokens = _WORD.findall(instruction.lower())
    found: list[tuple[int, int, int]] = []
    for index, name in enumerate(names):
        words = _WORD.findall(object_words(name).lower())
        if not words:
            continue
        size = len(words)
        for start in range(len(tokens) - size + 1):
            chunk = tokens[start : start + size]
            if chunk[:-1] == words[:-1] and chunk[-1] in (words[-1], words[-1] + "s",
                                                          words[-1] + "es"):  # fmt: skip
                after = tokens[start + size] if start + size < len(tokens) else ""
                if after not in _PRONOUNS:  # "can you ..." is not the can
                    found.append((index, start, start + size))
    kept = [
        m
        for m in found
        if not any(o[1] <= m[1] and m[2] <= o[2] and o[2] - o[1] > m[2] - m[1] for o in found)
    ]
    return sorted(kept, key=lambda m: m[1])


def _same_word(token: str, word: str) -> bool:
    """Equal, or (words of four letters or more) a close misspelling ("nex" for "next")."""
    if token == word:
        return True
    if len(word) < 4 or len(token) < 3 or token[0] != word[0]:
        return False
    return difflib.SequenceMatcher(None, token, word).ratio() >= 0.8


def _is_pour(text: str) -> bool:
    """Whether the instruction asks to pour or fill (a misspelt "pur" / "poor" too)."""
    if _POUR_WORDS.search(text):
        return True
    return any(_same_word(token, "pour") for token in _WORD.findall(text))


def _marker(tokens: Sequence[str], start: int) -> str | None:
    """What the words before token `start` make the object mentioned there (or None)."""
    for skip in range(_SKIPPABLE + 1):
        end = start - skip
        if end < 0:
            return None
        if skip and tokens[end] in _BARRIERS:
            return None
        for exact in (True, False):  # an exact marker wins over a misspelt one
            for words, kind in _MARKERS:
                first = end - len(words)
                if first < 0:
                    continue
                got = tokens[first:end]
                same = (
                    got == list(words)
                    if exact
                    else all(_same_word(t, w) for t, w in zip(got, words, strict=True))
                )
                if not same:
                    continue
                if kind == "fill_up":
                    if first >= 1 and tokens[first - 1] in _FILL_UP_VERBS:
                        return "fill"
                    continue
                if _describes_where(tokens, first):
                    return None
                return kind
    return None


def _describes_where(tokens: Sequence[str], first: int) -> bool:
    """Whether the marker starting at token `first` says where something already is ("the
    knife that is next to the pan", "the cup, which sits on the book")."""
    before = tokens[max(0, first - 2) : first]
    return len(before) == 2 and before[0] in _RELATIVES and before[1] in _STATIVES


def object_roles(instruction: str, objects: Sequence[object]) -> ObjectRoles | None:
    """The roles the instruction gives the scene's objects (module docstring), or None.

    Args:
        instruction: the request.
        objects: the scene's objects (`HOIObject`s or names), in scene order.
    """
    names = [getattr(o, "name", o) for o in objects]
    if len(names) < 2:
        return None
    tokens = _WORD.findall(instruction.lower())
    mentions = object_mentions(instruction, names)
    marked = []
    for index, start, end in mentions:
        kind = _marker(tokens, start)
        if kind is None and end < len(tokens) and tokens[end] in _FILLED:
            kind = "fill"
        marked.append((index, kind))
    pour = _is_pour(instruction.lower())
    receiving = [(i, kind) for i, kind in marked if kind in ("in", "on", "beside", "fill")]
    if not receiving:
        return _pronoun_roles(tokens, mentions, pour)
    target, kind = receiving[0]
    relation = "into" if kind == "fill" or (kind == "in" and pour) else kind
    others = [i for i, _ in marked if i != target]
    if relation == "into":
        sources = [i for i, kind in marked if kind in ("from", "with") and i != target]
    else:
        sources = [i for i, kind in marked if kind == "with" and i != target]
    if sources:
        mover = sources[0]
    elif others:
        mover = others[0]
    elif len(names) == 2:
        mover = 1 - target
    else:
        return None
    return ObjectRoles(mover=mover, target=target, relation=relation)


def _pronoun_roles(tokens: Sequence[str], mentions, pour: bool) -> ObjectRoles | None:
    """Roles when the receiver is a pronoun after its marker ("put the cup beside it",
    "pour the kettle into it"): the mover is the object named last before the marker, the
    receiver the other object named."""
    for position, token in enumerate(tokens):
        if token not in _RECEIVER_PRONOUNS:
            continue
        kind = _marker(tokens, position)
        if kind not in ("in", "on", "beside"):
            continue
        before = [m for m in mentions if m[2] <= position]
        if not before:
            return None
        mover = before[-1][0]
        others = [m[0] for m in mentions if m[0] != mover]
        if not others:
            return None
        relation = "into" if kind == "in" and pour else kind
        return ObjectRoles(mover=mover, target=others[0], relation=relation)
    return None
