"""Sub-task text and high-level instructions for the real datasets, plus optional rewriters.

Dataset action labels ("open", "take out", "offhand", ...) are mapped once, in
:data:`VERB_TABLE`, to a plan primitive (:data:`openhoi.data.PRIMITIVES`), the
affordance type the hands touch (:data:`openhoi.objects.AFFORDANCE_TYPES`) and the
English phrase used in text. Sub-task text follows Text2HOI's template
("Open the box with both hands."), so captions compare with that work; the high-level
instruction joins the sub-tasks with a template chosen deterministically from the
episode id. A rewriter may paraphrase the instruction afterwards; none is ever needed.

Verb → primitive table (GRAB `motion_intent`, ARCTIC descriptions, H2O action labels):

==========================================  ============  ===========
dataset verbs                               primitive     affordance
==========================================  ============  ===========
grab, grasp                                 grasp         grasp
lift, take out                              lift          lift
place, put in, set                          place         support
move, fly, play, toast, eat, brush, clean,  move          grasp
cook, apply, use, wear, write, peel
inspect, see, read, browse, pass¹           rotate        grasp
pour                                        pour          pour
drink                                       drink         grasp
screw                                       twist_close   grasp
open                                        open          open
close                                       close         open
press, type, point, squeeze, spray, call,   press         press
switch on, take picture, stamp, staple,
operate
push                                        push          push
offhand / hand over                         handover      grasp
cut, chop                                   cut           cut
shake, sprinkle                             shake         grasp
==========================================  ============  ===========

¹ GRAB's "pass" sequences hand the object to the other hand of the same subject, which
  the "handover" primitive describes better; it maps to handover.

An unknown verb maps to "move"/"grasp" with a warning, never an error.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from openhoi._deps import require
from openhoi.errors import InputError, MissingFileError, OpenHOIError
from openhoi.vocab import object_display_name

__all__ = [
    "VERB_TABLE",
    "HFCausalLMRewriter",
    "HTTPRewriter",
    "InstructionRewriter",
    "VerbInfo",
    "instruction_text",
    "make_rewriter",
    "subtask_text",
    "verb_info",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VerbInfo:
    """How a dataset verb enters a plan and its text.

    Attributes:
        primitive: one of `openhoi.data.PRIMITIVES`.
        affordance: one of `openhoi.objects.AFFORDANCE_TYPES`.
        phrase: the imperative verb phrase used in text ("take out", "hand over").
    """

    primitive: str
    affordance: str
    phrase: str


def _verbs(primitive: str, affordance: str, *phrases: str) -> dict[str, VerbInfo]:
    return {phrase: VerbInfo(primitive, affordance, phrase) for phrase in phrases}


VERB_TABLE: dict[str, VerbInfo] = {
    **_verbs("grasp", "grasp", "grab", "grasp"),
    **_verbs("lift", "lift", "lift", "take out"),
    **_verbs("place", "support", "place", "put in", "set"),
    **_verbs(
        "move",
        "grasp",
        "move",
        "fly",
        "play",
        "toast",
        "eat",
        "brush",
        "clean",
        "cook",
        "apply",
        "use",
        "wear",
        "write",
        "peel",
    ),
    **_verbs("rotate", "grasp", "inspect", "see", "read", "browse"),
    **_verbs("pour", "pour", "pour"),
    **_verbs("drink", "grasp", "drink"),
    **_verbs("twist_close", "grasp", "screw"),
    **_verbs("open", "open", "open"),
    **_verbs("close", "open", "close"),
    **_verbs(
        "press",
        "press",
        "press",
        "type",
        "point",
        "squeeze",
        "spray",
        "call",
        "switch on",
        "take picture",
        "stamp",
        "staple",
        "operate",
    ),
    **_verbs("push", "push", "push"),
    **_verbs("handover", "grasp", "hand over", "pass"),
    **_verbs("cut", "cut", "cut", "chop"),
    **_verbs("shake", "grasp", "shake", "sprinkle"),
}

# Dataset spellings that are not English phrases (GRAB motion intents).
_VERB_ALIASES = {
    "offhand": "hand over",
    "switchon": "switch on",
    "takepicture": "take picture",
    "takeout": "take out",
    "putin": "put in",
}

# Dataset object ids → words for text (GRAB writes compound names without spaces).

_HAND_WORDS = {
    "left": "with the left hand",
    "right": "with the right hand",
    "both": "with both hands",
}

# High-level instruction templates; {steps} is the sub-task list, {object} the object words.
_INSTRUCTION_TEMPLATES = (
    "Take the {object}: {steps}.",
    "Using the {object}, {steps}.",
    "Please {steps}.",
    "Interact with the {object}: {steps}.",
)


def verb_info(verb: str) -> VerbInfo:
    """The plan primitive, affordance and phrase of a dataset verb (unknown → move/grasp)."""
    key = " ".join(verb.strip().lower().replace("_", " ").split()).rstrip(",.")
    key = _VERB_ALIASES.get(key.replace(" ", ""), key)
    info = VERB_TABLE.get(key)
    if info is None:
        logger.warning("unknown action verb %r: mapped to primitive 'move'", verb)
        return VerbInfo("move", "grasp", key or "move")
    return info


def subtask_text(verb: str, object_name: str, hands: str) -> str:
    """Sub-task sentence in Text2HOI's template: "Open the box with both hands."."""
    if hands not in _HAND_WORDS:
        raise InputError(f"hands must be one of {sorted(_HAND_WORDS)}, got {hands!r}")
    phrase = verb_info(verb).phrase
    sentence = f"{phrase} the {object_display_name(object_name)} {_HAND_WORDS[hands]}."
    return sentence[0].upper() + sentence[1:]


