"""Any LLM as the planner's front end (issue 31, part 3): `--planner-llm PATH_OR_URL`.

An external language model decomposes the instruction into our sub-task grammar; the
built-in 3D planner then grounds each sub-task's `<AFF>` mask on the object's points
(`Planner.ground_masks`: the planner's mask head, teacher-forced on the sub-task list)
after the usual review (`openhoi.mllm.review`: scene names, parts, dropped steps).

Sources (:func:`load_llm_backend`):

- an **http(s) URL**: an OpenAI-compatible chat endpoint. The request is
  `POST <url>/v1/chat/completions` (the URL may already end in `/v1` or
  `/v1/chat/completions`) with `{"model": ..., "messages": [...], "temperature": 0}`;
  the model name comes from `--llm-model` or `$OPENHOI_LLM_MODEL`, the key (sent as
  `Authorization: Bearer ...` when set) from `$OPENAI_API_KEY`. Standard library only
  (`urllib`); nothing is contacted unless a URL is given.
- a **local folder** holding a Hugging Face causal LM (`config.json`, weights, tokenizer):
  loaded with `transformers` from disk only, prompted through its chat template when it
  has one (else "System: ... User: ... Assistant:"), decoded greedily. Its reply is
  started for it with `{"subtasks": [{"primitive": "` (`JSON_PREFILL`), so a small model
  continues the JSON object instead of answering in prose.

The prompt. The system message (:func:`system_prompt`) gives the output schema and the
scene::

    You turn a request for two hands into an ordered list of sub-tasks.
    Reply with one JSON object and nothing else:
    {"subtasks": [{"primitive": P, "hands": H, "object": O, "affordance": A, "text": T}, ...]}
    P: one of grasp, lift, place, ...   (each with a one-line meaning)
    H: one of left, right, both (right when the request does not say)
    O: one of the scene's object names: "mug", "bottle"
    A: the affordance type the hands touch: one of grasp, contain, ...
    T: a short imperative sentence for the step, using the object's name and only its parts.
    Objects in the scene: mug (parts: body, handle; affordances: grasp, contain, ...)
    Conventions: holding actions start with grasp then lift and end with place; ...

The user message is the instruction. The reply is parsed as JSON and validated
(:func:`validate_llm_plan`: known primitive / hands / affordance, an object of this scene,
non-empty text, 1..`max_steps` steps). An invalid reply is sent back with the validation
error ("Your reply was not a valid plan: sub-task 2: unknown primitive 'pick_up' ... Reply
again with the JSON object only.") up to `max_retries` times. After that the last reply is
parsed **constrained** (:func:`closest_plan`): each field is mapped to the closest valid
value, and where the reply holds no usable step at all, the actions the instruction names
(`review.requested_actions`) become the steps; if that is empty too,
:class:`LLMPlanError` says so (the CLI prints it and exits 2).
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from openhoi.errors import InputError, MissingFileError
from openhoi.vocab import AFFORDANCE_TYPES, HAND_CHOICES, PRIMITIVES, SubTask, object_words

__all__ = [
    "ChatEndpoint",
    "LLMDecomposition",
    "LLMFrontEndConfig",
    "LLMPlanError",
    "LLMPlanner",
    "LocalCausalLM",
    "closest_plan",
    "load_llm_backend",
    "load_llm_planner",
    "system_prompt",
    "validate_llm_plan",
]

logger = logging.getLogger(__name__)

MODEL_ENV = "OPENHOI_LLM_MODEL"
# A local model's reply starts with this text (written for it, then generation continues).
JSON_PREFILL = '{"subtasks": [{"primitive": "'
API_KEY_ENV = "OPENAI_API_KEY"

# One line per primitive, for the prompt.
PRIMITIVE_MEANINGS: dict[str, str] = {
    "grasp": "close the hand(s) on the object",
    "lift": "raise the held object off the table",
    "place": "put the held object back down and let go",
    "move": "carry the held object to another spot",
    "rotate": "turn the held object to look at it",
    "pour": "tilt the held object to pour out its contents",
    "drink": "bring the held object to the mouth and drink",
    "twist_open": "twist a screw lid or cap open",
    "twist_close": "twist a screw lid or cap shut",
    "open": "open a hinged lid, cover or screen",
    "close": "close a hinged lid, cover or screen",
    "press": "press or tap a button, key, screen or trigger with a finger",
    "push": "push or slide the object along the table",
    "handover": "pass the held object to the other hand",
    "cut": "make a cutting stroke with a held blade",
    "shake": "shake the held object",
}

# Words an LLM may write for a primitive (constrained fallback).
_PRIMITIVE_SYNONYMS: dict[str, str] = {
    "pick": "grasp",
    "pick_up": "grasp",
    "pickup": "grasp",
    "grab": "grasp",
    "hold": "grasp",
    "raise": "lift",
    "put_down": "place",
    "put": "place",
    "set_down": "place",
    "carry": "move",
    "relocate": "move",
    "inspect": "rotate",
    "turn": "rotate",
    "sip": "drink",
    "unscrew": "twist_open",
    "screw": "twist_close",
    "tap": "press",
    "slide": "push",
    "pass": "handover",
    "hand_over": "handover",
    "slice": "cut",
}


class LLMPlanError(InputError):
    """The LLM front end produced no usable plan (or could not be reached)."""


@dataclass(frozen=True)
class LLMFrontEndConfig:
    """How the LLM front end is asked.

    Attributes:
        source: a local Hugging Face causal-LM folder or an http(s) chat endpoint URL.
        model: model name sent to an endpoint (default `$OPENHOI_LLM_MODEL`, else "default").
        api_key: bearer key for an endpoint (default `$OPENAI_API_KEY`; None: no header).
        max_retries: invalid replies sent back with the error before the constrained parse.
        timeout_s: seconds to wait for an endpoint's reply.
        max_new_tokens: reply budget of a local model.
        max_steps: most sub-tasks in a plan.
    """

    source: str
    model: str | None = None
    api_key: str | None = None
    max_retries: int = 2
    timeout_s: float = 60.0
    max_new_tokens: int = 384
    max_steps: int = 8

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not self.source.strip():
            raise InputError("--planner-llm needs a model folder or an http(s) URL, got ''")
        if not 0 <= self.max_retries <= 10:
            raise InputError(f"max_retries must be 0..10, got {self.max_retries}")
        if self.timeout_s <= 0 or self.max_new_tokens < 1 or self.max_steps < 1:
            raise InputError(
                "timeout_s must be > 0 and max_new_tokens, max_steps >= 1, got "
                f"{self.timeout_s}, {self.max_new_tokens}, {self.max_steps}"
            )

    @property
    def is_url(self) -> bool:
        """Whether `source` is an http(s) endpoint."""
        return self.source.startswith(("http://", "https://"))


# ------------------------------------------------------------------------------ prompt
def system_prompt(objects: Sequence[object], max_steps: int = 8) -> str:
    """The system message: output schema, primitives, the scene (module docstring)."""
    names = [object_words(o.name) for o in objects]
    lines = [
        "You turn a request for two hands into an ordered list of sub-tasks.",
        "Reply with one JSON object and nothing else:",
        '{"subtasks": [{"primitive": P, "hands": H, "object": O, "affordance": A, '
        '"text": T}, ...]}',
        f"with 1 to {max_steps} sub-tasks, where",
        "P is one of:",
        *(f"  {p}: {PRIMITIVE_MEANINGS[p]}" for p in PRIMITIVES),
        f"H is one of {', '.join(HAND_CHOICES)} (right when the request does not say);",
        "O is one of the scene's object names: " + ", ".join(json.dumps(n) for n in names) + ";",
        f"A is the affordance type the hands touch, one of {', '.join(AFFORDANCE_TYPES)};",
        "T is a short imperative sentence for the step, using the object's name and only "
        "parts it has.",
        "Objects in the scene:",
    ]
    for obj, name in zip(objects, names, strict=True):
        parts = ", ".join(p.replace("_", " ") for p in obj.part_names)
        affordances = ", ".join(obj.affordance_names) or "unknown"
        lines.append(f"  {name} (parts: {parts}; affordances: {affordances})")
    lines += [
        "Conventions: an action on a held object starts with grasp then lift and ends with "
        "place; twist_open and twist_close need a part with the 'open' affordance; plan "
        "every step the request asks for, in its order, and nothing it does not ask for.",
    ]
    return "\n".join(lines)


def _retry_message(error: str) -> str:
    return (
        f"Your reply was not a valid plan: {error}. Reply again with the JSON object only, "
        "following the schema exactly."
    )


# -------------------------------------------------------------------------- validation
def _object_index(value: object, names: Sequence[str]) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return value
    if isinstance(value, str):
        key = value.strip().lower().replace("_", " ")
        for index, name in enumerate(names):
            if key == name.lower():
                return index
    return None


def _json_object(reply: str) -> object:
    """The JSON value in a reply: the whole text, a fenced block, or the outermost {...}."""
    text = reply.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    candidates = [text] + ([fenced.group(1)] if fenced else [])
    if "{" in text and "}" in text:
        candidates.append(text[text.index("{") : text.rindex("}") + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            continue
    raise LLMPlanError(f"the reply is not JSON (starts {text[:60]!r})")


def validate_llm_plan(
    reply: str, objects: Sequence[object], max_steps: int = 8
) -> tuple[SubTask, ...]:
    """Strictly parse an LLM reply into sub-tasks (the schema of :func:`system_prompt`).

    Raises:
        LLMPlanError: the first problem, naming the sub-task, the field, the allowed
            values and what was found (it is sent back to the LLM on a retry).
    """
    names = [object_words(o.name) for o in objects]
    data = _json_object(reply)
    if not isinstance(data, dict) or not isinstance(data.get("subtasks"), list):
        raise LLMPlanError('expected a JSON object with a "subtasks" list')
    items = data["subtasks"]
    if not 1 <= len(items) <= max_steps:
        raise LLMPlanError(f'"subtasks" must hold 1..{max_steps} sub-tasks, got {len(items)}')
    steps = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise LLMPlanError(f"sub-task {number} must be a JSON object, got {item!r}")
        checks = (
            ("primitive", PRIMITIVES),
            ("hands", HAND_CHOICES),
            ("affordance", AFFORDANCE_TYPES),
        )
        for key, allowed in checks:
            if item.get(key) not in allowed:
                raise LLMPlanError(
                    f"sub-task {number}: {key} must be one of {', '.join(allowed)}, "
                    f"got {item.get(key)!r}"
                )
        index = _object_index(item.get("object"), names)
        if index is None:
            raise LLMPlanError(
                f"sub-task {number}: object must be one of {', '.join(map(json.dumps, names))}, "
                f"got {item.get('object')!r}"
            )
        text = item.get("text")
        if not isinstance(text, str) or not text.strip():
            raise LLMPlanError(f"sub-task {number}: text must be a non-empty string")
        text = " ".join(text.translate({ord(c): " " for c in "[]|"}).split())
        steps.append(SubTask(item["primitive"], item["hands"], item["affordance"], text, index))
    return tuple(steps)


def _closest(value: object, allowed: Sequence[str], synonyms: dict[str, str] | None = None):
    if not isinstance(value, str):
        return None
    key = "_".join(value.strip().lower().replace("-", "_").split())
    if key in allowed:
        return key
    if synonyms and key in synonyms:
        return synonyms[key]
    if key.replace("_", "-") in allowed:
        return key.replace("_", "-")
    match = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
    return match[0] if match else None


def closest_plan(
    reply: str, instruction: str, objects: Sequence[object], max_steps: int = 8
) -> tuple[SubTask, ...]:
    """Constrained parse: the closest valid sub-tasks to an invalid reply.

    1. If the reply holds JSON step objects, each field is mapped to the closest allowed
       value (synonyms such as "pick_up" → grasp, then string similarity); a step without
       a recognisable primitive is skipped; a missing object is the one the instruction
       names (else the first), missing hands "right", a missing affordance the one the
       primitive touches on that object.
    2. Else primitive names (and synonyms) written in the reply's text are taken in order.
    3. Else the actions the instruction names (`review.requested_actions`).

    Raises:
        LLMPlanError: none of these yields a step.
    """
    from openhoi.mllm.review import default_affordance, requested_actions

    names = [object_words(o.name) for o in objects]
    lowered = instruction.lower()
    named = [i for i, n in enumerate(names) if re.search(rf"\b{re.escape(n.lower())}", lowered)]
    default_object = named[0] if named else 0
    hand = next((h for h in ("both", "left") if re.search(rf"\b{h}\b", lowered)), "right")

    def step(primitive: str, hands: object, index: object, affordance: object) -> SubTask:
        index = _object_index(index, names)
        index = default_object if index is None else index
        hands = _closest(hands, HAND_CHOICES) or hand
        affordance = _closest(affordance, AFFORDANCE_TYPES) or default_affordance(
            primitive, objects[index]
        )
        return SubTask(primitive, hands, affordance, f"{primitive} the {names[index]}", index)

    steps: list[SubTask] = []
    try:
        data = _json_object(reply)
    except LLMPlanError:
        data = None
    items = data.get("subtasks") if isinstance(data, dict) else data
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict):
                primitive = _closest(item.get("primitive"), PRIMITIVES, _PRIMITIVE_SYNONYMS)
                if primitive is not None:
                    steps.append(
                        step(
                            primitive, item.get("hands"), item.get("object"), item.get("affordance")
                        )
                    )
    if not steps:
        words = re.findall(r"[a-z_]+", reply.lower())
        for word in words:
            primitive = word if word in PRIMITIVES else _PRIMITIVE_SYNONYMS.get(word)
            if primitive is not None:
                steps.append(step(primitive, None, None, None))
    if not steps:
        for action in requested_actions(instruction):
            steps.append(step(action.primitives[0], None, None, None))
    if not steps:
        raise LLMPlanError(
            f"the LLM's reply holds no usable sub-task and {instruction!r} names no action "
            "this planner knows"
        )
    return tuple(steps[:max_steps])


# ----------------------------------------------------------------------------- backends
class ChatEndpoint:
    """An OpenAI-compatible chat endpoint, called with urllib (module docstring)."""

    def __init__(self, url: str, model: str, api_key: str | None, timeout_s: float) -> None:
        base = url.rstrip("/")
        if base.endswith("/chat/completions"):
            self.url = base
        elif base.endswith("/v1"):
            self.url = base + "/chat/completions"
        else:
            self.url = base + "/v1/chat/completions"
        self.model = model
        self.api_key = api_key
        self.timeout_s = timeout_s

    @property
    def name(self) -> str:
        """The model name sent to the endpoint."""
        return self.model

    def complete(self, messages: Sequence[dict[str, str]]) -> str:
        """The assistant's reply text to `messages`.

        Raises:
            LLMPlanError: the endpoint cannot be reached or answers without a reply.
        """
        body = json.dumps(
            {"model": self.model, "messages": list(messages), "temperature": 0}
        ).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                payload = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise LLMPlanError(
                f"LLM endpoint {self.url} answered HTTP {exc.code} ({exc.reason}); check "
                f"the URL, --llm-model / ${MODEL_ENV} and ${API_KEY_ENV}"
            ) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise LLMPlanError(f"cannot reach LLM endpoint {self.url}: {reason}") from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise LLMPlanError(f"LLM endpoint {self.url} did not answer with JSON") from exc
        try:
            return str(payload["choices"][0]["message"]["content"])
        except (KeyError, IndexError, TypeError) as exc:
            raise LLMPlanError(
                f"LLM endpoint {self.url} answered without choices[0].message.content"
            ) from exc


class LocalCausalLM:
    """A Hugging Face causal LM in a local folder, decoded greedily (module docstring)."""

    def __init__(self, folder: str | os.PathLike, max_new_tokens: int) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = Path(folder)
        if not (path / "config.json").is_file():
            raise MissingFileError(
                f"--planner-llm {str(path)!r} is neither an http(s) URL nor a folder with a "
                "Hugging Face causal LM (config.json, weights, tokenizer)"
            )
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            self.model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            raise LLMPlanError(f"cannot load a causal LM from {str(path)!r}: {exc}") from exc
        self.model.eval()
        self.max_new_tokens = max_new_tokens
        self._name = path.name

    @property
    def name(self) -> str:
        """The folder's name."""
        return self._name

    def _prompt(self, messages: Sequence[dict[str, str]]) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(
                list(messages), tokenize=False, add_generation_prompt=True
            )
        turns = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
        return "\n\n".join(turns) + "\n\nAssistant:"

    def complete(self, messages: Sequence[dict[str, str]]) -> str:
        """The model's greedy continuation of the chat."""
        import torch

        # The reply is started for the model ("prefilled"): small local models that would
        # answer in prose then continue the JSON object instead.
        encoded = self.tokenizer(self._prompt(messages) + JSON_PREFILL, return_tensors="pt")
        limit = getattr(self.model.config, "max_position_embeddings", None) or getattr(
            self.model.config, "n_positions", None
        )
        ids = encoded["input_ids"]
        budget = self.max_new_tokens
        if limit is not None:
            budget = max(1, min(budget, limit // 2))
            ids = ids[:, -(limit - budget) :]
        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = self.tokenizer.eos_token_id
        with torch.no_grad():
            out = self.model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=budget,
                do_sample=False,
                pad_token_id=pad,
            )
        return JSON_PREFILL + self.tokenizer.decode(
            out[0, ids.shape[1] :], skip_special_tokens=True
        )


def load_llm_backend(config: LLMFrontEndConfig) -> ChatEndpoint | LocalCausalLM:
    """The backend `config.source` names: a chat endpoint (URL) or a local model folder."""
    if config.is_url:
        model = config.model or os.environ.get(MODEL_ENV) or "default"
        key = config.api_key if config.api_key is not None else os.environ.get(API_KEY_ENV)
        return ChatEndpoint(config.source, model, key, config.timeout_s)
    if not Path(config.source).is_dir():
        raise MissingFileError(
            f"--planner-llm {config.source!r} is neither an http(s) URL nor an existing "
            "model folder"
        )
    return LocalCausalLM(config.source, config.max_new_tokens)


# ---------------------------------------------------------------------------- planner
@dataclass(frozen=True)
class LLMDecomposition:
    """What the LLM wrote: the steps taken and how they were obtained."""

    steps: tuple[SubTask, ...]
    attempts: int  # replies asked for
    constrained: bool  # the steps come from the constrained parse
    errors: tuple[str, ...]  # validation error of each invalid reply


class LLMPlanner:
    """A `Planner` whose instruction decomposition comes from an LLM.

    The built-in planner still checks the request, reviews the steps and grounds each
    sub-task's mask on the points (`Planner.finish`); `plan` has the same signature and
    errors as `Planner.plan` (plus :class:`LLMPlanError`).

    Args:
        planner: the built-in `Planner` (mask head, review, grounding policy).
        backend: a :class:`ChatEndpoint` or :class:`LocalCausalLM` (anything with
            `complete(messages) -> str` and a `name`).
        config: retries and limits.
    """

    def __init__(self, planner: object, backend: object, config: LLMFrontEndConfig) -> None:
        self.planner = planner
        self.backend = backend
        self.config = config

    @property
    def model(self) -> object:
        """The built-in planner network (grounds the masks)."""
        return self.planner.model

    def decompose(self, instruction: str, objects: Sequence[object]) -> LLMDecomposition:
        """Ask the LLM for sub-tasks, retry with the validation error, else constrain."""
        messages = [
            {"role": "system", "content": system_prompt(objects, self.config.max_steps)},
            {"role": "user", "content": instruction},
        ]
        errors: list[str] = []
        reply = ""
        for attempt in range(1, self.config.max_retries + 2):
            reply = self.backend.complete(messages)
            try:
                steps = validate_llm_plan(reply, objects, self.config.max_steps)
            except (LLMPlanError, InputError) as exc:
                errors.append(str(exc))
                logger.info("LLM reply %d invalid: %s", attempt, exc)
                messages = [
                    *messages,
                    {"role": "assistant", "content": reply},
                    {"role": "user", "content": _retry_message(str(exc))},
                ]
                continue
            return LLMDecomposition(steps, attempt, False, tuple(errors))
        logger.warning(
            "LLM gave no valid plan in %d replies (%s); using the closest valid sub-tasks",
            len(errors),
            errors[-1],
        )
        steps = closest_plan(reply, instruction, objects, self.config.max_steps)
        return LLMDecomposition(steps, len(errors), True, tuple(errors))

    def plan(self, instruction: str, objects: Sequence[object]) -> object:
        """Plan with the LLM's decomposition and the built-in mask head (`Planner.plan`)."""
        scene = self.planner.scene(instruction, objects)
        decomposition = self.decompose(scene.instruction, scene.objects)
        source = f"llm:{self.backend.name}" + (
            " (constrained)" if decomposition.constrained else ""
        )
        return self.planner.finish(scene, decomposition.steps, source=source)


def load_llm_planner(planner: object, config: LLMFrontEndConfig) -> LLMPlanner:
    """An :class:`LLMPlanner` over a loaded built-in `planner`.

    Raises:
        MissingFileError: `config.source` is neither a URL nor a model folder.
        LLMPlanError: the folder holds no loadable causal LM.
    """
    return LLMPlanner(planner, load_llm_backend(config), config)
