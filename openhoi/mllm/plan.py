"""The planner's output: a typed `Plan`, its generation format, a strict parser, a grammar.

Generation format (what the language model writes after "plan:"), one block per sub-task::

    [grasp|right|0|wrap-grasp] grasp the bottle by its body <AFF> [twist_open|both|0|open] ...

- the header `[primitive|hands|object|affordance]`: `primitive` one of
  `openhoi.data.PRIMITIVES`, `hands` one of `openhoi.data.HAND_CHOICES`, `object` a 0-based
  index into the scene's objects, `affordance` one of `openhoi.objects.AFFORDANCE_TYPES`;
- free sub-task text (non-empty, no `[`, `]` or `|`; :func:`check_step_text`);
- exactly `num_aff_tokens` `<AFF>` tokens (1 unless multi-token fusion is on); the hidden
  states at them are decoded into the sub-task's affordance mask.

Sub-tasks are `openhoi.vocab.SubTask`s throughout: parsed ones have no mask yet, a
:class:`Plan`'s have one each.

Whitespace around delimiters and inside field values is ignored (WordPiece tokenizers
decode `wrap-grasp` as `wrap - grasp`). Anything else is rejected by
:func:`parse_plan_text` with a :class:`PlanParseError` that says which sub-task, what was
expected and what was found. :class:`PlanGrammar` is the constrained-decoding automaton
over token ids that only lets a model write text this parser accepts.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from openhoi.errors import InputError
from openhoi.vocab import AFF_TOKEN, AFFORDANCE_TYPES, HAND_CHOICES, PRIMITIVES, SubTask

__all__ = [
    "AFF_TOKEN",
    "Plan",
    "PlanGrammar",
    "PlanParseError",
    "check_step_text",
    "format_header",
    "format_plan_text",
    "generation_step",
    "header_object_slot",
    "parse_plan_text",
]

_FORBIDDEN_TEXT_CHARS = "[]|"


class PlanParseError(InputError):
    """Generated text does not follow the plan format."""


def check_step_text(text: str) -> str:
    """`text` if the generation format can hold it: non-empty, without `[`, `]` or `|`.

    Raises:
        InputError: empty text or a forbidden character (`generation_step` cleans text).
    """
    if not text.strip() or any(c in text for c in _FORBIDDEN_TEXT_CHARS):
        raise InputError(
            f"sub-task text must be non-empty without '[', ']' or '|', got {text!r}; "
            "clean it with openhoi.mllm.plan.generation_step"
        )
    return text


def generation_step(subtask: SubTask, object_index: int | None = None) -> SubTask:
    """`subtask` ready for the generation format, optionally moved to another object index.

    `[`, `]` and `|` in its text become spaces and whitespace is collapsed; the mask is
    dropped (a training target's mask travels separately, in `PlannerSample.masks`).
    """
    index = subtask.object_index if object_index is None else object_index
    text = " ".join(subtask.text.translate({ord(c): " " for c in _FORBIDDEN_TEXT_CHARS}).split())
    return dataclasses.replace(subtask, object_index=index, text=check_step_text(text), mask=None)


def format_header(step: SubTask) -> str:
    """`[primitive|hands|object|affordance]` of one step."""
    return f"[{step.primitive}|{step.hands}|{step.object_index}|{step.affordance}]"


def format_plan_text(steps: Sequence[SubTask], num_aff_tokens: int = 1) -> str:
    """The generation-format text of a plan (the training target).

    Raises:
        InputError: a step's text breaks the format (see `check_step_text`).
    """
    aff = " ".join([AFF_TOKEN] * num_aff_tokens)
    return " ".join(f"{format_header(s)} {check_step_text(s.text)} {aff}" for s in steps)


_HEADER = re.compile(r"\[([^\[\]]*)\]")


def parse_plan_text(text: str, num_objects: int, num_aff_tokens: int = 1) -> tuple[SubTask, ...]:
    """Strictly parse generated text into sub-tasks.

    Args:
        text: decoded generation (special tokens other than `<AFF>` removed).
        num_objects: objects in the scene; object indices must be below it.
        num_aff_tokens: `<AFF>` tokens that must close every sub-task.

    Returns:
        The sub-tasks in order (without masks).

    Raises:
        PlanParseError: empty text, missing or malformed header, unknown field value,
            object index out of range, empty sub-task text, wrong `<AFF>` count, or
            trailing text; the message names the sub-task and what was found.
    """
    if not isinstance(text, str):
        raise PlanParseError(f"plan text must be a string, got {type(text).__name__}")
    rest = " ".join(text.split())
    if not rest:
        raise PlanParseError("generated plan is empty: expected at least one sub-task")
    steps: list[SubTask] = []
    while rest:
        number = len(steps) + 1
        if not rest.startswith("["):
            raise PlanParseError(
                f"sub-task {number}: expected a header '[primitive|hands|object|affordance]', "
                f"found {rest[:40]!r}"
            )
        match = _HEADER.match(rest)
        if match is None:
            raise PlanParseError(f"sub-task {number}: header is not closed by ']': {rest[:60]!r}")
        fields = ["".join(f.split()) for f in match.group(1).split("|")]
        if len(fields) != 4:
            raise PlanParseError(
                f"sub-task {number}: header needs 4 fields primitive|hands|object|affordance, "
                f"got {len(fields)}: {match.group(0)!r}"
            )
        primitive, hands, object_field, affordance = fields
        if primitive not in PRIMITIVES:
            raise PlanParseError(
                f"sub-task {number}: unknown primitive {primitive!r}; expected one of "
                f"{', '.join(PRIMITIVES)}"
            )
        if hands not in HAND_CHOICES:
            raise PlanParseError(
                f"sub-task {number}: hands must be one of {', '.join(HAND_CHOICES)}, got {hands!r}"
            )
        if not object_field.isdigit() or int(object_field) >= num_objects:
            raise PlanParseError(
                f"sub-task {number}: object must be an index 0..{num_objects - 1}, "
                f"got {object_field!r}"
            )
        if affordance not in AFFORDANCE_TYPES:
            raise PlanParseError(
                f"sub-task {number}: unknown affordance type {affordance!r}; expected one of "
                f"{', '.join(AFFORDANCE_TYPES)}"
            )
        rest = rest[match.end() :]
        end = rest.find(AFF_TOKEN)
        if end < 0:
            raise PlanParseError(f"sub-task {number}: text is not followed by {AFF_TOKEN}")
        step_text = rest[:end].strip()
        if not step_text:
            raise PlanParseError(f"sub-task {number}: empty text between header and {AFF_TOKEN}")
        if any(c in step_text for c in _FORBIDDEN_TEXT_CHARS):
            raise PlanParseError(
                f"sub-task {number}: text {step_text!r} contains '[', ']' or '|' "
                f"(a header without its {AFF_TOKEN}?)"
            )
        rest = rest[end:]
        count = 0
        while rest.startswith(AFF_TOKEN):
            count += 1
            rest = rest[len(AFF_TOKEN) :].lstrip()
        if count != num_aff_tokens:
            raise PlanParseError(
                f"sub-task {number}: expected {num_aff_tokens} {AFF_TOKEN} token(s), got {count}"
            )
        steps.append(
            SubTask(
                primitive=primitive,
                hands=hands,
                affordance=affordance,
                text=step_text,
                object_index=int(object_field),
            )
        )
    return tuple(steps)


@dataclass(frozen=True)
class Plan:
    """An ordered plan for one instruction over a scene of objects.

    Attributes:
        instruction: the instruction planned for.
        objects: object names (built-in name or file stem), indexed by sub-tasks.
        subtasks: ordered `SubTask`s, each with its `(P,)` mask over the points of object
            `object_index` (2048 for the planner).
        object_points: per object `(P, 3)` float32 points (canonical frame, metres) that
            the masks index, for PLY export; empty when unknown.
        dropped: requested actions that are not planned and steps the review removed,
            each with its reason (`openhoi.mllm.review.DroppedStep`).
        ungrounded: why the request could not be grounded on the scene (the plan is then a
            best guess, kept only when forced); None when it was grounded.
        source: what decomposed the instruction: "built-in" or "llm:<model>".
    """

    instruction: str
    objects: tuple[str, ...]
    subtasks: tuple[SubTask, ...]
    object_points: tuple[np.ndarray, ...] = ()
    dropped: tuple = ()
    ungrounded: str | None = None
    source: str = "built-in"

    def __post_init__(self) -> None:
        object.__setattr__(self, "objects", tuple(self.objects))
        object.__setattr__(self, "object_points", tuple(self.object_points))
        object.__setattr__(self, "subtasks", tuple(self.subtasks))
        object.__setattr__(self, "dropped", tuple(self.dropped))
        if not self.subtasks:
            raise InputError("a plan needs at least one sub-task")
        for number, sub in enumerate(self.subtasks, start=1):
            if not isinstance(sub, SubTask):
                raise InputError(
                    f"sub-task {number} must be an openhoi.vocab.SubTask, got {type(sub).__name__}"
                )
            if sub.mask is None:
                raise InputError(
                    f"sub-task {number} has no mask; a plan's sub-tasks each need their (P,) "
                    "affordance mask (SubTask(..., mask=...))"
                )
            if sub.object_index >= len(self.objects):
                raise InputError(
                    f"sub-task {number} refers to object {sub.object_index}, but the plan has "
                    f"{len(self.objects)} object(s)"
                )
            if sub.target_index is not None and sub.target_index >= len(self.objects):
                raise InputError(
                    f"sub-task {number} targets object {sub.target_index}, but the plan has "
                    f"{len(self.objects)} object(s)"
                )

    @staticmethod
    def mask_file_name(index: int) -> str:
        """File name of sub-task `index`'s mask in a plan folder."""
        return f"mask_{index:02d}.npy"

    @staticmethod
    def target_mask_file_name(index: int) -> str:
        """File name of sub-task `index`'s target-object mask in a plan folder."""
        return f"target_mask_{index:02d}.npy"

    def to_json(self) -> dict[str, object]:
        """The plan.json dict (issue 7 schema); masks are referenced by file name."""
        return {
            "instruction": self.instruction,
            "objects": list(self.objects),
            "subtasks": [
                {
                    **sub.to_dict(),
                    "mask": self.mask_file_name(i),
                    **(
                        {"target_mask": self.target_mask_file_name(i)}
                        if sub.target_mask is not None
                        else {}
                    ),
                }
                for i, sub in enumerate(self.subtasks)
            ],
            "dropped": [d.to_dict() for d in self.dropped],
            "ungrounded": self.ungrounded,
            "source": self.source,
        }

    def with_masks(self, masks: Sequence[np.ndarray]) -> Plan:
        """A copy whose sub-task masks are replaced by `masks`."""
        subs = tuple(
            dataclasses.replace(s, mask=m) for s, m in zip(self.subtasks, masks, strict=True)
        )
        return dataclasses.replace(self, subtasks=subs)


class PlanGrammar:
    """Constrained decoding over token ids: only plans that `parse_plan_text` accepts.

    The header of every sub-task is generated from a token trie built from the
    tokenisations of all valid header strings (each header is tokenised on its own, which
    is exactly how training targets are tokenised, see `PlannerModel`). Text tokens may be
    anything but special tokens and tokens containing `[`, `]` or `|`; after
    `max_text_tokens` only `<AFF>` is allowed. After the `<AFF>` block the model may end
    (EOS) or start a new header; after `max_steps` sub-tasks only EOS is allowed.

    States are small tuples; `allowed(state)` gives the token ids permitted next and
    `advance(state, token)` the next state.
    """

    def __init__(
        self,
        tokenizer: object,
        num_objects: int,
        *,
        aff_token_id: int,
        eos_token_id: int,
        num_aff_tokens: int = 1,
        max_steps: int = 8,
        max_text_tokens: int = 24,
    ) -> None:
        if num_objects < 1:
            raise InputError(f"num_objects must be >= 1, got {num_objects}")
        self.aff_token_id = int(aff_token_id)
        self.eos_token_id = int(eos_token_id)
        self.num_aff_tokens = num_aff_tokens
        self.max_steps = max_steps
        self.max_text_tokens = max_text_tokens
        self._trie = _header_trie(tokenizer, num_objects)
        self._text_ids = _text_token_ids(tokenizer)
        self._text_set = _cached_text_set(_TokenizerKey(tokenizer))
        slot = header_object_slot(tokenizer, "grasp", "right", "wrap-grasp", num_objects)
        self._object_ids = slot[1] if slot is not None and num_objects > 1 else None

    def start(self) -> tuple:
        """State before the first token: inside the header trie at its root, 0 steps done."""
        return ("header", (), 0)

    def allowed(self, state: tuple) -> list[int]:
        """Token ids that may come next in `state`."""
        kind = state[0]
        if kind == "header":
            return list(_trie_node(self._trie, state[1]).keys())
        if kind == "text":
            count = state[1]
            if count >= self.max_text_tokens:
                return [self.aff_token_id]
            return self._text_ids + ([self.aff_token_id] if count > 0 else [])
        if kind == "aff":
            return [self.aff_token_id]
        if kind == "between":
            steps = state[1]
            if steps >= self.max_steps:
                return [self.eos_token_id]
            return [self.eos_token_id, *_trie_node(self._trie, ()).keys()]
        return [self.eos_token_id]

    def accepts(self, state: tuple, token: int) -> bool:
        """Whether `token` may come next in `state` (a set lookup, unlike `allowed`)."""
        if state[0] == "text" and state[1] < self.max_text_tokens:
            return token in self._text_set or (token == self.aff_token_id and state[1] > 0)
        return token in self.allowed(state)

    def object_tokens(self, state: tuple) -> tuple[int, ...] | None:
        """Token ids of object indices 0..n-1 if the next token is a header's object field.

        None elsewhere, and in one-object scenes, where there is nothing to choose.
        """
        if self._object_ids is None or state[0] != "header":
            return None
        children = set(_trie_node(self._trie, state[1]))
        return self._object_ids if children == set(self._object_ids) else None

    def advance(self, state: tuple, token: int) -> tuple:
        """State after writing `token` (which must be allowed)."""
        kind = state[0]
        if kind == "header":
            path = (*state[1], token)
            node = _trie_node(self._trie, path)
            if not node:  # a complete header: text follows
                return ("text", 0, state[2])
            return ("header", path, state[2])
        if kind == "text":
            if token == self.aff_token_id:
                return self._after_aff(1, state[2])
            return ("text", state[1] + 1, state[2])
        if kind == "aff":
            return self._after_aff(state[1] + 1, state[2])
        if kind == "between":
            if token == self.eos_token_id:
                return ("done",)
            return self.advance(("header", (), state[1]), token)
        return ("done",)

    def _after_aff(self, count: int, steps: int) -> tuple:
        if count < self.num_aff_tokens:
            return ("aff", count, steps)
        return ("between", steps + 1)


def _trie_node(trie: dict, path: tuple[int, ...]) -> dict:
    node = trie
    for token in path:
        node = node[token]
    return node


def _header_trie(tokenizer: object, num_objects: int) -> dict:
    return _cached_header_trie(_TokenizerKey(tokenizer), num_objects)


class _TokenizerKey:
    """Hashable by identity wrapper, so tries are cached per tokenizer object."""

    def __init__(self, tokenizer: object) -> None:
        self.tokenizer = tokenizer

    def __hash__(self) -> int:
        return id(self.tokenizer)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _TokenizerKey) and other.tokenizer is self.tokenizer