def instruction_text(object_name: str, subtasks: Sequence[str], key: str) -> str:
    """A high-level instruction joining the sub-task sentences; template picked from `key`."""
    if not subtasks:
        raise InputError("an instruction needs at least one sub-task")
    clauses = [text.rstrip(".") for text in subtasks]
    clauses = [clauses[0][0].lower() + clauses[0][1:]] + [
        "then " + c[0].lower() + c[1:] for c in clauses[1:]
    ]
    digest = int(hashlib.sha256(key.encode("utf-8")).hexdigest(), 16)
    template = _INSTRUCTION_TEMPLATES[digest % len(_INSTRUCTION_TEMPLATES)]
    text = template.format(object=object_display_name(object_name), steps=", ".join(clauses))
    return text[0].upper() + text[1:]


# ------------------------------------------------------------------------------- rewriters

_SYSTEM_PROMPT = (
    "You rewrite instructions for a hand-object interaction dataset. Rephrase the user's "
    "instruction as one natural sentence a person might say, keep every step and its order, "
    "do not add steps. Answer with the sentence only."
)


class InstructionRewriter(Protocol):
    """Paraphrases a template instruction; `spec` names it in the dataset index."""

    spec: str

    def rewrite(self, instruction: str) -> str:
        """The paraphrased instruction."""
        ...


def _clean_reply(text: str, original: str) -> str:
    line = text.strip().splitlines()[0].strip().strip('"') if text.strip() else ""
    return line or original


class HFCausalLMRewriter:
    """Paraphrase with a local Hugging Face causal LM (never downloads anything).

    Args:
        path: folder of a `transformers` checkpoint (config, tokenizer, weights).
        max_new_tokens: generation budget per instruction.
    """

    def __init__(self, path: str | os.PathLike, max_new_tokens: int = 64) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise MissingFileError(
                f"rewriter model folder {str(self.path)!r} does not exist; give the path of a "
                "local Hugging Face causal-LM checkpoint"
            )
        self.spec = str(self.path)
        self.max_new_tokens = max_new_tokens
        self._model = None
        self._tokenizer = None

    def _load(self) -> None:
        transformers = require("transformers", "rewriting instructions with a local LM")
        try:
            self._tokenizer = transformers.AutoTokenizer.from_pretrained(
                self.path, local_files_only=True
            )
            self._model = transformers.AutoModelForCausalLM.from_pretrained(
                self.path, local_files_only=True
            )
        except OSError as exc:
            raise InputError(
                f"{str(self.path)!r} is not a loadable causal-LM checkpoint ({exc})"
            ) from exc
        self._model.eval()

    def rewrite(self, instruction: str) -> str:
        """The paraphrased instruction (greedy decoding, deterministic)."""
        import torch

        if self._model is None:
            self._load()
        tokenizer = self._tokenizer
        messages = [
            {"role": "system", "content": _SYSTEM_PROMPT},
            {"role": "user", "content": instruction},
        ]
        if getattr(tokenizer, "chat_template", None):
            prompt = tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True
            )
        else:
            prompt = f"{_SYSTEM_PROMPT}\nInstruction: {instruction}\nRewritten:"
        encoded = tokenizer(prompt, return_tensors="pt")
        # Only what every causal LM accepts (BERT-style tokenizers add token_type_ids).
        inputs = {k: encoded[k] for k in ("input_ids", "attention_mask") if k in encoded}
        with torch.no_grad():
            output = self._model.generate(
                **inputs,
                max_new_tokens=self.max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
            )
        reply = tokenizer.decode(
            output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True
        )
        return _clean_reply(reply, instruction)


class HTTPRewriter:
    """Paraphrase through an OpenAI-compatible `/v1/chat/completions` endpoint.

    Args:
        url: server base URL (`http://host:port` or `.../v1`) or the full completions URL.
        model: model name sent in the request.
        timeout_s: seconds to wait for each reply.
    """

    def __init__(self, url: str, model: str = "default", timeout_s: float = 30.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise InputError(f"rewriter URL must start with http:// or https://, got {url!r}")
        base = url.rstrip("/")
        if base.endswith("/chat/completions"):
            self.endpoint = base
        elif base.endswith("/v1"):
            self.endpoint = base + "/chat/completions"
        else:
            self.endpoint = base + "/v1/chat/completions"
        self.spec = url
        self.model = model
        self.timeout_s = float(timeout_s)

    def rewrite(self, instruction: str) -> str:
        """The paraphrased instruction (temperature 0)."""
        body = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": _SYSTEM_PROMPT},
                {"role": "user", "content": instruction},
            ],
            "temperature": 0,
        }
        request = urllib.request.Request(
            self.endpoint,
            data=json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                reply = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise OpenHOIError(
                f"rewriter endpoint {self.endpoint} answered HTTP {exc.code} ({exc.reason})"
            ) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise OpenHOIError(
                f"cannot reach rewriter endpoint {self.endpoint} within {self.timeout_s:g} s "
                f"({getattr(exc, 'reason', exc)}); is the server running?"
            ) from exc
        except json.JSONDecodeError as exc:
            raise OpenHOIError(f"rewriter endpoint {self.endpoint} returned non-JSON") from exc
        try:
            content = reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise OpenHOIError(
                f"rewriter endpoint {self.endpoint} returned no choices[0].message.content"
            ) from exc
        return _clean_reply(str(content), instruction)


def make_rewriter(spec: str | os.PathLike | None) -> InstructionRewriter | None:
    """A rewriter from a CLI value: an http(s) URL or a local model folder; None → none."""
    if spec is None or str(spec) == "":
        return None
    text = str(spec)
    if text.startswith(("http://", "https://")):
        return HTTPRewriter(text)
    if Path(text).is_dir():
        return HFCausalLMRewriter(text)
    raise InputError(
        f"--rewrite-with must be an http(s):// URL of an OpenAI-compatible server or an "
        f"existing local model folder, got {text!r}"
    )