@functools.lru_cache(maxsize=16)
def _cached_header_trie(key: _TokenizerKey, num_objects: int) -> dict:
    headers = [
        format_header(SubTask(primitive=p, hands=h, affordance=a, text="x", object_index=i))
        for p in PRIMITIVES
        for h in HAND_CHOICES
        for i in range(num_objects)
        for a in AFFORDANCE_TYPES
    ]
    encoded = key.tokenizer(headers, add_special_tokens=False)["input_ids"]
    trie: dict = {}
    for ids in encoded:
        node = trie
        for token in ids:
            node = node.setdefault(int(token), {})
        if node:
            raise InputError(
                "the tokenizer makes one plan header a prefix of another; constrained "
                "decoding needs prefix-free header tokenisations"
            )
    return trie


@functools.lru_cache(maxsize=16)
def _cached_text_ids(key: _TokenizerKey) -> tuple[int, ...]:
    tokenizer = key.tokenizer
    special = set(tokenizer.all_special_ids)
    tokens = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    allowed = []
    for index, token in enumerate(tokens):
        if index in special or token is None:
            continue
        if any(c in token for c in _FORBIDDEN_TEXT_CHARS) or token.startswith("<"):
            continue
        if token.startswith("[") or "unused" in token:
            continue
        allowed.append(index)
    return tuple(allowed)


@functools.lru_cache(maxsize=16)
def _cached_text_set(key: _TokenizerKey) -> frozenset[int]:
    return frozenset(_cached_text_ids(key))


def header_object_slot(
    tokenizer: object, primitive: str, hands: str, affordance: str, num_objects: int
) -> tuple[int, tuple[int, ...]] | None:
    """Where a header's object index sits among its tokens, and its token per index.

    Returns `(position, (token of index 0, token of index 1, ...))` for headers
    `[primitive|hands|i|affordance]`, i < max(2, num_objects), when they tokenise to the same
    length and differ in exactly one position; None when the tokenizer merges the index
    with its neighbours (then the object is left to the language model).
    """
    return _cached_object_slot(_TokenizerKey(tokenizer), primitive, hands, affordance, num_objects)


@functools.lru_cache(maxsize=4096)
def _cached_object_slot(
    key: _TokenizerKey, primitive: str, hands: str, affordance: str, num_objects: int
) -> tuple[int, tuple[int, ...]] | None:
    headers = [
        format_header(
            SubTask(
                primitive=primitive, hands=hands, affordance=affordance, text="x", object_index=i
            )
        )
        for i in range(max(2, num_objects))
    ]
    variants = key.tokenizer(headers, add_special_tokens=False)["input_ids"]
    if len({len(v) for v in variants}) != 1:
        return None
    differ = [p for p in range(len(variants[0])) if len({int(v[p]) for v in variants}) > 1]
    if len(differ) != 1 or len({int(v[differ[0]]) for v in variants}) != len(variants):
        return None
    position = differ[0]
    return position, tuple(int(v[position]) for v in variants[:num_objects])


def _text_token_ids(tokenizer: object) -> list[int]:
    return list(_cached_text_ids(_TokenizerKey(tokenizer)))
